"""The shape of a seeded instance: sizes, skewed distributions, comment trees, and the rows they become.

Pure: everything comes from one seeded `random.Random`, so the same options give the same instance. Rows are
plain tuples in the column order named by the *_COLS constants; the sinks add the columns left at defaults."""

from __future__ import annotations

import itertools
import math
import random
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from moot.domain.linkkey import link_key
from moot.domain.ranking import controversy_rank, hot_rank, scaled_rank
from moot.domain.validation import MAX_COMMENT_DEPTH, normalize_url_for_match

Row = tuple[Any, ...]

INSTANCE_COLS = ("id", "domain", "software", "version", "published")
PERSON_COLS = (
    "id", "name", "display_name", "bot_account", "banned", "deleted", "ap_id", "local", "instance_id",
    "inbox_url", "shared_inbox_url", "public_key", "private_key", "last_refreshed_at", "published",
    "post_count", "comment_count",
)  # fmt: skip
LOCAL_USER_COLS = ("id", "person_id", "password_encrypted", "accepted_application", "last_donation_notification",
                   "published")  # fmt: skip
COMMUNITY_COLS = (
    "id", "name", "title", "description", "nsfw", "ap_id", "local", "instance_id", "inbox_url",
    "shared_inbox_url", "followers_url", "moderators_url", "featured_url", "public_key", "private_key",
    "last_refreshed_at", "published", "subscribers", "subscribers_local", "posts", "comments", "hot_rank",
)  # fmt: skip
FOLLOWER_COLS = ("community_id", "person_id", "pending", "published")
MODERATOR_COLS = ("community_id", "person_id", "published")
POST_COLS = (
    "id", "name", "url", "url_match", "body", "creator_id", "community_id", "nsfw", "language_id",
    "featured_community", "featured_local", "ap_id", "local", "instance_id", "published", "comments", "score",
    "upvotes", "downvotes", "newest_comment_time", "newest_comment_time_necro", "hot_rank", "hot_rank_active",
    "scaled_rank", "controversy_rank",
)  # fmt: skip
COMMENT_COLS = (
    "id", "creator_id", "post_id", "content", "language_id", "path", "depth", "ap_id", "local", "instance_id",
    "published", "score", "upvotes", "downvotes", "child_count", "hot_rank", "controversy_rank",
)  # fmt: skip
POST_ACTIONS_COLS = ("person_id", "post_id", "like_score", "liked", "read", "read_comments_amount", "read_comments")
COMMENT_ACTIONS_COLS = ("person_id", "comment_id", "post_id", "like_score", "liked")

ENGLISH = 37
HISTORY_DAYS = 365
NECRO = timedelta(days=2)
DOWNVOTE_SHARE = 0.12
_SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]


def _extra_votes_table() -> list[int]:
    """Other people's votes on one comment: none for most, a long tail for a few (drawn once, then sampled)."""
    rng = random.Random(0)
    return [0 if rng.random() < 0.65 else int(rng.paretovariate(2.0)) for _ in range(1000)]


_EXTRA_VOTES = _extra_votes_table()


@dataclass(frozen=True, slots=True)
class Sizes:
    communities: int
    people: int
    posts: int
    comments: int
    # Comments of the link group (10 posts of one link) and, as many again, of the same-size single thread;
    # None: 5,000 per 10,000,000 comments (5,000 at full size).
    link_group: int | None = None

    def scaled(self, scale: float) -> Sizes:
        return Sizes(
            communities=max(2, round(self.communities * scale)),
            people=max(10, round(self.people * scale)),
            posts=max(1, round(self.posts * scale)),
            comments=max(0, round(self.comments * scale)),
        )

    @property
    def link_group_comments(self) -> int:
        return self.link_group if self.link_group is not None else self.comments // 2000


DEFAULT_SIZES = Sizes(communities=10_000, people=100_000, posts=1_000_000, comments=10_000_000)


