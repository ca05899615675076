"""Moderation and administration pages over plain HTTP: who may open them, what each form does, CSRF on all."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from conftest import ADMIN_NAME, ADMIN_PASSWORD, Api, make_comment, make_community, make_post, unique
from moot.db.engine import count_queries
from web.conftest import Browser, new_browser
from web.dom import Element, parse


@pytest.fixture
async def admin_browser(web_app: Any, admin: Api) -> AsyncIterator[Browser]:
    b = new_browser(web_app)
    logged_in = await b.login(ADMIN_NAME, ADMIN_PASSWORD)
    assert logged_in.status_code == 303
    b.name = ADMIN_NAME
    yield b
    await b.close()


def form_values(doc: Element, action: str) -> dict[str, str]:
    """What a browser would send from the form posting to `action`, as the page filled it in."""
    form = doc.find("form", action=action)
    values: dict[str, str] = {}
    for field in form.iter():
        name = field.attrs.get("name")
        if not name or name == "csrf_token":
            continue
        if field.tag == "input":
            if field.attrs.get("type") == "checkbox":
                if "checked" in field.attrs:
                    values[name] = field.attrs.get("value", "on")
            else:
                values[name] = field.attrs.get("value", "")
        elif field.tag == "textarea":
            values[name] = "".join(c for c in field.children if isinstance(c, str)).removeprefix("\n")
        elif field.tag == "select":
            chosen = [o for o in field.find_all("option") if "selected" in o.attrs] or field.find_all("option")[:1]
            values[name] = chosen[0].attrs["value"] if chosen else ""
    return values


async def page(browser: Browser, path: str, status: int = 200) -> Element:
    response = await browser.get(path)
    assert response.status_code == status, (path, response.status_code, response.text[:1500])
    return parse(response.text)


# The admin area


async def test_admin_area_is_for_admins_only(browser: Browser, member: Browser, admin_browser: Browser) -> None:
    anonymous = await browser.get("/admin")
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    refused = await page(member, "/admin", 403)
    assert "Only admins can do that." in refused.find("main").text()
    assert not refused.find_all("a", href="/admin")
    home = await page(admin_browser, "/")
    assert home.find("ul", cls="nav-account").find("a", href="/admin").text() == "Admin"
    doc = await page(admin_browser, "/admin")
    assert doc.find("h1").text() == "Admin"
    # A member cannot post the form either, even with a valid token of their own.
    await member.get("/settings")
    posted = await member.post("/admin/site", {"name": "Taken over"})
    assert posted.status_code == 403


async def test_site_settings_form_saves_through_edit_site(admin_browser: Browser, admin: Api) -> None:
    doc = await page(admin_browser, "/admin")
    original = form_values(doc, "/admin/site")
    assert original["name"] == (await admin.ok_get("/site"))["site_view"]["site"]["name"]
    tagline = unique("tagline")
    changed = {
        **original,
        "description": "Edited from the admin page",
        "taglines": f"{tagline}\nsecond line",
        "blocked_urls": "https://spam-admin.example/",
        "enable_downvotes": "",
    }
    changed.pop("enable_downvotes")
    try:
        saved = await admin_browser.post("/admin/site", changed)
        assert saved.status_code == 303 and saved.headers["location"] == "/admin?saved=site"
        site = await admin.ok_get("/site")
        assert site["site_view"]["site"]["description"] == "Edited from the admin page"
        assert site["site_view"]["local_site"]["enable_downvotes"] is False
        assert [t["content"] for t in site["taglines"]] == [tagline, "second line"]
        again = await page(admin_browser, "/admin?saved=site")
        assert again.find("p", cls="notice").text() == "The site settings are saved."
        shown = form_values(again, "/admin/site")
        assert shown["blocked_urls"] == "spam-admin.example"
        assert "enable_downvotes" not in shown and shown["taglines"] == f"{tagline}\nsecond line"
    finally:
        restored = await admin_browser.post("/admin/site", {**original, "csrf_token": admin_browser.token()})
        assert restored.status_code == 303
    site = await admin.ok_get("/site")
    assert site["site_view"]["local_site"]["enable_downvotes"] is (original.get("enable_downvotes") == "1")
    assert site["site_view"]["site"].get("description") == (original["description"] or None)


async def test_site_settings_errors_are_shown_on_the_form(admin_browser: Browser, admin: Api) -> None:
    doc = await page(admin_browser, "/admin")
    original = form_values(doc, "/admin/site")
    refused = await admin_browser.post("/admin/site", {**original, "name": "", "description": "Not saved"})
    assert refused.status_code == 400
    answer = parse(refused.text)
    assert answer.find("div", cls="error").text().strip()
    # The reader's input stays in the form.
    assert form_values(answer, "/admin/site")["description"] == "Not saved"
    bad_regex = await admin_browser.post("/admin/site", {**original, "slur_filter_regex": "(", "csrf_token": ""})
    assert bad_regex.status_code == 403  # no token: refused before anything else
    await admin_browser.get("/admin")
    bad_regex = await admin_browser.post("/admin/site", {**original, "slur_filter_regex": "("})
    assert bad_regex.status_code == 400
    assert (await admin.ok_get("/site"))["site_view"]["site"].get("description") != "Not saved"


async def test_admin_forms_need_the_csrf_token(admin_browser: Browser, admin: Api) -> None:
    doc = await page(admin_browser, "/admin")
    original = form_values(doc, "/admin/site")
    response = await admin_browser.client.post("/admin/site", data={**original, "description": "forged"})
    assert response.status_code == 403
    assert "Form expired" in response.text
    assert (await admin.ok_get("/site"))["site_view"]["site"].get("description") != "forged"


async def test_admins_are_added_and_removed_from_the_admin_page(admin_browser: Browser, admin: Api, user: Api) -> None:
    await admin_browser.submit("/admin", "/admin/admins", {"name": user.name, "added": 1})
    site = await admin.ok_get("/site")
    assert user.person_id in [a["person"]["id"] for a in site["admins"]]
    doc = await page(admin_browser, "/admin?saved=admins")
    listed = [a.text() for a in doc.by_id("admins").parent.find_all("a")]  # type: ignore[union-attr]
    assert user.name in listed
    await admin_browser.submit("/admin", "/admin/admins", {"person_id": user.person_id, "added": 0})
    site = await admin.ok_get("/site")
    assert user.person_id not in [a["person"]["id"] for a in site["admins"]]
    # An unknown name is the form's message, not an error page.
    await admin_browser.get("/admin")
    missing = await admin_browser.post("/admin/admins", {"name": unique("nobody"), "added": 1})
    assert missing.status_code == 400
    assert parse(missing.text).find("div", cls="error").text() == "There is no such person."


async def test_banned_people_are_listed_and_unbanned(admin_browser: Browser, admin: Api, user: Api) -> None:
    await admin.ok_post("/user/ban", {"person_id": user.person_id, "ban": True, "reason": "spam"})
    doc = await page(admin_browser, "/admin")
    bans = doc.by_id("bans").parent
    assert bans is not None and user.name in bans.text()
    await admin_browser.submit("/admin", "/admin/unban", {"person_id": user.person_id})
    banned = await admin.ok_get("/user/banned")
    assert user.person_id not in [b["person"]["id"] for b in banned["banned"]]
    modlog = await page(admin_browser, f"/modlog?type=ModBan&person={user.name}")
    actions = [row.text() for row in modlog.find_all("tr", cls="modlog-entry")]
    assert any(f"Unbanned {user.name} from the site" in a for a in actions)
    assert any(f"Banned {user.name} from the site" in a and "spam" in a for a in actions)


async def test_custom_emojis_are_added_and_deleted(admin_browser: Browser, admin: Api) -> None:
    code = unique("e")
    await admin_browser.submit(
        "/admin",
        "/admin/emojis",
        {
            "shortcode": code,
            "image_url": "https://example.com/e.png",
            "alt_text": "an emoji",
            "category": "test",
            "keywords": "one two",
        },
    )
    emojis = (await admin.ok_get("/site"))["custom_emojis"]
    made = next(e for e in emojis if e["custom_emoji"]["shortcode"] == code)
    assert sorted(k["keyword"] for k in made["keywords"]) == ["one", "two"]
    emoji_id = made["custom_emoji"]["id"]
    await admin_browser.submit("/admin", f"/admin/emojis/{emoji_id}/delete", {})
    emojis = (await admin.ok_get("/site"))["custom_emojis"]
    assert code not in [e["custom_emoji"]["shortcode"] for e in emojis]


async def test_applications_are_approved_and_denied(web_app: Any, admin_browser: Browser, admin: Api) -> None:
    site = await admin.ok_get("/site")
    before = site["site_view"]["local_site"]
    await admin.ok_put("/site", {"registration_mode": "RequireApplication", "application_question": "Why?"})
    try:
        names = [unique("app"), unique("app")]
        for name in names:
            status, _ = await admin.as_anonymous().post(
                "/user/register",
                {"username": name, "password": "password-1234", "password_verify": "password-1234", "answer": "Hi"},
            )
            assert status == 200
        doc = await page(admin_browser, "/admin")
        listed = doc.find_all("li", cls="application")
        by_name = {next(a.text() for a in li.find_all("a")): li for li in listed}
        assert set(names) <= set(by_name)
        approve_id = by_name[names[0]].attrs["id"].removeprefix("application-")
        deny_id = by_name[names[1]].attrs["id"].removeprefix("application-")
        await admin_browser.submit("/admin", f"/admin/applications/{approve_id}", {"approve": 1})
        await admin_browser.submit(
            "/admin", f"/admin/applications/{deny_id}", {"approve": 0, "deny_reason": "Not today"}
        )
        anonymous = admin.as_anonymous()
        ok, _ = await anonymous.post("/user/login", {"username_or_email": names[0], "password": "password-1234"})
        assert ok == 200
        refused, body = await anonymous.post(
            "/user/login", {"username_or_email": names[1], "password": "password-1234"}
        )
        assert refused == 400 and body["error"] == "registration_denied" and body.get("message") == "Not today"
        left = await page(admin_browser, "/admin")
        assert not left.find_all("li", id=f"application-{approve_id}")
    finally:
        await admin.ok_put(
            "/site",
            {
                "registration_mode": before["registration_mode"],
                "application_question": before.get("application_question") or "",
            },
        )


# The modlog


async def test_modlog_is_public_and_filters(web_app: Any, browser: Browser, user: Api, other: Api, admin: Api) -> None:
    community = await make_community(user)
    post = await make_post(other, community["id"])
    await user.ok_post("/post/lock", {"post_id": post["id"], "locked": True})
    await user.ok_post("/post/remove", {"post_id": post["id"], "removed": True, "reason": "off topic"})
    doc = await page(browser, f"/modlog?community_id={community['id']}")
    rows = doc.find_all("tr", cls="modlog-entry")
    assert [r.attrs["data-kind"] for r in rows] == ["ModRemovePost", "ModLockPost"]
    assert "off topic" in rows[0].text() and f"by {other.name}" in rows[0].text()
    only_locks = await page(browser, f"/modlog?community={community['name']}&type=ModLockPost")
    assert [r.attrs["data-kind"] for r in only_locks.find_all("tr", cls="modlog-entry")] == ["ModLockPost"]
    nobody = await page(browser, f"/modlog?person={unique('nobody')}")
    assert not nobody.find_all("tr", cls="modlog-entry") and "Nothing here is called" in nobody.text()
    # Moderators' names: hidden from an anonymous reader while the site hides them, shown to admins.
    hides = (await admin.ok_get("/site"))["site_view"]["local_site"]["hide_modlog_mod_names"]
    if hides:
        assert user.name not in rows[0].text()
        assert not doc.find_all("input", name="mod")
    admin_view = new_browser(web_app)
    try:
        await admin_view.login(ADMIN_NAME, ADMIN_PASSWORD)
        shown = await page(admin_view, f"/modlog?community_id={community['id']}&mod={user.name}")
        assert user.name in shown.find_all("tr", cls="modlog-entry")[0].text()
    finally:
        await admin_view.close()


# Moderator tools beside posts and comments


async def _mod_browser(web_app: Any, api: Api) -> Browser:
    b = new_browser(web_app)
    answer = await b.login(api.name or "", "password-1234")
    assert answer.status_code == 303
    return b


async def test_mod_tools_show_only_to_mods_and_admins(
    web_app: Any, member: Browser, admin_browser: Browser, user: Api, other: Api
) -> None:
    community = await make_community(user)
    post = await make_post(other, community["id"])
    comment = await make_comment(other, post["id"], "words")
    mod = await _mod_browser(web_app, user)
    try:
        for reader, sees in ((mod, True), (admin_browser, True), (member, False)):
            doc = await page(reader, f"/post/{post['id']}")
            assert bool(doc.find_all(cls="mod-tools")) is sees
            assert bool(doc.find_all("form", action=f"/comment/{comment['id']}/remove")) is sees
            # Everyone logged in may report what others wrote.
            assert doc.find_all("form", action=f"/post/{post['id']}/report")
            assert doc.find_all("form", action=f"/comment/{comment['id']}/report")
        admin_doc = await page(admin_browser, f"/post/{post['id']}")
        features = [
            f.find("input", name="feature_type").attrs["value"]
            for f in admin_doc.find_all("form", action=f"/post/{post['id']}/feature")
        ]
        assert features == ["Community", "Local"]
        mod_doc = await page(mod, f"/post/{post['id']}")
        features = [
            f.find("input", name="feature_type").attrs["value"]
            for f in mod_doc.find_all("form", action=f"/post/{post['id']}/feature")
        ]
        assert features == ["Community"]
        sidebar = mod_doc.find("aside", cls="sidebar")
        assert sidebar.find_all("a", href=f"/c/{community['name']}/settings")
        assert (
            not (await page(member, f"/post/{post['id']}"))
            .find("aside", cls="sidebar")
            .find_all("a", href=f"/c/{community['name']}/settings")
        )
    finally:
        await mod.close()


async def test_mod_tools_act_through_the_actions(web_app: Any, user: Api, other: Api, anon: Api) -> None:
    community = await make_community(user)
    post = await make_post(other, community["id"])
    comment = await make_comment(other, post["id"], "rude words")
    own = await make_comment(user, post["id"], "speaking as a mod")
    mod = await _mod_browser(web_app, user)
    path = f"/post/{post['id']}"
    try:
        await mod.submit(path, f"/post/{post['id']}/lock", {"locked": 1, "next": path})
        await mod.submit(path, f"/post/{post['id']}/feature", {"featured": 1, "feature_type": "Community"})
        await mod.submit(path, f"/comment/{comment['id']}/remove", {"removed": 1, "reason": "rude", "next": path})
        await mod.submit(path, f"/comment/{own['id']}/distinguish", {"distinguished": 1, "next": path})
        seen = (await user.ok_get("/post", id=post["id"]))["post_view"]["post"]
        assert seen["locked"] is True and seen["featured_community"] is True
        removed = (await user.ok_get("/comment", id=comment["id"]))["comment_view"]["comment"]
        assert removed["removed"] is True
        assert (await user.ok_get("/comment", id=own["id"]))["comment_view"]["comment"]["distinguished"] is True
        doc = await page(mod, path)
        assert "Removed by a moderator." in doc.by_id(f"c{comment['id']}").find(cls="comment-body").text()
        assert (
            doc.find_all("form", action=f"/comment/{comment['id']}/remove")[0]
            .find("input", name="removed")
            .attrs["value"]
            == "0"
        )
        # Remove the post with a reason, then ban its author for a week, removing their content.
        await mod.submit(path, f"/post/{post['id']}/remove", {"removed": 1, "reason": "spam", "next": path})
        banned = await mod.submit(
            path,
            f"/community/{community['id']}/ban",
            {"person_id": other.person_id, "ban": 1, "reason": "spammer", "days": 7, "next": path},
        )
        assert banned.headers["location"] == path
        status, body = await other.post("/post", {"name": "again", "community_id": community["id"]})
        assert status == 400 and body["error"] == "banned_from_community"
        log = await anon.ok_get("/modlog", community_id=community["id"])
        assert log["removed_posts"][0]["mod_remove_post"]["reason"] == "spam"
        assert log["banned_from_community"][0]["mod_ban_from_community"]["expires"]
        # The community's settings list the ban, and unban from there works.
        settings = await page(mod, f"/c/{community['name']}/settings")
        assert other.name in settings.by_id("banned").parent.text()  # type: ignore[union-attr]
        await mod.submit(
            f"/c/{community['name']}/settings",
            f"/community/{community['id']}/ban",
            {"person_id": other.person_id, "ban": 0, "next": f"/c/{community['name']}/settings#banned"},
        )
        await make_post(other, community["id"])
    finally:
        await mod.close()


async def test_mod_tools_refuse_people_who_are_not_mods(member: Browser, user: Api, other: Api) -> None:
    community = await make_community(user)
    post = await make_post(other, community["id"])
    await member.get(f"/post/{post['id']}")
    for action, data in (
        (f"/post/{post['id']}/remove", {"removed": 1}),
        (f"/post/{post['id']}/lock", {"locked": 1}),
        (f"/post/{post['id']}/feature", {"featured": 1, "feature_type": "Community"}),
        (f"/community/{community['id']}/ban", {"person_id": other.person_id, "ban": 1}),
    ):
        refused = await member.post(action, data)
        assert refused.status_code == 400, action
        assert "Only moderators of this community and admins can do that." in refused.text
    seen = (await user.ok_get("/post", id=post["id"]))["post_view"]["post"]
    assert not (seen["removed"] or seen["locked"] or seen["featured_community"])


# Reports


async def test_report_then_resolve_from_the_queue(
    web_app: Any, member: Browser, admin_browser: Browser, user: Api, other: Api
) -> None:
    community = await make_community(user)
    post = await make_post(other, community["id"])
    comment = await make_comment(other, post["id"], "reportable")
    path = f"/post/{post['id']}"
    reported = await member.submit(path, f"/post/{post['id']}/report", {"reason": "it is spam", "next": path})
    assert reported.headers["location"] == f"{path}?reported=1"
    thanks = await page(member, reported.headers["location"])
    assert "moderators will look at your report" in thanks.find("p", cls="notice").text()
    await member.submit(
        path, f"/comment/{comment['id']}/report", {"reason": "rude", "next": path + f"#c{comment['id']}"}
    )
    await member.get(path)
    empty = await member.post(f"/post/{post['id']}/report", {"reason": "  "})
    assert empty.status_code == 400 and "Say why you are reporting it." in empty.text

    # Only moderators and admins reach the queue; a member gets the 403 page, and no header link.
    assert (await member.get("/reports")).status_code == 403
    assert not (await page(member, "/")).find_all("a", href="/reports")
    mod = await _mod_browser(web_app, user)
    try:
        header = (await page(mod, "/")).find("ul", cls="nav-account").find("a", href="/reports")
        assert header.text() == "Reports 2 unresolved"
        queue = await page(mod, "/reports")
        post_reports = queue.by_id("post-reports").parent.find_all("li", cls="report")  # type: ignore[union-attr]
        comment_reports = queue.by_id("comment-reports").parent.find_all("li", cls="report")  # type: ignore[union-attr]
        assert len(post_reports) == 1 and "it is spam" in post_reports[0].text()
        assert len(comment_reports) == 1 and "reportable" in comment_reports[0].text()
        report_id = post_reports[0].attrs["id"].removeprefix("post-report-")
        await mod.submit("/reports", f"/reports/post/{report_id}/resolve", {"resolved": 1, "next": "/reports"})
        after = await page(mod, "/reports")
        assert not after.by_id("post-reports").parent.find_all("li", cls="report")  # type: ignore[union-attr]
        everything = await page(mod, "/reports?resolved=1")
        resolved = everything.by_id(f"post-report-{report_id}")
        assert "resolved by" in resolved.text() and user.name in resolved.text()
        listed = await user.ok_get("/post/report/list", unresolved_only=True, community_id=community["id"])
        assert listed["post_reports"] == []
    finally:
        await mod.close()
    # The admin's queue has the comment report too.
    admin_queue = await page(admin_browser, "/reports")
    assert admin_queue.find_all("li", id=comment_reports[0].attrs["id"])


# The community settings page


async def test_community_settings_for_its_moderators(web_app: Any, member: Browser, user: Api, other: Api) -> None:
    community = await make_community(user)
    settings_path = f"/c/{community['name']}/settings"
    refused = await member.get(settings_path)
    assert refused.status_code == 403 and "Only moderators of this community and admins" in refused.text
    mod = await _mod_browser(web_app, user)
    try:
        doc = await page(mod, settings_path)
        values = form_values(doc, settings_path)
        assert values["title"] == community["title"] and "posting_restricted_to_mods" not in values
        await mod.submit(
            settings_path,
            settings_path,
            {"title": "New title", "description": "About us", "posting_restricted_to_mods": 1},
        )
        view = (await user.ok_get("/community", id=community["id"]))["community_view"]["community"]
        assert view["title"] == "New title" and view["posting_restricted_to_mods"] is True
        status, body = await other.post("/post", {"name": "not allowed", "community_id": community["id"]})
        assert status == 400 and body["error"] == "only_mods_can_post_in_community"
        bad = await mod.post(settings_path, {"title": ""})
        assert bad.status_code == 400 and parse(bad.text).find("div", cls="error")

        await mod.submit(
            settings_path,
            f"{settings_path}/../moderators".replace("/settings/..", ""),
            {"name": other.name, "added": 1},
        )
        mods = (await user.ok_get("/community", id=community["id"]))["moderators"]
        assert [m["moderator"]["id"] for m in mods] == [user.person_id, other.person_id]
        await mod.submit(
            settings_path, f"/c/{community['name']}/moderators", {"person_id": other.person_id, "added": 0}
        )
        mods = (await user.ok_get("/community", id=community["id"]))["moderators"]
        assert [m["moderator"]["id"] for m in mods] == [user.person_id]
    finally:
        await mod.close()


# CSRF: no moderation form acts without the token


async def test_moderation_forms_need_the_csrf_token(
    member: Browser, admin_browser: Browser, user: Api, other: Api
) -> None:
    community = await make_community(user)
    post = await make_post(other, community["id"])
    comment = await make_comment(other, post["id"])
    await admin_browser.get("/admin")
    for action in (
        f"/post/{post['id']}/remove",
        f"/post/{post['id']}/lock",
        f"/post/{post['id']}/feature",
        f"/post/{post['id']}/report",
        f"/comment/{comment['id']}/remove",
        f"/comment/{comment['id']}/distinguish",
        f"/comment/{comment['id']}/report",
        f"/community/{community['id']}/ban",
        f"/c/{community['name']}/settings",
        f"/c/{community['name']}/moderators",
        "/reports/post/1/resolve",
        "/admin/site",
        "/admin/admins",
        "/admin/unban",
        "/admin/applications/1",
        "/admin/emojis",
        "/admin/emojis/1/delete",
    ):
        forged = await admin_browser.client.post(
            action,
            data={"removed": 1, "locked": 1, "reason": "x", "person_id": other.person_id, "ban": 1, "title": "forged"},
        )
        assert forged.status_code == 403 and "Form expired" in forged.text, action
    seen = (await user.ok_get("/post", id=post["id"]))["post_view"]
    assert not (seen["post"]["removed"] or seen["post"]["locked"])
    assert seen["community"]["title"] != "forged"


async def _statements(browser: Browser, path: str) -> int:
    """Statements for one page; the lower of two loads, as a cached site setting may expire during either."""
    counts = []
    for _ in range(2):
        async with count_queries() as statements:
            response = await browser.get(path)
        assert response.status_code == 200, (path, response.status_code)
        counts.append(len(statements))
    return min(counts)


async def test_queue_and_modlog_cost_the_same_for_one_row_or_many(
    web_app: Any, user: Api, other: Api, admin: Api
) -> None:
    small, large = await make_community(user), await make_community(user)
    lone = await make_post(other, small["id"])
    await user.ok_post("/post/report", {"post_id": lone["id"], "reason": "one"})
    await user.ok_post("/post/lock", {"post_id": lone["id"], "locked": True})
    for n in range(4):
        post = await make_post(other, large["id"])
        comment = await make_comment(other, post["id"])
        await admin.ok_post("/post/report", {"post_id": post["id"], "reason": f"post {n}"})
        await admin.ok_post("/comment/report", {"comment_id": comment["id"], "reason": f"comment {n}"})
        await user.ok_post("/post/lock", {"post_id": post["id"], "locked": True})
    await user.ok_post("/post/lock", {"post_id": post["id"], "locked": False})
    mod = await _mod_browser(web_app, user)
    try:
        await mod.get("/")
        one = await _statements(mod, f"/modlog?community_id={small['id']}")
        many = await _statements(mod, f"/modlog?community_id={large['id']}")
        assert one == many
        assert await _statements(mod, "/reports") == await _statements(mod, "/reports?resolved=1")
    finally:
        await mod.close()
