"""What every HTML page needs to know about the site, in one statement: name, defaults and switches."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ScalarSelect, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from moot.db.site import LocalSite, Site, Tagline


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
    icon: str | None = None
    banner: str | None = None
    content_warning: str | None = None
    legal_information: str | None = None
    default_theme: str = "browser"
    private_instance: bool = False
    tagline: str | None = None  # one of the site's taglines, picked at random for each page


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
                Site.icon,
                Site.banner,
                Site.content_warning,
                LocalSite.legal_information,
                LocalSite.default_theme,
                LocalSite.private_instance,
                _random_tagline(),
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
        icon=row[9],
        banner=row[10],
        content_warning=row[11],
        legal_information=row[12],
        default_theme=row[13],
        private_instance=bool(row[14]),
        tagline=row[15],
    )


def _random_tagline() -> ScalarSelect[str]:
    return (
        select(Tagline.content)
        .where(Tagline.local_site_id == LocalSite.id)
        .order_by(func.random())
        .limit(1)
        .scalar_subquery()
    )
