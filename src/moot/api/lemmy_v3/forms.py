"""Request forms of the v3 API, as lemmy-js-client 0.19 sends them. Unknown fields are ignored, as Lemmy does.

Numbers and booleans are read as Lemmy's serde reads them: a JSON body must carry real JSON numbers and booleans
(`{"hide": 0}`, `{"post_id": "5"}` and `{"post_id": 5.0}` are refused), each number within its Rust type (ids
are i32: 2^31 is refused with 400 before anything looks it up; an id in range that names nothing is the
lookup's 404, as on Lemmy). A GET form arrives as a query string, so its fields (the `Query*` types) take the
text serde_urlencoded takes: `true`/`false` (any case: Python clients send `True`) and decimal integers.
Every text field is cleaned as it is read (`validation.clean_text`: control characters dropped); a lone surrogate
(`"\\ud800"`) is refused by pydantic itself, as serde_json refuses it."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict, field_validator

from moot.domain.enums import (
    CommentSortType,
    CommunityVisibility,
    ListingType,
    PostListingMode,
    RegistrationMode,
    SearchType,
    SortType,
)
from moot.domain.validation import I16_MAX, I16_MIN, I32_MAX, I32_MIN, I64_MAX, I64_MIN, clean_text

# Bounds that stop absurd input before it reaches an action (the actions enforce Lemmy's own limits).
_TEXT = 200_000
_SHORT = 2_000

# JSON bodies: strict, as serde_json.
Id = Annotated[int, Strict(), Field(ge=I32_MIN, le=I32_MAX)]
Int16 = Annotated[int, Strict(), Field(ge=I16_MIN, le=I16_MAX)]
Int32 = Annotated[int, Strict(), Field(ge=I32_MIN, le=I32_MAX)]
Int64 = Annotated[int, Strict(), Field(ge=I64_MIN, le=I64_MAX)]
Flag = Annotated[bool, Strict()]

_QUERY_INT = re.compile(r"[+-]?[0-9]{1,20}")


def _query_int(value: Any) -> Any:
    """A decimal integer as Rust's `i32::from_str` reads it (a sign, digits, nothing else); else left alone, for
    the strict check to refuse."""
    return int(value) if isinstance(value, str) and _QUERY_INT.fullmatch(value) else value


def _query_flag(value: Any) -> Any:
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


# Query strings: text in, the same bounds.
QueryId = Annotated[Id, BeforeValidator(_query_int)]
QueryInt32 = Annotated[Int32, BeforeValidator(_query_int)]
QueryInt64 = Annotated[Int64, BeforeValidator(_query_int)]
QueryFlag = Annotated[Flag, BeforeValidator(_query_flag)]


class Form(BaseModel):
    model_config = ConfigDict(extra="ignore")

    @field_validator("*", mode="after")
    @classmethod
    def _clean_text(cls, value: Any) -> Any:
        """Every string field, and every string in a list field, through the one text rule."""
        if type(value) is str:  # not the str-based enums
            return clean_text(value)
        if isinstance(value, list) and any(type(item) is str for item in value):
            return [clean_text(item) if type(item) is str else item for item in value]
        return value


class QueryForm(Form):
    """A form read from a GET query string (its number and boolean fields use the `Query*` types)."""


class Register(Form):
    # Loose outer bounds: the action gives Lemmy's own error (invalid_name) for names that are too long.
    username: str = Field(max_length=_SHORT)
    password: str = Field(max_length=_SHORT)
    password_verify: str = Field(max_length=_SHORT)
    show_nsfw: Flag | None = None
    email: str | None = Field(default=None, max_length=255)
    captcha_uuid: str | None = None
    captcha_answer: str | None = None
    honeypot: str | None = None
    answer: str | None = Field(default=None, max_length=_TEXT)


class Login(Form):
    username_or_email: str = Field(max_length=255)
    password: str = Field(max_length=_SHORT)
    totp_2fa_token: str | None = None


class ChangePassword(Form):
    new_password: str = Field(max_length=_SHORT)
    new_password_verify: str = Field(max_length=_SHORT)
    old_password: str = Field(max_length=_SHORT)


class SaveUserSettings(Form):
    show_nsfw: Flag | None = None
    blur_nsfw: Flag | None = None
    auto_expand: Flag | None = None
    theme: str | None = Field(default=None, max_length=100)
    default_sort_type: SortType | None = None
    default_listing_type: ListingType | None = None
    interface_language: str | None = Field(default=None, max_length=20)
    avatar: str | None = Field(default=None, max_length=_SHORT)
    banner: str | None = Field(default=None, max_length=_SHORT)
    display_name: str | None = Field(default=None, max_length=255)
    email: str | None = Field(default=None, max_length=255)
    bio: str | None = Field(default=None, max_length=_TEXT)
    matrix_user_id: str | None = Field(default=None, max_length=255)
    show_avatars: Flag | None = None
    send_notifications_to_email: Flag | None = None
    bot_account: Flag | None = None
    show_bot_accounts: Flag | None = None
    show_read_posts: Flag | None = None
    discussion_languages: list[Id] | None = Field(default=None, max_length=500)
    open_links_in_new_tab: Flag | None = None
    infinite_scroll_enabled: Flag | None = None
    post_listing_mode: PostListingMode | None = None
    enable_keyboard_navigation: Flag | None = None
    enable_animated_images: Flag | None = None
    collapse_bot_comments: Flag | None = None
    show_scores: Flag | None = None
    show_upvotes: Flag | None = None
    show_downvotes: Flag | None = None
    show_upvote_percentage: Flag | None = None


class GetPersonDetails(QueryForm):
    person_id: QueryId | None = None
    username: str | None = Field(default=None, max_length=255)
    sort: SortType | None = None
    page: QueryInt64 | None = None
    limit: QueryInt64 | None = None
    community_id: QueryId | None = None
    saved_only: QueryFlag | None = None


class Paged(QueryForm):
    sort: CommentSortType | None = None
    page: QueryInt64 | None = None
    limit: QueryInt64 | None = None
    unread_only: QueryFlag | None = None


class MarkReplyRead(Form):
    comment_reply_id: Id
    read: Flag


class MarkMentionRead(Form):
    person_mention_id: Id
    read: Flag


class EditSite(Form):
    name: str | None = Field(default=None, max_length=_SHORT)
    sidebar: str | None = Field(default=None, max_length=_TEXT)
    description: str | None = Field(default=None, max_length=_SHORT)
    icon: str | None = Field(default=None, max_length=_SHORT)
    banner: str | None = Field(default=None, max_length=_SHORT)
    enable_downvotes: Flag | None = None
    enable_nsfw: Flag | None = None
    community_creation_admin_only: Flag | None = None
    require_email_verification: Flag | None = None
    application_question: str | None = Field(default=None, max_length=_TEXT)
    private_instance: Flag | None = None
    default_theme: str | None = Field(default=None, max_length=100)
    default_post_listing_type: ListingType | None = None
    default_sort_type: SortType | None = None
    legal_information: str | None = Field(default=None, max_length=_TEXT)
    application_email_admins: Flag | None = None
    hide_modlog_mod_names: Flag | None = None
    discussion_languages: list[Id] | None = Field(default=None, max_length=500)
    slur_filter_regex: str | None = Field(default=None, max_length=_SHORT)
    actor_name_max_length: Int32 | None = Field(default=None, ge=3, le=255)
    rate_limit_message: Int32 | None = Field(default=None, ge=0)
    rate_limit_message_per_second: Int32 | None = Field(default=None, ge=0)
    rate_limit_post: Int32 | None = Field(default=None, ge=0)
    rate_limit_post_per_second: Int32 | None = Field(default=None, ge=0)
    rate_limit_register: Int32 | None = Field(default=None, ge=0)
    rate_limit_register_per_second: Int32 | None = Field(default=None, ge=0)
    rate_limit_image: Int32 | None = Field(default=None, ge=0)
    rate_limit_image_per_second: Int32 | None = Field(default=None, ge=0)
    rate_limit_comment: Int32 | None = Field(default=None, ge=0)
    rate_limit_comment_per_second: Int32 | None = Field(default=None, ge=0)
    rate_limit_search: Int32 | None = Field(default=None, ge=0)
    rate_limit_search_per_second: Int32 | None = Field(default=None, ge=0)
    federation_enabled: Flag | None = None
    captcha_enabled: Flag | None = None
    captcha_difficulty: str | None = Field(default=None, max_length=32)
    taglines: list[str] | None = Field(default=None, max_length=100)
    allowed_instances: list[str] | None = Field(default=None, max_length=10_000)
    blocked_instances: list[str] | None = Field(default=None, max_length=10_000)
    blocked_urls: list[Annotated[str, Field(max_length=_SHORT)]] | None = Field(default=None, max_length=10_000)
    registration_mode: RegistrationMode | None = None
    reports_email_admins: Flag | None = None
    content_warning: str | None = Field(default=None, max_length=_TEXT)
    default_post_listing_mode: PostListingMode | None = None


class CreateCommunity(Form):
    name: str = Field(max_length=255)
    title: str = Field(max_length=_SHORT)
    description: str | None = Field(default=None, max_length=_TEXT)
    icon: str | None = Field(default=None, max_length=_SHORT)
    banner: str | None = Field(default=None, max_length=_SHORT)
    nsfw: Flag | None = None
    posting_restricted_to_mods: Flag | None = None
    discussion_languages: list[Id] | None = Field(default=None, max_length=500)
    visibility: CommunityVisibility | None = None


class EditCommunity(Form):
    community_id: Id
    title: str | None = Field(default=None, max_length=_SHORT)
    description: str | None = Field(default=None, max_length=_TEXT)
    icon: str | None = Field(default=None, max_length=_SHORT)
    banner: str | None = Field(default=None, max_length=_SHORT)
    nsfw: Flag | None = None
    posting_restricted_to_mods: Flag | None = None
    discussion_languages: list[Id] | None = Field(default=None, max_length=500)
    visibility: CommunityVisibility | None = None


class GetCommunity(QueryForm):
    id: QueryId | None = None
    name: str | None = Field(default=None, max_length=512)


class ListCommunities(QueryForm):
    type_: ListingType | None = None
    sort: SortType | None = None
    show_nsfw: QueryFlag | None = None
    page: QueryInt64 | None = None
    limit: QueryInt64 | None = None


class FollowCommunity(Form):
    community_id: Id
    follow: Flag


class BlockCommunity(Form):
    community_id: Id
    block: Flag


class DeleteCommunity(Form):
    community_id: Id
    deleted: Flag


class CreatePost(Form):
    name: str = Field(max_length=_SHORT)
    community_id: Id
    url: str | None = Field(default=None, max_length=_TEXT)
    body: str | None = Field(default=None, max_length=_TEXT)
    alt_text: str | None = Field(default=None, max_length=_TEXT)
    honeypot: str | None = None
    nsfw: Flag | None = None
    language_id: Id | None = None
    custom_thumbnail: str | None = Field(default=None, max_length=_SHORT)


class EditPost(Form):
    post_id: Id
    name: str | None = Field(default=None, max_length=_SHORT)
    url: str | None = Field(default=None, max_length=_TEXT)
    body: str | None = Field(default=None, max_length=_TEXT)
    alt_text: str | None = Field(default=None, max_length=_TEXT)
    nsfw: Flag | None = None
    language_id: Id | None = None
    custom_thumbnail: str | None = Field(default=None, max_length=_SHORT)


class GetPost(QueryForm):
    id: QueryId | None = None
    comment_id: QueryId | None = None
    # Moot's extension (docs/api.md): add `link_group`, the post's group of the same link, to the answer.
    link_group: QueryFlag | None = None


class DeletePost(Form):
    post_id: Id
    deleted: Flag


class CreatePostLike(Form):
    post_id: Id
    score: Int16


class SavePost(Form):
    post_id: Id
    save: Flag


class MarkPostAsRead(Form):
    post_ids: list[Id] | None = Field(default=None, max_length=10_000)
    post_id: Id | None = None
    read: Flag


class HidePost(Form):
    post_ids: list[Id] = Field(max_length=10_000)
    hide: Flag


class GetPosts(QueryForm):
    type_: ListingType | None = None
    sort: SortType | None = None
    page: QueryInt64 | None = None
    limit: QueryInt64 | None = None
    community_id: QueryId | None = None
    community_name: str | None = Field(default=None, max_length=512)
    saved_only: QueryFlag | None = None
    liked_only: QueryFlag | None = None
    disliked_only: QueryFlag | None = None
    show_hidden: QueryFlag | None = None
    show_read: QueryFlag | None = None
    show_nsfw: QueryFlag | None = None
    page_cursor: str | None = Field(default=None, max_length=64)


class CreateComment(Form):
    content: str = Field(max_length=_TEXT)
    post_id: Id
    parent_id: Id | None = None
    language_id: Id | None = None


class EditComment(Form):
    comment_id: Id
    content: str | None = Field(default=None, max_length=_TEXT)
    language_id: Id | None = None


class GetComment(QueryForm):
    id: QueryId


class DeleteComment(Form):
    comment_id: Id
    deleted: Flag


class CreateCommentLike(Form):
    comment_id: Id
    score: Int16


class SaveComment(Form):
    comment_id: Id
    save: Flag


class GetComments(QueryForm):
    type_: ListingType | None = None
    sort: CommentSortType | None = None
    max_depth: QueryInt32 | None = None
    page: QueryInt64 | None = None
    limit: QueryInt64 | None = None
    community_id: QueryId | None = None
    community_name: str | None = Field(default=None, max_length=512)
    post_id: QueryId | None = None
    parent_id: QueryId | None = None
    saved_only: QueryFlag | None = None
    liked_only: QueryFlag | None = None
    disliked_only: QueryFlag | None = None
    # Moot's extension (docs/api.md): with post_id, the comments of every post of the same link, merged.
    merge_cross_posts: QueryFlag | None = None


class Search(QueryForm):
    q: str = Field(max_length=1000)
    community_id: QueryId | None = None
    community_name: str | None = Field(default=None, max_length=512)
    creator_id: QueryId | None = None
    type_: SearchType | None = None
    sort: SortType | None = None
    listing_type: ListingType | None = None
    page: QueryInt64 | None = None
    limit: QueryInt64 | None = None
    post_title_only: QueryFlag | None = None


class ResolveObject(QueryForm):
    q: str = Field(max_length=2000)


class BlockPerson(Form):
    person_id: Id
    block: Flag
