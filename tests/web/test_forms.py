"""Writing without JavaScript: every form posts, is CSRF-checked, and answers with a 303 back to a page."""

from __future__ import annotations

from conftest import Api, make_comment, make_community, make_post, unique
from web.conftest import PASSWORD, Browser, new_browser
from web.dom import parse


def comment_id_from(location: str) -> int:
    return int(location.rsplit("#c", 1)[1])


async def test_register_login_community_post_reply_vote_delete(web_app: object, browser: Browser) -> None:
    """The whole no-JS path of issue 3, one step after another, each step checked on the next page."""
    name = unique("flow")
    await browser.signup(name)
    await browser.submit("/", "/logout", {})
    assert "Log in" in (await browser.get("/")).text
    logged_in = await browser.login(name)
    assert logged_in.status_code == 303 and logged_in.headers["location"] == "/"
    home = parse((await browser.get("/")).text)
    assert home.find("ul", cls="nav-account").find("a", href=f"/u/{name}").text() == name

    community = unique("flowc")
    made = await browser.submit(
        "/create_community", "/create_community", {"name": community, "title": "Flow test", "description": "Hi"}
    )
    assert made.headers["location"] == f"/c/{community}"
    community_page = parse((await browser.follow(made)).text)
    assert community_page.find("h1").text().startswith("Flow test")
    new_post_link = community_page.find("a", cls="button").attrs["href"]
    community_id = int(new_post_link.split("community_id=")[1])

    posted = await browser.submit(
        new_post_link,
        "/create_post",
        {
            "name": "A post from a form",
            "url": "https://example.net/x",
            "body": "Body *text*",
            "community_id": community_id,
        },
    )
    post_path = posted.headers["location"]
    post_id = int(post_path.rsplit("/", 1)[1])
    post_page = parse((await browser.follow(posted)).text)
    assert post_page.find("h1").text() == "A post from a form"

    replied = await browser.submit(post_path, f"/post/{post_id}/comment", {"content": "First!", "next": post_path})
    first_id = comment_id_from(replied.headers["location"])
    nested = await browser.submit(
        post_path, f"/post/{post_id}/comment", {"content": "Replying to myself", "parent_id": first_id}
    )
    second_id = comment_id_from(nested.headers["location"])
    thread = parse((await browser.get(post_path)).text)
    second = thread.by_id(f"c{second_id}")
    assert any(a.attrs.get("id") == f"c{first_id}" for a in second.ancestors())

    voted = await browser.submit(post_path, f"/comment/{first_id}/vote", {"score": -1, "next": post_path})
    assert voted.headers["location"] == post_path
    thread = parse((await browser.get(post_path)).text)
    vote = thread.by_id(f"c{first_id}").find("form", cls="vote")
    assert vote.find("span", cls="score").text() == "-1"
    assert vote.find("button", cls="down").attrs["aria-pressed"] == "true"

    await browser.submit(post_path, f"/comment/{second_id}/delete", {"deleted": 1, "confirm": 1})
    thread = parse((await browser.get(post_path)).text)
    assert "Deleted by its author." in thread.by_id(f"c{second_id}").find(cls="comment-body").text()
    await browser.submit(post_path, f"/post/{post_id}/delete", {"deleted": 1, "confirm": 1})
    gone = parse((await browser.get(post_path)).text)
    assert "Deleted by its author." in gone.find("article").text()
    reader = new_browser(web_app)
    assert f'id="p{post_id}"' not in (await reader.get(f"/c/{community}")).text
    await reader.close()


async def test_vote_toggles_and_answers_json(member: Browser, user: Api) -> None:
    community = await make_community(user)
    post = await make_post(user, community["id"])
    path = f"/post/{post['id']}"
    await member.submit(path, f"/post/{post['id']}/vote", {"score": 1})
    doc = parse((await member.get(path)).text)
    up = doc.find("article").find("button", cls="up")
    assert up.attrs["aria-pressed"] == "true" and up.attrs["value"] == "0"
    answer = await member.post(f"/post/{post['id']}/vote", {"score": 0}, accept="application/json")
    assert answer.status_code == 200
    assert answer.json() == {"score": 1, "my_vote": 0, "up": 1, "down": -1}
    bad = await member.post(f"/post/{post['id']}/vote", {"score": 5}, accept="application/json")
    assert bad.status_code == 400 and bad.json()["error"]


