"""Rows and views to the frozen v3 wire shapes. `None` fields are left out, as Lemmy leaves them out."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from moot.actions.access import is_site_banned
from moot.actions.site import RATE_LIMIT_FIELDS
from moot.db.comment import Comment, CommentReply, PersonMention
from moot.db.community import Community
from moot.db.instance import Instance
from moot.db.person import LocalUser, Person
from moot.db.post import Post
from moot.db.site import LocalSite, LocalSiteRateLimit, Site, Tagline
from moot.domain.enums import SubscribedType
from moot.domain.imageproxy import ImageRewriter
from moot.domain.languages import LANGUAGES
from moot.domain.timefmt import lemmy_time
from moot.queries.comments import CommentRow, CommentView
from moot.queries.communities import CommunityView
from moot.queries.persons import PersonView
from moot.queries.posts import PostView
from moot.queries.rows import CommunityRow, CreatorRow, PostRow

Json = dict[str, Any]


def compact(d: Json) -> Json:
    return {k: v for k, v in d.items() if v is not None}


def _t(value: Any) -> str | None:
    return None if value is None else lemmy_time(value)


# ProxyAllImages (MOOT_IMAGE_MODE): set per request by the API's context(); None in the other modes.
image_proxy: ContextVar[ImageRewriter | None] = ContextVar("moot_image_proxy", default=None)


def _markdown(text: str | None) -> str | None:
    rewriter = image_proxy.get()
    return rewriter.markdown(text) if rewriter is not None and text and "![" in text else text


def _remote_image(url: str | None, local: bool) -> str | None:
    """A remote actor's picture, through the proxy (recorded when the actor was stored)."""
    rewriter = image_proxy.get()
    return rewriter.link(url) if rewriter is not None and url and not local else url


def person(p: Person | CreatorRow) -> Json:
    # Direct expressions, not helpers: every post and comment of a page writes its creator.
    local, updated, ban_expires = p.local, p.updated, p.ban_expires
    rewriter = None if local else image_proxy.get()
    return compact(
        {
            "id": p.id,
            "name": p.name,
            "display_name": p.display_name,
            "avatar": p.avatar if rewriter is None or not p.avatar else rewriter.link(p.avatar),
            "banned": is_site_banned(p),  # an expired ban no longer shows
            "published": lemmy_time(p.published),
            "updated": None if updated is None else lemmy_time(updated),
            "actor_id": p.ap_id,
            "bio": p.bio,
            "local": local,
            "banner": p.banner if rewriter is None or not p.banner else rewriter.link(p.banner),
            "deleted": p.deleted,
            "matrix_user_id": p.matrix_user_id,
            "bot_account": p.bot_account,
            "ban_expires": None if ban_expires is None else lemmy_time(ban_expires),
            "instance_id": p.instance_id,
        }
    )


def person_counts(p: Person) -> Json:
    return {"person_id": p.id, "post_count": p.post_count, "comment_count": p.comment_count}


def person_view(v: PersonView) -> Json:
    return {"person": person(v.person), "counts": person_counts(v.person), "is_admin": v.is_admin}


def community(c: Community | CommunityRow) -> Json:
    local, updated = c.local, c.updated
    rewriter = None if local else image_proxy.get()
    return compact(
        {
            "id": c.id,
            "name": c.name,
            "title": c.title,
            "description": c.description,
            "removed": c.removed,
            "published": lemmy_time(c.published),
            "updated": None if updated is None else lemmy_time(updated),
            "deleted": c.deleted,
            "nsfw": c.nsfw,
            "actor_id": c.ap_id,
            "local": local,
            "icon": c.icon if rewriter is None or not c.icon else rewriter.link(c.icon),
            "banner": c.banner if rewriter is None or not c.banner else rewriter.link(c.banner),
            "hidden": c.hidden,
            "posting_restricted_to_mods": c.posting_restricted_to_mods,
            "instance_id": c.instance_id,
            "visibility": c.visibility,
        }
    )


