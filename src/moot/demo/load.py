"""Import the example thread through the actions: a post, its cross-post and their comment trees.

The thread's home host (`alpha.example` in the shipped file) stands for this instance: its people and its
community become local. People of other hosts become remote people, and the cross-post community
(`news@beehaw.org`) a remote community, exactly as federation would have recorded them.

The demo's remote world is made up, even where its names are real (beehaw.org is someone's server), so the demo
never talks to it: the import is one transaction that leaves nothing in the outgoing log (the activities the
actions record for it are taken out before it commits), and the instances it invents go on the site's federation
blocklist, the one rule delivery, the inbox and outbound fetches all ask (`InstanceLists.permits`). Whatever
someone later does to the demo's remote posts and people is therefore not sent to those hosts either, until an
admin takes them off the list."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from moot.actions.accounts import create_local_user
from moot.actions.comments import create_comment
from moot.actions.communities import create_community
from moot.actions.posts import create_post
from moot.actions.remote import upsert_remote_community, upsert_remote_person
from moot.actions.site import block_instances, ensure_site
from moot.db.community import Community
from moot.db.engine import Database, send_kept_writes
from moot.db.federation import SentActivity
from moot.db.instance import Instance
from moot.db.person import LocalUser, Person
from moot.db.post import Post
from moot.domain.timefmt import utcnow
from moot.queries.viewer import Actor, RemoteActor, Viewer
from moot.settings import Settings

DEMO_FILE = Path(__file__).parent / "seed_thread.json"


@dataclass(frozen=True, slots=True)
class DemoSummary:
    post_id: int
    crosspost_ids: list[int]
    comments: int
    created: bool
    blocked: tuple[str, ...] = ()  # the remote hosts the import invented, now on the federation blocklist
    crosspost_comments: int = 0  # comments on the cross-posts: the other half of the link's joined discussion

    def __str__(self) -> str:
        state = "imported" if self.created else "already present"
        text = f"post {self.post_id} {state}, cross-posts {self.crosspost_ids}, {self.comments} comments"
        if self.blocked:
            text += f"; the demo's remote instances are blocked, never contacted: {', '.join(self.blocked)}"
        return text


class _Importer:
    def __init__(self, session: AsyncSession, settings: Settings, home: str) -> None:
        self.session = session
        self.settings = settings
        self.home = home
        self.actors: dict[str, Actor] = {}
        self.local_ap_ids: set[str] = set()  # our people and communities the import acts as

    async def actor(self, handle: str) -> Actor:
        if handle in self.actors:
            return self.actors[handle]
        name, _, host = handle.partition("@")
        actor: Actor
        if host in ("", self.home):
            found = (
                await self.session.execute(
                    select(LocalUser, Person)
                    .join(Person, Person.id == LocalUser.person_id)
                    .where(Person.name == name, Person.local.is_(True))
                )
            ).first()
            if found is None:
                user = await create_local_user(
                    self.session, self.settings, username=name, password=secrets.token_urlsafe(24), email=None
                )
                person = await self.session.get(Person, user.person_id)
                assert person is not None
                found_user, found_person = user, person
            else:
                found_user, found_person = found[0], found[1]
            actor = Viewer(local_user=found_user, person=found_person, token="")
            self.local_ap_ids.add(found_person.ap_id)
        else:
            person = await upsert_remote_person(self.session, ap_id=f"https://{host}/u/{name}", name=name, domain=host)
            actor = RemoteActor(person=person)
        self.actors[handle] = actor
        return actor

    async def community(self, handle: str, creator: Actor) -> Community:
        name, _, host = handle.partition("@")
        if host in ("", self.home):
            existing = await self.session.scalar(
                select(Community).where(Community.name == name, Community.local.is_(True))
            )
            if existing is None:
                assert isinstance(creator, Viewer)
                existing = await create_community(
                    self.session, self.settings, creator, name=name, title=name.capitalize()
                )
            self.local_ap_ids.add(existing.ap_id)
            return existing
        return await upsert_remote_community(
            self.session, ap_id=f"https://{host}/c/{name}", name=name, domain=host, title=name.capitalize()
        )


async def _import(session: AsyncSession, settings: Settings, thread: dict[str, Any]) -> DemoSummary:
    post_data = thread["post"]
    home = post_data["community"].partition("@")[2]
    importer = _Importer(session, settings, home)
    known = set((await session.scalars(select(Instance.domain))).all())
    log_end = int(await session.scalar(select(func.max(SentActivity.id))) or 0)
    author = await importer.actor(post_data["author"])
    community = await importer.community(post_data["community"], author)
    existing = await session.scalar(
        select(Post.id).where(Post.community_id == community.id, Post.url == post_data["url"], Post.deleted.is_(False))
    )
    if existing is not None:
        others = await session.scalars(
            select(Post.id).where(Post.url == post_data["url"], Post.id != existing).order_by(Post.id)
        )
        return DemoSummary(post_id=existing, crosspost_ids=list(others.all()), comments=0, created=False)
    comments = thread["comments"]
    # Spread the thread over the last few hours so that ages and "new" sorting read naturally.
    start = utcnow() - timedelta(minutes=5 * (len(comments) + 2))
    post = await create_post(
        session,
        settings,
        author,
        community_id=community.id,
        name=post_data["title"],
        url=post_data["url"],
        body=post_data.get("body_markdown"),
        language_id=37,
        published=start,
    )
    crosspost_ids = []
    by_handle: dict[str, int] = {}
    for handle in post_data.get("crossposted_to", []):
        target = await importer.community(handle, author)
        cross = await create_post(
            session,
            settings,
            author,
            community_id=target.id,
            name=post_data["title"],
            url=post_data["url"],
            body=f"Cross-posted from {post_data['community']}.",
            language_id=37,
            published=start + timedelta(minutes=1),
        )
        crosspost_ids.append(cross.id)
        by_handle[handle] = cross.id
    ids: dict[int, int] = {}
    elsewhere = thread.get("crosspost_comments", [])
    for index, item in enumerate(comments + elsewhere):
        actor = await importer.actor(item["author"])
        host = item["author"].partition("@")[2]
        remote_id = None if isinstance(actor, Viewer) else f"https://{host}/comment/{item['id']}"
        comment = (
            await create_comment(
                session,
                settings,
                actor,
                post_id=by_handle[item["community"]] if "community" in item else post.id,
                content=item["content_markdown"],
                parent_id=ids[item["parent_id"]] if item.get("parent_id") else None,
                language_id=37,
                ap_id=remote_id,
                published=start + timedelta(minutes=5 * (index + 1)),
            )
        ).comment
        ids[item["id"]] = comment.id
    invented = await _keep_to_itself(session, importer, known, log_end)
    return DemoSummary(
        post_id=post.id,
        crosspost_ids=crosspost_ids,
        comments=len(comments),
        created=True,
        blocked=invented,
        crosspost_comments=len(elsewhere),
    )


async def _keep_to_itself(session: AsyncSession, importer: _Importer, known: set[str], log_end: int) -> tuple[str, ...]:
    """Nothing of the demo is ever sent: its activities leave the log before the transaction commits, and the
    instances it made up are blocked. Instances known before the import (real peers) are left as they were."""
    await send_kept_writes(session)  # the activities kept for the commit (PostgreSQL) are in the log first
    await session.execute(
        delete(SentActivity).where(
            SentActivity.id > log_end, SentActivity.actor_ap_id.in_(sorted(importer.local_ap_ids))
        )
    )
    invented = sorted(set((await session.scalars(select(Instance.domain))).all()) - known)
    await block_instances(session, invented)
    return tuple(invented)


async def load_demo(settings: Settings, file: str | Path | None = None) -> DemoSummary:
    thread = json.loads(Path(file or DEMO_FILE).read_bytes())  # noqa: ASYNC240 - a small local file, once
    db = Database(settings)
    try:
        async with db.write() as session:
            await ensure_site(session, settings)
            return await _import(session, settings, thread)
    finally:
        await db.dispose()