async def test_bots_cannot_vote_on_the_pages_either(member: Browser, user: Api) -> None:
    """The pages cast the API's vote (`like_post`, `like_comment`): a bot account is refused there too, and the
    counts do not move."""
    community = await make_community(user)
    post = await make_post(user, community["id"])
    comment = await make_comment(user, post["id"], "no bot votes here")
    # The API reads the page's `jwt` cookie: the account becomes a bot.
    made_bot = await member.client.put("/api/v3/user/save_user_settings", json={"bot_account": True})
    assert made_bot.status_code == 200, made_bot.text
    await member.get(f"/post/{post['id']}")
    for action in (f"/post/{post['id']}/vote", f"/comment/{comment['id']}/vote"):
        answer = await member.post(action, {"score": 1}, accept="application/json")
        assert (answer.status_code, answer.json()["message"]) == (400, "Invalid bot action"), action
    assert (await user.ok_get("/post", id=post["id"]))["post_view"]["counts"]["score"] == 1
    assert (await user.ok_get("/comment", id=comment["id"]))["comment_view"]["counts"]["score"] == 1


async def test_reply_answers_a_fragment_to_the_script(member: Browser, user: Api) -> None:
    community = await make_community(user)
    post = await make_post(user, community["id"])
    parent = await make_comment(user, post["id"], "parent")
    await member.get(f"/post/{post['id']}")
    answer = await member.post(
        f"/post/{post['id']}/comment", {"content": "in place", "parent_id": parent["id"]}, accept="application/json"
    )
    assert answer.status_code == 200, answer.text
    data = answer.json()
    fragment = parse(data["html"])
    item = fragment.find("li", cls="comment")
    assert item.attrs["id"] == f"c{data['id']}"
    assert "in place" in item.find(cls="comment-body").text()
    empty = await member.post(f"/post/{post['id']}/comment", {"content": "   "}, accept="application/json")
    assert empty.status_code == 400
    assert empty.json()["message"] == "The comment is empty."


async def test_edit_own_comment_not_others(member: Browser, user: Api) -> None:
    community = await make_community(user)
    post = await make_post(user, community["id"])
    path = f"/post/{post['id']}"
    made = await member.submit(path, f"/post/{post['id']}/comment", {"content": "befor"})
    mine = comment_id_from(made.headers["location"])
    await member.submit(path, f"/comment/{mine}/edit", {"content": "after"})
    doc = parse((await member.get(path)).text)
    assert doc.by_id(f"c{mine}").find(cls="comment-body").text() == "after"
    theirs = await make_comment(user, post["id"], "not yours")
    assert not doc.find_all("form", action=f"/comment/{theirs['id']}/edit")
    refused = await member.post(f"/comment/{theirs['id']}/edit", {"content": "hijack"})
    assert refused.status_code == 400 and "Only the author" in refused.text
    answer = await member.post(f"/comment/{mine}/edit", {"content": "**bold**"}, accept="application/json")
    assert answer.json()["id"] == mine and "bold" in answer.json()["html"]


async def test_edit_post(member: Browser) -> None:
    community = await make_community_via(member)
    posted = await member.submit(
        f"/create_post?community_id={community}", "/create_post", {"name": "Old title", "community_id": community}
    )
    post_id = int(posted.headers["location"].rsplit("/", 1)[1])
    form = parse((await member.get(f"/post/{post_id}/edit")).text)
    assert form.find("input", id="post-name").attrs["value"] == "Old title"
    await member.post(f"/post/{post_id}/edit", {"name": "New title", "url": "", "body": "Now with a body"})
    doc = parse((await member.get(f"/post/{post_id}")).text)
    assert doc.find("h1").text() == "New title"
    assert "Now with a body" in doc.find(cls="post-body").text()
    short = await member.post(f"/post/{post_id}/edit", {"name": "x", "url": "", "body": ""})
    assert short.status_code == 400 and "A title is 3 to 200 characters" in short.text


async def make_community_via(browser: Browser) -> int:
    name = unique("mc")
    made = await browser.submit("/create_community", "/create_community", {"name": name, "title": "Made here"})
    page = parse((await browser.follow(made)).text)
    return int(page.find("a", cls="button").attrs["href"].split("community_id=")[1])


async def test_submit_form_errors_keep_what_was_typed(member: Browser) -> None:
    community = await make_community_via(member)
    await member.get("/create_post")
    answer = await member.post(
        "/create_post", {"name": "Fine title", "url": "javascript:alert(1)", "body": "kept", "community_id": community}
    )
    assert answer.status_code == 400
    doc = parse(answer.text)
    assert doc.find("div", cls="error").text() == "Links must start with http:// or https://."
    assert doc.find("input", id="post-name").attrs["value"] == "Fine title"
    assert doc.find("textarea", id="post-body").text() == "kept"