def community_counts(c: Community | CommunityRow) -> Json:
    return {
        "community_id": c.id,
        "subscribers": c.subscribers,
        "posts": c.posts,
        "comments": c.comments,
        "published": _t(c.published),
        "users_active_day": c.users_active_day,
        "users_active_week": c.users_active_week,
        "users_active_month": c.users_active_month,
        "users_active_half_year": c.users_active_half_year,
        "subscribers_local": c.subscribers_local,
    }


def community_view(v: CommunityView) -> Json:
    return _community_view(v.community, v.subscribed, v.blocked, v.banned_from_community)


def community_view_of_post(v: PostView, blocked: bool) -> Json:
    """GET /post's community view from what the post's view holds (the community's row and counts, the reader's
    follow and ban, each read by the rule a community view reads it by) and whether the reader blocked it: the
    same object as `community_view`'s of that community."""
    return _community_view(v.community, v.subscribed, blocked, v.banned_from_community)


def _community_view(c: Community | CommunityRow, subscribed: SubscribedType, blocked: bool, banned: bool) -> Json:
    return {
        "community": community(c),
        "subscribed": subscribed.value,
        "blocked": blocked,
        "counts": community_counts(c),
        "banned_from_community": banned,
    }


def moderator_view(c: Community | CommunityRow, p: Person | CreatorRow) -> Json:
    return {"community": community(c), "moderator": person(p)}


def post(p: Post | PostRow, published: str | None = None) -> Json:
    """`published` when the caller has it already formatted (a view writes it twice)."""
    updated = p.updated
    return compact(
        {
            "id": p.id,
            "name": p.name,
            "url": p.url,
            "body": _markdown(p.body),
            "creator_id": p.creator_id,
            "community_id": p.community_id,
            "removed": p.removed,
            "locked": p.locked,
            "published": published or lemmy_time(p.published),
            "updated": None if updated is None else lemmy_time(updated),
            "deleted": p.deleted,
            "nsfw": p.nsfw,
            "embed_title": p.embed_title,
            "embed_description": p.embed_description,
            "thumbnail_url": p.thumbnail_url,
            "ap_id": p.ap_id,
            "local": p.local,
            "embed_video_url": p.embed_video_url,
            "language_id": p.language_id,
            "featured_community": p.featured_community,
            "featured_local": p.featured_local,
            "url_content_type": p.url_content_type,
            "alt_text": p.alt_text,
        }
    )


def post_counts(p: Post | PostRow, published: str | None = None) -> Json:
    newest = p.newest_comment_time
    return {
        "post_id": p.id,
        "comments": p.comments,
        "score": p.score,
        "upvotes": p.upvotes,
        "downvotes": p.downvotes,
        "published": published or lemmy_time(p.published),
        "newest_comment_time": None if newest is None else lemmy_time(newest),
    }


def post_view(v: PostView) -> Json:
    """One dict, no compact(): every field but `my_vote` is always there (a page writes 20 to 50 of these)."""
    p = v.post
    published = lemmy_time(p.published)
    found = {
        "post": post(p, published),
        "creator": person(v.creator),
        "community": community(v.community),
        "creator_banned_from_community": v.creator_banned_from_community,
        "banned_from_community": v.banned_from_community,
        "creator_is_moderator": v.creator_is_moderator,
        "creator_is_admin": v.creator_is_admin,
        "counts": post_counts(p, published),
        "subscribed": v.subscribed.value,
        "saved": v.saved,
        "read": v.read,
        "hidden": v.hidden,
        "creator_blocked": v.creator_blocked,
        "my_vote": v.my_vote,
        "unread_comments": v.unread_comments,
    }
    if v.my_vote is None:
        del found["my_vote"]
    return found


