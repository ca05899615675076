"""The scenarios `moot bench run` measures: what each asks of the server, and the same work done directly.

Reads are replayed as the exact SQL the endpoint issued (captured once from the real app, then run through the
same driver and pool settings, without HTTP or Python models): the database's own limit. Writes cannot be
replayed verbatim (ids and unique keys change every time), so their direct side calls the same action and read
model the endpoint calls, in-process: everything except HTTP, routing, form parsing and JSON."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import func, select

from moot.bench.loadgen import RequestMaker, http_request
from moot.bench.seed import BENCH_PREFIX
from moot.bench.shape import LINK_GROUP_KEY, SAME_SIZE_KEY
from moot.db.comment import Comment, CommentActions
from moot.db.community import Community, CommunityFollower
from moot.db.engine import Database
from moot.db.person import Person
from moot.db.post import Post, PostActions

API = "/api/v3"
LISTING_LIMIT = 20  # what lemmy-ui and the apps ask for
CURSOR_PAGE = 50
_WORD = re.compile(r"[a-z]{4,}")
SEARCH_SAMPLE = 2000
SEARCH_SHARE = 0.01


@dataclass(frozen=True, slots=True)
class Facts:
    """What the scenarios need from the seeded database, found by looking at it (no seed metadata needed)."""

    biggest_post_id: int
    biggest_post_comments: int
    community_id: int
    community_posts: int
    person_id: int
    person_comments: int
    search_word: str
    bench_users: list[tuple[str, int]]
    write_posts: list[int]
    rows: dict[str, int]
    link_group: LinkGroupFacts | None = None


@dataclass(frozen=True, slots=True)
class LinkGroupFacts:
    """The seeded link group (one link in several communities) and the single thread of the same size."""

    post_ids: list[int]
    communities: int
    comments: int
    home_post_id: int  # the post the joined tree is asked for: the group's liveliest
    same_size_post_id: int
    same_size_comments: int

    def as_json(self) -> dict[str, Any]:
        return {
            "posts": len(self.post_ids),
            "communities": self.communities,
            "comments": self.comments,
            "home_post_id": self.home_post_id,
            "same_size_post_id": self.same_size_post_id,
            "same_size_comments": self.same_size_comments,
        }


async def _link_group(db: Database) -> LinkGroupFacts | None:
    """Found by its link key (one indexed lookup each); None on a database seeded without it."""
    async with db.read() as session:
        group = (
            await session.execute(
                select(Post.id, Post.community_id, Post.comments)
                .where(Post.url_match == LINK_GROUP_KEY)
                .order_by(Post.comments.desc(), Post.id)
            )
        ).all()
        single = (
            await session.execute(select(Post.id, Post.comments).where(Post.url_match == SAME_SIZE_KEY).limit(1))
        ).first()
    if not group or single is None:
        return None
    return LinkGroupFacts(
        post_ids=[row.id for row in group],
        communities=len({row.community_id for row in group}),
        comments=sum(row.comments for row in group),
        home_post_id=group[0].id,
        same_size_post_id=single.id,
        same_size_comments=single.comments,
    )


async def _search_word(db: Database) -> str:
    """A word in about 1% of comments (in a sample): a real query that matches, not a stop word."""
    async with db.read() as session:
        texts = list(await session.scalars(select(Comment.content).order_by(Comment.id).limit(SEARCH_SAMPLE)))
    documents = Counter(w for text in texts for w in set(_WORD.findall(text.lower())))
    if not documents:
        return "news"
    target = max(1.0, len(texts) * SEARCH_SHARE)
    word: str = min(documents, key=lambda w: (abs(documents[w] - target), w))
    return word


async def discover(db: Database) -> Facts:
    async with db.read() as session:
        biggest = (await session.execute(select(Post.id, Post.comments).order_by(Post.comments.desc()).limit(1))).one()
        community = (
            await session.execute(select(Community.id, Community.posts).order_by(Community.posts.desc()).limit(1))
        ).one()
        person = (
            await session.execute(
                select(Person.id, Person.comment_count).order_by(Person.comment_count.desc()).limit(1)
            )
        ).one()
        users = [
            (row.name, row.id)
            for row in await session.execute(
                select(Person.name, Person.id)
                .where(Person.local.is_(True), Person.name.like(f"{BENCH_PREFIX}%"))
                .order_by(Person.id)
            )
        ]
        recent = list(
            await session.scalars(select(Post.id).where(Post.id != biggest.id).order_by(Post.id.desc()).limit(2000))
        )
        rows = {}
        for model in (Community, Person, CommunityFollower, Post, Comment, PostActions, CommentActions):
            rows[model.__tablename__] = int(await session.scalar(select(func.count()).select_from(model)) or 0)
    if len(users) < 3:
        raise RuntimeError("the database has fewer than 3 bench accounts: seed it with `moot bench seed`")
    return Facts(
        biggest_post_id=biggest.id,
        biggest_post_comments=biggest.comments,
        community_id=community.id,
        community_posts=community.posts,
        person_id=person.id,
        person_comments=person.comment_count,
        search_word=await _search_word(db),
        bench_users=users,
        write_posts=recent,
        rows=rows,
        link_group=await _link_group(db),
    )


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    description: str
    method: str
    path: str
    kind: str = "read"  # "read" (SQL replay), "comment" or "vote" (actions in-process)
    user: int | None = None  # index of the bench account it reads as; None is anonymous
    params: dict[str, Any] = field(default_factory=dict)


def _get(path: str, **query: Any) -> str:
    return f"{API}{path}?{urlencode(query)}"


def listing_path(cursor: str | None = None) -> str:
    query: dict[str, Any] = {"type_": "All", "sort": "Hot", "limit": LISTING_LIMIT}
    if cursor:
        query["page_cursor"] = cursor
    return _get("/post/list", **query)


def build_scenarios(facts: Facts, cursor: str | None, cursor_page: int) -> list[Scenario]:
    big = facts.biggest_post_id
    return [
        Scenario("front_hot_anon", "front page, All, Hot, 20 posts, anonymous", "GET", listing_path()),
        Scenario(
            "front_default",
            "front page of a first visit: the site's default listing and sort (Local, Active), anonymous",
            "GET",
            _get("/post/list", limit=LISTING_LIMIT),
        ),
        Scenario(
            "front_hot_user", "front page, All, Hot, 20 posts, logged in (bench_1)", "GET", listing_path(), user=1
        ),
        Scenario(
            "community_hot",
            f"the biggest community's page, Hot ({facts.community_posts} posts)",
            "GET",
            _get("/post/list", community_id=facts.community_id, sort="Hot", limit=LISTING_LIMIT),
        ),
        Scenario(
            "community_hot_user",
            f"the biggest community's page, Hot ({facts.community_posts} posts), logged in (bench_1)",
            "GET",
            _get("/post/list", community_id=facts.community_id, sort="Hot", limit=LISTING_LIMIT),
            user=1,
        ),
        Scenario(
            "subscribed",
            "Subscribed, Hot, of bench_0, who follows 50 communities",
            "GET",
            _get("/post/list", type_="Subscribed", sort="Hot", limit=LISTING_LIMIT),
            user=0,
        ),
        Scenario(
            "page50_cursor",
            f"front page, page {cursor_page} reached by walking next_page cursors",
            "GET",
            listing_path(cursor),
        ),
        Scenario(
            "post",
            f"GET /post of the biggest thread ({facts.biggest_post_comments} comments)",
            "GET",
            _get("/post", id=big),
        ),
        Scenario(
            "post_tree",
            f"the comment tree (max_depth 8, Hot, capped at 300) of the biggest thread ({facts.biggest_post_comments})",
            "GET",
            _get("/comment/list", post_id=big, max_depth=8, sort="Hot", type_="All"),
        ),
        *_link_group_scenarios(facts.link_group),
        Scenario(
            "search",
            f"search All for '{facts.search_word}', TopAll, 20 per kind",
            "GET",
            _get("/search", q=facts.search_word, type_="All", sort="TopAll", listing_type="All", limit=LISTING_LIMIT),
        ),
        Scenario(
            "person_details",
            f"GET /user of the most active commenter ({facts.person_comments} comments), New",
            "GET",
            _get("/user", person_id=facts.person_id, sort="New", limit=LISTING_LIMIT),
        ),
        Scenario(
            "create_comment",
            "POST /comment: a top-level comment on a recent post",
            "POST",
            f"{API}/comment",
            kind="comment",
        ),
        Scenario(
            "vote",
            "POST /post/like: up, then down, then up ... on recent posts",
            "POST",
            f"{API}/post/like",
            kind="vote",
        ),
    ]


def _link_group_scenarios(group: LinkGroupFacts | None) -> list[Scenario]:
    """The joined tree of a link's discussions against one thread of the same size (issue 15: within 1.5x)."""
    if group is None:
        return []
    tree = {"max_depth": 8, "sort": "Hot", "limit": 300}
    return [
        Scenario(
            "joined_tree",
            f"the joined tree (max_depth 8, Hot, capped at 300) of a link in {group.communities} communities"
            f" ({len(group.post_ids)} posts, {group.comments} comments in all)",
            "GET",
            _get("/comment/list", post_id=group.home_post_id, merge_cross_posts="true", **tree),
        ),
        Scenario(
            "same_size_tree",
            f"the same request without merging, on one thread of {group.same_size_comments} comments",
            "GET",
            _get("/comment/list", post_id=group.same_size_post_id, **tree),
        ),
    ]


