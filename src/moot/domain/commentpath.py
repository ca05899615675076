"""Lemmy's comment path, read and written in one place: `0.12.45` is comment 45, a reply to comment 12, which is
a top-level comment of its post (the leading `0` is the post)."""

from __future__ import annotations

ROOT = "0"
SEPARATOR = "."
# The character right after "." in ASCII: every descendant of `p` sorts between `p + "."` and `p + "/"`, so "the
# comment and its replies" is one range read of an index on the path (Lemmy's `path <@ p`).
AFTER_SEPARATOR = "/"


def child_path(parent_path: str | None, comment_id: int) -> str:
    """The path of comment `comment_id` under `parent_path` (None: a top-level comment)."""
    return f"{parent_path or ROOT}{SEPARATOR}{comment_id}"


def comment_ids(path: str) -> list[int]:
    """Every comment on the path, from the top-level one down to the comment itself."""
    return [int(part) for part in path.split(SEPARATOR)[1:]]


def parent_path(path: str) -> str:
    """The path of the comment this one replies to (`0` for a top-level comment: the post)."""
    return path.rsplit(SEPARATOR, 1)[0]


def is_descendant(path: str, ancestor: str) -> bool:
    """Whether `path` is a reply (at any depth) under the comment at `ancestor`."""
    return path.startswith(ancestor + SEPARATOR)


def parent_id(path: str) -> int | None:
    """The comment this one replies to, or None for a top-level comment."""
    ids = comment_ids(path)
    return ids[-2] if len(ids) >= 2 else None


def root_id(path: str) -> int:
    """The top-level comment of the thread this comment is in (itself, when it is top-level)."""
    return comment_ids(path)[0]


def ancestor_paths(path: str) -> list[str]:
    """The paths of the comment's ancestors and its own, top-level first (`0.12`, `0.12.45`)."""
    parts = path.split(SEPARATOR)
    return [SEPARATOR.join(parts[:end]) for end in range(2, len(parts) + 1)]
