"""Bare URLs and mentions linked in rendered markdown (domain/linkify.py), never inside code or links, still
sanitised; mentions only on our pages (federated HTML and mail get no relative links)."""

from __future__ import annotations

import re

import pytest

from conftest import HOSTNAME, Api, make_comment, make_community, make_post
from moot.domain.markdown import render_inline, render_markdown
from web.conftest import Browser, browser, web_app  # noqa: F401 - the pages' fixtures, for the page test

REL = 'rel="nofollow noopener ugc"'


def _links(rendered: str) -> list[tuple[str, str]]:
    return re.findall(r'<a href="([^"]*)"[^>]*>(.*?)</a>', rendered)


def test_bare_urls_are_linked_without_trailing_punctuation() -> None:
    html = render_markdown("see https://example.com/a?b=1&c=2. Or (http://x.org/path), fine")
    assert _links(html) == [
        ("https://example.com/a?b=1&amp;c=2", "https://example.com/a?b=1&amp;c=2"),
        ("http://x.org/path", "http://x.org/path"),
    ]
    assert f'<a href="http://x.org/path" {REL}>' in html


def test_only_written_schemes_are_linked() -> None:
    # No guessed links: file names, bare domains and addresses stay text.
    html = render_markdown("run setup.py, read README.md on www.example.com or mail alice@example.com")
    assert "<a " not in html


@pytest.mark.parametrize(
    ("text", "href", "shown"),
    [
        ("join !news@beehaw.org today", "/c/news@beehaw.org", "!news@beehaw.org"),
        ("thanks @alice@lemmy.ml.", "/u/alice@lemmy.ml", "@alice@lemmy.ml"),
        ("ask u/bob", "/u/bob", "u/bob"),
        ("ask /u/bob", "/u/bob", "/u/bob"),
        ("in c/worldnews", "/c/worldnews", "c/worldnews"),
        ("in /c/worldnews", "/c/worldnews", "/c/worldnews"),
        ("on c/tech@other.example:8443!", "/c/tech@other.example:8443", "c/tech@other.example:8443"),
        ("(@carol@127.0.0.1:8537)", "/u/carol@127.0.0.1:8537", "@carol@127.0.0.1:8537"),
    ],
)
def test_mentions_link_to_our_pages(text: str, href: str, shown: str) -> None:
    assert _links(render_markdown(text, mentions=True)) == [(href, shown)]


def test_mentions_are_not_linked_outside_our_pages() -> None:
    # Federated content and mail: a relative link would point at the reader's own server.
    assert "<a " not in render_markdown("hi @alice@lemmy.ml and !news@beehaw.org and u/bob")


@pytest.mark.parametrize(
    "text",
    [
        "`@alice@lemmy.ml https://example.com u/bob`",
        "    indented https://example.com !news@beehaw.org\n",
        "```\nfenced @alice@lemmy.ml c/news https://example.com\n```",
        "the tail of a path docs/u/file and x/c/abc",
        "not a mention: a@alice@lemmy.ml, x!news@beehaw.org, @@bob@x.org",
        "javascript:alert(1)",
    ],
)
def test_nothing_linked_in_code_or_mid_word(text: str) -> None:
    assert "<a " not in render_markdown(text, mentions=True)


def test_existing_links_are_left_alone() -> None:
    html = render_markdown("[@bob@x.org and https://a.example](https://q.example) <https://b.example>", mentions=True)
    assert _links(html) == [
        ("https://q.example", "@bob@x.org and https://a.example"),
        ("https://b.example", "https://b.example"),
    ]


def test_sanitising_still_applies() -> None:
    html = render_markdown('https://a.example/"onmouseover="alert(1) <script>x</script> @a@b.example', mentions=True)
    assert "<script" not in html
    # The quote stays inside the URL (percent-encoded): no attribute but href and rel on any tag.
    assert all(attr in ("href", "rel") for attr in re.findall(r"\s([a-z-]+)=\"", html))
    assert ("/u/a@b.example", "@a@b.example") in _links(html)


def test_inline_text_links_urls_only() -> None:
    # Taglines: URLs linked, mentions not (render_inline serves text that is not a comment or post).
    assert _links(render_inline("by @x@y.example at https://y.example")) == [("https://y.example", "https://y.example")]


# --- on a page ---------------------------------------------------------------------------------------------------


async def test_a_thread_links_urls_and_mentions_to_pages_that_exist(browser: Browser, admin: Api) -> None:  # noqa: F811
    community = await make_community(admin)
    name = community["name"]
    body = f"Read https://example.org/a and c/{name}, or ask @{admin.name}@{HOSTNAME}. `u/{admin.name}` is code."
    post = await make_post(admin, community["id"], body=body)
    await make_comment(admin, post["id"], f"Also in !{name}@{HOSTNAME} and /u/{admin.name}")
    response = await browser.get(f"/post/{post['id']}")
    assert response.status_code == 200
    links = _links(response.text)
    expected = [
        ("https://example.org/a", "https://example.org/a"),
        (f"/c/{name}", f"c/{name}"),
        (f"/u/{admin.name}@{HOSTNAME}", f"@{admin.name}@{HOSTNAME}"),
        (f"/c/{name}@{HOSTNAME}", f"!{name}@{HOSTNAME}"),
        (f"/u/{admin.name}", f"/u/{admin.name}"),
    ]
    for link in expected:
        assert link in links, (link, links)
    assert f"<code>u/{admin.name}</code>" in response.text
    # Each mention leads to the page of that community or person here.
    for href, _ in expected[1:]:
        assert (await browser.get(href)).status_code == 200, href
