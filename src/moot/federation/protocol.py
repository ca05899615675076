"""ActivityPub JSON as Lemmy 0.19 writes it: actors, objects and activities built from our rows.

Builders are pure: rows in, plain JSON-ready dicts out. Ids follow Lemmy's paths (see domain/apids.py)."""

from __future__ import annotations

import uuid
from typing import Any

from moot.db.comment import Comment
from moot.db.community import Community
from moot.db.message import PrivateMessage
from moot.db.person import Person
from moot.db.post import Post
from moot.db.site import Site
from moot.domain.languages import LANGUAGE_BY_ID
from moot.domain.timefmt import lemmy_time

CONTEXT: list[Any] = ["https://join-lemmy.org/context.json", "https://www.w3.org/ns/activitystreams"]
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
ACTIVITY_JSON = "application/activity+json"

Json = dict[str, Any]


def _markdown_html(text: str) -> str:
    from moot.domain.markdown import render_markdown

    return render_markdown(text)


def _compact(d: Json) -> Json:
    return {k: v for k, v in d.items() if v is not None}


def _source(text: str | None) -> Json | None:
    return None if text is None else {"content": text, "mediaType": "text/markdown"}


def _image(url: str | None) -> Json | None:
    return None if url is None else {"type": "Image", "url": url}


def _language(language_id: int) -> Json | None:
    lang = LANGUAGE_BY_ID.get(language_id)
    if lang is None or lang.id == 0:
        return None
    return {"identifier": lang.code, "name": lang.name}


def public_key(actor_ap_id: str, pem: str | None) -> Json:
    return {"id": f"{actor_ap_id}#main-key", "owner": actor_ap_id, "publicKeyPem": pem or ""}


def person_json(p: Person, shared_inbox: str) -> Json:
    return _compact(
        {
            "@context": CONTEXT,
            "type": "Service" if p.bot_account else "Person",
            "id": p.ap_id,
            "preferredUsername": p.name,
            "name": p.display_name,
            "summary": _markdown_html(p.bio) if p.bio else None,
            "source": _source(p.bio),
            "icon": _image(p.avatar),
            "image": _image(p.banner),
            "matrixUserId": p.matrix_user_id,
            "inbox": p.inbox_url or f"{p.ap_id}/inbox",
            "outbox": f"{p.ap_id}/outbox",
            "endpoints": {"sharedInbox": shared_inbox},
            "publicKey": public_key(p.ap_id, p.public_key),
            "discoverable": True,
            "published": lemmy_time(p.published),
            "updated": lemmy_time(p.updated) if p.updated else None,
        }
    )


def group_json(c: Community, shared_inbox: str, language_ids: list[int]) -> Json:
    return _compact(
        {
            "@context": CONTEXT,
            "type": "Group",
            "id": c.ap_id,
            "preferredUsername": c.name,
            "name": c.title,
            "summary": _markdown_html(c.description) if c.description else None,
            "source": _source(c.description),
            "icon": _image(c.icon),
            "image": _image(c.banner),
            "sensitive": c.nsfw,
            "attributedTo": c.moderators_url or f"{c.ap_id}/moderators",
            "postingRestrictedToMods": c.posting_restricted_to_mods,
            "inbox": c.inbox_url or f"{c.ap_id}/inbox",
            "outbox": f"{c.ap_id}/outbox",
            "followers": c.followers_url or f"{c.ap_id}/followers",
            "featured": c.featured_url or f"{c.ap_id}/featured",
            "endpoints": {"sharedInbox": shared_inbox},
            "publicKey": public_key(c.ap_id, c.public_key),
            "language": [j for j in (_language(i) for i in language_ids) if j is not None],
            "published": lemmy_time(c.published),
            "updated": lemmy_time(c.updated) if c.updated else None,
        }
    )


def site_json(s: Site, domain: str) -> Json:
    return _compact(
        {
            "@context": CONTEXT,
            "type": "Application",
            "id": s.ap_id,
            "name": s.name,
            "preferredUsername": domain,
            "content": _markdown_html(s.sidebar) if s.sidebar else None,
            "source": _source(s.sidebar),
            "summary": s.description,
            "icon": _image(s.icon),
            "image": _image(s.banner),
            "contentWarning": s.content_warning,  # Lemmy's own field (camelCase, as its serde writes it)
            "inbox": s.inbox_url,
            "outbox": f"{s.ap_id.rstrip('/')}/site_outbox",
            "publicKey": public_key(s.ap_id, s.public_key),
            "published": lemmy_time(s.published),
            "updated": lemmy_time(s.updated) if s.updated else None,
        }
    )


