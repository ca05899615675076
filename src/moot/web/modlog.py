"""The modlog page: every moderator and admin action, newest first, filtered by community, moderator, person and
kind; who acted is hidden from readers who are not moderators or admins when the site says so (as GET /modlog)."""

from __future__ import annotations

import contextlib

from fastapi import Depends
from fastapi.responses import Response

from moot.actions import access
from moot.domain.errors import LemmyError
from moot.queries.communities import find_community_id, get_community_view
from moot.queries.defaults import site_switches
from moot.queries.modlog import ALL_KINDS, ModlogQuery, list_modlog
from moot.queries.persons import find_person_id
from moot.web.context import Web, web_context
from moot.web.params import page_number
from moot.web.render import handle
from moot.web.routing import web_router

router = web_router()

PAGE_SIZE = 20

KIND_LABELS: dict[str, str] = {
    "ModRemovePost": "Post removals",
    "ModLockPost": "Post locks",
    "ModFeaturePost": "Featured posts",
    "ModRemoveComment": "Comment removals",
    "ModRemoveCommunity": "Community removals",
    "ModBanFromCommunity": "Community bans",
    "ModAddCommunity": "Moderators",
    "ModTransferCommunity": "Community transfers",
    "ModAdd": "Admins",
    "ModBan": "Site bans",
    "ModHideCommunity": "Hidden communities",
    "AdminPurgePerson": "Purged people",
    "AdminPurgeCommunity": "Purged communities",
    "AdminPurgePost": "Purged posts",
    "AdminPurgeComment": "Purged comments",
}


@router.get("/modlog")
async def modlog_page(
    community: str | None = None,
    community_id: int | None = None,
    mod: str | None = None,
    person: str | None = None,
    type: str | None = None,  # the query parameter's name
    page: str | None = None,
    web: Web = Depends(web_context),
) -> Response:
    kind = type if type in ALL_KINDS else None
    number = page_number(page)
    unknown: list[str] = []
    async with web.db.read() as session:
        hide = (await site_switches(session)).hide_modlog_mod_names
        show_names = not hide or (web.viewer is not None and await access.is_mod_of_any_or_admin(session, web.viewer))
        domain = web.settings.domain
        ids: dict[str, int | None] = {"community": community_id, "mod": None, "person": None}
        for key, name in (("community", community), ("mod", mod if show_names else None), ("person", person)):
            if name and name.strip():
                with contextlib.suppress(LemmyError):
                    ids[key] = await (find_community_id if key == "community" else find_person_id)(
                        session, name.strip().lstrip("!"), domain
                    )
                if ids[key] is None:
                    unknown.append(name.strip())
        query = ModlogQuery(
            community_id=ids["community"],
            mod_person_id=ids["mod"],
            other_person_id=ids["person"],
            type_=kind,
            page=number,
            limit=PAGE_SIZE,
        )
        rows = [] if unknown else await list_modlog(session, query, web.viewer, show_names=show_names)
        if community_id is not None and not community:
            # Reached from a community's link: its name goes in the filter form, so a new filter keeps it.
            # Named only to a reader who may see the community (a local-only one stays unnamed to visitors).
            with contextlib.suppress(LemmyError):
                named = await get_community_view(session, community_id, web.viewer)
                community = handle(named.community)
    params = {"community": community, "mod": mod, "person": person, "type": kind}
    return web.render(
        "modlog.html",
        title="Modlog",
        rows=rows,
        kinds=KIND_LABELS,
        filters={"community": community or "", "mod": mod or "", "person": person or "", "type": kind or ""},
        params={k: v for k, v in params.items() if v},
        show_names=show_names,
        unknown=unknown,
        page=number,
        has_more=len(rows) >= PAGE_SIZE,
    )