async def test_cross_post_prefills_and_is_listed(member: Browser, user: Api) -> None:
    first = await make_community(user)
    original = await make_post(user, first["id"], name="Shared link", url="https://example.com/shared-" + unique())
    second = await make_community_via(member)
    form = parse((await member.get(f"/create_post?crosspost={original['id']}")).text)
    assert form.find("input", id="post-name").attrs["value"] == "Shared link"
    assert form.find("input", id="post-url").attrs["value"] == original["url"]
    assert form.find("textarea", id="post-body").text().startswith("cross-posted from: ")
    values = {
        "name": "Shared link",
        "url": original["url"],
        "body": "",
        "community_id": second,
        "crosspost_of": original["id"],
    }
    posted = await member.post("/create_post", values)
    assert posted.status_code == 303
    doc = parse((await member.get(f"/post/{original['id']}")).text)
    names = [a.text() for a in doc.find("p", cls="crossposts").find_all("a")]
    assert len(names) == 1 and names[0].startswith("mc_")


async def test_save_and_saved_page(member: Browser, user: Api) -> None:
    community = await make_community(user)
    post = await make_post(user, community["id"], name="Worth keeping")
    comment = await make_comment(user, post["id"], "A comment worth keeping")
    path = f"/post/{post['id']}"
    await member.submit(path, f"/post/{post['id']}/save", {"save": 1})
    await member.submit(path, f"/comment/{comment['id']}/save", {"save": 1})
    saved = parse((await member.get("/saved")).text)
    assert "Worth keeping" in saved.find("ol", cls="posts").text()
    comments = parse((await member.get("/saved?view=comments")).text)
    assert "A comment worth keeping" in comments.find("ol", cls="comment-list").text()
    answer = await member.post(f"/post/{post['id']}/save", {"save": 0}, accept="application/json")
    assert answer.json() == {"saved": False}


async def test_subscribe_block_and_listings(member: Browser, user: Api) -> None:
    community = await make_community(user)
    await make_post(user, community["id"], name="In a followed place")
    path = f"/c/{community['name']}"
    await member.submit(path, f"/community/{community['id']}/subscribe", {"follow": 1, "next": path})
    side = parse((await member.get(path)).text).find("aside")
    assert "2 subscribers" in side.text() and side.find("button").text() == "Unsubscribe"
    feed = parse((await member.get("/?type=Subscribed&sort=New")).text)
    assert "In a followed place" in feed.find("ol", cls="posts").text()
    await member.submit(path, f"/community/{community['id']}/block", {"block": 1, "next": path})
    everything = (await member.get("/?type=All&sort=New")).text
    assert "In a followed place" not in everything
    await member.submit(path, f"/community/{community['id']}/block", {"block": 0, "next": path})
    assert "In a followed place" in (await member.get("/?type=All&sort=New")).text


async def test_block_person_hides_their_comments(member: Browser, user: Api, other: Api) -> None:
    community = await make_community(user)
    post = await make_post(user, community["id"])
    await make_comment(other, post["id"], "from someone to block")
    path = f"/post/{post['id']}"
    assert "from someone to block" in (await member.get(path)).text
    profile = f"/u/{other.name}"
    await member.submit(profile, f"/person/{other.person_id}/block", {"block": 1, "next": profile})
    assert "from someone to block" not in (await member.get(path)).text
    assert parse((await member.get(profile)).text).find("aside").find("button").text().startswith("Unblock")


async def test_settings_change_theme_and_defaults(member: Browser) -> None:
    await member.submit(
        "/settings",
        "/settings",
        {
            "display_name": "Web Person",
            "bio": "I *like* forms",
            "default_sort_type": "New",
            "default_listing_type": "All",
            "theme": "dark",
            "show_nsfw": "1",
        },
    )
    doc = parse((await member.get("/settings?saved=1")).text)
    assert doc.find("html").attrs["data-theme"] == "dark"
    assert doc.find("input", id="set-display-name").attrs["value"] == "Web Person"
    assert doc.find("select", id="set-sort").find("option", selected="").attrs["value"] == "New"
    assert doc.find("input", id="set-nsfw").attrs.get("checked") == ""
    front = parse((await member.get("/")).text)
    assert front.find("nav", cls="tabs").find("a", aria_current="page").text() == "All posts"
    profile = parse((await member.get(f"/u/{member.name}")).text)
    assert profile.find("h1").text().startswith("Web Person")
    bad = await member.post("/settings", {"display_name": "@no", "theme": "light"})
    assert bad.status_code == 400


async def test_inbox_unread_count_in_header(member: Browser, user: Api) -> None:
    community = await make_community_via(member)
    posted = await member.submit(
        f"/create_post?community_id={community}", "/create_post", {"name": "Ask me", "community_id": community}
    )
    post_id = int(posted.headers["location"].rsplit("/", 1)[1])
    await make_comment(user, post_id, "A reply for the inbox")
    header = parse((await member.get("/")).text).find("header")
    assert header.find("span", cls="badge").text() == "1 unread"
    inbox = parse((await member.get("/inbox")).text)
    assert "A reply for the inbox" in inbox.find("ol", cls="comment-list").text()
    await member.submit("/inbox", "/inbox/mark_all_read", {})
    assert not parse((await member.get("/")).text).find("header").find_all("span", cls="badge")


