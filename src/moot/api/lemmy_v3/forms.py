"""Request forms of the v3 API, as lemmy-js-client 0.19 sends them. Unknown fields are ignored, as Lemmy does."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from moot.domain.enums import (
    CommentSortType,
    CommunityVisibility,
    ListingType,
    PostListingMode,
    RegistrationMode,
    SearchType,
    SortType,
)

# Bounds that stop absurd input before it reaches an action (the actions enforce Lemmy's own limits).
_TEXT = 200_000
_SHORT = 2_000


class Form(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Register(Form):
    # Loose outer bounds: the action gives Lemmy's own error (invalid_name) for names that are too long.
    username: str = Field(max_length=_SHORT)
    password: str = Field(max_length=_SHORT)
    password_verify: str = Field(max_length=_SHORT)
    show_nsfw: bool | None = None
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
    show_nsfw: bool | None = None
    blur_nsfw: bool | None = None
    auto_expand: bool | None = None
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
    show_avatars: bool | None = None
    send_notifications_to_email: bool | None = None
    bot_account: bool | None = None
    show_bot_accounts: bool | None = None
    show_read_posts: bool | None = None
    discussion_languages: list[int] | None = Field(default=None, max_length=500)
    open_links_in_new_tab: bool | None = None
    infinite_scroll_enabled: bool | None = None
    post_listing_mode: PostListingMode | None = None
    enable_keyboard_navigation: bool | None = None
    enable_animated_images: bool | None = None
    collapse_bot_comments: bool | None = None
    show_scores: bool | None = None
    show_upvotes: bool | None = None
    show_downvotes: bool | None = None
    show_upvote_percentage: bool | None = None


class GetPersonDetails(Form):
    person_id: int | None = None
    username: str | None = Field(default=None, max_length=255)
    sort: SortType | None = None
    page: int | None = None
    limit: int | None = None
    community_id: int | None = None
    saved_only: bool | None = None


class Paged(Form):
    sort: CommentSortType | None = None
    page: int | None = None
    limit: int | None = None
    unread_only: bool | None = None


class MarkReplyRead(Form):
    comment_reply_id: int
    read: bool


class MarkMentionRead(Form):
    person_mention_id: int
    read: bool


class EditSite(Form):
    name: str | None = Field(default=None, max_length=_SHORT)
    sidebar: str | None = Field(default=None, max_length=_TEXT)
    description: str | None = Field(default=None, max_length=_SHORT)
    icon: str | None = Field(default=None, max_length=_SHORT)
    banner: str | None = Field(default=None, max_length=_SHORT)
    enable_downvotes: bool | None = None
    enable_nsfw: bool | None = None
    community_creation_admin_only: bool | None = None
    require_email_verification: bool | None = None
    application_question: str | None = Field(default=None, max_length=_TEXT)
    private_instance: bool | None = None
    default_theme: str | None = Field(default=None, max_length=100)
    default_post_listing_type: ListingType | None = None
    default_sort_type: SortType | None = None
    legal_information: str | None = Field(default=None, max_length=_TEXT)
    application_email_admins: bool | None = None
    hide_modlog_mod_names: bool | None = None
    discussion_languages: list[int] | None = Field(default=None, max_length=500)
    slur_filter_regex: str | None = Field(default=None, max_length=_SHORT)
    actor_name_max_length: int | None = Field(default=None, ge=3, le=255)
    rate_limit_message: int | None = Field(default=None, ge=0)
    rate_limit_message_per_second: int | None = Field(default=None, ge=0)
    rate_limit_post: int | None = Field(default=None, ge=0)
    rate_limit_post_per_second: int | None = Field(default=None, ge=0)
    rate_limit_register: int | None = Field(default=None, ge=0)
    rate_limit_register_per_second: int | None = Field(default=None, ge=0)
    rate_limit_image: int | None = Field(default=None, ge=0)
    rate_limit_image_per_second: int | None = Field(default=None, ge=0)
    rate_limit_comment: int | None = Field(default=None, ge=0)
    rate_limit_comment_per_second: int | None = Field(default=None, ge=0)
    rate_limit_search: int | None = Field(default=None, ge=0)
    rate_limit_search_per_second: int | None = Field(default=None, ge=0)
    federation_enabled: bool | None = None
    captcha_enabled: bool | None = None
    captcha_difficulty: str | None = Field(default=None, max_length=32)
    taglines: list[str] | None = Field(default=None, max_length=100)
    allowed_instances: list[str] | None = Field(default=None, max_length=10_000)
    blocked_instances: list[str] | None = Field(default=None, max_length=10_000)
    registration_mode: RegistrationMode | None = None
    reports_email_admins: bool | None = None
    content_warning: str | None = Field(default=None, max_length=_TEXT)
    default_post_listing_mode: PostListingMode | None = None


class CreateCommunity(Form):
    name: str = Field(max_length=255)
    title: str = Field(max_length=_SHORT)
    description: str | None = Field(default=None, max_length=_TEXT)
    icon: str | None = Field(default=None, max_length=_SHORT)
    banner: str | None = Field(default=None, max_length=_SHORT)
    nsfw: bool | None = None
    posting_restricted_to_mods: bool | None = None
    discussion_languages: list[int] | None = Field(default=None, max_length=500)
    visibility: CommunityVisibility | None = None


class EditCommunity(Form):
    community_id: int
    title: str | None = Field(default=None, max_length=_SHORT)
    description: str | None = Field(default=None, max_length=_TEXT)
    icon: str | None = Field(default=None, max_length=_SHORT)
    banner: str | None = Field(default=None, max_length=_SHORT)
    nsfw: bool | None = None
    posting_restricted_to_mods: bool | None = None
    discussion_languages: list[int] | None = Field(default=None, max_length=500)
    visibility: CommunityVisibility | None = None


class GetCommunity(Form):
    id: int | None = None
    name: str | None = Field(default=None, max_length=512)


class ListCommunities(Form):
    type_: ListingType | None = None
    sort: SortType | None = None
    show_nsfw: bool | None = None
    page: int | None = None
    limit: int | None = None


class FollowCommunity(Form):
    community_id: int
    follow: bool


class BlockCommunity(Form):
    community_id: int
    block: bool


class DeleteCommunity(Form):
    community_id: int
    deleted: bool


class CreatePost(Form):
    name: str = Field(max_length=_SHORT)
    community_id: int
    url: str | None = Field(default=None, max_length=_TEXT)
    body: str | None = Field(default=None, max_length=_TEXT)
    alt_text: str | None = Field(default=None, max_length=_TEXT)
    honeypot: str | None = None
    nsfw: bool | None = None
    language_id: int | None = None
    custom_thumbnail: str | None = Field(default=None, max_length=_SHORT)


class EditPost(Form):
    post_id: int
    name: str | None = Field(default=None, max_length=_SHORT)
    url: str | None = Field(default=None, max_length=_TEXT)
    body: str | None = Field(default=None, max_length=_TEXT)
    alt_text: str | None = Field(default=None, max_length=_TEXT)
    nsfw: bool | None = None
    language_id: int | None = None
    custom_thumbnail: str | None = Field(default=None, max_length=_SHORT)


class GetPost(Form):
    id: int | None = None
    comment_id: int | None = None


class DeletePost(Form):
    post_id: int
    deleted: bool


class CreatePostLike(Form):
    post_id: int
    score: int


class SavePost(Form):
    post_id: int
    save: bool


class MarkPostAsRead(Form):
    post_ids: list[int] | None = Field(default=None, max_length=10_000)
    post_id: int | None = None
    read: bool


class HidePost(Form):
    post_ids: list[int] = Field(max_length=10_000)
    hide: bool


class GetPosts(Form):
    type_: ListingType | None = None
    sort: SortType | None = None
    page: int | None = None
    limit: int | None = None
    community_id: int | None = None
    community_name: str | None = Field(default=None, max_length=512)
    saved_only: bool | None = None
    liked_only: bool | None = None
    disliked_only: bool | None = None
    show_hidden: bool | None = None
    show_read: bool | None = None
    show_nsfw: bool | None = None
    page_cursor: str | None = Field(default=None, max_length=64)


class CreateComment(Form):
    content: str = Field(max_length=_TEXT)
    post_id: int
    parent_id: int | None = None
    language_id: int | None = None


class EditComment(Form):
    comment_id: int
    content: str | None = Field(default=None, max_length=_TEXT)
    language_id: int | None = None


class GetComment(Form):
    id: int


class DeleteComment(Form):
    comment_id: int
    deleted: bool


class CreateCommentLike(Form):
    comment_id: int
    score: int


class SaveComment(Form):
    comment_id: int
    save: bool


class GetComments(Form):
    type_: ListingType | None = None
    sort: CommentSortType | None = None
    max_depth: int | None = None
    page: int | None = None
    limit: int | None = None
    community_id: int | None = None
    community_name: str | None = Field(default=None, max_length=512)
    post_id: int | None = None
    parent_id: int | None = None
    saved_only: bool | None = None
    liked_only: bool | None = None
    disliked_only: bool | None = None


class Search(Form):
    q: str = Field(max_length=1000)
    community_id: int | None = None
    community_name: str | None = Field(default=None, max_length=512)
    creator_id: int | None = None
    type_: SearchType | None = None
    sort: SortType | None = None
    listing_type: ListingType | None = None
    page: int | None = None
    limit: int | None = None
    post_title_only: bool | None = None


class ResolveObject(Form):
    q: str = Field(max_length=2000)


class BlockPerson(Form):
    person_id: int
    block: bool