def comment(c: Comment | CommentRow, published: str | None = None) -> Json:
    """`published` when the caller has it already formatted (a view writes it twice)."""
    found = {
        "id": c.id,
        "creator_id": c.creator_id,
        "post_id": c.post_id,
        "content": _markdown(c.content),
        "removed": c.removed,
        "published": published or lemmy_time(c.published),
        "updated": _t(c.updated),
        "deleted": c.deleted,
        "ap_id": c.ap_id,
        "local": c.local,
        "path": c.path,
        "distinguished": c.distinguished,
        "language_id": c.language_id,
    }
    # Only `updated` may be null (every other column is NOT NULL): left out in place, as compact() would.
    if found["updated"] is None:
        del found["updated"]
    return found


def comment_counts(c: Comment | CommentRow, published: str | None = None) -> Json:
    return {
        "comment_id": c.id,
        "score": c.score,
        "upvotes": c.upvotes,
        "downvotes": c.downvotes,
        "published": published or lemmy_time(c.published),
        "child_count": c.child_count,
    }


class _Memo:
    """Converts each post, community and person once per response: a 300-comment tree names one post and one
    community 300 times (the bench measured ~28 ms of a 68 ms tree answer spent converting them again)."""

    def __init__(self) -> None:
        self.posts: dict[int, Json] = {}
        self.communities: dict[int, Json] = {}
        self.people: dict[int, Json] = {}

    def post(self, p: Post | PostRow) -> Json:
        found = self.posts.get(p.id)
        if found is None:
            found = self.posts[p.id] = post(p)
        return found

    def community(self, c: Community | CommunityRow) -> Json:
        found = self.communities.get(c.id)
        if found is None:
            found = self.communities[c.id] = community(c)
        return found

    def person(self, p: Person | CreatorRow) -> Json:
        found = self.people.get(p.id)
        if found is None:
            found = self.people[p.id] = person(p)
        return found


def comment_views(views: list[CommentView]) -> list[Json]:
    memo = _Memo()
    return [comment_view(v, memo) for v in views]


def comment_view(v: CommentView, memo: _Memo | None = None) -> Json:
    """One pass, no compact(): every field but `my_vote` is always there (a tree writes 300 of these)."""
    memo = memo or _Memo()
    published = lemmy_time(v.comment.published)
    found = {
        "comment": comment(v.comment, published),
        "creator": memo.person(v.creator),
        "post": memo.post(v.post),
        "community": memo.community(v.community),
        "counts": comment_counts(v.comment, published),
        "creator_banned_from_community": v.creator_banned_from_community,
        "banned_from_community": v.banned_from_community,
        "creator_is_moderator": v.creator_is_moderator,
        "creator_is_admin": v.creator_is_admin,
        "subscribed": v.subscribed.value,
        "saved": v.saved,
        "creator_blocked": v.creator_blocked,
    }
    if v.my_vote is not None:
        found["my_vote"] = v.my_vote
    return found


def comment_reply_view(reply: CommentReply, v: CommentView, recipient: Person) -> Json:
    return {
        "comment_reply": {
            "id": reply.id,
            "recipient_id": reply.recipient_id,
            "comment_id": reply.comment_id,
            "read": reply.read,
            "published": _t(reply.published),
        },
        "recipient": person(recipient),
        **comment_view(v),
    }


def person_mention_view(mention: PersonMention, v: CommentView, recipient: Person) -> Json:
    return {
        "person_mention": {
            "id": mention.id,
            "recipient_id": mention.recipient_id,
            "comment_id": mention.comment_id,
            "read": mention.read,
            "published": _t(mention.published),
        },
        "recipient": person(recipient),
        **comment_view(v),
    }


def site(s: Site) -> Json:
    return compact(
        {
            "id": s.id,
            "name": s.name,
            "sidebar": s.sidebar,
            "published": _t(s.published),
            "updated": _t(s.updated),
            "icon": s.icon,
            "banner": s.banner,
            "description": s.description,
            "actor_id": s.ap_id,
            "last_refreshed_at": _t(s.last_refreshed_at),
            "inbox_url": s.inbox_url,
            "public_key": s.public_key,
            "instance_id": s.instance_id,
            "content_warning": s.content_warning,
        }
    )


