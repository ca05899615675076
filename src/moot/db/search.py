"""Full-text search, per dialect: FTS5 tables on SQLite (kept here, called by the actions), GIN on PostgreSQL."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from sqlalchemy import ColumnElement, bindparam, func, literal_column, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from moot.db.comment import Comment
from moot.db.engine import setting
from moot.db.params import literal_int
from moot.db.post import Post

_WORD = re.compile(r"\w+", re.UNICODE)
_SEARCH_OBJECTS = ("post_fts", "comment_fts", "ix_post_fts", "ix_comment_fts", "ix_person_trgm", "ix_community_trgm")


def is_search_object(name: str | None) -> bool:
    """The FTS5 tables and GIN indexes live outside the table metadata; schema comparisons skip them."""
    return name is not None and name.startswith(_SEARCH_OBJECTS)


def _is_sqlite(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "sqlite"


async def index_post(session: AsyncSession, post: Post) -> None:
    if _is_sqlite(session):
        await session.execute(text("DELETE FROM post_fts WHERE rowid = :id"), {"id": post.id})
        await session.execute(
            text("INSERT INTO post_fts(rowid, name, body) VALUES (:id, :name, :body)"),
            {"id": post.id, "name": post.name, "body": post.body or ""},
        )


async def index_comment(session: AsyncSession, comment: Comment) -> None:
    if _is_sqlite(session):
        await session.execute(text("DELETE FROM comment_fts WHERE rowid = :id"), {"id": comment.id})
        await session.execute(
            text("INSERT INTO comment_fts(rowid, content) VALUES (:id, :content)"),
            {"id": comment.id, "content": comment.content},
        )


_UNINDEX_POSTS = text("DELETE FROM post_fts WHERE rowid IN :ids").bindparams(bindparam("ids", expanding=True))
_UNINDEX_COMMENTS = text("DELETE FROM comment_fts WHERE rowid IN :ids").bindparams(bindparam("ids", expanding=True))


async def unindex_posts(session: AsyncSession, ids: Sequence[int]) -> None:
    """Purged posts leave the FTS5 table (PostgreSQL's GIN index follows the rows by itself)."""
    await _unindex(session, _UNINDEX_POSTS, ids)


async def unindex_comments(session: AsyncSession, ids: Sequence[int]) -> None:
    await _unindex(session, _UNINDEX_COMMENTS, ids)


async def _unindex(session: AsyncSession, statement: Any, ids: Sequence[int]) -> None:
    if _is_sqlite(session):
        for start in range(0, len(ids), 500):
            await session.execute(statement, {"ids": list(ids[start : start + 500])})


def _terms(query: str) -> list[str]:
    return _WORD.findall(query)[:16]


def _nothing() -> ColumnElement[bool]:
    return literal_column("1") == literal_column("0")


def _fts_ids(table: str, terms: list[str], whole_words: bool = False) -> Any:
    """Row ids whose FTS5 entry has every term (the last as a prefix, unless `whole_words`); terms are quoted, so
    no operators."""
    match = " ".join(f'"{t}"' for t in terms[:-1]) + f' "{terms[-1]}"' + ("" if whole_words else "*")
    return (
        select(literal_column("rowid"))
        .select_from(text(table))
        .where(text(f"{table} MATCH :{table}_q").bindparams(**{f"{table}_q": match.strip()}))
    )


_SIMPLE: Any = literal_column("'simple'")
_EMPTY: Any = literal_column("''")


def _tsquery_match(document: Any, terms: list[str], whole_words: bool = False) -> ColumnElement[bool]:
    # Constants are inlined (not bound) so the expression is the index's own and PostgreSQL can use the index.
    matched: ColumnElement[bool] = func.to_tsvector(_SIMPLE, document).op("@@")(
        func.to_tsquery(_SIMPLE, _pg_query(terms, whole_words))
    )
    return matched


def post_matches(session: AsyncSession, query: str, post: Any = Post) -> ColumnElement[bool]:
    """A WHERE clause: the post's title or body contains every word of `query` (prefix match on the last)."""
    terms = _terms(query)
    if not terms:
        return _nothing()
    if _is_sqlite(session):
        in_index: ColumnElement[bool] = post.id.in_(_fts_ids("post_fts", terms))
        return in_index
    return _tsquery_match(_post_document(post), terms)


def _post_document(post: Any) -> Any:
    """The same expression as the GIN index of migration 0001, so that PostgreSQL uses it."""
    return func.coalesce(post.name, _EMPTY).op("||")(literal_column("' '")).op("||")(func.coalesce(post.body, _EMPTY))


def post_candidates(
    session: AsyncSession, query: str, newer_than: int = 0, *, whole_words: bool = False
) -> ColumnElement[bool]:
    """A WHERE clause: the post is one of the newest SEARCH_CANDIDATES live posts matching `query`, of those with
    an id above `newer_than` (0: of all); with `whole_words` the last word is matched whole, not as a prefix.
    The site-wide search asks in the order of `search_tries` (queries/posts.py, `search_posts`).

    Why bounded: a very common word matches most of the million posts, and ranking them all took 17 s on the
    bench database; with the bound PostgreSQL reads the primary key backwards until SEARCH_CANDIDATES posts
    match (_newest). Why a window first: a word in 1.4% of the posts (14,700) was read through the GIN index and
    every match's heap row visited for its id and flags, 7,000 pages: 58-66 ms in two processes (a parallel
    scan). Among the newest POST_SEARCH_WINDOW posts the GIN bitmap is ANDed with a primary-key range and 1,400
    matches are visited: 17 ms in one. A word rarer than that finds its few matches among all posts."""
    terms = _terms(query)
    if not terms:
        return _nothing()
    c = aliased(Post, name="candidate")  # not correlated with the outer post
    floor: ColumnElement[int] = literal_column(str(int(newer_than)))  # inlined: see comment_candidates
    matched: ColumnElement[bool] = (
        c.id.in_(_fts_ids("post_fts", terms, whole_words))
        if _is_sqlite(session)
        else _tsquery_match(_post_document(c), terms, whole_words)
    )
    newest = (
        select(c.id)
        .where(matched, c.deleted.is_(False), c.removed.is_(False), c.id > floor)
        .order_by(_newest(session, c.id, _is_common(session, "ix_post_fts", terms, whole_words)))
        .limit(literal_int(SEARCH_CANDIDATES))
    )
    return Post.id.in_(newest.scalar_subquery())


def comment_matches(session: AsyncSession, query: str) -> ColumnElement[bool]:
    terms = _terms(query)
    if not terms:
        return _nothing()
    if _is_sqlite(session):
        return Comment.id.in_(_fts_ids("comment_fts", terms))
    return _tsquery_match(Comment.content, terms)


# A site-wide search ranks the newest SEARCH_CANDIDATES live matches, looked for among the newest SEARCH_WINDOW
# comments (POST_SEARCH_WINDOW posts) first. Module constants: tests patch them small.
SEARCH_CANDIDATES = 1000
SEARCH_WINDOW = 200_000
POST_SEARCH_WINDOW = 100_000
# A word in at least this share of the rows is found faster by walking the primary key backwards.
COMMON_SHARE = 0.05
WORD_SHARES_SECONDS = 600.0
# (database, index) -> (loaded at, word -> share of the rows): PostgreSQL's statistics of the GIN index's words.
_word_shares: dict[tuple[str, str], tuple[float, dict[str, float]]] = {}


async def load_word_shares(session: AsyncSession) -> None:
    """PostgreSQL: refresh (every WORD_SHARES_SECONDS) the shares of the most common words of both search
    indexes, from the statistics ANALYZE keeps (pg_stats.most_common_elems). They only choose a plan, never
    the results, so an old copy is harmless."""
    if _is_sqlite(session):
        return
    database = session.get_bind().engine.url.render_as_string(hide_password=True)
    for index in ("ix_post_fts", "ix_comment_fts"):
        loaded = _word_shares.get((database, index))
        if loaded is not None and time.monotonic() - loaded[0] < WORD_SHARES_SECONDS:
            continue
        rows = await session.execute(_WORD_SHARES, {"index": index})
        _word_shares[(database, index)] = (time.monotonic(), {row.word: row.share for row in rows if row.word})


# most_common_elem_freqs ends with three statistics of its own, which pair with no word.
_WORD_SHARES = text(
    "SELECT w.word, w.share FROM pg_stats, "
    "unnest(most_common_elems::text::text[], most_common_elem_freqs) AS w(word, share) "
    "WHERE tablename = :index"
)


def _is_common(session: AsyncSession, index: str, terms: list[str], whole_words: bool = False) -> bool:
    """Every term (the last as a prefix, unless `whole_words`) is in at least COMMON_SHARE of the rows, as far as
    the statistics loaded by load_word_shares know."""
    database = session.get_bind().engine.url.render_as_string(hide_password=True)
    shares = _word_shares.get((database, index), (0.0, {}))[1]
    words = [t.lower() for t in terms]
    if whole_words:
        last = shares.get(words[-1], 0.0)
    else:
        last = sum(share for word, share in shares.items() if word.startswith(words[-1]))
    return min([shares.get(w, 0.0) for w in words[:-1]] + [last]) >= COMMON_SHARE


def _newest(session: AsyncSession, column: Any, common: bool) -> Any:
    """Newest first. A common word walks the primary key backwards and stops after SEARCH_CANDIDATES
    matches (1,400 rows for a word in 85% of comments). Any other word is read through the GIN index and
    its matches sorted: `id + 0` keeps PostgreSQL from walking the key, which it costs too low (to_tsvector
    runs for every row it passes: 75,000 posts, 1.3 s, for a word in 1.4% of them)."""
    if common or _is_sqlite(session):
        return column.desc()
    return (column + 0).desc()


async def comment_window_floor(session: AsyncSession) -> int:
    """The id above which the newest SEARCH_WINDOW comments lie (0 when there are fewer): one pk lookup."""
    newest = await session.scalar(select(func.max(Comment.id)))
    return max(0, (newest or 0) - SEARCH_WINDOW)


async def post_window_floor(session: AsyncSession) -> int:
    """The id above which the newest POST_SEARCH_WINDOW posts lie (0 when there are fewer): one pk lookup."""
    newest = await session.scalar(select(func.max(Post.id)))
    return max(0, (newest or 0) - POST_SEARCH_WINDOW)


def search_tries(floor: int) -> list[tuple[int, bool]]:
    """The order a bounded site-wide search asks in, as (newer_than, whole_words), until a page is full: the
    window with the last word whole, then as a prefix, then everything (when there is a window).

    The last word whole first: reading a word's GIN list whole costs a third of reading it as a prefix (30
    against 79 ms for a word in 1% of ten million comments: the prefix's matches are gathered into a bitmap
    before anything else), and a whole word found in enough rows ranks above the longer words it begins."""
    return [(floor, True), (floor, False)] + ([(0, False)] if floor else [])


def comment_candidates(
    session: AsyncSession, query: str, newer_than: int = 0, *, whole_words: bool = False
) -> ColumnElement[bool]:
    """A WHERE clause: the comment is one of the newest SEARCH_CANDIDATES live comments matching `query`, of
    those with an id above `newer_than` (0: of all); with `whole_words`, the last word too is matched whole, not
    as a prefix (queries/comments.py asks that first: see `_searched`).

    Why bounded: a word in 1% of ten million comments matches 117,000 rows, and ranking them all (Top, Hot)
    reads every one from the heap: 0.6-1.7 s on the bench database. The GIN index cannot give the matches in
    any order, so the bound comes from the window: `id > newer_than` turns the plan into a BitmapAnd of the
    GIN bitmap and a primary-key range, and only the window's matches (2,300 for that word) are read; a very
    common word walks the primary key instead (_newest). Callers fall back to `newer_than=0` when the window
    does not fill the page, so a rare word still finds old comments (its GIN list is short: cheap)."""
    terms = _terms(query)
    if not terms:
        return _nothing()
    c = aliased(Comment, name="candidate")  # not correlated with the outer comment
    # Inlined, as the words are: a bound floor gets a generic plan after five runs, estimated at a third of
    # the table, and PostgreSQL would then read every match again.
    floor: ColumnElement[int] = literal_column(str(int(newer_than)))
    matched = (
        c.id.in_(_fts_ids("comment_fts", terms, whole_words))
        if _is_sqlite(session)
        else _tsquery_match(c.content, terms, whole_words)
    )
    newest = (
        select(c.id)
        .where(matched, c.deleted.is_(False), c.removed.is_(False), c.id > floor)
        .order_by(_newest(session, c.id, _is_common(session, "ix_comment_fts", terms, whole_words)))
        .limit(literal_int(SEARCH_CANDIDATES))
    )
    return Comment.id.in_(newest.scalar_subquery())


def _pg_query(terms: list[str], whole_words: bool = False) -> str:
    # Words only (no operators reach to_tsquery); the last one matches as a prefix, as people type, unless the
    # search asks for whole words.
    quoted = [t.replace("'", "") for t in terms]
    return " & ".join([*quoted[:-1], quoted[-1] + ("" if whole_words else ":*")])


def exact_bitmaps(session: AsyncSession) -> AbstractAsyncContextManager[None]:
    """PostgreSQL: enough memory, for the statements inside the block, that a common word's matches stay an exact
    bitmap (16 MB at least; a server configured for more keeps its own).

    With the stock work_mem (4 MB) the bitmap of a word in 1% of ten million comments turns lossy and every row
    of the lossy pages is rechecked, to_tsvector recomputed for 550,000 rows: 13.8 s. At 16 MB it stays exact:
    1.0 s (EXPLAIN ANALYZE on the bench database). The cost is bounded: one statement at a time per session."""
    return setting(session, "work_mem", "'16MB'", at_least=True)  # a server tuned for more keeps its own
