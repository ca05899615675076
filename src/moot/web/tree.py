"""Comment trees for the pages: the depth-first rows of a tree fetch nested under their parents."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from moot.domain.commentpath import ancestor_paths, is_descendant, parent_path
from moot.queries.comments import CommentView


@dataclass(slots=True)
class Node:
    view: CommentView
    children: list[Node] = field(default_factory=list)

    @property
    def id(self) -> int:
        return self.view.comment.id

    @property
    def shown(self) -> int:
        """How many replies below this one the page holds."""
        return sum(1 + child.shown for child in self.children)

    @property
    def hidden(self) -> int:
        """Replies the fetch left out (depth or size cap, or blocked authors): "load more" links to them."""
        return max(self.view.comment.child_count - self.shown, 0)


def build_tree(views: Sequence[CommentView]) -> list[Node]:
    """Nest the rows; a row whose parent is not among them starts a tree of its own (the root of a
    subtree view, or a branch whose ancestors were cut off)."""
    by_path: dict[str, Node] = {}
    roots: list[Node] = []
    for view in views:
        node = Node(view)
        by_path[view.comment.path] = node
        parent = by_path.get(parent_path(view.comment.path))
        if parent is None:
            roots.append(node)
        else:
            parent.children.append(node)
    return roots


def branch_of(views: Sequence[CommentView], target_path: str) -> list[CommentView]:
    """Only the target's ancestors, the target and everything under it: the "context" of one comment."""
    ancestors = set(ancestor_paths(target_path))
    return [v for v in views if v.comment.path in ancestors or is_descendant(v.comment.path, target_path)]


def walk(nodes: Sequence[Node]) -> Iterator[Node]:
    for node in nodes:
        yield node
        yield from walk(node.children)
