"""What every HTML page needs to know about the site, in one statement: name, defaults and switches."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from moot.db.site import LocalSite, Site


@dataclass(frozen=True, slots=True)
class SiteHeader:
    name: str
    description: str | None
    sidebar: str | None
    default_listing: str
    default_sort: str
    enable_downvotes: bool
    enable_nsfw: bool
    registration_mode: str
    community_creation_admin_only: bool


FALLBACK = SiteHeader(
    name="Moot",
    description=None,
    sidebar=None,
    default_listing="Local",
    default_sort="Active",
    enable_downvotes=True,
    enable_nsfw=True,
    registration_mode="Open",
    community_creation_admin_only=False,
)


async def site_header(session: AsyncSession) -> SiteHeader:
    """The site row and its local settings; a fallback before setup has run (never an error on a page)."""
    row = (
        await session.execute(
            select(
                Site.name,
                Site.description,
                Site.sidebar,
                LocalSite.default_post_listing_type,
                LocalSite.default_sort_type,
                LocalSite.enable_downvotes,
                LocalSite.enable_nsfw,
                LocalSite.registration_mode,
                LocalSite.community_creation_admin_only,
            )
            .join(LocalSite, LocalSite.site_id == Site.id)
            .limit(1)
        )
    ).first()
    if row is None:
        return FALLBACK
    return SiteHeader(
        name=row[0],
        description=row[1],
        sidebar=row[2],
        default_listing=row[3],
        default_sort=row[4],
        enable_downvotes=bool(row[5]),
        enable_nsfw=bool(row[6]),
        registration_mode=row[7],
        community_creation_admin_only=bool(row[8]),
    )
