"""What a handle or URL names among the objects this server has (the local half of Lemmy's resolve_object):
`!community@host`, `@person@host`, `name@host`, the id of any object we hold, or a URL of one of our pages.
The API's /resolve_object and the search page both ask it before they fetch from another server."""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from moot.db.comment import Comment
from moot.db.community import Community
from moot.db.person import Person
from moot.db.post import Post
from moot.domain.errors import LemmyError
from moot.queries.communities import find_community_id
from moot.queries.persons import find_person_id


def looks_resolvable(q: str) -> bool:
    """A search text that names one object rather than words: a handle or an http(s) URL, one token."""
    q = q.strip()
    if not q or any(ch.isspace() for ch in q):
        return False
    if urlsplit(q).scheme in ("http", "https"):
        return bool(urlsplit(q).netloc)
    name, _, host = q.lstrip("!@").partition("@")
    return bool(name) and (bool(host) or q[0] in "!@") and "/" not in q


async def find_local_object(session: AsyncSession, q: str, domain: str) -> tuple[str, int]:
    """(kind, id) of what `q` names here, kind one of community, person, post, comment; a LemmyError (404) when
    this server has nothing by that name. The id of a post or comment URL of ours is not checked here."""
    q = q.strip()
    if q.startswith("!"):
        return "community", await find_community_id(session, q[1:], domain)
    if q.startswith("@"):
        return "person", await find_person_id(session, q[1:], domain)
    if "@" in q and "/" not in q:
        # A bare name@host is a person, else a community (WebFinger lists both kinds under one name).
        try:
            return "person", await find_person_id(session, q, domain)
        except LemmyError:
            return "community", await find_community_id(session, q, domain)
    url = urlsplit(q)
    if url.scheme not in ("http", "https"):
        raise LemmyError("couldnt_find_object", status=404)
    # Any object whose id is this URL (local, or remote ones we already have).
    for model, key in ((Post, "post"), (Comment, "comment"), (Community, "community"), (Person, "person")):
        found = await session.scalar(select(model.id).where(model.ap_id == q))
        if found is not None:
            return key, int(found)
    if url.netloc.lower() == domain:
        parts = [p for p in url.path.split("/") if p]
        if len(parts) == 2 and parts[0] in ("post", "comment") and parts[1].isdigit():
            return parts[0], int(parts[1])
        if len(parts) == 2 and parts[0] == "c":
            return "community", await find_community_id(session, parts[1], domain)
        if len(parts) == 2 and parts[0] == "u":
            return "person", await find_person_id(session, parts[1], domain)
    raise LemmyError("couldnt_find_object", status=404)
