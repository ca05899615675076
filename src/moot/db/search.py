"""Full-text search, per dialect: FTS5 tables on SQLite (kept here, called by the actions), GIN on PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, bindparam, func, literal_column, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from moot.db.comment import Comment
from moot.db.post import Post

_WORD = re.compile(r"\w+", re.UNICODE)
_SEARCH_OBJECTS = ("post_fts", "comment_fts", "ix_post_fts", "ix_comment_fts")


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


def _fts_ids(table: str, terms: list[str]) -> Any:
    """Row ids whose FTS5 entry has every term (the last as a prefix); terms are quoted, so no operators."""
    match = " ".join(f'"{t}"' for t in terms[:-1]) + f' "{terms[-1]}"*'
    return (
        select(literal_column("rowid"))
        .select_from(text(table))
        .where(text(f"{table} MATCH :{table}_q").bindparams(**{f"{table}_q": match.strip()}))
    )


_SIMPLE: Any = literal_column("'simple'")
_EMPTY: Any = literal_column("''")


def _tsquery_match(document: Any, terms: list[str]) -> ColumnElement[bool]:
    # Constants are inlined (not bound) so the expression is the index's own and PostgreSQL can use the index.
    matched: ColumnElement[bool] = func.to_tsvector(_SIMPLE, document).op("@@")(
        func.to_tsquery(_SIMPLE, _pg_query(terms))
    )
    return matched


def post_matches(session: AsyncSession, query: str) -> ColumnElement[bool]:
    """A WHERE clause: the post's title or body contains every word of `query` (prefix match on the last)."""
    terms = _terms(query)
    if not terms:
        return _nothing()
    if _is_sqlite(session):
        return Post.id.in_(_fts_ids("post_fts", terms))
    # The same expression as the GIN index of migration 0001, so that PostgreSQL uses it.
    document = (
        func.coalesce(Post.name, _EMPTY).op("||")(literal_column("' '")).op("||")(func.coalesce(Post.body, _EMPTY))
    )
    return _tsquery_match(document, terms)


def comment_matches(session: AsyncSession, query: str) -> ColumnElement[bool]:
    terms = _terms(query)
    if not terms:
        return _nothing()
    if _is_sqlite(session):
        return Comment.id.in_(_fts_ids("comment_fts", terms))
    return _tsquery_match(Comment.content, terms)


def _pg_query(terms: list[str]) -> str:
    # Words only (no operators reach to_tsquery); the last one matches as a prefix, as people type.
    quoted = [t.replace("'", "") for t in terms]
    return " & ".join([*quoted[:-1], quoted[-1] + ":*"])


async def allow_exact_bitmaps(session: AsyncSession) -> None:
    """PostgreSQL: enough memory, for this transaction only, that a common word's matches stay an exact bitmap.

    With the stock work_mem (4 MB) the bitmap of a word in 1% of ten million comments turns lossy and every row
    of the lossy pages is rechecked, to_tsvector recomputed for 550,000 rows: 13.8 s. At 16 MB it stays exact:
    1.0 s (EXPLAIN ANALYZE on the bench database). The cost is bounded: one statement at a time per session."""
    if not _is_sqlite(session):
        await session.execute(text("SET LOCAL work_mem = '16MB'"))
