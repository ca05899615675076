"""The edge of the pages: CSRF on every POST, cookie flags, CSP and friends, no open redirects."""

from __future__ import annotations

from dataclasses import replace

import httpx

from conftest import Api, make_comment, make_community, make_post, unique
from moot.app import create_app
from moot.settings import Settings
from moot.web.security import CONTENT_SECURITY_POLICY, csrf_token, csrf_valid, safe_next
from web.conftest import PASSWORD, Browser, new_browser
from web.dom import parse

EXPECTED_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; object-src 'none'; "
    "base-uri 'self'; frame-ancestors 'none'; form-action 'self'"
)


async def test_pages_carry_security_headers(browser: Browser) -> None:
    response = await browser.get("/")
    assert response.headers["content-security-policy"] == EXPECTED_CSP == CONTENT_SECURITY_POLICY
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "private, no-cache"
    script = await browser.get("/static/moot.js")
    assert script.status_code == 200 and script.headers["x-content-type-options"] == "nosniff"
    assert "javascript" in script.headers["content-type"]
    # The JSON API keeps its own headers (its docs page loads a CDN script a page CSP would block).
    api = await browser.client.get("/api/v3/site")
    assert "content-security-policy" not in api.headers


async def test_pages_have_no_inline_script_or_style(member: Browser, user: Api) -> None:
    community = await make_community(user)
    post = await make_post(user, community["id"])
    await make_comment(user, post["id"], "hello")
    for path in ("/", f"/post/{post['id']}", f"/c/{community['name']}", "/create_post", "/settings"):
        doc = parse((await member.get(path)).text)
        scripts = doc.find_all("script")
        assert [s.attrs.get("src", "").split("?")[0] for s in scripts] == ["/static/moot.js"], path
        assert all(not s.text() for s in scripts)
        assert not doc.find_all("style") and not [e for e in doc.iter() if "style" in e.attrs], path
        assert not [e for e in doc.iter() if any(a.startswith("on") for a in e.attrs)], path


async def test_every_post_form_carries_a_token(member: Browser, user: Api) -> None:
    community = await make_community(user)
    post = await make_post(user, community["id"], url="https://example.com/" + unique())
    await make_comment(user, post["id"], "hello")
    await member.get("/")
    for path in ("/", f"/post/{post['id']}", f"/c/{community['name']}", "/create_post", "/settings", "/inbox"):
        doc = parse((await member.get(path)).text)
        forms = [f for f in doc.find_all("form") if f.attrs.get("method") == "post"]
        assert forms, path
        for form in forms:
            tokens = form.find_all("input", name="csrf_token")
            assert len(tokens) == 1 and tokens[0].attrs["value"] == member.token(), (path, form.attrs)


async def test_post_without_token_is_refused(member: Browser) -> None:
    name = unique("nocsrf")
    refused = await member.post("/create_community", {"name": name, "title": "Nope"}, token="")
    assert refused.status_code == 403
    assert parse(refused.text).find("h1").text() == "Form expired"
    forged = await member.post("/create_community", {"name": name, "title": "Nope"}, token="forged-token")
    assert forged.status_code == 403
    as_json = await member.post("/create_community", {"name": name}, token="", accept="application/json")
    assert as_json.status_code == 403 and as_json.json()["error"] == "Form expired"
    assert (await member.get(f"/c/{name}")).status_code == 404


async def test_token_is_bound_to_the_browser_and_the_login(web_app: object, member: Browser) -> None:
    await member.get("/")
    stolen = member.token()
    intruder = new_browser(web_app)
    await intruder.signup()
    refused = await intruder.post("/create_community", {"name": unique("x"), "title": "T"}, token=stolen)
    assert refused.status_code == 403
    # A token from before logging in does not work after it: the login cookie is part of it.
    fresh = new_browser(web_app)
    await fresh.get("/login")
    before = fresh.token()
    assert (await fresh.post("/login", {"username_or_email": member.name, "password": PASSWORD})).status_code == 303
    stale = await fresh.post("/create_community", {"name": unique("x"), "title": "T"}, token=before)
    assert stale.status_code == 403
    # Without any cookie (a form on another site posting here) nothing is accepted either.
    bare = new_browser(web_app)
    refused = await bare.client.post("/login", data={"username_or_email": member.name, "password": PASSWORD})
    assert refused.status_code == 403 and "jwt" not in refused.cookies
    for b in (intruder, fresh, bare):
        await b.close()