@dataclass(frozen=True, slots=True)
class Account:
    name: str
    person_id: int
    token: str


def write_accounts(accounts: list[Account]) -> list[Account]:
    """bench_0 and bench_1 read; the others write (one account per connection, round robin)."""
    return accounts[2:] or accounts


def split_targets(posts: list[int]) -> tuple[list[int], list[int]]:
    """HTTP and direct sides write to different posts, so neither replays the other's state changes."""
    return posts[0::2], posts[1::2]


Votes = dict[tuple[int, int], int]


async def current_votes(db: Database, accounts: list[Account], posts: list[int]) -> Votes:
    """The writers' votes on the target posts now, so that every measured vote really changes one."""
    async with db.read() as session:
        rows = await session.execute(
            select(PostActions.person_id, PostActions.post_id, PostActions.like_score).where(
                PostActions.person_id.in_([a.person_id for a in accounts]),
                PostActions.post_id.in_(posts),
                PostActions.like_score.is_not(None),
            )
        )
        return {(r.person_id, r.post_id): int(r.like_score) for r in rows}


def flip(votes: Votes, person_id: int, post_id: int) -> int:
    """Up unless already up; remembered, so the next vote on the same post goes the other way."""
    score = -1 if votes.get((person_id, post_id)) == 1 else 1
    votes[(person_id, post_id)] = score
    return score


