"""Self-tests for tests/lemmy_shapes.py: the parser reads every type and the checker catches each fault."""

from __future__ import annotations

import re
from typing import Any

import pytest

from lemmy_shapes import (
    TIMESTAMP_RE,
    ArrayOf,
    Field,
    Lit,
    ObjectOf,
    Prim,
    Ref,
    TupleOf,
    TypesFileError,
    UnionOf,
    assert_shape,
    definitions,
    known_types,
    parse_types,
    referenced_names,
    shape_errors,
    types_file,
)

TS = "2021-03-01T13:42:43.966208Z"

JSON = dict[str, Any]


# ------------------------------------------------------------------------------------------ fixtures


def person(pid: int = 2, name: str = "alice") -> JSON:
    return {
        "id": pid,
        "name": name,
        "display_name": "Alice",
        "banned": False,
        "published": TS,
        "actor_id": f"https://moot.example/u/{name}",
        "local": True,
        "deleted": False,
        "bot_account": False,
        "instance_id": 1,
    }


def community() -> JSON:
    return {
        "id": 3,
        "name": "python",
        "title": "Python",
        "removed": False,
        "published": TS,
        "deleted": False,
        "nsfw": False,
        "actor_id": "https://moot.example/c/python",
        "local": True,
        "hidden": False,
        "posting_restricted_to_mods": False,
        "instance_id": 1,
        "visibility": "Public",
    }


def post() -> JSON:
    return {
        "id": 7,
        "name": "Hello",
        "url": "https://example.org/",
        "creator_id": 2,
        "community_id": 3,
        "removed": False,
        "locked": False,
        "published": TS,
        "updated": "2021-03-02T00:00:00Z",
        "deleted": False,
        "nsfw": False,
        "ap_id": "https://moot.example/post/7",
        "local": True,
        "language_id": 0,
        "featured_community": False,
        "featured_local": False,
    }


def comment_view() -> JSON:
    return {
        "comment": {
            "id": 11,
            "creator_id": 2,
            "post_id": 7,
            "content": "first",
            "removed": False,
            "published": TS,
            "deleted": False,
            "ap_id": "https://moot.example/comment/11",
            "local": True,
            "path": "0.11",
            "distinguished": False,
            "language_id": 0,
        },
        "creator": person(),
        "post": post(),
        "community": community(),
        "counts": {
            "comment_id": 11,
            "score": 1,
            "upvotes": 1,
            "downvotes": 0,
            "published": TS,
            "child_count": 0,
        },
        "creator_banned_from_community": False,
        "banned_from_community": False,
        "creator_is_moderator": False,
        "creator_is_admin": True,
        "subscribed": "NotSubscribed",
        "saved": False,
        "creator_blocked": False,
        "my_vote": 1,
    }


def post_view() -> JSON:
    return {
        "post": post(),
        "creator": person(),
        "community": community(),
        "creator_banned_from_community": False,
        "banned_from_community": False,
        "creator_is_moderator": False,
        "creator_is_admin": False,
        "counts": {
            "post_id": 7,
            "comments": 1,
            "score": 5,
            "upvotes": 5,
            "downvotes": 0,
            "published": TS,
            "newest_comment_time": TS,
        },
        "subscribed": "Subscribed",
        "saved": False,
        "read": False,
        "hidden": False,
        "creator_blocked": False,
        "unread_comments": 0,
    }


def community_view() -> JSON:
    return {
        "community": community(),
        "subscribed": "Subscribed",
        "blocked": False,
        "counts": {
            "community_id": 3,
            "subscribers": 1,
            "posts": 1,
            "comments": 1,
            "published": TS,
            "users_active_day": 1,
            "users_active_week": 1,
            "users_active_month": 1,
            "users_active_half_year": 1,
            "subscribers_local": 1,
        },
        "banned_from_community": False,
    }


def get_post_response() -> JSON:
    return {
        "post_view": post_view(),
        "community_view": community_view(),
        "moderators": [{"community": community(), "moderator": person()}],
        "cross_posts": [],
    }


