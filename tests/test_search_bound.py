"""The bound of a site-wide search (db/search.py): the newest SEARCH_CANDIDATES matches, ranked; comments looked
for among the newest SEARCH_WINDOW first, posts among the newest POST_SEARCH_WINDOW. The constants are patched
small so that a few rows cross them."""

from __future__ import annotations

import time
from typing import Any

import pytest

from conftest import Api, make_comment, make_community, make_post
from moot.db import search as fts
from test_search import ids, search, word


async def _upvote_comment(api: Api, comment_id: int) -> None:
    await api.ok_post("/comment/like", {"comment_id": comment_id, "score": 1})


async def _upvote_post(api: Api, post_id: int) -> None:
    await api.ok_post("/post/like", {"post_id": post_id, "score": 1})


async def _comments(api: Api, post_id: int, text: str, n: int) -> list[int]:
    return [(await make_comment(api, post_id, f"{text} number {i}"))["id"] for i in range(n)]


def _comment_ids(data: dict[str, Any]) -> list[int]:
    return ids(data["comments"], "comment")


async def test_top_comments_are_ranked_among_the_newest_candidates(
    user: Api, other: Api, admin: Api, anon: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fts, "SEARCH_CANDIDATES", 3)
    post = await make_post(user, (await make_community(user))["id"])
    w = word()
    first, second, third, fourth, fifth = await _comments(user, post["id"], f"about {w}", 5)
    await _upvote_comment(other, first)  # the best, but older than the three newest
    await _upvote_comment(admin, first)
    await _upvote_comment(other, fourth)
    top = await search(anon, w, type_="Comments", sort="TopAll", limit=3)
    # The newest three, best first (then newest first among equals); the oldest upvoted one is beyond the bound.
    assert _comment_ids(top) == [fourth, fifth, third]
    # New is exact under the bound: the newest matches are the candidates.
    assert _comment_ids(await search(anon, w, type_="Comments", sort="New", limit=3)) == [fifth, fourth, third]
    # Old, and pages reaching beyond the candidates, search every match.
    assert _comment_ids(await search(anon, w, type_="Comments", sort="Old", limit=3)) == [first, second, third]
    everything = await search(anon, w, type_="Comments", sort="TopAll", limit=5)
    assert _comment_ids(everything) == [first, fourth, fifth, third, second]
    # A narrowed search (a community's, a person's) is not bounded by the site's newest either.
    narrowed = await search(anon, w, type_="Comments", sort="TopAll", limit=3, creator_id=user.person_id)
    assert _comment_ids(narrowed) == [first, fourth, fifth]


async def test_window_first_then_every_comment_when_it_does_not_fill_the_page(
    user: Api, other: Api, anon: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fts, "SEARCH_WINDOW", 3)  # the newest three comments of the whole site
    post = await make_post(user, (await make_community(user))["id"])
    w, rare = word(), word()
    (old_rare,) = await _comments(user, post["id"], f"forgotten {rare}", 1)
    (old,) = await _comments(user, post["id"], f"older {w}", 1)
    await _upvote_comment(other, old)
    recent = await _comments(user, post["id"], f"recent {w}", 2)
    await _comments(user, post["id"], "unrelated words", 1)
    # The window (the newest three comments) holds two matches: a page of two is filled there, by them.
    assert sorted(_comment_ids(await search(anon, w, type_="Comments", sort="TopAll", limit=2))) == sorted(recent)
    # A page of three is not: the search goes on over every comment, and the best (older) one comes first.
    assert _comment_ids(await search(anon, w, type_="Comments", sort="TopAll", limit=3))[0] == old
    # A rare word outside the window is still found.
    assert _comment_ids(await search(anon, rare, type_="Comments")) == [old_rare]


async def test_the_whole_word_first_then_the_words_it_begins(user: Api, other: Api, anon: Api) -> None:
    """A site-wide comment search takes the last word whole first (its GIN list is read three times faster than
    as a prefix), and as a prefix when the whole word does not fill the page."""
    post = await make_post(user, (await make_community(user))["id"])
    w = word()
    (longer,) = await _comments(user, post["id"], f"about {w}ing", 1)
    await _upvote_comment(other, longer)  # the best match of the prefix
    whole = await _comments(user, post["id"], f"about {w}", 2)
    # Two comments have the whole word: a page of two is theirs, though the longer word's comment ranks higher.
    assert sorted(_comment_ids(await search(anon, w, type_="Comments", sort="TopAll", limit=2))) == sorted(whole)
    # A page of three is not filled by them: the prefix's matches come in, ranked with them.
    assert _comment_ids(await search(anon, w, type_="Comments", sort="TopAll", limit=3))[0] == longer
    # A prefix that is no word of its own finds the words it begins.
    assert longer in _comment_ids(await search(anon, w[:-1], type_="Comments", sort="TopAll", limit=3))