def _attachment(post: Post) -> Json:
    """The post's link as Lemmy 0.19 sends it: an Image (with its alt text as `name`) when the link is an image,
    else a Link, each with the media type when it is known."""
    media = post.url_content_type.split(";", 1)[0].strip() if post.url_content_type else None
    if media is not None and media.startswith("image/"):
        return _compact({"type": "Image", "url": post.url, "mediaType": media, "name": post.alt_text})
    return _compact({"type": "Link", "href": post.url, "mediaType": media})


def page_json(post: Post, creator: Person, community: Community) -> Json:
    return _compact(
        {
            "@context": CONTEXT,
            "type": "Page",
            "id": post.ap_id,
            "attributedTo": creator.ap_id,
            "to": [community.ap_id, PUBLIC],
            "cc": [],
            "audience": community.ap_id,
            "name": post.name,
            "content": _markdown_html(post.body) if post.body else None,
            "mediaType": "text/html",
            "source": _source(post.body),
            "attachment": [_attachment(post)] if post.url else [],
            "image": _image(post.thumbnail_url),
            "sensitive": post.nsfw,
            "commentsEnabled": not post.locked,
            "stickied": post.featured_community,
            "language": _language(post.language_id),
            "published": lemmy_time(post.published),
            "updated": lemmy_time(post.updated) if post.updated else None,
        }
    )


def note_json(
    comment: Comment,
    creator: Person,
    community: Community,
    in_reply_to: str,
    mentions: list[tuple[str, str]],
) -> Json:
    """`mentions` are (actor id, "@name@host") pairs; the parent's author is always among them."""
    cc = [community.ap_id, *[href for href, _ in mentions]]
    return _compact(
        {
            "@context": CONTEXT,
            "type": "Note",
            "id": comment.ap_id,
            "attributedTo": creator.ap_id,
            "to": [PUBLIC],
            "cc": list(dict.fromkeys(cc)),
            "audience": community.ap_id,
            "content": _markdown_html(comment.content),
            "mediaType": "text/html",
            "source": _source(comment.content),
            "inReplyTo": in_reply_to,
            "tag": [{"type": "Mention", "href": href, "name": name} for href, name in mentions],
            "distinguished": comment.distinguished,
            "language": _language(comment.language_id),
            "published": lemmy_time(comment.published),
            "updated": lemmy_time(comment.updated) if comment.updated else None,
        }
    )


def chat_message_json(message: PrivateMessage, creator: Person, recipient: Person) -> Json:
    """A private message as Lemmy 0.19 sends it (`ChatMessage`, Pleroma's type): to the recipient only."""
    return _compact(
        {
            "@context": CONTEXT,
            "type": "ChatMessage",
            "id": message.ap_id,
            "attributedTo": creator.ap_id,
            "to": [recipient.ap_id],
            "content": _markdown_html(message.content),
            "mediaType": "text/html",
            "source": _source(message.content),
            "published": lemmy_time(message.published),
            "updated": lemmy_time(message.updated) if message.updated else None,
        }
    )


def private_message_activity(base_url: str, kind: str, actor: str, obj: Any, recipient: str) -> Json:
    """Create / Update / Delete / Undo of a private message: `to` the recipient alone, no `cc`, never Public."""
    if isinstance(obj, dict):
        obj = {k: v for k, v in obj.items() if k != "@context"}
    return activity(base_url, kind, actor, obj, to=[recipient], cc=[])


def tombstone(ap_id: str) -> Json:
    return {"@context": CONTEXT, "id": ap_id, "type": "Tombstone"}


def activity_id(base_url: str, kind: str) -> str:
    return f"{base_url}/activities/{kind.lower()}/{uuid.uuid4()}"


def activity(base_url: str, kind: str, actor: str, obj: Any, *, to: list[str], cc: list[str], **extra: Any) -> Json:
    return _compact(
        {
            "@context": CONTEXT,
            "id": activity_id(base_url, kind),
            "type": kind,
            "actor": actor,
            "to": to,
            "cc": cc,
            "object": obj,
            **extra,
        }
    )