def get_site_response() -> JSON:
    return {
        "site_view": {
            "site": {
                "id": 1,
                "name": "Moot",
                "published": TS,
                "actor_id": "https://moot.example/",
                "last_refreshed_at": TS,
                "inbox_url": "https://moot.example/inbox",
                "public_key": "-----BEGIN PUBLIC KEY-----\n...",
                "instance_id": 1,
            },
            "local_site": {
                "id": 1,
                "site_id": 1,
                "site_setup": True,
                "enable_downvotes": True,
                "enable_nsfw": False,
                "community_creation_admin_only": False,
                "require_email_verification": False,
                "private_instance": False,
                "default_theme": "browser",
                "default_post_listing_type": "Local",
                "hide_modlog_mod_names": True,
                "application_email_admins": False,
                "actor_name_max_length": 20,
                "federation_enabled": False,
                "captcha_enabled": False,
                "captcha_difficulty": "medium",
                "published": TS,
                "registration_mode": "RequireApplication",
                "reports_email_admins": False,
                "federation_signed_fetch": False,
                "default_post_listing_mode": "List",
                "default_sort_type": "Active",
            },
            "local_site_rate_limit": {
                "local_site_id": 1,
                "message": 180,
                "message_per_second": 60,
                "post": 6,
                "post_per_second": 600,
                "register": 10,
                "register_per_second": 3600,
                "image": 6,
                "image_per_second": 3600,
                "comment": 6,
                "comment_per_second": 600,
                "search": 60,
                "search_per_second": 600,
                "published": TS,
                "import_user_settings": 1,
                "import_user_settings_per_second": 86400,
            },
            "counts": {
                "site_id": 1,
                "users": 1,
                "posts": 0,
                "comments": 0,
                "communities": 0,
                "users_active_day": 0,
                "users_active_week": 0,
                "users_active_month": 0,
                "users_active_half_year": 0,
            },
        },
        "admins": [
            {
                "person": person(1, "admin"),
                "counts": {"person_id": 1, "post_count": 0, "comment_count": 0},
                "is_admin": True,
            }
        ],
        "version": "0.19.5",
        "all_languages": [
            {"id": 0, "code": "und", "name": "Undetermined"},
            {"id": 37, "code": "en", "name": "English"},
        ],
        "discussion_languages": [0, 37],
        "taglines": [{"id": 1, "local_site_id": 1, "content": "hi", "published": TS}],
        "custom_emojis": [],
        "blocked_urls": [],
    }


def assert_fails(value: object, type_name: str, pattern: str) -> str:
    """Assert the check fails and the message contains `pattern` (a regex); return the message."""
    with pytest.raises(AssertionError) as info:
        assert_shape(value, type_name)
    message = str(info.value)
    assert re.search(pattern, message), f"pattern {pattern!r} not in:\n{message}"
    return message


# ------------------------------------------------------------------------------------------- parsing


def test_types_file_is_found_and_every_line_parses() -> None:
    path = types_file()
    lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    names = {re.match(r"[A-Za-z_]\w*", ln).group(0) for ln in lines}  # type: ignore[union-attr]
    assert len(lines) == len(names) == len(known_types())
    assert names == known_types()
    assert {"CommentView", "GetSiteResponse", "LemmyErrorType", "SortType", "CommentId"} <= known_types()


def test_every_referenced_name_resolves() -> None:
    missing = referenced_names() - known_types()
    assert not missing, f"referenced but undefined: {sorted(missing)}"


def test_parsed_forms_of_representative_declarations() -> None:
    defs = definitions()
    assert defs["CommentId"] == Prim("number")
    assert defs["PaginationCursor"] == Prim("string")
    assert defs["CommentSortType"] == UnionOf(tuple(Lit(v) for v in ("Hot", "Top", "New", "Old", "Controversial")))
    assert isinstance(defs["SortType"], UnionOf) and Lit("Active") in defs["SortType"].options  # leading `|`
    comment = defs["Comment"]
    assert isinstance(comment, ObjectOf)
    fields = {f.name: f for f in comment.fields}
    assert fields["id"] == Field("id", Ref("CommentId"), optional=False)
    assert fields["updated"] == Field("updated", Prim("string"), optional=True)
    recipients = defs["CommentResponse"]
    assert isinstance(recipients, ObjectOf)
    assert recipients.fields[1].expr == ArrayOf(Ref("LocalUserId"))
    errors = defs["LemmyErrorType"]
    assert isinstance(errors, UnionOf) and all(isinstance(o, ObjectOf) for o in errors.options)
    denied = next(
        o for o in errors.options if isinstance(o, ObjectOf) and o.fields[0].expr == Lit("registration_denied")
    )
    assert isinstance(denied, ObjectOf)
    assert denied.fields[1] == Field("message", UnionOf((Prim("string"), Prim("null"))), optional=False)