def local_site(ls: LocalSite) -> Json:
    return compact(
        {
            "id": ls.id,
            "site_id": ls.site_id,
            "site_setup": ls.site_setup,
            "enable_downvotes": ls.enable_downvotes,
            "enable_nsfw": ls.enable_nsfw,
            "community_creation_admin_only": ls.community_creation_admin_only,
            "require_email_verification": ls.require_email_verification,
            "application_question": ls.application_question,
            "private_instance": ls.private_instance,
            "default_theme": ls.default_theme,
            "default_post_listing_type": ls.default_post_listing_type,
            "legal_information": ls.legal_information,
            "hide_modlog_mod_names": ls.hide_modlog_mod_names,
            "application_email_admins": ls.application_email_admins,
            "slur_filter_regex": ls.slur_filter_regex,
            "actor_name_max_length": ls.actor_name_max_length,
            "federation_enabled": ls.federation_enabled,
            "captcha_enabled": ls.captcha_enabled,
            "captcha_difficulty": ls.captcha_difficulty,
            "published": _t(ls.published),
            "updated": _t(ls.updated),
            "registration_mode": ls.registration_mode,
            "reports_email_admins": ls.reports_email_admins,
            "federation_signed_fetch": ls.federation_signed_fetch,
            "default_post_listing_mode": ls.default_post_listing_mode,
            "default_sort_type": ls.default_sort_type,
        }
    )


def rate_limit(r: LocalSiteRateLimit) -> Json:
    names = (*RATE_LIMIT_FIELDS, "import_user_settings", "import_user_settings_per_second")
    return compact(
        {
            "local_site_id": r.local_site_id,
            **{n: getattr(r, n) for n in names},
            "published": _t(r.published),
            "updated": _t(r.updated),
        }
    )


def tagline(t: Tagline) -> Json:
    return compact(
        {
            "id": t.id,
            "local_site_id": t.local_site_id,
            "content": t.content,
            "published": _t(t.published),
            "updated": _t(t.updated),
        }
    )


def languages() -> list[Json]:
    return [{"id": lang.id, "code": lang.code, "name": lang.name} for lang in LANGUAGES]


def local_user(u: LocalUser) -> Json:
    return compact(
        {
            "id": u.id,
            "person_id": u.person_id,
            "email": u.email,
            "show_nsfw": u.show_nsfw,
            "theme": u.theme,
            "default_sort_type": u.default_sort_type,
            "default_listing_type": u.default_listing_type,
            "interface_language": u.interface_language,
            "show_avatars": u.show_avatars,
            "send_notifications_to_email": u.send_notifications_to_email,
            "show_scores": u.show_scores,
            "show_bot_accounts": u.show_bot_accounts,
            "show_read_posts": u.show_read_posts,
            "email_verified": u.email_verified,
            "accepted_application": u.accepted_application,
            "open_links_in_new_tab": u.open_links_in_new_tab,
            "blur_nsfw": u.blur_nsfw,
            "auto_expand": u.auto_expand,
            "infinite_scroll_enabled": u.infinite_scroll_enabled,
            "admin": u.admin,
            "post_listing_mode": u.post_listing_mode,
            "totp_2fa_enabled": u.totp_2fa_enabled,
            "enable_keyboard_navigation": u.enable_keyboard_navigation,
            "enable_animated_images": u.enable_animated_images,
            "collapse_bot_comments": u.collapse_bot_comments,
            "last_donation_notification": _t(u.last_donation_notification),
        }
    )


def local_user_view(u: LocalUser, p: Person) -> Json:
    return {
        "local_user": local_user(u),
        "local_user_vote_display_mode": {
            "local_user_id": u.id,
            "score": u.show_scores,
            "upvotes": u.show_upvotes,
            "downvotes": u.show_downvotes,
            "upvote_percentage": u.show_upvote_percentage,
        },
        "person": person(p),
        "counts": person_counts(p),
    }


def instance(i: Instance) -> Json:
    return compact(
        {
            "id": i.id,
            "domain": i.domain,
            "published": _t(i.published),
            "updated": _t(i.updated),
            "software": i.software,
            "version": i.version,
        }
    )