async def test_login_required_pages_redirect(browser: Browser) -> None:
    for path in ("/create_post", "/create_community", "/settings", "/inbox", "/saved"):
        response = await browser.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"] == f"/login?next={path}"


async def test_login_and_signup_errors(browser: Browser, user: Api) -> None:
    wrong = await browser.login(str(user.name), "not-the-password")
    assert wrong.status_code == 401
    assert parse(wrong.text).find("div", cls="error").text() == "That username or password is not right."
    await browser.get("/signup")
    mismatch = await browser.post(
        "/signup", {"username": unique("x"), "password": PASSWORD, "password_verify": PASSWORD + "x"}
    )
    assert mismatch.status_code == 400 and "do not match" in mismatch.text
    taken = await browser.post("/signup", {"username": user.name, "password": PASSWORD, "password_verify": PASSWORD})
    assert taken.status_code == 400 and "That username is taken." in taken.text


async def test_anonymous_action_sends_to_login_and_back(browser: Browser, user: Api) -> None:
    community = await make_community(user)
    post = await make_post(user, community["id"])
    path = f"/post/{post['id']}"
    await browser.get("/login")  # a page with a form (a reader whose login ended while the page was open)
    response = await browser.post(f"/post/{post['id']}/vote", {"score": 1, "next": path})
    assert response.status_code == 303
    assert response.headers["location"] == f"/login?next={path}"
    answer = await browser.post(f"/post/{post['id']}/vote", {"score": 1}, accept="application/json")
    assert answer.status_code == 401 and answer.json()["error"] == "not_logged_in"


async def test_inbox_lists_mentions(member: Browser, user: Api) -> None:
    community = await make_community(user)
    post = await make_post(user, community["id"])
    await make_comment(user, post["id"], f"Hello @{member.name}@moot.test:8536, have a look")
    doc = parse((await member.get("/inbox?view=mentions")).text)
    card = doc.find("ol", cls="comment-list").find("li", cls="comment-card")
    assert "have a look" in card.text() and "unread" in card.classes
    mark = next(f for f in card.find_all("form") if f.attrs["action"].startswith("/inbox/mentions/"))
    done = await member.post(mark.attrs["action"], {"read": 1, "next": "/inbox?view=mentions"})
    assert done.status_code == 303 and done.headers["location"] == "/inbox?view=mentions"
    doc = parse((await member.get("/inbox?view=mentions&unread=1")).text)
    assert "Nothing in your inbox." in doc.text()


async def test_every_page_has_one_h1_and_labelled_fields(member: Browser, user: Api, demo: object) -> None:
    community = await make_community(user)
    post = await make_post(user, community["id"], url="https://example.com/" + unique())
    comment = await make_comment(user, post["id"], "labelled")
    pages = [
        "/",
        f"/c/{community['name']}",
        "/communities",
        f"/post/{post['id']}",
        f"/post/{post['id']}/comment/{comment['id']}",
        f"/post/{post['id']}/comment/{comment['id']}?context=1",
        "/create_post",
        f"/create_post?crosspost={post['id']}",
        "/create_community",
        "/settings",
        f"/u/{user.name}",
        f"/u/{user.name}?view=comments",
        "/saved",
        "/inbox",
        "/search?q=labelled",
    ]
    for path in pages:
        response = await member.get(path)
        assert response.status_code == 200, path
        doc = parse(response.text)
        assert len(doc.find_all("h1")) == 1, path
        labelled = {label.attrs.get("for") for label in doc.find_all("label")}
        for field in doc.iter():
            if field.tag in ("input", "select", "textarea") and field.attrs.get("type") != "hidden":
                assert field.attrs.get("id") in labelled or field.attrs.get("aria-label"), (path, field.attrs)
        ids = [e.attrs["id"] for e in doc.iter() if "id" in e.attrs]
        assert len(ids) == len(set(ids)), (path, "duplicate ids")


async def test_fragment_forms_point_back_to_the_thread(member: Browser, user: Api) -> None:
    community = await make_community(user)
    post = await make_post(user, community["id"])
    path = f"/post/{post['id']}"
    await member.get(path)
    answer = await member.post(
        f"/post/{post['id']}/comment", {"content": "x" * 5, "next": path}, accept="application/json"
    )
    fragment = parse(answer.json()["html"])
    assert {i.attrs["value"] for i in fragment.find_all("input", name="next")} <= {
        path,
        f"{path}#c{answer.json()['id']}",
    }