def test_parser_handles_constructs_beyond_the_current_file() -> None:
    defs = parse_types(
        "export type Pair = [string, number];\n"
        "// a comment line\n"
        "\n"
        "export interface Boxed { items: Thing[]; "
        "nested?: { a: (string | null)[], 'quoted-key': boolean } }\n"
        "Thing = | 'x' | \"y\";\n"
    )
    assert defs["Pair"] == TupleOf((Prim("string"), Prim("number")))
    assert defs["Thing"] == UnionOf((Lit("x"), Lit("y")))
    boxed = defs["Boxed"]
    assert isinstance(boxed, ObjectOf)
    assert boxed.fields[0] == Field("items", ArrayOf(Ref("Thing")), optional=False)
    nested = boxed.fields[1]
    assert nested.optional and isinstance(nested.expr, ObjectOf)
    assert nested.expr.fields == (
        Field("a", ArrayOf(UnionOf((Prim("string"), Prim("null")))), optional=False),
        Field("quoted-key", Prim("boolean"), optional=False),
    )


@pytest.mark.parametrize(
    "line",
    [
        "Foo = any;",
        "Foo { a: Record<string, number>; }",
        "Foo = 1 | 2;",
        "Foo { [key: string]: number }",
        "Foo = A & B;",
        "Foo { a: string; a: number; }",
        "Foo { a string }",
        "Foo = string; Bar = number;",
    ],
)
def test_parser_rejects_what_it_cannot_represent(line: str) -> None:
    with pytest.raises(TypesFileError, match=r"<types>:2: "):
        parse_types("Ok = string;\n" + line)


def test_duplicate_declaration_is_rejected() -> None:
    with pytest.raises(TypesFileError, match="declared twice"):
        parse_types("A = string;\nA = number;")


# ------------------------------------------------------------------------------------ valid payloads


def test_accepts_valid_comment_view() -> None:
    assert_shape(comment_view(), "CommentView")
    assert shape_errors(comment_view(), "CommentView") == []


def test_accepts_valid_get_site_response() -> None:
    assert_shape(get_site_response(), "GetSiteResponse")


def test_accepts_valid_get_post_response_and_lists() -> None:
    assert_shape(get_post_response(), "GetPostResponse")
    assert_shape({"comments": [comment_view(), comment_view()]}, "GetCommentsResponse")
    assert_shape({"comments": []}, "GetCommentsResponse")
    assert_shape({"posts": [post_view()], "next_page": "Pa7"}, "GetPostsResponse")


def test_accepts_aliases_enums_and_floats_at_top_level() -> None:
    assert_shape(5, "CommentId")
    assert_shape(2.5, "CommentId")
    assert_shape("Hot", "CommentSortType")
    assert_shape("Scaled", "SortType")


def test_accepts_discriminated_error_union() -> None:
    assert_shape({"error": "not_logged_in"}, "LemmyErrorType")
    assert_shape({"error": "unknown", "message": "boom"}, "LemmyErrorType")
    assert_shape({"error": "registration_denied", "message": None}, "LemmyErrorType")  # `string | null`
    assert_shape({"error": "registration_denied", "message": "no"}, "LemmyErrorType")


def test_timestamp_named_field_typed_number_is_not_format_checked() -> None:
    # BanPerson.expires is a unix time (number), unlike ModBan.expires (string timestamp).
    assert_shape({"person_id": 2, "ban": True, "expires": 1700000000}, "BanPerson")


# -------------------------------------------------------------------------------------- each failure


def test_missing_required_field() -> None:
    cv = comment_view()
    del cv["comment"]["published"]
    msg = assert_fails(cv, "CommentView", r"^CommentView\.comment\.published: required field missing$")
    assert "\n" not in msg


def test_missing_optional_field_is_fine() -> None:
    cv = comment_view()
    del cv["my_vote"]
    del cv["creator"]["display_name"]
    assert_shape(cv, "CommentView")


