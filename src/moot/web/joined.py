"""The joined thread's top level: this server's comments and the remote halves' comments under one sort.

The local comments of a link's posts come from one tree query, already in the sort's order
(queries/comments.py). The remote halves (federation/remote_threads.py) are other servers' comments on a
cross-post nobody here follows, read from their origin and never stored. Here they are interleaved by the same
sort as a reader would expect of one discussion: each remote top-level comment (with its replies) goes where
its key puts it among the local ones, whose own order is kept as the database gave it. Hot ranks of remote
comments are computed now with the formula the rank job uses for ours (domain/ranking.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from moot.domain.enums import CommentSortType
from moot.domain.ranking import hot_rank
from moot.federation.remote_threads import RemoteComment, RemoteHalf
from moot.web.tree import Node

SortKey = tuple[float, ...]


@dataclass(frozen=True, slots=True)
class RemoteTop:
    """A remote top-level comment in the joined tree, with the half (post, origin) it was read from."""

    half: RemoteHalf
    comment: RemoteComment


ThreadItem = Node | RemoteTop


def _local_key(node: Node, sort: CommentSortType) -> SortKey:
    c = node.view.comment
    pinned = 1.0 if c.distinguished else 0.0  # a moderator's distinguished comment stays on top, as in one post
    match sort:
        case CommentSortType.TOP:
            return (pinned, c.score, c.published.timestamp())
        case CommentSortType.NEW:
            return (pinned, c.published.timestamp())
        case CommentSortType.OLD:
            return (pinned, -c.published.timestamp())
        case CommentSortType.CONTROVERSIAL:
            return (pinned, c.controversy_rank, c.score)
        case _:
            return (pinned, c.hot_rank, c.score)


def _remote_key(c: RemoteComment, sort: CommentSortType, now: datetime) -> SortKey:
    match sort:
        case CommentSortType.TOP:
            return (0.0, c.score, c.published.timestamp())
        case CommentSortType.NEW:
            return (0.0, c.published.timestamp())
        case CommentSortType.OLD:
            return (0.0, -c.published.timestamp())
        case CommentSortType.CONTROVERSIAL:
            # The origin's answer carries the score only: a remote comment ranks as uncontroversial.
            return (0.0, 0.0, c.score)
        case _:
            return (0.0, hot_rank(c.score, c.published, now), c.score)


def interleave(
    tree: Sequence[Node], halves: Sequence[RemoteHalf], sort: CommentSortType, now: datetime
) -> list[ThreadItem]:
    """The top level of the joined thread: `tree` in its own order, each remote top-level comment placed before
    the first local one it outranks (on equal keys the local comment comes first)."""
    remote = [(_remote_key(c, sort, now), RemoteTop(half, c)) for half in halves for c in half.comments]
    remote.sort(key=lambda pair: pair[0], reverse=True)  # stable: each origin's own order among equals
    merged: list[ThreadItem] = []
    i = 0
    for node in tree:
        key = _local_key(node, sort)
        while i < len(remote) and remote[i][0] > key:
            merged.append(remote[i][1])
            i += 1
        merged.append(node)
    merged.extend(top for _, top in remote[i:])
    return merged
