"""Full-text search, per dialect: FTS5 tables on SQLite (kept here, called by the actions), GIN on PostgreSQL."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import ColumnElement, func, literal_column, select, text
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


def _terms(query: str) -> list[str]:
    return _WORD.findall(query)[:16]


def post_matches(session: AsyncSession, query: str) -> ColumnElement[bool]:
    """A WHERE clause: the post's title or body contains every word of `query` (prefix match on the last)."""
    terms = _terms(query)
    if not terms:
        return literal_column("1") == literal_column("0")
    if _is_sqlite(session):
        match = " ".join(f'"{t}"' for t in terms[:-1]) + f' "{terms[-1]}"*'
        ids: Any = (
            select(literal_column("rowid"))
            .select_from(text("post_fts"))
            .where(text("post_fts MATCH :q").bindparams(q=match.strip()))
        )
        return Post.id.in_(ids)
    vector = func.to_tsvector(
        "simple", func.coalesce(Post.name, "") + literal_column("' '") + func.coalesce(Post.body, "")
    )
    return vector.op("@@")(func.to_tsquery("simple", _pg_query(terms)))


def comment_matches(session: AsyncSession, query: str) -> ColumnElement[bool]:
    terms = _terms(query)
    if not terms:
        return literal_column("1") == literal_column("0")
    if _is_sqlite(session):
        match = " ".join(f'"{t}"' for t in terms[:-1]) + f' "{terms[-1]}"*'
        ids: Any = (
            select(literal_column("rowid"))
            .select_from(text("comment_fts"))
            .where(text("comment_fts MATCH :cq").bindparams(cq=match.strip()))
        )
        return Comment.id.in_(ids)
    vector = func.to_tsvector("simple", Comment.content)
    matched: ColumnElement[bool] = vector.op("@@")(func.to_tsquery("simple", _pg_query(terms)))
    return matched


def _pg_query(terms: list[str]) -> str:
    # Words only (no operators reach to_tsquery); the last one matches as a prefix, as people type.
    quoted = [t.replace("'", "") for t in terms]
    return " & ".join([*quoted[:-1], quoted[-1] + ":*"])