def test_null_in_optional_field() -> None:
    cv = comment_view()
    cv["comment"]["updated"] = None
    assert_fails(cv, "CommentView", r"^CommentView\.comment\.updated: expected string, got null \(Lemmy omits None")
    cv = comment_view()
    cv["my_vote"] = None
    assert_fails(cv, "CommentView", r"CommentView\.my_vote: expected number, got null")


def test_null_in_required_field() -> None:
    cv = comment_view()
    cv["post"]["name"] = None
    assert_fails(cv, "CommentView", r"^CommentView\.post\.name: expected string, got null$")


def test_wrong_primitive_types() -> None:
    cv = comment_view()
    cv["counts"]["score"] = "1"
    assert_fails(cv, "CommentView", r"^CommentView\.counts\.score: expected number, got str$")
    cv = comment_view()
    cv["counts"]["score"] = True  # bool is an int subclass in Python; it is not a JSON number
    assert_fails(cv, "CommentView", r"^CommentView\.counts\.score: expected number, got bool$")
    cv = comment_view()
    cv["saved"] = 0
    assert_fails(cv, "CommentView", r"^CommentView\.saved: expected boolean, got int$")
    cv = comment_view()
    cv["comment"]["content"] = 5
    assert_fails(cv, "CommentView", r"^CommentView\.comment\.content: expected string, got int$")
    cv = comment_view()
    cv["comment"]["id"] = "11"
    assert_fails(cv, "CommentView", r"^CommentView\.comment\.id: expected number \(CommentId\), got str$")


def test_wrong_container_types() -> None:
    cv = comment_view()
    cv["creator"] = [person()]
    assert_fails(cv, "CommentView", r"^CommentView\.creator: expected Person object, got list$")
    assert_fails({"comments": {}}, "GetCommentsResponse", r"comments: expected Array<CommentView>, got dict$")
    assert_fails([], "CommentView", r"^CommentView: expected CommentView object, got list$")


def test_bad_enum_value() -> None:
    cv = comment_view()
    cv["subscribed"] = "subscribed"
    assert_fails(
        cv,
        "CommentView",
        r'^CommentView\.subscribed: expected one of "Subscribed" \| "NotSubscribed" \| "Pending", '
        r"got 'subscribed' \(did you mean \"Subscribed\"\?\)$",
    )
    cv = comment_view()
    cv["community"]["visibility"] = 1
    assert_fails(cv, "CommentView", r"^CommentView\.community\.visibility: expected one of .*, got 1$")
    assert_fails("Best", "CommentSortType", r"^CommentSortType: expected one of \"Hot\"")


def test_extra_key() -> None:
    cv = comment_view()
    cv["comment"]["score"] = 3
    assert_fails(cv, "CommentView", r"^CommentView\.comment\.score: unexpected key \(not declared in Comment\)$")
    cv = comment_view()
    cv["hot_rank"] = 1.0
    assert_fails(cv, "CommentView", r"^CommentView\.hot_rank: unexpected key")


@pytest.mark.parametrize(
    "stamp",
    [
        "2021-03-01T13:42:43.966208",  # naive
        "2021-03-01T13:42:43.966208+00:00",  # offset instead of Z
        "2021-03-01 13:42:43Z",  # space separator
        "2021-03-01T13:42:43.9662081234Z",  # more than nine fraction digits
        "2021-03-01T13:42Z",  # no seconds
        "2021-03-01T13:42:43.Z",  # empty fraction
        "2021-03-01T13:42:43Z\n",  # trailing newline must not sneak past `$`
        "2021-03-01",
        "1614606163",
        "",
    ],
)
def test_bad_timestamp(stamp: str) -> None:
    cv = comment_view()
    cv["counts"]["published"] = stamp
    assert_fails(cv, "CommentView", r"^CommentView\.counts\.published: expected Lemmy timestamp .*, got ")


@pytest.mark.parametrize(
    ("outer", "inner", "type_name"),
    [
        ("comment", "updated", "CommentView"),
        ("counts", "newest_comment_time", "PostView"),
        ("person", "ban_expires", "PersonView"),
    ],
)
def test_each_timestamp_field_is_checked(outer: str, inner: str, type_name: str) -> None:
    payloads: dict[str, JSON] = {
        "CommentView": comment_view(),
        "PostView": post_view(),
        "PersonView": {
            "person": person(),
            "counts": {"person_id": 2, "post_count": 0, "comment_count": 0},
            "is_admin": False,
        },
    }
    payload = payloads[type_name]
    assert_shape(payload, type_name)
    payload[outer][inner] = "2021-03-01T13:42:43+01:00"
    assert_fails(payload, type_name, rf"^{type_name}\.{outer}\.{inner}: expected Lemmy timestamp")