async def test_token_in_a_header_works_for_the_script(member: Browser) -> None:
    await member.get("/create_community")
    token = member.token()
    name = unique("hdr")
    answer = await member.client.post(
        "/create_community", data={"name": name, "title": "Via header"}, headers={"X-CSRF-Token": token}
    )
    assert answer.status_code == 303


async def test_login_cookie_flags(web_app: object, member: Browser) -> None:
    b = new_browser(web_app)
    await b.get("/login")
    response = await b.post("/login", {"username_or_email": member.name, "password": PASSWORD})
    cookies = {c.split("=", 1)[0]: c for c in response.headers.get_list("set-cookie")}
    jwt = cookies["jwt"].lower()
    assert "httponly" in jwt and "samesite=lax" in jwt and "path=/" in jwt
    assert "secure" not in jwt.replace("samesite", "")
    page = await new_browser(web_app).get("/")
    csrf_cookie = page.headers["set-cookie"].lower()
    assert csrf_cookie.startswith("moot_csrf=") and "httponly" in csrf_cookie and "samesite=lax" in csrf_cookie
    await b.close()


async def test_cookies_are_secure_exactly_when_the_browser_uses_https(settings: Settings, member: Browser) -> None:
    """A production site (https ids) seen over plain http on a LAN address must still let people log in (a
    browser drops a Secure cookie set over http); over https, or by its public name, the cookie is Secure."""
    production = replace(settings, hostname="moot.example.org", tls_enabled=True, run_delivery=False)
    app = create_app(production, migrate=False)
    cases = {
        "http://192.168.1.5:8536": False,  # a LAN address, plain http
        "http://localhost:8536": False,
        "https://moot.example.org": True,  # TLS: ours, or a trusted proxy's X-Forwarded-Proto
        "http://moot.example.org": True,  # the public https host behind a proxy that does not say so
    }
    async with app.router.lifespan_context(app):
        for base, secure in cases.items():
            transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40002))
            b = Browser(client=httpx.AsyncClient(transport=transport, base_url=base))
            page = await b.get("/login")
            headers = [page.headers["set-cookie"]]
            if secure is base.startswith("https:"):
                # (A client on plain http does not send back a Secure cookie, so it cannot log in: as browsers.)
                response = await b.post("/login", {"username_or_email": member.name, "password": PASSWORD})
                assert response.status_code == 303, (base, response.text[:500])
                headers += response.headers.get_list("set-cookie")
                assert any(h.startswith("jwt=") for h in headers)
            for header in headers:
                flags = header.lower().split("; ")
                assert ("secure" in flags) is secure, (base, header)
                assert "httponly" in flags and "samesite=lax" in flags
            await b.close()


async def test_logout_ends_the_login_on_the_server(web_app: object, browser: Browser, http: object) -> None:
    await browser.signup()
    token = browser.client.cookies.get("jwt")
    assert token
    api = Api(client=http, jwt=token)  # type: ignore[arg-type]
    assert (await api.get("/user/validate_auth"))[0] == 200
    await browser.submit("/", "/logout", {})
    assert (await api.get("/user/validate_auth"))[0] == 400
    assert browser.client.cookies.get("jwt") is None


async def test_no_open_redirects(web_app: object, member: Browser) -> None:
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"):
        b = new_browser(web_app)
        await b.get("/login")
        response = await b.post("/login", {"username_or_email": member.name, "password": PASSWORD, "next": target})
        assert response.headers["location"] == "/", target
        await b.close()
    assert safe_next("/post/1#c2") == "/post/1#c2"
    assert safe_next("/x\r\nSet-Cookie: a=b") == "/"


def test_csrf_token_function() -> None:
    token = csrf_token("secret", "nonce", "jwt")
    assert csrf_valid("secret", "nonce", "jwt", token)
    assert not csrf_valid("secret", "nonce", None, token)
    assert not csrf_valid("other", "nonce", "jwt", token)
    assert not csrf_valid("secret", "", "jwt", csrf_token("secret", "", "jwt"))


def test_install_web_runs_once() -> None:
    from moot.app import create_app
    from moot.web import install_web

    app = create_app(Settings(), migrate=False)
    install_web(app)
    routes = len(app.routes)
    install_web(app)
    assert app.state.web_installed is True and len(app.routes) == routes
    assert app.url_path_for("front_page") == "/"
    assert app.url_path_for("post_page", post_id="7") == "/post/7"
    assert app.url_path_for("static", path="moot.css") == "/static/moot.css"
    # The pages stay out of the API's OpenAPI document.
    documented = set(app.openapi()["paths"])
    assert not documented & {"/", "/post/{post_id}", "/c/{name}", "/login", "/feeds/all.xml"}
