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
COLLECTION_TYPES = {"Collection", "OrderedCollection", "CollectionPage", "OrderedCollectionPage"}
KNOWN_TYPES = ACTIVITY_TYPES | POST_TYPES | ACTOR_TYPES | COLLECTION_TYPES | {"Tombstone"}
MAX_LIST = 200
MAX_NAME = 255
# Ids, URLs, names and types never contain control characters; a lone surrogate cannot even be stored.
_NOT_IN_IDS = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")


class Refused(Exception):
    """The document is not acceptable; `reason` says why, in words an operator can act on."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _reference(value: Any) -> str | None:
    """A string fit to be an id, a URL or a name: anything with a control character is none of those."""
    return value if isinstance(value, str) and not _NOT_IN_IDS.search(value) else None


def id_of(value: Any) -> str | None:
    """An ActivityPub reference: a URL string, or an object carrying `id`."""
    if isinstance(value, dict):
        value = value.get("id")
    return _reference(value)


def ids_of(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value] if value is not None else []
    if len(items) > MAX_LIST:
        raise Refused(f"list of {len(items)} addresses is longer than {MAX_LIST}")
    return [i for i in (id_of(v) for v in items) if i]


def host_of(url: str) -> str:
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError as exc:  # an unclosed IPv6 bracket, say
        raise Refused(f"not an http(s) URL: {url[:200]!r}") from exc
    if parts.scheme not in ("http", "https") or not hostname:
        raise Refused(f"not an http(s) URL: {url[:200]!r}")
    return parts.netloc.lower()


def same_host(a: str, b: str) -> bool:
    return host_of(a) == host_of(b)


def require_str(data: dict[str, Any], key: str) -> str:
    value = _reference(data.get(key))
    if not value:
        raise Refused(f"missing or invalid `{key}`")
    return value


def type_of(data: dict[str, Any]) -> str:
    """`type` as one name. A list (`["Note", "Article"]`, which some servers send) is read as its first type
    that Moot knows, else its first name, which the caller then refuses by name."""
    value = data.get("type")
    if isinstance(value, list):
        names = [name for name in value[:MAX_LIST] if _reference(name)]
        value = next((name for name in names if name in KNOWN_TYPES), names[0] if names else None)
    kind = _reference(value)
    if not kind:
        raise Refused("missing or invalid `type`")
    return kind


def _type_or_none(data: Any) -> str | None:
    try:
        return type_of(data) if isinstance(data, dict) else None
    except Refused:
        return None


def _typed(obj: dict[str, Any]) -> dict[str, Any]:
    """The object with a list-valued `type` replaced by the one name it is read as (type_of)."""
    kind = _type_or_none(obj)
    return {**obj, "type": kind} if kind is not None and obj.get("type") != kind else obj


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
    # Cleaned first: nh3 cannot even be handed a lone surrogate.
    content = validation.clean_text(content)
    cleaned = nh3.clean(content, tags={"p", "br", "div", "li", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6"})
    text = _BREAKS.sub("\n\n", cleaned)
    text = html.unescape(_TAGS.sub("", text))
    # Spaces left at the end of a line by removed tags would read as markdown line breaks.
    text = "\n".join(line.rstrip() for line in text.splitlines())
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def markdown_of(obj: dict[str, Any]) -> str:
    """Prefer the markdown `source` (Lemmy, PieFed, Mbin); then `content` that declares itself markdown
    (PeerTube); else the sanitised text of `content`. Control characters are dropped (validation.clean_text)."""
    return validation.clean_text(_markdown(obj))


def _markdown(obj: dict[str, Any]) -> str:
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
    # As written in the document; the resolver turns them into times (clamped to now) when it stores the actor.
    published: str | None = None
    updated: str | None = None


def _image_url(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("url")
    return _reference(value)


def _text(data: dict[str, Any], key: str) -> str | None:
    return _reference(data.get(key))


def parse_actor(data: dict[str, Any], expected_id: str | None = None) -> ParsedActor:
    kind = type_of(data)
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
    shared = _reference(endpoints.get("sharedInbox")) if isinstance(endpoints, dict) else None
    if shared is not None and not same_host(shared, ap_id):
        shared = None
    display = data.get("name")
    display = validation.clean_text(display)[:MAX_NAME] if isinstance(display, str) else None
    return ParsedActor(
        kind=kind,
        ap_id=ap_id,
        name=name,
        display_name=display or None,
        summary=markdown_of({"source": data.get("source"), "content": data.get("summary")}) or None,
        inbox=inbox,
        shared_inbox=shared,
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
        published=_text(data, "published"),
        updated=_text(data, "updated"),
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
    # The Page's `image` (Lemmy's thumbnail) and the alt text of its image attachment (`name`).
    thumbnail: str | None = None
    alt_text: str | None = None


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
    return _reference(lang.get("identifier")) if isinstance(lang, dict) else None


def _link(obj: dict[str, Any], kind: str) -> str | None:
    """The post's link; a bad one is refused later by validation.clean_url (Lemmy's own rules)."""
    attachments = obj.get("attachment")
    for item in attachments if isinstance(attachments, list) else []:
        if isinstance(item, dict) and item.get("type") in ("Link", "Document", "Image"):
            href = item.get("href") or item.get("url")
            if isinstance(href, str):
                return href
    url = obj.get("url")
    if kind == "Page" and isinstance(url, str):
        return url
    if kind == "Video" and isinstance(obj.get("id"), str):
        return str(obj["id"])  # a video cannot be shown inline: link to its page, as Lemmy does
    return None


def _alt_text(obj: dict[str, Any]) -> str | None:
    """The `name` of the first image attachment (Lemmy's Image, Mastodon's and PieFed's Document of an image type),
    cut to Lemmy's limit."""
    attachments = obj.get("attachment")
    for item in attachments[:MAX_LIST] if isinstance(attachments, list) else []:
        if not isinstance(item, dict):
            continue
        media = item.get("mediaType")
        is_image = item.get("type") == "Image" or (isinstance(media, str) and media.startswith("image/"))
        name = item.get("name")
        if is_image and isinstance(name, str) and name.strip():
            return validation.clean_text(name)[: validation.ALT_TEXT_MAX] or None
    return None


def parse_post(obj: dict[str, Any]) -> ParsedPost:
    """A Page (or Article, Video...) addressed to a community. Its id and author share a host (R2)."""
    _check_lists(obj)
    kind = type_of(obj)
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
    title = obj.get("name")
    title = validation.clean_text(title) if isinstance(title, str) else ""
    body = markdown_of(obj) or None
    if not title.strip():
        # Mastodon-style notes to a group have no title: use the first line of the text (none if it is blank).
        lines = (body or "").strip().splitlines()
        title = _without_group_mentions(lines[0] if lines else "", obj, candidates)[:200]
    try:
        title = validation.check_title(title[:200])
        body = validation.check_post_body(body)
    except Exception as exc:
        raise Refused(f"post fails Lemmy's limits: {exc}") from exc
    url = _link(obj, kind)
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
        thumbnail=_image_url(obj.get("image")),
        alt_text=_alt_text(obj),
    )


def parse_comment(obj: dict[str, Any]) -> ParsedComment:
    _check_lists(obj)
    kind = type_of(obj)
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
        str(t["href"]) for t in tags if isinstance(t, dict) and t.get("type") == "Mention" and _reference(t.get("href"))
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
    kind_of_object = _type_or_none(obj)
    if isinstance(obj, dict) and kind_of_object in POST_TYPES and _author(obj) != actor:
        raise Refused(f"{kind} of an object attributed to someone else")
    if object_id is not None and kind_of_object != "Group" and not same_host(object_id, actor):
        raise Refused("created object id is on another host than the actor")


def parse_activity(data: Any) -> ParsedActivity:
    """The envelope rules every incoming activity must pass before anything looks at its content."""
    if not isinstance(data, dict):
        raise Refused("an activity must be a JSON object")
    _check_lists(data)
    kind = type_of(data)
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
        object=_typed(obj) if isinstance(obj, dict) else None,
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