def comment_text(client: int, k: int) -> str:
    return f"Benchmark comment {client}-{k}: measured, then left in place as a real comment would be."


def partition(targets: list[int], index: int, parts: int) -> list[int]:
    own = targets[index::parts]
    return own or targets


def http_maker(
    scenario: Scenario, host: str, accounts: list[Account], targets: list[int], concurrency: int, votes: Votes
) -> RequestMaker:
    """The request each connection sends next: fixed for reads, a new post (and vote) each time for writes."""
    if scenario.kind == "read":
        token = accounts[scenario.user].token if scenario.user is not None else None
        fixed = http_request(scenario.method, scenario.path, host, token)
        return lambda _i, _k: fixed
    writers = write_accounts(accounts)
    per_client = [partition(targets, i, concurrency) for i in range(concurrency)]

    def make(i: int, k: int) -> bytes:
        posts = per_client[i]
        post_id = posts[k % len(posts)]
        writer = writers[i % len(writers)]
        if scenario.kind == "comment":
            body: dict[str, Any] = {"post_id": post_id, "content": comment_text(i, k)}
        else:
            body = {"post_id": post_id, "score": flip(votes, writer.person_id, post_id)}
        return http_request("POST", scenario.path, host, writer.token, json.dumps(body).encode())

    return make
