"""`moot ap parse`: what Moot makes of one ActivityPub document, or exactly why it refuses it."""

from __future__ import annotations

import json
from typing import Any

from moot.federation.fetch import FetchError, parse_json_object
from moot.federation.parse import (
    ACTOR_TYPES,
    COLLECTION_TYPES,
    POST_TYPES,
    Refused,
    announced_activity,
    ids_of,
    parse_activity,
    parse_actor,
    parse_comment,
    parse_post,
    require_str,
    type_of,
)
from moot.http.limits import json_depth_ok

MAX_BYTES = 1024 * 1024


def _lines(title: str, fields: dict[str, Any]) -> list[str]:
    out = [title]
    for key, value in fields.items():
        if value is None or value == [] or value == "":
            continue
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        if len(text) > 160:
            text = text[:157] + "..."
        out.append(f"  {key}: {text}")
    return out


def _object_lines(obj: dict[str, Any]) -> list[str]:
    kind = type_of(obj)
    if kind == "Note" and obj.get("inReplyTo"):
        c = parse_comment(obj)
        return _lines(
            "comment (Note)",
            {
                "id": c.ap_id,
                "author": c.author,
                "in reply to": c.in_reply_to,
                "content (markdown)": c.content,
                "mentions": c.mentions,
                "published": c.published,
                "language": c.language,
            },
        )
    if kind in POST_TYPES:
        p = parse_post(obj)
        return _lines(
            f"post ({kind})",
            {
                "id": p.ap_id,
                "author": p.author,
                "community candidates": p.community_candidates,
                "title": p.title,
                "link": p.url,
                "body (markdown)": p.body,
                "nsfw": p.nsfw,
                "published": p.published,
                "language": p.language,
            },
        )
    if kind in ACTOR_TYPES:
        a = parse_actor(obj)
        return _lines(
            f"actor ({a.kind})",
            {
                "id": a.ap_id,
                "name": a.name,
                "display name": a.display_name,
                "inbox": a.inbox,
                "shared inbox": a.shared_inbox,
                "followers": a.followers,
                "moderators": a.moderators,
                "public key": "present",
            },
        )
    if kind == "Tombstone":
        return _lines("tombstone (the object was deleted)", {"id": require_str(obj, "id")})
    if kind in COLLECTION_TYPES:
        items = obj.get("orderedItems", obj.get("items"))
        return _lines(
            f"collection ({kind})",
            {"id": require_str(obj, "id"), "total items": obj.get("totalItems"), "items here": len(ids_of(items))},
        )
    raise Refused(f"`{kind}` is neither an activity, an actor, a post nor a comment")


def _load(raw: bytes) -> dict[str, Any]:
    """The same strict reading as the inbox: size, depth, UTF-8, one object, no duplicate keys."""
    if len(raw) > MAX_BYTES:
        raise Refused(f"document is {len(raw)} bytes, more than {MAX_BYTES}")
    if not json_depth_ok(raw):
        raise Refused("JSON is nested more than 32 deep")
    try:
        return parse_json_object(raw)
    except FetchError as exc:
        raise Refused(f"not acceptable JSON: {exc}") from exc


def _activity_lines(data: dict[str, Any]) -> list[str]:
    activity = parse_activity(data)
    lines = _lines(
        f"activity ({activity.kind})",
        {
            "id": activity.ap_id,
            "actor": activity.actor,
            "object": activity.object_id if activity.object_id is not None else activity.object_ids,
            "audience": data.get("audience"),
        },
    )
    target = activity
    if activity.kind == "Announce":
        if activity.inner_kind in POST_TYPES:
            lines.append("  note: an Announce of a bare post is for Mastodon; Moot ignores it")
            return lines
        target = announced_activity(activity)
        inner = _lines(
            f"inner activity ({target.kind})", {"id": target.ap_id, "actor": target.actor, "object": target.object_id}
        )
        lines += ["  announced by the community: " + activity.actor, *("  " + line for line in inner)]
    if target.object is not None and target.kind in ("Create", "Update"):
        lines += ["  " + line for line in _object_lines(target.object)]
    return lines


def describe(raw: bytes) -> tuple[bool, str]:
    """(accepted, report). The report names the kind, actor, object, community and kept fields, or the reason."""
    try:
        data = _load(raw)
        kind = type_of(data)
        if kind in POST_TYPES | ACTOR_TYPES | COLLECTION_TYPES | {"Tombstone"}:
            return True, "\n".join(_object_lines(data))
        return True, "\n".join(_activity_lines(data))
    except Refused as exc:
        return False, f"refused: {exc.reason}"