def announce(base_url: str, community: Community, inner: Json) -> Json:
    """FEP-1b12: the community re-sends the activity as received, inside an Announce by itself."""
    inner_type = str(inner.get("type", "activity")).lower()
    body = {k: v for k, v in inner.items() if k != "@context"}
    return {
        "@context": CONTEXT,
        "id": f"{base_url}/activities/announce/{inner_type}/{uuid.uuid4()}",
        "type": "Announce",
        "actor": community.ap_id,
        "to": [PUBLIC],
        "cc": [community.followers_url or f"{community.ap_id}/followers"],
        "object": body,
    }


def is_page_announce(data: Json) -> bool:
    """Announce{Page}: the copy of a post's announce for software that cannot read Announce{Create{Page}}
    (outbox.send_to_community sends both; delivery leaves this one out where it is not needed, software.py)."""
    inner = data.get("object")
    return data.get("type") == "Announce" and isinstance(inner, dict) and inner.get("type") == "Page"


# Moderation activities (Lemmy 0.19 `activities/{deletion,block,community}`): actor = the moderator or admin,
# `to:[Public]`, `cc:[community]`, `audience` = community, as Lemmy's `send_activity_in_community` sends them.


def mod_delete(base_url: str, actor: str, object_ap_id: str, community_ap_id: str, reason: str | None) -> Json:
    """A moderator's removal is a Delete with `summary` (the reason, "" without one: Lemmy tells removal from
    the author's own deletion by the presence of `summary`)."""
    return activity(
        base_url,
        "Delete",
        actor,
        object_ap_id,
        to=[PUBLIC],
        cc=[community_ap_id],
        audience=community_ap_id,
        summary=reason or "",
    )


def undo(base_url: str, actor: str, inner: Json, community_ap_id: str | None, cc: list[str] | None = None) -> Json:
    """Undo{inner} as Lemmy wraps Delete, Lock and Block: same actor, `to:[Public]`, the inner `cc`."""
    body = {k: v for k, v in inner.items() if k != "@context"}
    extra: Json = {} if community_ap_id is None else {"audience": community_ap_id}
    return activity(
        base_url,
        "Undo",
        actor,
        body,
        to=[PUBLIC],
        cc=cc if cc is not None else ([community_ap_id] if community_ap_id else []),
        **extra,
    )


def lock_page(base_url: str, actor: str, post_ap_id: str, community_ap_id: str) -> Json:
    return activity(base_url, "Lock", actor, post_ap_id, to=[PUBLIC], cc=[community_ap_id], audience=community_ap_id)


def collection_change(
    base_url: str, kind: str, actor: str, object_ap_id: str, target: str, community_ap_id: str
) -> Json:
    """Add or Remove of a person to the moderators collection or of a post to the featured one."""
    assert kind in ("Add", "Remove")
    return activity(
        base_url,
        kind,
        actor,
        object_ap_id,
        to=[PUBLIC],
        cc=[community_ap_id],
        target=target,
        audience=community_ap_id,
    )


def moderators_url(community: Community) -> str:
    return community.moderators_url or f"{community.ap_id}/moderators"


def featured_url(community: Community) -> str:
    return community.featured_url or f"{community.ap_id}/featured"


def block_user(
    base_url: str,
    actor: str,
    person_ap_id: str,
    target: str,
    *,
    community_ap_id: str | None,
    cc: list[str],
    remove_data: bool | None,
    reason: str | None,
    expires: str | None,
) -> Json:
    """A ban: target = the community (Group) or the site (Application). Lemmy writes `expires` and, since
    0.19.4, the same time as `endTime`; `removeData` is left out of the Block inside an Undo."""
    return activity(
        base_url,
        "Block",
        actor,
        person_ap_id,
        to=[PUBLIC],
        cc=cc,
        target=target,
        removeData=remove_data,
        summary=reason,
        audience=community_ap_id,
        expires=expires,
        endTime=expires,
    )


def flag(base_url: str, actor: str, object_ap_id: str, community_ap_id: str, reason: str) -> Json:
    """A report, sent to the community's inbox only (Lemmy's `Report`): no Public, no cc."""
    return _compact(
        {
            "@context": CONTEXT,
            "id": activity_id(base_url, "Flag"),
            "type": "Flag",
            "actor": actor,
            "to": [community_ap_id],
            "object": object_ap_id,
            "summary": reason,
            "audience": community_ap_id,
        }
    )