async def test_top_posts_are_ranked_among_the_newest_candidates(
    user: Api, other: Api, admin: Api, anon: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fts, "SEARCH_CANDIDATES", 2)
    community = await make_community(user)
    w = word()
    first, second, third = [(await make_post(user, community["id"], name=f"{w} post {i}"))["id"] for i in range(3)]
    await _upvote_post(other, first)  # the best, but older than the two newest
    await _upvote_post(admin, first)
    await _upvote_post(other, second)
    bounded = await search(anon, w, type_="Posts", sort="TopAll", limit=2)
    assert ids(bounded["posts"], "post") == [second, third]
    assert ids((await search(anon, w, type_="Posts", sort="TopAll", limit=3))["posts"], "post") == [
        first,
        second,
        third,
    ]
    narrowed = await search(anon, w, type_="Posts", sort="TopAll", limit=2, community_id=community["id"])
    assert ids(narrowed["posts"], "post") == [first, second]
    assert ids((await search(anon, w, type_="Posts", sort="Old", limit=2))["posts"], "post") == [first, second]


async def _posts(api: Api, community_id: int, text: str, n: int) -> list[int]:
    return [(await make_post(api, community_id, name=f"{text} number {i}"))["id"] for i in range(n)]


def _post_ids(data: dict[str, Any]) -> list[int]:
    return ids(data["posts"], "post")


async def test_posts_in_the_window_first_then_every_post_when_it_does_not_fill_the_page(
    user: Api, other: Api, anon: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fts, "POST_SEARCH_WINDOW", 3)  # the newest three posts of the whole site
    community = (await make_community(user))["id"]
    w, rare = word(), word()
    (old_rare,) = await _posts(user, community, f"forgotten {rare}", 1)
    (old,) = await _posts(user, community, f"older {w}", 1)
    await _upvote_post(other, old)
    recent = await _posts(user, community, f"recent {w}", 2)
    await _posts(user, community, "unrelated words", 1)
    # The window (the newest three posts) holds two matches: a page of two is filled there, by them.
    assert sorted(_post_ids(await search(anon, w, type_="Posts", sort="TopAll", limit=2))) == sorted(recent)
    # A page of three is not: the search goes on over every post, and the best (older) one comes first.
    assert _post_ids(await search(anon, w, type_="Posts", sort="TopAll", limit=3))[0] == old
    # A rare word outside the window is still found, and in an All search too.
    assert _post_ids(await search(anon, rare, type_="Posts")) == [old_rare]
    assert _post_ids(await search(anon, rare, type_="All")) == [old_rare]


async def test_posts_with_the_whole_word_first_then_the_words_it_begins(user: Api, other: Api, anon: Api) -> None:
    community = (await make_community(user))["id"]
    w = word()
    (longer,) = await _posts(user, community, f"about {w}ing", 1)
    await _upvote_post(other, longer)  # the best match of the prefix
    whole = await _posts(user, community, f"about {w}", 2)
    assert sorted(_post_ids(await search(anon, w, type_="Posts", sort="TopAll", limit=2))) == sorted(whole)
    assert _post_ids(await search(anon, w, type_="Posts", sort="TopAll", limit=3))[0] == longer
    assert longer in _post_ids(await search(anon, w[:-1], type_="Posts", sort="TopAll", limit=3))
    # The title-only search is a substring match, unbounded: the longer word's post is found by the whole word.
    title_only = await search(anon, w, type_="Posts", sort="TopAll", limit=2, post_title_only="true")
    assert _post_ids(title_only)[0] == longer


@pytest.mark.parametrize("common_share", [0.0, 1.0])
async def test_common_and_other_words_find_the_same_candidates(
    common_share: float, user: Api, other: Api, anon: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL a common word walks the primary key and any other is read through the GIN index
    (db/search.py, _newest): the same rows either way. 0.0 makes every word common, 1.0 none."""
    monkeypatch.setattr(fts, "COMMON_SHARE", common_share)
    monkeypatch.setattr(fts, "SEARCH_CANDIDATES", 2)
    community = await make_community(user)
    w = word()
    posts = [(await make_post(user, community["id"], name=f"{w} post {i}"))["id"] for i in range(3)]
    comments = await _comments(user, posts[0], f"on {w}", 3)
    await _upvote_comment(other, comments[0])
    data = await search(anon, w, sort="TopAll", limit=2)
    assert ids(data["posts"], "post") == [posts[2], posts[1]]
    assert _comment_ids(data) == [comments[2], comments[1]]


async def test_a_whole_word_is_common_by_its_own_share(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The plan of a bounded search (walk the key for a common word, the GIN index otherwise) counts the last word
    as a prefix, or whole when the search asks for whole words: a rare word that begins common ones would
    otherwise walk the whole window."""
    async with app.state.moot.db.read() as session:
        database = session.get_bind().engine.url.render_as_string(hide_password=True)
        shares = {"zqword": 0.001, "zqwording": 0.5}
        monkeypatch.setitem(fts._word_shares, (database, "ix_comment_fts"), (time.monotonic(), shares))
        assert fts._is_common(session, "ix_comment_fts", ["zqword"])
        assert not fts._is_common(session, "ix_comment_fts", ["zqword"], whole_words=True)
        assert fts._is_common(session, "ix_comment_fts", ["zqwording"], whole_words=True)
