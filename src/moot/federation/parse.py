"""Reading ActivityPub JSON from other servers: what it is, who sent it, what it is about, or why we refuse it.

Pure functions, no I/O: the inbox, the resolver and `moot ap parse` all use them. Every rule that makes a
document acceptable lives here (lemmy-reference.md R2, R3, R6, R7), one condition per line."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import nh3

from moot.domain import validation

PUBLIC_IDS = {"https://www.w3.org/ns/activitystreams#Public", "as:Public", "Public"}
ACTIVITY_TYPES = {
    "Create",
    "Update",
    "Delete",
    "Undo",
    "Like",
    "Dislike",
    "Follow",
    "Accept",
    "Reject",
    "Announce",
    "Add",
    "Remove",
    "Block",
    "Lock",
    "Flag",
}
POST_TYPES = {"Page", "Article", "Note", "Video", "Event", "Question"}
ACTOR_TYPES = {"Person", "Service", "Organization", "Application", "Group"}
MAX_LIST = 200
MAX_NAME = 255


class Refused(Exception):
    """The document is not acceptable; `reason` says why, in words an operator can act on."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def id_of(value: Any) -> str | None:
    """An ActivityPub reference: a URL string, or an object carrying `id`."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return str(value["id"])
    return None


def ids_of(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value] if value is not None else []
    if len(items) > MAX_LIST:
        raise Refused(f"list of {len(items)} addresses is longer than {MAX_LIST}")
    return [i for i in (id_of(v) for v in items) if i]


def host_of(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Refused(f"not an http(s) URL: {url[:200]!r}")
    return parts.netloc.lower()


def same_host(a: str, b: str) -> bool:
    return host_of(a) == host_of(b)


def require_str(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise Refused(f"missing or invalid `{key}`")
    return value


def is_public(data: dict[str, Any]) -> bool:
    return any(i in PUBLIC_IDS for i in ids_of(data.get("to")) + ids_of(data.get("cc")))


def _check_lists(data: dict[str, Any]) -> None:
    for key in ("to", "cc", "tag", "attachment"):
        value = data.get(key)
        if isinstance(value, list) and len(value) > MAX_LIST:
            raise Refused(f"`{key}` has {len(value)} entries, more than {MAX_LIST}")


_TAGS = re.compile(r"<[^>]*>")
_BREAKS = re.compile(r"(?i)<\s*(br|/p|/div|/li|/h[1-6]|/blockquote)\s*/?>")


def html_to_text(content: str) -> str:
    """Remote HTML without markdown source becomes plain text: paragraphs kept, every tag gone."""
    cleaned = nh3.clean(content, tags={"p", "br", "div", "li", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6"})
    text = _BREAKS.sub("\n\n", cleaned)
    text = html.unescape(_TAGS.sub("", text))
    # Spaces left at the end of a line by removed tags would read as markdown line breaks.
    text = "\n".join(line.rstrip() for line in text.splitlines())
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def markdown_of(obj: dict[str, Any]) -> str:
    """Prefer the markdown `source` (Lemmy, PieFed, Mbin); then `content` that declares itself markdown
    (PeerTube); else the sanitised text of `content`."""
    source = obj.get("source")
    if (
        isinstance(source, dict)
        and isinstance(source.get("content"), str)
        and str(source.get("mediaType", "text/markdown")).startswith("text/markdown")
    ):
        return str(source["content"])
    content = obj.get("content")
    if isinstance(content, str) and str(obj.get("mediaType", "")).startswith("text/markdown"):
        # Our own renderer sanitises markdown, so markdown content is as safe as a markdown source.
        return content.replace("\r\n", "\n")
    if isinstance(content, str):
        return html_to_text(content)
    return ""


@dataclass(frozen=True, slots=True)
class ParsedActor:
    kind: str
    ap_id: str
    name: str
    display_name: str | None
    summary: str | None
    inbox: str
    shared_inbox: str | None
    public_key_pem: str
    followers: str | None = None
    moderators: str | None = None
    featured: str | None = None
    outbox: str | None = None
    sensitive: bool = False
    posting_restricted_to_mods: bool = False
    icon: str | None = None
    banner: str | None = None
    bot: bool = False


def _image_url(value: Any) -> str | None:
    if isinstance(value, dict) and isinstance(value.get("url"), str):
        return str(value["url"])
    if isinstance(value, str):
        return value
    return None


def parse_actor(data: dict[str, Any], expected_id: str | None = None) -> ParsedActor:
    kind = require_str(data, "type")
    if kind not in ACTOR_TYPES:
        raise Refused(f"`{kind}` is not an actor type")
    ap_id = require_str(data, "id")
    if expected_id is not None and ap_id != expected_id:
        raise Refused(f"actor id {ap_id} is not the address it was fetched from ({expected_id})")
    name = require_str(data, "preferredUsername")
    if len(name) > MAX_NAME:
        raise Refused("preferredUsername is too long")
    inbox = require_str(data, "inbox")
    if not same_host(inbox, ap_id):
        raise Refused("inbox is on another host than the actor")
    key = data.get("publicKey")
    if isinstance(key, list):
        key = next((k for k in key if isinstance(k, dict) and k.get("owner") == ap_id), None)
    if not isinstance(key, dict) or not isinstance(key.get("publicKeyPem"), str):
        raise Refused("actor has no publicKey")
    if key.get("owner") not in (None, ap_id):
        raise Refused("publicKey.owner is not the actor")
    endpoints = data.get("endpoints")
    shared = endpoints.get("sharedInbox") if isinstance(endpoints, dict) else None
    if isinstance(shared, str) and not same_host(shared, ap_id):
        shared = None
    display = data.get("name")
    return ParsedActor(
        kind=kind,
        ap_id=ap_id,
        name=name,
        display_name=str(display)[:MAX_NAME] if isinstance(display, str) and display else None,
        summary=markdown_of({"source": data.get("source"), "content": data.get("summary")}) or None,
        inbox=inbox,
        shared_inbox=shared if isinstance(shared, str) else None,
        public_key_pem=str(key["publicKeyPem"]),
        followers=id_of(data.get("followers")),
        moderators=id_of(data.get("attributedTo")) if kind == "Group" else None,
        featured=id_of(data.get("featured")),
        outbox=id_of(data.get("outbox")),
        sensitive=bool(data.get("sensitive", False)),
        posting_restricted_to_mods=bool(data.get("postingRestrictedToMods", False)),
        icon=_image_url(data.get("icon")),
        banner=_image_url(data.get("image")),
        bot=kind == "Service",
    )


@dataclass(frozen=True, slots=True)
class ParsedPost:
    ap_id: str
    author: str
    community_candidates: list[str]
    title: str
    body: str | None
    url: str | None
    nsfw: bool
    published: str | None
    updated: str | None
    language: str | None


@dataclass(frozen=True, slots=True)
class ParsedComment:
    ap_id: str
    author: str
    in_reply_to: str
    content: str
    published: str | None
    updated: str | None
    mentions: list[str] = field(default_factory=list)
    distinguished: bool = False
    language: str | None = None


def _author(obj: dict[str, Any]) -> str:
    """`attributedTo` is a URL, or (PeerTube) a list from which the Person is taken."""
    value = obj.get("attributedTo")
    if isinstance(value, list):
        people = [v for v in value if isinstance(v, dict) and v.get("type") == "Person"]
        value = people[0] if people else (value[0] if value else None)
    author = id_of(value)
    if author is None:
        raise Refused("object has no attributedTo")
    return author


def _attributed_groups(obj: dict[str, Any]) -> list[str]:
    """PeerTube names the video's channel (a Group) in `attributedTo`: that is the post's community."""
    value = obj.get("attributedTo")
    items = value if isinstance(value, list) else []
    return [i for i in (id_of(v) for v in items[:MAX_LIST] if isinstance(v, dict) and v.get("type") == "Group") if i]


def _without_group_mentions(title: str, obj: dict[str, Any], candidates: list[str]) -> str:
    """A Mastodon note to a group starts with `@group`: Lemmy drops that mention from the derived title."""
    raw_tags = obj.get("tag")
    for tag in raw_tags[:MAX_LIST] if isinstance(raw_tags, list) else []:
        if not isinstance(tag, dict) or tag.get("type") != "Mention" or tag.get("href") not in candidates:
            continue
        name = tag.get("name")
        if isinstance(name, str) and name.startswith("@"):
            title = title.replace(name, "").replace("@" + name[1:].split("@")[0], "")
    return " ".join(title.split())


def _language(obj: dict[str, Any]) -> str | None:
    lang = obj.get("language")
    if isinstance(lang, dict) and isinstance(lang.get("identifier"), str):
        return str(lang["identifier"])
    return None


def _link(obj: dict[str, Any]) -> str | None:
    attachments = obj.get("attachment")
    for item in attachments if isinstance(attachments, list) else []:
        if isinstance(item, dict) and item.get("type") in ("Link", "Document", "Image"):
            href = item.get("href") or item.get("url")
            if isinstance(href, str):
                return href
    url = obj.get("url")
    if obj.get("type") == "Page" and isinstance(url, str):
        return url
    if obj.get("type") == "Video" and isinstance(obj.get("id"), str):
        return str(obj["id"])  # a video cannot be shown inline: link to its page, as Lemmy does
    return None


def parse_post(obj: dict[str, Any]) -> ParsedPost:
    """A Page (or Article, Video...) addressed to a community. Its id and author share a host (R2)."""
    _check_lists(obj)
    kind = require_str(obj, "type")
    if kind not in POST_TYPES:
        raise Refused(f"`{kind}` is not a post type")
    ap_id = require_str(obj, "id")
    author = _author(obj)
    if not same_host(ap_id, author):
        raise Refused("post id and attributedTo are on different hosts")
    if obj.get("inReplyTo"):
        raise Refused("a post must not be a reply (inReplyTo is set)")
    if not is_public(obj):
        raise Refused("post is not addressed to Public")
    candidates = ids_of(obj.get("audience")) + _attributed_groups(obj) + ids_of(obj.get("to")) + ids_of(obj.get("cc"))
    candidates = [c for c in dict.fromkeys(candidates) if c not in PUBLIC_IDS]
    title = obj.get("name") or ""
    body = markdown_of(obj) or None
    if not isinstance(title, str) or not title.strip():
        # Mastodon-style notes to a group have no title: use the first line of the text.
        first_line = (body or "").strip().splitlines()[0] if body else ""
        title = _without_group_mentions(first_line, obj, candidates)[:200]
    try:
        title = validation.check_title(title[:200])
        body = validation.check_post_body(body)
    except Exception as exc:
        raise Refused(f"post fails Lemmy's limits: {exc}") from exc
    url = _link(obj)
    if url is not None:
        try:
            url = validation.clean_url(url)
        except Exception as exc:
            raise Refused(f"post link is not acceptable: {exc}") from exc
    return ParsedPost(
        ap_id=ap_id,
        author=author,
        community_candidates=candidates,
        title=title,
        body=body,
        url=url,
        nsfw=bool(obj.get("sensitive", False)),
        published=obj.get("published") if isinstance(obj.get("published"), str) else None,
        updated=obj.get("updated") if isinstance(obj.get("updated"), str) else None,
        language=_language(obj),
    )


def parse_comment(obj: dict[str, Any]) -> ParsedComment:
    _check_lists(obj)
    kind = require_str(obj, "type")
    if kind != "Note":
        raise Refused(f"`{kind}` is not a comment")
    ap_id = require_str(obj, "id")
    author = _author(obj)
    if not same_host(ap_id, author):
        raise Refused("comment id and attributedTo are on different hosts")
    parent = id_of(obj.get("inReplyTo"))
    if parent is None:
        raise Refused("a comment needs inReplyTo")
    if not is_public(obj):
        raise Refused("comment is not addressed to Public")
    content = markdown_of(obj)
    try:
        content = validation.check_comment_content(content)
    except Exception as exc:
        raise Refused(f"comment fails Lemmy's limits: {exc}") from exc
    raw_tags = obj.get("tag")
    tags: list[Any] = raw_tags if isinstance(raw_tags, list) else []
    mentions = [
        str(t["href"])
        for t in tags
        if isinstance(t, dict) and t.get("type") == "Mention" and isinstance(t.get("href"), str)
    ]
    return ParsedComment(
        ap_id=ap_id,
        author=author,
        in_reply_to=parent,
        content=content,
        published=obj.get("published") if isinstance(obj.get("published"), str) else None,
        updated=obj.get("updated") if isinstance(obj.get("updated"), str) else None,
        mentions=mentions,
        distinguished=bool(obj.get("distinguished", False)),
        language=_language(obj),
    )


@dataclass(frozen=True, slots=True)
class ParsedActivity:
    kind: str
    ap_id: str
    actor: str
    object_id: str | None
    object: dict[str, Any] | None
    raw: dict[str, Any]

    @property
    def inner_kind(self) -> str | None:
        return str(self.object.get("type")) if self.object and isinstance(self.object.get("type"), str) else None

    @property
    def object_ids(self) -> list[str]:
        """Every object id: a Flag (Mastodon, Mbin) may name several, the reported account among them."""
        return ids_of(self.raw.get("object"))


def _check_created(kind: str, actor: str, obj: Any, object_id: str | None) -> None:
    """R2 for Create/Update: the object is the actor's own, on the actor's host. A moderator may update a
    Group that lives on another server (Lemmy's Update{Group}); whether they moderate it is checked later."""
    kind_of_object = obj.get("type") if isinstance(obj, dict) else None
    if isinstance(obj, dict) and kind_of_object in POST_TYPES and _author(obj) != actor:
        raise Refused(f"{kind} of an object attributed to someone else")
    if object_id is not None and kind_of_object != "Group" and not same_host(object_id, actor):
        raise Refused("created object id is on another host than the actor")


def parse_activity(data: Any) -> ParsedActivity:
    """The envelope rules every incoming activity must pass before anything looks at its content."""
    if not isinstance(data, dict):
        raise Refused("an activity must be a JSON object")
    _check_lists(data)
    kind = require_str(data, "type")
    if kind not in ACTIVITY_TYPES:
        raise Refused(f"activity type `{kind}` is not supported")
    ap_id = require_str(data, "id")
    actor = id_of(data.get("actor"))
    if actor is None:
        raise Refused("activity has no actor")
    if not same_host(ap_id, actor):
        raise Refused("activity id and actor are on different hosts")
    obj = data.get("object")
    object_id = id_of(obj)
    if object_id is None and not (isinstance(obj, list) and kind == "Flag"):
        raise Refused("activity has no object")
    if kind in ("Create", "Update"):
        _check_created(kind, actor, obj, object_id)
    if kind == "Undo" and isinstance(obj, dict):
        inner_actor = id_of(obj.get("actor"))
        if inner_actor is not None and inner_actor != actor:
            raise Refused("Undo of another actor's activity")
    return ParsedActivity(
        kind=kind,
        ap_id=ap_id,
        actor=actor,
        object_id=object_id,
        object=obj if isinstance(obj, dict) else None,
        raw=data,
    )


def announced_activity(announce: ParsedActivity) -> ParsedActivity:
    """R3: the inner activity of an Announce, which must itself pass the envelope rules and name the announcing
    group as its community (in `audience`, `to` or `cc`, or in its object's)."""
    if announce.object is None:
        raise Refused("Announce of a bare id; the inner activity must be fetched from its origin")
    inner = parse_activity(announce.object)
    addressed = set(ids_of(inner.raw.get("audience")) + ids_of(inner.raw.get("to")) + ids_of(inner.raw.get("cc")))
    if inner.object is not None:
        addressed |= set(
            ids_of(inner.object.get("audience")) + ids_of(inner.object.get("to")) + ids_of(inner.object.get("cc"))
        )
    if announce.actor not in addressed:
        raise Refused("Announce by a group that is not the inner activity's community")
    return inner
