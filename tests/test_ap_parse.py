"""Reading other platforms' ActivityPub documents: what Moot keeps from each, and what it refuses and why.

The documents in tests/fixtures/ap/ follow the shapes Lemmy's own fixtures (crates/apub/assets) record for
Lemmy, Mastodon, Mbin, PieFed, Pleroma, Friendica, lotide, PeerTube and GoToSocial, with ids and text of our own."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from moot.federation.inspect import describe
from moot.federation.parse import (
    ParsedActivity,
    Refused,
    announced_activity,
    parse_activity,
    parse_actor,
    parse_comment,
    parse_post,
)

FIXTURES = Path(__file__).parent / "fixtures" / "ap"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
L = "https://lemmy.example"
HORTENSIA = f"{L}/u/hortensia"
GARDENING = f"{L}/c/gardening"
POST = f"{L}/post/3107"
COMMENT = f"{L}/comment/88410"


def doc(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


def activity(name: str) -> ParsedActivity:
    return parse_activity(doc(name))


def refusal(name: str) -> str:
    ok, text = describe((FIXTURES / name).read_bytes())
    assert not ok, text
    return text


# Actors


def test_lemmy_person() -> None:
    actor = parse_actor(doc("lemmy/person.json"), expected_id=HORTENSIA)
    assert (actor.kind, actor.ap_id, actor.name) == ("Person", HORTENSIA, "hortensia")
    assert actor.display_name == "Hortensia Gardner"
    assert actor.summary == "Grows *far* too many tomatoes."  # the markdown source, not the HTML
    assert actor.inbox == f"{HORTENSIA}/inbox"
    assert actor.shared_inbox == f"{L}/inbox"
    assert actor.icon == f"{L}/pictrs/image/hortensia.png"
    assert actor.banner == f"{L}/pictrs/image/hortensia-banner.jpg"
    assert actor.public_key_pem.startswith("-----BEGIN PUBLIC KEY-----")
    assert actor.bot is False


def test_lemmy_group_keeps_its_collections() -> None:
    group = parse_actor(doc("lemmy/group.json"))
    assert (group.kind, group.name, group.display_name) == ("Group", "gardening", "Gardening")
    assert group.followers == f"{GARDENING}/followers"
    assert group.moderators == f"{GARDENING}/moderators"
    assert group.featured == f"{GARDENING}/featured"
    assert group.outbox == f"{GARDENING}/outbox"
    assert group.posting_restricted_to_mods is True
    assert group.summary == "Soil, seeds and **patience**."


def test_lemmy_site_actor_is_an_application() -> None:
    site = parse_actor(doc("lemmy/instance.json"), expected_id=f"{L}/")
    assert (site.kind, site.name, site.inbox) == ("Application", "lemmy.example", f"{L}/inbox")


def test_actor_fetched_from_another_address_is_refused() -> None:
    with pytest.raises(Refused, match="not the address it was fetched from"):
        parse_actor(doc("lemmy/person.json"), expected_id=f"{L}/u/someone_else")


@pytest.mark.parametrize(
    ("name", "kind", "username", "shared_inbox"),
    [
        ("mastodon/person.json", "Person", "ada", "https://mastodon.example/inbox"),
        ("mbin/group.json", "Group", "fermentation", "https://mbin.example/f/inbox"),
        ("piefed/person.json", "Person", "rimu", "https://piefed.example/inbox"),
        ("pleroma/person.json", "Person", "lain", "https://pleroma.example/inbox"),
        ("lotide/group.json", "Group", "woodworking", "https://lotide.example/apub/inbox"),
        ("gotosocial/person.json", "Person", "tobi", "https://gts.example/sharedInbox"),
    ],
)
def test_other_platforms_actors(name: str, kind: str, username: str, shared_inbox: str) -> None:
    data = doc(name)
    actor = parse_actor(data, expected_id=data["id"])
    assert (actor.kind, actor.name, actor.shared_inbox) == (kind, username, shared_inbox)
    assert actor.inbox.startswith(data["id"].split("/")[0] + "//" + data["id"].split("/")[2])


def test_mastodon_summary_html_becomes_text() -> None:
    actor = parse_actor(doc("mastodon/person.json"))
    assert actor.summary == "Allotment #42. #compost"
    assert actor.display_name == "Ada 🌱"


def test_mbin_magazine_moderators_come_from_attributed_to() -> None:
    magazine = parse_actor(doc("mbin/group.json"))
    assert magazine.moderators == "https://mbin.example/m/fermentation/moderators"
    assert magazine.featured == "https://mbin.example/m/fermentation/pinned"


def test_actor_with_inbox_on_another_host_is_refused() -> None:
    assert refusal("hostile/actor_inbox_elsewhere.json") == "refused: inbox is on another host than the actor"


# Posts and comments


def test_lemmy_page() -> None:
    post = parse_post(doc("lemmy/page.json"))
    assert (post.ap_id, post.author) == (POST, HORTENSIA)
    assert post.community_candidates == [GARDENING]
    assert post.title == "Raised beds: cedar or larch?"
    assert post.body == "Building two beds this spring. **Which wood** lasts longer?"
    assert post.url == "https://wood.example/guides/raised-beds"
    assert (post.nsfw, post.language, post.published) == (False, "en", "2024-03-02T09:14:05.118044Z")


def test_lemmy_note() -> None:
    comment = parse_comment(doc("lemmy/note.json"))
    assert (comment.ap_id, comment.author, comment.in_reply_to) == (COMMENT, f"{L}/u/basil", POST)
    assert comment.content == "Larch, if you can get it *untreated*."
    assert comment.mentions == [HORTENSIA]
    assert (comment.distinguished, comment.language) == (False, "en")


def test_mastodon_note_to_a_group_becomes_a_post() -> None:
    post = parse_post(doc("mastodon/note_to_group.json"))
    assert GARDENING in post.community_candidates
    assert PUBLIC not in post.community_candidates
    # As Lemmy does: the first line of the text, without the mention of the group.
    assert post.title == "Why do my tomatoes split after rain?"
    assert post.body is not None
    assert post.body.endswith("They were fine & green yesterday.")
    assert "<" not in post.body
    assert post.url is None


def test_peertube_video_takes_person_as_author_and_channel_as_community() -> None:
    video = parse_post(doc("peertube/video.json"))
    assert video.author == "https://peertube.example/accounts/growcast"
    assert video.community_candidates[0] == "https://peertube.example/video-channels/growcast_orchard"
    assert video.title == "Pruning apple trees in winter"
    # A video cannot be shown inline: the post links to its page. Its markdown content is kept as markdown.
    assert video.url == "https://peertube.example/videos/watch/6b1f0e2d-3c4a-4b5e-8f6a-7b8c9d0e1f2a"
    assert video.body == "Cut **out**, not back.\n\nChapters:\n00:00 Tools"
    assert video.language == "en"


def test_lotide_page_link_comes_from_url() -> None:
    create = activity("lotide/create_page.json")
    assert create.object is not None
    post = parse_post(create.object)
    assert post.url == "https://joinery.example/dovetails"
    assert post.community_candidates == [GARDENING]
    assert post.body is None


def test_piefed_image_attachment_is_the_link() -> None:
    create = activity("piefed/create_page.json")
    assert create.object is not None
    post = parse_post(create.object)
    assert post.url == "https://piefed.example/static/media/posts/hedge.jpg"
    assert post.body == "Photos of this winter's *pleachers*."


def test_mbin_entry_html_content_becomes_markdown_text() -> None:
    create = activity("mbin/create_page.json")
    assert create.object is not None
    post = parse_post(create.object)
    assert post.title == "First batch of sauerkraut"
    assert post.body == "Two percent salt, three weeks. Smells right!"
    assert post.community_candidates[0] == "https://mbin.example/m/fermentation"


def test_remote_html_loses_scripts_and_markup() -> None:
    create = activity("mastodon/create_note_reply.json")
    assert create.object is not None
    comment = parse_comment(create.object)
    assert comment.content == "@hortensia Cedar. Mine are ten years old."
    assert comment.in_reply_to == POST
    assert comment.mentions == [HORTENSIA]


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("hostile/page_id_elsewhere.json", "post id and attributedTo are on different hosts"),
        ("hostile/followers_only_page.json", "post is not addressed to Public"),
        ("hostile/javascript_link.json", "post link is not acceptable: invalid_url_scheme"),
    ],
)
def test_unacceptable_posts_are_refused(name: str, reason: str) -> None:
    with pytest.raises(Refused) as refused:
        parse_post(doc(name))
    assert refused.value.reason == reason


def test_a_post_must_not_be_a_reply_nor_a_comment_a_page() -> None:
    with pytest.raises(Refused, match="must not be a reply"):
        parse_post(doc("lemmy/note.json"))
    with pytest.raises(Refused, match="is not a comment"):
        parse_comment(doc("lemmy/page.json"))


# Create and Update


@pytest.mark.parametrize(
    ("name", "kind", "object_kind"),
    [
        ("lemmy/create_page.json", "Create", "Page"),
        ("lemmy/update_page.json", "Update", "Page"),
        ("lemmy/create_note.json", "Create", "Note"),
        ("lemmy/update_note.json", "Update", "Note"),
        ("mastodon/create_note_to_group.json", "Create", "Note"),
        ("mastodon/create_note_reply.json", "Create", "Note"),
        ("mbin/create_page.json", "Create", "Page"),
        ("piefed/create_page.json", "Create", "Page"),
        ("pleroma/create_note.json", "Create", "Note"),
        ("friendica/update_note.json", "Update", "Note"),
        ("lotide/create_page.json", "Create", "Page"),
        ("gotosocial/create_note_reply.json", "Create", "Note"),
    ],
)
def test_create_and_update_envelopes(name: str, kind: str, object_kind: str) -> None:
    parsed = activity(name)
    assert (parsed.kind, parsed.inner_kind) == (kind, object_kind)
    assert parsed.object is not None and parsed.object_id == parsed.object["id"]
    assert parsed.actor == parsed.raw["actor"]


def test_update_page_carries_the_new_title_and_time() -> None:
    update = activity("lemmy/update_page.json")
    assert update.object is not None
    post = parse_post(update.object)
    assert post.title == "Raised beds: cedar, larch or oak?"
    assert post.updated == "2024-03-02T11:20:00.000000Z"


def test_update_note_carries_the_new_text() -> None:
    comment = parse_comment(doc("lemmy/update_note.json")["object"])
    assert comment.content == "Larch, if you can get it *untreated*. Oak lasts longest."
    friendica = parse_comment(doc("friendica/update_note.json")["object"])
    # A bbcode source is not markdown: the sanitised HTML content is used instead.
    assert friendica.content == "Oak!\n\nIt outlives us all."
    assert friendica.updated == "2024-03-04T11:00:00Z"


def test_create_of_a_note_attributed_to_someone_else_is_refused() -> None:
    reason = refusal("hostile/create_note_for_someone_else.json")
    assert reason == "refused: Create of an object attributed to someone else"


def test_create_of_an_object_on_another_host_is_refused() -> None:
    assert refusal("hostile/create_page_id_elsewhere.json") == (
        "refused: created object id is on another host than the actor"
    )
    bare = {"id": "https://evil.example/a/1", "type": "Create", "actor": "https://evil.example/u/m", "object": POST}
    with pytest.raises(Refused, match="another host than the actor"):
        parse_activity(bare)


def test_update_of_a_group_by_a_moderator_elsewhere_is_readable() -> None:
    group = doc("lemmy/group.json")
    update = {
        "id": "https://mod-home.example/activities/update/1",
        "type": "Update",
        "actor": "https://mod-home.example/u/moderator",
        "to": [PUBLIC],
        "object": group,
    }
    assert parse_activity(update).inner_kind == "Group"


# Votes


@pytest.mark.parametrize(
    ("name", "kind", "target"),
    [
        ("lemmy/like_note.json", "Like", COMMENT),
        ("lemmy/dislike_page.json", "Dislike", POST),
        ("friendica/dislike_page.json", "Dislike", POST),
        ("piefed/like_note.json", "Like", COMMENT),
        ("gotosocial/like.json", "Like", POST),
    ],
)
def test_votes(name: str, kind: str, target: str) -> None:
    vote = activity(name)
    assert (vote.kind, vote.object_id, vote.object) == (kind, target, None)


def test_mastodon_like_id_with_a_fragment_is_accepted() -> None:
    like = activity("mastodon/like_page.json")
    assert like.ap_id == "https://mastodon.example/users/ada#likes/4821"
    assert (like.kind, like.actor, like.object_id) == ("Like", "https://mastodon.example/users/ada", POST)


def test_lemmy_undo_of_a_dislike_wraps_a_like() -> None:
    undo = activity("lemmy/undo_dislike_page.json")
    assert (undo.kind, undo.inner_kind) == ("Undo", "Like")
    assert undo.object is not None
    assert (undo.object["actor"], undo.object["object"]) == (undo.actor, POST)


@pytest.mark.parametrize(
    ("name", "inner"),
    [
        ("lemmy/undo_like_note.json", "Like"),
        ("mastodon/undo_like_page.json", "Like"),
        ("friendica/undo_dislike_page.json", "Dislike"),
    ],
)
def test_undo_of_own_vote(name: str, inner: str) -> None:
    undo = activity(name)
    assert (undo.kind, undo.inner_kind) == ("Undo", inner)
    assert undo.object is not None and undo.object["actor"] == undo.actor


def test_undo_of_someone_elses_vote_is_refused() -> None:
    assert refusal("hostile/undo_someone_elses_like.json") == "refused: Undo of another actor's activity"


def test_activity_id_on_another_host_than_its_actor_is_refused() -> None:
    assert refusal("hostile/like_id_elsewhere.json") == "refused: activity id and actor are on different hosts"


# Deletes, follows, reports


def test_delete_of_a_url() -> None:
    for name, target in (
        ("lemmy/delete_page.json", POST),
        ("lotide/delete_note.json", "https://lotide.example/apub/comments/77"),
        ("pleroma/delete.json", "https://pleroma.example/objects/4e5f6a7b-8c9d-4e0f-a1b2-c3d4e5f6a7b8"),
    ):
        delete = activity(name)
        assert (delete.kind, delete.object_id, delete.object) == ("Delete", target, None), name


def test_mastodon_delete_of_a_tombstone() -> None:
    delete = activity("mastodon/delete_tombstone.json")
    assert (delete.kind, delete.inner_kind) == ("Delete", "Tombstone")
    assert delete.object_id == "https://mastodon.example/users/ada/statuses/112233445566779000"


@pytest.mark.parametrize(
    ("name", "actor", "target"),
    [
        ("lemmy/follow.json", HORTENSIA, "https://other-lemmy.example/c/botany"),
        ("mastodon/follow.json", "https://mastodon.example/users/ada", GARDENING),
        ("pleroma/follow.json", "https://pleroma.example/users/lain", GARDENING),
    ],
)
def test_follows(name: str, actor: str, target: str) -> None:
    follow = activity(name)
    assert (follow.kind, follow.actor, follow.object_id) == ("Follow", actor, target)


def test_lemmy_accept_embeds_our_follow() -> None:
    accept = activity("lemmy/accept.json")
    assert accept.kind == "Accept" and accept.inner_kind == "Follow"
    assert accept.object is not None
    assert (accept.object["actor"], accept.object["object"]) == (HORTENSIA, accept.actor)


def test_mbin_accept_names_the_follow_by_an_id_of_its_own() -> None:
    accept = activity("mbin/accept.json")
    assert accept.ap_id.endswith("#accept")
    assert accept.object is not None
    # The Follow's id is Mbin's, not ours: Moot matches the follow by (actor, object) instead.
    assert accept.object_id is not None and accept.object_id.startswith("https://mbin.example/f/object/")
    assert (accept.object["actor"], accept.object["object"]) == (HORTENSIA, accept.actor)


@pytest.mark.parametrize(
    ("name", "targets"),
    [
        ("mbin/flag.json", [POST, f"{L}/u/spamseed"]),
        ("mastodon/flag.json", [f"{L}/u/spamseed", f"{L}/comment/90001", f"{L}/comment/90002"]),
        ("lemmy/report_page.json", [POST]),
    ],
)
def test_flags_with_one_or_many_objects(name: str, targets: list[str]) -> None:
    flag = activity(name)
    assert flag.kind == "Flag"
    assert flag.object_ids == targets


# Announces


def test_announce_of_create_page_yields_the_inner_activity() -> None:
    announce = activity("lemmy/announce_create_page.json")
    inner = announced_activity(announce)
    assert (announce.actor, inner.kind, inner.actor, inner.inner_kind) == (GARDENING, "Create", HORTENSIA, "Page")
    assert inner.object is not None
    assert parse_post(inner.object).community_candidates == [GARDENING]


def test_announce_of_create_note_yields_the_comment() -> None:
    inner = announced_activity(activity("lemmy/announce_create_note.json"))
    assert inner.object is not None
    assert parse_comment(inner.object).ap_id == COMMENT


def test_announce_of_a_bare_page_is_recognised() -> None:
    announce = activity("lemmy/announce_page.json")
    assert (announce.kind, announce.inner_kind, announce.object_id) == ("Announce", "Page", POST)
    ok, text = describe((FIXTURES / "lemmy/announce_page.json").read_bytes())
    assert ok and "Moot ignores it" in text


def test_announce_by_a_group_that_is_not_the_community_is_refused() -> None:
    assert refusal("hostile/announce_for_another_community.json") == (
        "refused: Announce by a group that is not the inner activity's community"
    )


def test_peertube_announce_of_a_bare_video_id_is_refused() -> None:
    assert refusal("peertube/announce_video.json") == (
        "refused: Announce of a bare id; the inner activity must be fetched from its origin"
    )


# Strict reading


def test_duplicate_keys_are_refused() -> None:
    assert refusal("hostile/duplicate_id.json") == "refused: not acceptable JSON: invalid json: duplicate key"


def test_deep_nesting_and_size_are_refused_before_parsing() -> None:
    ok, text = describe(b"[" * 1000 + b"]" * 1000)
    assert (ok, text) == (False, "refused: JSON is nested more than 32 deep")
    ok, text = describe(b'{"type": "Note", "content": "' + b"x" * (1024 * 1024) + b'"}')
    assert not ok and "more than 1048576" in text


def test_every_fixture_is_described_or_refused_with_a_reason() -> None:
    names = sorted(FIXTURES.rglob("*.json"))
    assert len(names) >= 60
    for path in names:
        ok, text = describe(path.read_bytes())
        assert ok is (path.parent.name != "hostile" and path.name != "announce_video.json"), (path, text)
        assert text.strip() and (ok or text.startswith("refused: ")), path


# `moot ap parse` as a real process


def run_cli(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "moot.cli", "ap", "parse", *args],
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_cli_describes_an_announced_post() -> None:
    result = run_cli(str(FIXTURES / "lemmy/announce_create_page.json"))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "activity (Announce)"
    assert f"  announced by the community: {GARDENING}" in lines
    assert "  inner activity (Create)" in lines
    assert "  post (Page)" in lines
    assert "    title: Raised beds: cedar or larch?" in lines
    assert "    link: https://wood.example/guides/raised-beds" in lines


def test_cli_describes_a_mastodon_note_to_a_group_as_a_post() -> None:
    result = run_cli(str(FIXTURES / "mastodon/note_to_group.json"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "post (Note)"
    assert "  title: Why do my tomatoes split after rain?" in result.stdout.splitlines()


def test_cli_describes_an_actor_from_stdin() -> None:
    result = run_cli("-", stdin=(FIXTURES / "gotosocial/person.json").read_bytes())
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[:3] == ["actor (Person)", "  id: https://gts.example/users/tobi", "  name: tobi"]


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("hostile/create_note_for_someone_else.json", "Create of an object attributed to someone else"),
        ("hostile/undo_someone_elses_like.json", "Undo of another actor's activity"),
        (
            "hostile/announce_for_another_community.json",
            "Announce by a group that is not the inner activity's community",
        ),
    ],
)
def test_cli_refuses_with_the_reason_and_status_1(name: str, reason: str) -> None:
    result = run_cli(str(FIXTURES / name))
    assert result.returncode == 1
    assert result.stdout.strip() == f"refused: {reason}"


def test_cli_refuses_text_that_is_not_json() -> None:
    result = run_cli("-", stdin=b"<html>not json</html>")
    assert result.returncode == 1
    assert result.stdout.startswith("refused: not acceptable JSON: invalid json")
