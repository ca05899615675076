"""Who may read what, as every read model applies it: the community visibility rule and the private instance.

The rule itself is `domain/visibility.py` (Lemmy 0.19's `visible_communities_only`): LocalOnly communities are
read by people logged in here, by nobody else. Every read model joins the community of what it returns and adds
`visible_communities(viewer)` to its statement (posts, comments, communities, a person's moderated communities), so
a LocalOnly community's posts and comments never reach an anonymous reader through any listing, search, profile,
page or feed. Other servers read as anonymous visitors do: the federation paths, which hold one community row,
ask the same rule in Python (`domain.visibility.may_read` / `visible_to_other_servers`).

`private_instance` (Lemmy's check_private_instance) refuses anonymous readers altogether: the API's reads, the
pages and the feeds ask `check_private_instance` before they read anything."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import ColumnElement, true
from sqlalchemy.ext.asyncio import AsyncSession

from moot.db.community import Community
from moot.domain.errors import LemmyError
from moot.domain.visibility import OPEN_TO_ALL
from moot.queries.defaults import site_switches
from moot.queries.viewer import Viewer

INSTANCE_IS_PRIVATE = "instance_is_private"


def visible_communities(viewer: Viewer | None) -> ColumnElement[bool]:
    """The SQL condition on `Community` (joined by the caller): the communities whose content `viewer` reads."""
    if viewer is not None:
        return true()  # a Viewer is always an account of this server
    return Community.visibility == OPEN_TO_ALL


class SiteSettings(Protocol):
    """Whatever copy of the site's settings the caller holds (SiteSwitches, a page's SiteHeader)."""

    @property
    def private_instance(self) -> bool: ...


def check_private_instance(switches: SiteSettings, viewer: Viewer | None) -> None:
    """On a private instance nobody reads without logging in (Lemmy answers `instance_is_private`)."""
    if viewer is None and switches.private_instance:
        raise LemmyError(INSTANCE_IS_PRIVATE)


async def refuse_if_private(session: AsyncSession, viewer: Viewer | None) -> None:
    """`check_private_instance` with the site's settings (kept in memory for a few seconds: no query then)."""
    if viewer is None:
        check_private_instance(await site_switches(session), viewer)
