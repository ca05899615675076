"""The app starts on a fresh database, sets up its site and admin, and answers GET /site."""

from __future__ import annotations

from conftest import ADMIN_NAME, Api


async def test_site_is_set_up_with_admin(anon: Api) -> None:
    status, site = await anon.get("/site")
    assert status == 200
    assert site["site_view"]["site"]["name"] == "Moot Test"
    assert [a["person"]["name"] for a in site["admins"]] == [ADMIN_NAME]
    assert "my_user" not in site