class Text:
    """Pseudo-words with a Zipf frequency, so that full-text search has rare, middling and common words."""

    def __init__(self, rng: random.Random, vocabulary: int = 4000, sentences: int = 20_000) -> None:
        words: dict[str, None] = {}
        while len(words) < vocabulary:
            words["".join(rng.choices(_SYLLABLES, k=rng.choice((2, 2, 3))))] = None
        self.words = list(words)
        cum = list(itertools.accumulate(1.0 / (rank + 1) for rank in range(vocabulary)))
        self.sentences = [self._sentence(rng, cum, rng.randint(5, 16)) for _ in range(sentences)]
        self.titles = [self._sentence(rng, cum, rng.randint(4, 11)).rstrip(".") for _ in range(sentences // 2)]
        self.comments = [self.paragraph(rng, 1, 3) for _ in range(sentences * 2)]

    def _sentence(self, rng: random.Random, cum: list[float], n: int) -> str:
        text = " ".join(rng.choices(self.words, cum_weights=cum, k=n))
        return text[0].upper() + text[1:] + "."

    def word(self, rank: int) -> str:
        """The word of this frequency rank (0 is the most common)."""
        return self.words[min(rank, len(self.words) - 1)]

    def paragraph(self, rng: random.Random, low: int, high: int) -> str:
        return " ".join(rng.choice(self.sentences) for _ in range(rng.randint(low, high)))


class Sampler:
    """Weighted draws over a population, taken in chunks (random.choices is fast in bulk, slow one by one)."""

    def __init__(self, rng: random.Random, population: Sequence[int], cum: list[float], chunk: int = 65_536) -> None:
        self.rng, self.population, self.cum, self.chunk = rng, population, cum, chunk
        self._buffer: list[int] = []

    def one(self) -> int:
        if not self._buffer:
            self._buffer = self.rng.choices(self.population, cum_weights=self.cum, k=self.chunk)
        return self._buffer.pop()

    def many(self, k: int) -> list[int]:
        return [self.one() for _ in range(k)]


def zipf_cum(n: int, exponent: float, offset: float = 1.0) -> list[float]:
    return list(itertools.accumulate(1.0 / math.pow(rank + offset, exponent) for rank in range(n)))


@dataclass(slots=True)
class Ids:
    """The first id of each table's seeded rows (rows made through the actions come before them)."""

    instance: int
    person: int
    local_user: int
    community: int
    post: int
    comment: int


@dataclass(slots=True)
class World:
    """Who exists: people and communities with their instance, locality and weight. Built before any row."""

    sizes: Sizes
    ids: Ids
    now: datetime
    base_url: str
    local_instance: int
    remote_domains: list[str]
    seed: int
    person_instance: array[int] = field(default_factory=lambda: array("i"))
    community_local: bytearray = field(default_factory=bytearray)
    community_nsfw: bytearray = field(default_factory=bytearray)

    @property
    def start(self) -> datetime:
        return self.now - timedelta(days=HISTORY_DAYS)

    def instance_id_of_remote(self, k: int) -> int:
        return self.ids.instance + k

    def person_is_local(self, index: int) -> bool:
        return index % 2 == 0

    def person_id(self, index: int) -> int:
        return self.ids.person + index

    def person_domain(self, index: int) -> str | None:
        return None if self.person_is_local(index) else self.remote_domains[(index // 2) % len(self.remote_domains)]


def build_world(sizes: Sizes, ids: Ids, now: datetime, base_url: str, local_instance: int, seed: int) -> World:
    remote = max(1, sizes.communities // 100)
    world = World(
        sizes=sizes,
        ids=ids,
        now=now,
        base_url=base_url,
        local_instance=local_instance,
        remote_domains=[f"remote{k}.example" for k in range(remote)],
        seed=seed,
    )
    rng = random.Random(seed)
    for index in range(sizes.people):
        local = world.person_is_local(index)
        world.person_instance.append(local_instance if local else world.instance_id_of_remote((index // 2) % remote))
    for index in range(sizes.communities):
        # The biggest communities are a mix of local and remote ones, as on a large instance.
        world.community_local.append(1 if rng.random() < 0.35 else 0)
        world.community_nsfw.append(1 if index >= 20 and rng.random() < 0.02 else 0)
    return world


def _fraction_time(world: World, fraction: float) -> datetime:
    # Growth: the density of new content rises linearly with time, so recent weeks hold the most.
    return world.start + timedelta(days=HISTORY_DAYS) * math.sqrt(min(1.0, max(0.0, fraction)))


def instance_rows(world: World) -> list[Row]:
    published = world.start - timedelta(days=30)
    return [
        (world.instance_id_of_remote(k), domain, "lemmy", "0.19.20", published)
        for k, domain in enumerate(world.remote_domains)
    ]


def person_rows(world: World, public_key: str, private_key: str) -> Iterator[Row]:
    rng = random.Random(world.seed + 1)
    n = world.sizes.people
    for index in range(n):
        name = f"u{index}"
        domain = world.person_domain(index)
        base = world.base_url if domain is None else f"https://{domain}"
        ap_id = f"{base}/u/{name}"
        published = _fraction_time(world, 0.9 * index / n)
        yield (
            world.person_id(index),
            name,
            f"Person {index}" if rng.random() < 0.3 else None,
            rng.random() < 0.01,
            False,
            False,
            ap_id,
            domain is None,
            world.person_instance[index],
            f"{ap_id}/inbox",
            f"{base}/inbox",
            public_key,
            private_key if domain is None else None,
            published,
            published,
            0,
            0,
        )


def local_user_rows(world: World, password_hash: str) -> Iterator[Row]:
    next_id = world.ids.local_user
    n = world.sizes.people
    for index in range(0, n, 2):
        published = _fraction_time(world, 0.9 * index / n)
        yield (next_id, world.person_id(index), password_hash, True, published, published)
        next_id += 1


@dataclass(slots=True)
class Follows:
    rows: list[Row]
    subscribers: array[int]
    subscribers_local: array[int]


def follower_rows(world: World, bench_people: Sequence[tuple[int, int]]) -> Follows:
    """Local people follow a handful of communities (popular ones most); remote people follow local ones.
    `bench_people` are (person id, follows wanted) for the accounts the run logs in with."""
    rng = random.Random(world.seed + 2)
    c = world.sizes.communities
    cum = zipf_cum(c, 1.1)
    local_idx = [i for i in range(c) if world.community_local[i]] or [0]
    local_cum = zipf_cum(len(local_idx), 1.1)
    subscribers, subscribers_local = array("i", [0]) * c, array("i", [0]) * c
    rows: list[Row] = []

    def follow(person_id: int, communities: set[int], local: bool) -> None:
        for community in communities:
            subscribers[community] += 1
            subscribers_local[community] += local
            rows.append((world.ids.community + community, person_id, False, world.now - timedelta(days=1)))

    for index in range(world.sizes.people):
        local = world.person_is_local(index)
        if local:
            wanted = min(c, int(rng.expovariate(1 / 8)))
            chosen = set(rng.choices(range(c), cum_weights=cum, k=wanted))
        else:
            wanted = 0 if rng.random() < 0.5 else rng.randint(1, 2)
            chosen = set(rng.choices(local_idx, cum_weights=local_cum, k=wanted))
        follow(world.person_id(index), chosen, local)
    for person_id, wanted in bench_people:
        chosen_bench: set[int] = set()
        for _ in range(wanted * 50):
            if len(chosen_bench) >= min(wanted, c):
                break
            chosen_bench.add(rng.choices(range(c), cum_weights=cum)[0])
        follow(person_id, chosen_bench, True)
    return Follows(rows=rows, subscribers=subscribers, subscribers_local=subscribers_local)


def community_rows(world: World, text: Text, follows: Follows, public_key: str, private_key: str) -> Iterator[Row]:
    rng = random.Random(world.seed + 3)
    n = world.sizes.communities
    for index in range(n):
        local = bool(world.community_local[index])
        name = f"c{index}_{text.word(index % 500)[:8]}"
        domain = None if local else world.remote_domains[index % len(world.remote_domains)]
        base = world.base_url if domain is None else f"https://{domain}"
        ap_id = f"{base}/c/{name}"
        published = _fraction_time(world, 0.5 * index / n)
        yield (
            world.ids.community + index,
            name,
            rng.choice(text.titles)[:100],
            text.paragraph(rng, 1, 3),
            bool(world.community_nsfw[index]),
            ap_id,
            local,
            world.local_instance if local else world.instance_id_of_remote(index % len(world.remote_domains)),
            f"{ap_id}/inbox",
            f"{base}/inbox",
            f"{ap_id}/followers",
            f"{ap_id}/moderators",
            f"{ap_id}/featured",
            public_key,
            private_key if local else None,
            published,
            published,
            follows.subscribers[index],
            follows.subscribers_local[index],
            0,
            0,
            hot_rank(follows.subscribers[index], published, world.now),
        )


def moderator_rows(world: World) -> Iterator[Row]:
    """One or two moderators per community, of the community's own side (local or remote)."""
    rng = random.Random(world.seed + 4)
    people = world.sizes.people
    for index in range(world.sizes.communities):
        want_local = bool(world.community_local[index])
        chosen: set[int] = set()
        for _ in range(1 + (index < world.sizes.communities // 10)):
            person = rng.randrange(people)
            if world.person_is_local(person) != want_local:
                person = person + 1 if person + 1 < people else person - 1
            chosen.add(person)
        for person in chosen:
            yield (world.ids.community + index, world.person_id(person), world.start)


# One link posted in 10 communities (the URLs differ only in what the link key drops, so they are one group) and
# one thread as big as all of its discussions together: the bench's joined_tree and same_size_tree.
LINK_GROUP_URLS = (
    "https://www.link-group.example/2026/one-story-many-communities",
    "http://link-group.example/2026/one-story-many-communities/",
    "https://link-group.example/2026/one-story-many-communities?utm_source=feed",
    "https://m.link-group.example/2026/one-story-many-communities#comments",
)
LINK_GROUP_KEY = link_key(LINK_GROUP_URLS[0])
SAME_SIZE_URL = "https://same-size.example/2026/one-thread-as-big-as-the-group"
SAME_SIZE_KEY = link_key(SAME_SIZE_URL)
LINK_GROUP_POSTS = 10
# The group's comments over its posts: one lively discussion, a few middling ones, a tail of quiet ones.
LINK_GROUP_SHARES = (0.30, 0.20, 0.13, 0.10, 0.08, 0.06, 0.05, 0.04, 0.02, 0.02)


@dataclass(frozen=True, slots=True)
class LinkGroupPlan:
    """Which posts (by index) are the link group's, in which communities, and which is the same-size thread.
    Drawn from its own random stream, so the rest of the instance is as it was without it."""

    communities: dict[int, int] = field(default_factory=dict)  # post index -> community index
    single: int | None = None

    @property
    def posts(self) -> list[int]:
        return list(self.communities)

    @property
    def reserved(self) -> set[int]:
        return set(self.communities) | ({self.single} if self.single is not None else set())

    def url_of(self, index: int) -> str | None:
        if index == self.single:
            return SAME_SIZE_URL
        if index in self.communities:
            return LINK_GROUP_URLS[self.posts.index(index) % len(LINK_GROUP_URLS)]
        return None


def link_group_plan(world: World) -> LinkGroupPlan:
    """Ten recent posts in the ten biggest communities (fewer on a tiny instance) and one more recent post."""
    posts, communities = world.sizes.posts, world.sizes.communities
    n = min(LINK_GROUP_POSTS, communities)
    if world.sizes.link_group_comments <= 0 or posts < 4 * (n + 1):
        return LinkGroupPlan()
    rng = random.Random(world.seed + 8)
    chosen = rng.sample(range(posts // 2, posts), n + 1)
    return LinkGroupPlan(communities={index: k for k, index in enumerate(sorted(chosen[:n]))}, single=chosen[n])


def _link_group_sizes(total: int, n: int) -> list[int]:
    shares = LINK_GROUP_SHARES[:n]
    sizes = [int(total * share / sum(shares)) for share in shares]
    sizes[0] += total - sum(sizes)
    return sizes


def comment_counts(world: World, rng: random.Random) -> array[int]:
    """Comments per post: most posts have none or a few, a long tail has hundreds, and a few threads (one per
    million comments, at least one) have 10,000 or more. The biggest is recent, so it is on the front page."""
    posts, total = world.sizes.posts, world.sizes.comments
    counts = array("i", [0]) * posts
    big = max(1, total // 1_000_000)
    recent_from = int(posts * ((HISTORY_DAYS - 2) / HISTORY_DAYS) ** 2)
    chosen: set[int] = set()
    plan = link_group_plan(world)
    reserved = plan.reserved
    remaining = total
    for k in range(min(big, posts - len(reserved))):
        size = min(20_000 if k == 0 else rng.randint(10_000, 15_000), max(1, total // 10), remaining)
        index = rng.randrange(min(recent_from, posts - 1), posts) if k == 0 else rng.randrange(posts)
        while index in chosen or index in reserved:
            index = rng.randrange(posts)
        chosen.add(index)
        counts[index] = size
        remaining -= size
    if plan.single is not None:
        group = min(world.sizes.link_group_comments, max(0, remaining) // 2)
        for index, size in zip(plan.posts, _link_group_sizes(group, len(plan.posts)), strict=True):
            counts[index] = size
        counts[plan.single] = group
        remaining -= 2 * group
    weights = [0.0 if i in chosen or rng.random() < 0.3 else min(rng.paretovariate(1.1), 300.0) for i in range(posts)]
    for i in reserved:
        weights[i] = 0.0
    weight_sum = sum(weights)
    if weight_sum == 0 or remaining <= 0:
        counts[next(iter(chosen))] += max(0, remaining)
        return counts
    for i, w in enumerate(weights):
        if w:
            counts[i] += int(remaining * w / weight_sum)
    leftover = total - sum(counts)
    heavy = [i for i, w in enumerate(weights) if w] or list(chosen)
    for i in rng.choices(heavy, k=leftover):
        counts[i] += 1
    return counts


def _distinct_voters(rng: random.Random, people: int, k: int, exclude: int) -> list[int]:
    k = min(k, people - 1)
    if k <= 0:
        return []
    if k > 64:
        voters = rng.sample(range(people), k + 1)
        return [v for v in voters if v != exclude][:k]
    chosen: set[int] = set()
    while len(chosen) < k:
        v = rng.randrange(people)
        if v != exclude:
            chosen.add(v)
    return list(chosen)


def _votes(rng: random.Random, n: int) -> tuple[int, int]:
    down = sum(1 for _ in range(n) if rng.random() < DOWNVOTE_SHARE) if n < 200 else int(n * DOWNVOTE_SHARE)
    return n - down, down


@dataclass(slots=True)
class Thread:
    """One post with its comments and everything people did to them: rows ready for the sink."""

    post: Row
    comments: list[Row]
    post_actions: list[Row]
    comment_actions: list[Row]


@dataclass(slots=True)
class Counters:
    person_posts: array[int]
    person_comments: array[int]
    community_posts: array[int]
    community_comments: array[int]


@dataclass(frozen=True, slots=True)
class Span:
    """A contiguous range of posts one loader makes, with the first id its comments take."""

    start: int
    stop: int
    first_comment_id: int
    stream: int = 0


def split_spans(world: World, counts: array[int], parts: int) -> list[Span]:
    """Cut the posts into `parts` ranges of about equal work (a post plus its comments), in id order."""
    total = len(counts) + sum(counts)
    spans: list[Span] = []
    start, done, comment_id = 0, 0, world.ids.comment
    first_comment = comment_id
    for index, n in enumerate(counts):
        done += 1 + n
        comment_id += n
        if len(spans) < parts - 1 and done >= total * (len(spans) + 1) / parts:
            spans.append(Span(start, index + 1, first_comment, len(spans)))
            start, first_comment = index + 1, comment_id
    spans.append(Span(start, len(counts), first_comment, len(spans)))
    return [span for span in spans if span.stop > span.start]


class ThreadMaker:
    """Makes the posts of one span in id (and time) order, each with its comment tree, votes and reads."""

    def __init__(self, world: World, text: Text, counts: array[int], span: Span | None = None) -> None:
        self.world, self.text, self.counts = world, text, counts
        self.span = span or Span(0, world.sizes.posts, world.ids.comment)
        people, communities = world.sizes.people, world.sizes.communities
        # Who is prolific and which posts are featured is the same in every span; the draws differ per span.
        shared = random.Random(world.seed + 5)
        order = list(range(people))
        shared.shuffle(order)
        recent = world.sizes.posts - max(1, world.sizes.posts // 50)
        self._featured_local = set(shared.sample(range(recent, world.sizes.posts), min(2, world.sizes.posts - recent)))
        self.rng = random.Random(world.seed * 1000 + 7 + self.span.stream)
        self.authors = Sampler(self.rng, order, zipf_cum(people, 1.0, offset=10.0))
        self.places = Sampler(self.rng, range(communities), zipf_cum(communities, 1.1))
        self.next_comment_id = self.span.first_comment_id
        self.counters = Counters(
            person_posts=array("i", [0]) * people,
            person_comments=array("i", [0]) * people,
            community_posts=array("i", [0]) * communities,
            community_comments=array("i", [0]) * communities,
        )
        self.person_base = [
            world.base_url if world.person_is_local(i) else f"https://{world.person_domain(i)}" for i in range(people)
        ]
        self._urls: list[str] = []
        self._featured_communities: set[int] = set()
        self.plan = link_group_plan(world)

    def _ap(self, kind: str, object_id: int, person: int) -> tuple[str, bool, int]:
        base = self.person_base[person]
        return f"{base}/{kind}/{object_id}", base is self.world.base_url, self.world.person_instance[person]

    def thread(self, index: int) -> Thread:
        w, rng = self.world, self.rng
        post_id = w.ids.post + index
        published = _fraction_time(w, (index + rng.random()) / w.sizes.posts)
        community = self.places.one()
        community = self.plan.communities.get(index, community)
        creator = self.authors.one()
        self.counters.community_posts[community] += 1
        self.counters.person_posts[creator] += 1
        comments, comment_actions, readers = self._comments(post_id, community, creator, published, self.counts[index])
        newest, necro = published, published
        if comments:
            newest = comments[-1][10]
            # Replies by others while the post is young keep it "active" (Lemmy's necro rule, as the action).
            young = [c[10] for c in comments if c[1] != w.person_id(creator) and c[10] - published < NECRO]
            necro = max(young) if young else published
        post_actions, up, down = self._post_votes(post_id, creator, published, len(comments), readers)
        score = up - down
        return Thread(
            post=self._post_row(index, post_id, community, creator, published, (len(comments), score, up, down),
                                (newest, necro)),
            comments=comments,
            post_actions=post_actions,
            comment_actions=comment_actions,
        )  # fmt: skip

    def _post_row(
        self,
        index: int,
        post_id: int,
        community: int,
        creator: int,
        published: datetime,
        tallies: tuple[int, int, int, int],
        times: tuple[datetime, datetime],
    ) -> Row:
        w, rng, text = self.world, self.rng, self.text
        n_comments, score, up, down = tallies
        url = body = url_match = None
        if rng.random() < 0.55:
            if self._urls and rng.random() < 0.03:
                url = rng.choice(self._urls)  # the same link again: a cross-post
            else:
                url = f"https://www.news{rng.randrange(500)}.example/{published.year}/{rng.choice(text.words)}-{index}"
                if len(self._urls) < 2000:
                    self._urls.append(url)
            url_match = normalize_url_for_match(url)
            if rng.random() < 0.3:
                body = text.paragraph(rng, 1, 2)
        else:
            body = text.paragraph(rng, 1, 6)
        planned = self.plan.url_of(index)
        if planned is not None:
            url, url_match = planned, link_key(planned)
        featured_community = (
            community < 5 and community not in self._featured_communities and index > w.sizes.posts * 0.95
        )
        if featured_community:
            self._featured_communities.add(community)
        ap_id, local, instance = self._ap("post", post_id, creator)
        return (
            post_id,
            rng.choice(text.titles)[:200],
            url,
            url_match,
            body,
            w.person_id(creator),
            w.ids.community + community,
            bool(w.community_nsfw[community]),
            ENGLISH if rng.random() < 0.3 else 0,
            featured_community,
            index in self._featured_local,
            ap_id,
            local,
            instance,
            published,
            n_comments,
            score,
            up,
            down,
            times[0],
            times[1],
            hot_rank(score, published, w.now),
            hot_rank(score, times[1], w.now),
            scaled_rank(score, published, 0, w.now),
            controversy_rank(up, down),
        )

    def _post_votes(
        self, post_id: int, creator: int, published: datetime, n_comments: int, readers: dict[int, tuple[int, datetime]]
    ) -> tuple[list[Row], int, int]:
        """The author's own upvote (and read mark), other people's votes, and the read marks commenting leaves."""
        w, rng = self.world, self.rng
        wanted = int(n_comments * rng.uniform(0.2, 1.0)) + int(rng.paretovariate(1.5)) - 1
        voters = _distinct_voters(rng, w.sizes.people, wanted, creator)
        up, down = _votes(rng, len(voters))
        rows: dict[int, list[Any]] = {}
        own_read = published if w.person_is_local(creator) else None
        rows[creator] = [1, published, own_read, None, None]
        age = (w.now - published).total_seconds()
        for k, voter in enumerate(voters):
            liked = published + timedelta(seconds=age * rng.random() * 0.5)
            rows[voter] = [1 if k < up else -1, liked, liked if w.person_is_local(voter) else None, None, None]
        for reader, (amount, when) in readers.items():
            row = rows.setdefault(reader, [None, None, None, None, None])
            row[3], row[4] = amount, when
        return [(w.person_id(p), post_id, *v) for p, v in rows.items()], up + 1, down

    def _comments(
        self, post_id: int, community: int, post_creator: int, published: datetime, n: int
    ) -> tuple[list[Row], list[Row], dict[int, tuple[int, datetime]]]:
        if n == 0:
            return [], [], {}
        w, rng, text = self.world, self.rng, self.text
        parents = _tree(rng, n)
        times = _times(rng, n, published, w.now)
        first_id = self.next_comment_id
        self.next_comment_id += n
        self.counters.community_comments[community] += n
        authors = self.authors.many(n)
        paths: list[str] = []
        depths: list[int] = []
        children = [0] * n
        for j, parent in enumerate(parents):
            cid = first_id + j
            if parent < 0:
                paths.append(f"0.{cid}")
                depths.append(1)
            else:
                paths.append(f"{paths[parent]}.{cid}")
                depths.append(depths[parent] + 1)
                ancestor = parent
                while ancestor >= 0:
                    children[ancestor] += 1
                    ancestor = parents[ancestor]
        rows: list[Row] = []
        actions: list[Row] = []
        readers: dict[int, tuple[int, datetime]] = {}
        language = ENGLISH if rng.random() < 0.3 else 0
        contents = rng.choices(text.comments, k=n)
        extras = rng.choices(_EXTRA_VOTES, k=n)
        people, base_id, now = w.sizes.people, w.ids.person, w.now
        bases, instances, person_comments = self.person_base, w.person_instance, self.counters.person_comments
        for j in range(n):
            cid, author, when = first_id + j, authors[j], times[j]
            person_comments[author] += 1
            readers[author] = (j + 1, when)
            actions.append((base_id + author, cid, post_id, 1, when))
            up, down = 1, 0
            if extras[j]:
                voters = set(rng.choices(range(people), k=extras[j] * (2 if depths[j] == 1 else 1)))
                voters.discard(author)
                down = int(len(voters) * DOWNVOTE_SHARE + rng.random())
                up += len(voters) - down
                for k, v in enumerate(voters):
                    actions.append((base_id + v, cid, post_id, -1 if k < down else 1, when))
            base = bases[author]
            rows.append(
                (
                    cid,
                    base_id + author,
                    post_id,
                    contents[j],
                    language,
                    paths[j],
                    depths[j],
                    f"{base}/comment/{cid}",
                    base is w.base_url,
                    instances[author],
                    when,
                    up - down,
                    up,
                    down,
                    children[j],
                    hot_rank(up - down, when, now),
                    controversy_rank(up, down),
                )
            )
        return rows, actions, readers


def _tree(rng: random.Random, n: int) -> list[int]:
    """Parent index of each comment (-1 for top level), every parent earlier than its child. Big threads are
    deep: a back-and-forth runs on (a reply to the latest comment) for a dozen replies at a time."""
    top = 0.5 if n < 50 else 0.25
    parents: list[int] = []
    depth: list[int] = []
    chaining = False
    for j in range(n):
        r = rng.random()
        if j == 0 or (not chaining and r < top):
            parent = -1
        elif chaining or r < top + 0.15:
            parent = j - 1
        else:
            parent = rng.randrange(j)
        if parent >= 0 and depth[parent] >= MAX_COMMENT_DEPTH:
            parent = -1
        chaining = rng.random() < 0.9 if chaining else rng.random() < 0.03
        parents.append(parent)
        depth.append(1 if parent < 0 else depth[parent] + 1)
    return parents


def _times(rng: random.Random, n: int, published: datetime, now: datetime) -> list[datetime]:
    """Comment times after the post, mostly within hours, squeezed (order kept) into the time until now."""
    age = max(1.0, (now - published).total_seconds() - 1.0)
    mean = 6 * 3600.0 if n < 1000 else 18 * 3600.0
    offsets = sorted(rng.expovariate(1.0 / mean) for _ in range(n))
    return [published + timedelta(seconds=age * (1.0 - math.exp(-x / age))) for x in offsets]


def thread_batches(maker: ThreadMaker, rows_per_batch: int) -> Iterator[list[Thread]]:
    batch: list[Thread] = []
    size = 0
    for index in range(maker.span.start, maker.span.stop):
        thread = maker.thread(index)
        batch.append(thread)
        size += 1 + len(thread.comments)
        if size >= rows_per_batch:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch
