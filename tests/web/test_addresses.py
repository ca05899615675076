"""Page and ActivityPub addresses as typed: an id past the database's integer range, a character that is not
text (NUL) or a digit that is not ASCII names nothing here. Each is a clear refusal, never a crash (on
PostgreSQL, NUL and ids over 2^31 used to reach the database and answer 500)."""

from __future__ import annotations

import httpx
import pytest

AP = {"Accept": "application/activity+json"}
HUGE = (2**40, 2**64)


@pytest.mark.parametrize("number", HUGE)
@pytest.mark.parametrize("path", ["/post/{n}", "/post/{n}/edit", "/create_post?community_id={n}"])
async def test_page_with_an_id_out_of_range_is_not_found(http: httpx.AsyncClient, path: str, number: int) -> None:
    response = await http.get(path.format(n=number))
    assert response.status_code == 404, response.text


@pytest.mark.parametrize("number", HUGE)
@pytest.mark.parametrize("kind", ["post", "comment"])
async def test_activitypub_object_out_of_range_is_not_found(http: httpx.AsyncClient, kind: str, number: int) -> None:
    response = await http.get(f"/{kind}/{number}", headers=AP)
    assert response.status_code == 404, response.text


@pytest.mark.parametrize("path", ["/c/x%00y", "/u/x%00y", "/feeds/c/x%00.xml"])
async def test_nul_in_a_name_is_not_found(http: httpx.AsyncClient, path: str) -> None:
    assert (await http.get(path)).status_code == 404
    assert (await http.get(path, headers=AP)).status_code == 404


async def test_nul_in_a_search_is_refused_not_a_crash(http: httpx.AsyncClient) -> None:
    response = await http.get("/search", params={"q": "a\x00b"})
    assert response.status_code == 400, response.text


async def test_a_non_ascii_digit_is_not_an_id(http: httpx.AsyncClient) -> None:
    assert (await http.get("/post/\u00b2", headers=AP)).status_code == 404


async def test_a_bad_page_number_still_means_the_first_page(http: httpx.AsyncClient) -> None:
    assert (await http.get("/", params={"page": "abc"})).status_code == 200


async def test_a_method_the_path_does_not_take_says_which_it_does(http: httpx.AsyncClient) -> None:
    response = await http.request("TRACE", "/api/v3/site")
    assert response.status_code == 405
    assert "GET" in response.headers["allow"]