def test_when_and_expires_in_modlog_rows() -> None:
    row = {"id": 1, "mod_person_id": 1, "other_person_id": 2, "banned": True, "expires": TS, "when_": TS}
    assert_shape(row, "ModBan")
    assert_fails({**row, "when_": "yesterday"}, "ModBan", r"^ModBan\.when_: expected Lemmy timestamp")
    assert_fails({**row, "expires": "2021-03-01T13:42:43"}, "ModBan", r"^ModBan\.expires: expected Lemmy timestamp")


@pytest.mark.parametrize(
    "stamp", ["2021-03-01T13:42:43Z", "2021-03-01T13:42:43.9Z", "2021-03-01T13:42:43.123456789Z", TS]
)
def test_good_timestamps(stamp: str) -> None:
    assert TIMESTAMP_RE.fullmatch(stamp)
    cv = comment_view()
    cv["comment"]["published"] = stamp
    assert_shape(cv, "CommentView")


def test_non_timestamp_string_fields_are_not_format_checked() -> None:
    cv = comment_view()
    cv["comment"]["content"] = "2021-03-01 not a timestamp"
    assert_shape(cv, "CommentView")


def test_nested_path_through_objects_and_arrays() -> None:
    resp = get_post_response()
    resp["post_view"]["counts"]["score"] = "5"
    with pytest.raises(AssertionError) as info:
        assert_shape(resp, "GetPostResponse")
    assert str(info.value) == "GetPostResponse.post_view.counts.score: expected number, got str"

    resp = get_post_response()
    resp["moderators"][0]["moderator"]["name"] = 9
    assert_fails(resp, "GetPostResponse", r"^GetPostResponse\.moderators\[0\]\.moderator\.name: expected string")

    site = get_site_response()
    site["site_view"]["local_site"]["default_sort_type"] = "Best"
    site["all_languages"][1]["code"] = None
    msg = assert_fails(site, "GetSiteResponse", r"^2 shape errors in GetSiteResponse:\n")
    assert "  GetSiteResponse.site_view.local_site.default_sort_type: expected one of" in msg
    assert "  GetSiteResponse.all_languages[1].code: expected string, got null" in msg


def test_all_errors_are_reported_and_capped() -> None:
    cv = comment_view()
    del cv["saved"]
    cv["extra"] = 1
    cv["counts"]["score"] = "x"
    errors = shape_errors(cv, "CommentView")
    assert errors == [
        "CommentView.counts.score: expected number, got str",
        "CommentView.saved: required field missing",
        "CommentView.extra: unexpected key (not declared in CommentView)",
    ]
    many = {"comments": [{"bad": i} for i in range(40)]}
    msg = assert_fails(many, "GetCommentsResponse", r"\.\.\. and \d+ more$")
    assert msg.count("\n  GetCommentsResponse.comments[") == 25


def test_error_union_failures() -> None:
    assert_fails(
        {"error": "not_a_real_error"},
        "LemmyErrorType",
        r"^LemmyErrorType\.error: expected one of \d+ literals",
    )
    assert_fails({"error": "unknown"}, "LemmyErrorType", r"^LemmyErrorType\.message: required field missing$")
    assert_fails(
        {"error": "unknown", "message": None},
        "LemmyErrorType",
        r"^LemmyErrorType\.message: expected string, got null",
    )
    assert_fails(
        {"error": "not_logged_in", "message": "x"},
        "LemmyErrorType",
        r"^LemmyErrorType\.message: unexpected key",
    )
    assert_fails({}, "LemmyErrorType", r"^LemmyErrorType\.error: required field missing")
    assert_fails("not_logged_in", "LemmyErrorType", r"^LemmyErrorType: expected LemmyErrorType, got str$")


def test_unknown_type_name() -> None:
    with pytest.raises(KeyError, match="CommentView"):
        assert_shape({}, "CommentVeiw")
