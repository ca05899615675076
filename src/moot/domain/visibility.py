"""Who may read a community's content: the one rule, as Lemmy 0.19 keeps it (`visible_communities_only`).

A Public community is read by everyone, other servers included. A LocalOnly one is read by people logged in on
this server and by nobody else: not by anonymous visitors, not by other servers (which read as anonymous visitors
do, and to which nothing of it is ever sent). `queries/visibility.py` turns the rule into the SQL condition every
read model applies; the federation paths, which hold one community row, ask `visible_to_other_servers`."""

from __future__ import annotations

from typing import Protocol

from moot.domain.enums import CommunityVisibility

# The visibility whose content needs no login here; the SQL condition compares with it.
OPEN_TO_ALL = CommunityVisibility.PUBLIC.value


class HasVisibility(Protocol):
    @property
    def visibility(self) -> str: ...


def may_read(community: HasVisibility, *, logged_in_here: bool) -> bool:
    """Whether a reader sees the community's content: anyone for Public, local accounts only for LocalOnly."""
    return community.visibility == OPEN_TO_ALL or logged_in_here


def visible_to_other_servers(community: HasVisibility) -> bool:
    """Other servers read as anonymous visitors: they are never logged in here."""
    return may_read(community, logged_in_here=False)
