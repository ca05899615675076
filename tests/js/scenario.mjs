// A full scenario with the real lemmy-js-client 0.19 against a running Moot server.
//
// Usage: node scenario.mjs <base_url> <admin_name> <admin_password>
// Prints one JSON line per step on stdout: {"step", "ok", "detail", "shapes": [{"type", "value"}]}; the
// pytest driver (tests/test_lemmy_js_client.py) checks every step and the recorded responses' shapes.
// Exits 1 when any step failed, 2 on bad usage.
import { randomBytes } from "node:crypto";

import lemmy from "lemmy-js-client";

// lemmy-js-client is CommonJS: take LemmyHttp off the default export (named ESM imports are not reliable).
const { LemmyHttp } = lemmy;

const [baseUrl, adminName, adminPassword] = process.argv.slice(2);
if (!baseUrl || !adminName || !adminPassword) {
  console.error("usage: node scenario.mjs <base_url> <admin_name> <admin_password>");
  process.exit(2);
}

const host = new URL(baseUrl).host;
const tag = randomBytes(4).toString("hex");
const PASSWORD = "js-client-pass-1";
let failures = 0;

class Abort extends Error {}

function emit(record) {
  process.stdout.write(`${JSON.stringify(record)}\n`);
}

// Run one step: a failed critical step stops the scenario, since the later steps need its result.
async function step(name, fn, { critical = false } = {}) {
  const record = { step: name, ok: true, detail: "", shapes: [] };
  try {
    const value = await fn(record);
    emit(record);
    return value;
  } catch (err) {
    failures += 1;
    emit({ step: name, ok: false, detail: describe(err), shapes: [] });
    if (critical) {
      throw new Abort(name);
    }
    return undefined;
  }
}

// The error's message and where in this script it came from (skipping the assertion helpers' own frames).
function describe(err) {
  if (!(err instanceof Error)) {
    return `non-Error thrown: ${JSON.stringify(err)}`;
  }
  const helpers = /^\s*at (async )?(check|eq|rejects|step) /;
  const frame = (err.stack ?? "").split("\n").find((line) => line.includes("scenario.mjs") && !helpers.test(line));
  const where = frame?.match(/:(\d+):\d+\)?$/);
  return where ? `${err.message} (scenario.mjs line ${where[1]})` : err.message;
}

// Record a response for the pytest side to check against the lemmy-js-client type of that name.
function shape(record, type, value) {
  record.shapes.push({ type, value });
  return value;
}

function check(condition, message) {
  if (!condition) {
    throw new Error(message);
  }
}

function eq(actual, expected, what) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  check(a === e, `${what}: expected ${e}, got ${a}`);
}

async function rejects(promise, expected) {
  let result;
  try {
    result = await promise;
  } catch (err) {
    check(err instanceof Error, `expected an Error, got ${JSON.stringify(err)}`);
    eq(err.message, expected, "error message");
    return;
  }
  throw new Error(`expected Error("${expected}"), but the call succeeded: ${JSON.stringify(result).slice(0, 200)}`);
}

function authed(jwt) {
  const client = new LemmyHttp(baseUrl);
  client.setHeaders({ Authorization: `Bearer ${jwt}` });
  return client;
}

const postIds = (res) => res.posts.map((v) => v.post.id);
const commentIds = (res) => res.comments.map((v) => v.comment.id);
const sorted = (ids) => [...ids].sort((a, b) => a - b);

async function scenario() {
  const anon = new LemmyHttp(baseUrl);
  const s = {}; // state shared by the steps

  await step(
    "getSite anonymous",
    async (r) => {
      const site = shape(r, "GetSiteResponse", await anon.getSite());
      check(site.version.startsWith("0.19"), `version ${site.version}`);
      check(site.my_user === undefined, "an anonymous getSite has no my_user");
      check(site.site_view.site.id > 0, "site id");
      r.detail = `version ${site.version}`;
    },
    { critical: true },
  );

  await step(
    "login admin",
    async (r) => {
      const res = shape(r, "LoginResponse", await anon.login({ username_or_email: adminName, password: adminPassword }));
      check(typeof res.jwt === "string" && res.jwt.length > 20, "login gives a jwt");
      s.admin = authed(res.jwt);
      const site = shape(r, "GetSiteResponse", await s.admin.getSite());
      eq(site.my_user?.local_user_view.person.name, adminName, "my_user name");
      eq(site.my_user.local_user_view.local_user.admin, true, "admin flag");
    },
    { critical: true },
  );

  await step(
    "editSite raises rate limits",
    async (r) => {
      // Default buckets (register 3/h, post 6/10min) would stop the scenario; operators raise them the same way.
      const limits = {};
      for (const bucket of ["message", "post", "register", "image", "comment", "search"]) {
        limits[`rate_limit_${bucket}`] = 100000;
      }
      const res = shape(r, "SiteResponse", await s.admin.editSite(limits));
      eq(res.site_view.local_site_rate_limit.post, 100000, "post rate limit");
      eq(res.site_view.local_site_rate_limit.register, 100000, "register rate limit");
    },
    { critical: true },
  );

  await step("login with a wrong password throws incorrect_login", async () => {
    await rejects(anon.login({ username_or_email: adminName, password: "not-the-password" }), "incorrect_login");
  });

  for (const who of ["alice", "bob"]) {
    await step(
      `register ${who}`,
      async (r) => {
        const name = `js${who}_${tag}`;
        const res = shape(
          r,
          "LoginResponse",
          await anon.register({ username: name, password: PASSWORD, password_verify: PASSWORD, show_nsfw: false }),
        );
        check(typeof res.jwt === "string" && res.jwt.length > 20, "register gives a jwt");
        eq(res.registration_created, false, "registration_created");
        const client = authed(res.jwt);
        const site = await client.getSite();
        eq(site.my_user?.local_user_view.person.name, name, "my_user name");
        s[who] = { client, name, id: site.my_user.local_user_view.person.id };
      },
      { critical: true },
    );
  }
  const { alice, bob } = s;

  await step("register a taken name throws user_already_exists", async () => {
    const form = { username: alice.name, password: PASSWORD, password_verify: PASSWORD };
    await rejects(anon.register(form), "user_already_exists");
  });

  await step(
    "createCommunity",
    async (r) => {
      for (const key of ["c1", "c2"]) {
        const name = `js${key}_${tag}`;
        const res = shape(
          r,
          "CommunityResponse",
          await alice.client.createCommunity({ name, title: `JS ${key}`, description: "Made by lemmy-js-client" }),
        );
        const view = res.community_view;
        eq(view.community.name, name, "community name");
        eq(view.subscribed, "Subscribed", "the creator follows");
        eq(view.counts.subscribers, 1, "subscribers");
        s[key] = view.community;
      }
    },
    { critical: true },
  );
  const { c1, c2 } = s;

  await step("getCommunity by name", async (r) => {
    const res = shape(r, "GetCommunityResponse", await bob.client.getCommunity({ name: c1.name }));
    eq(res.community_view.community.id, c1.id, "community id");
    eq(res.community_view.subscribed, "NotSubscribed", "bob does not follow yet");
    eq(
      res.moderators.map((m) => m.moderator.name),
      [alice.name],
      "moderators",
    );
    const byId = await anon.getCommunity({ id: c2.id });
    eq(byId.community_view.community.name, c2.name, "community by id");
  });

  await step("followCommunity", async (r) => {
    const res = shape(r, "CommunityResponse", await bob.client.followCommunity({ community_id: c1.id, follow: true }));
    eq(res.community_view.subscribed, "Subscribed", "subscribed");
    eq(res.community_view.counts.subscribers, 2, "subscribers");
    const site = await bob.client.getSite();
    check(
      site.my_user.follows.some((f) => f.community.id === c1.id),
      "my_user.follows lists the community",
    );
  });

  await step("listCommunities", async (r) => {
    const subscribed = shape(
      r,
      "ListCommunitiesResponse",
      await bob.client.listCommunities({ type_: "Subscribed", sort: "New", limit: 50 }),
    );
    eq(
      subscribed.communities.map((v) => v.community.id),
      [c1.id],
      "bob's subscribed communities",
    );
    const local = await anon.listCommunities({ type_: "Local", sort: "New", limit: 50 });
    const ids = local.communities.map((v) => v.community.id);
    check(ids.includes(c1.id) && ids.includes(c2.id), `Local lists both new communities: ${ids}`);
    check(ids.indexOf(c2.id) < ids.indexOf(c1.id), "New puts the newer community first");
  });

  const url = `https://example.com/js/${tag}`;
  await step(
    "createPost with url",
    async (r) => {
      const res = shape(
        r,
        "PostResponse",
        await alice.client.createPost({
          name: `JS link post jsword${tag}`,
          community_id: c1.id,
          url: `${url}?utm_source=feed`,
          body: "A *link* post",
        }),
      );
      const view = res.post_view;
      eq(view.post.url, url, "url without tracking parameters");
      eq(view.post.community_id, c1.id, "community_id");
      eq(view.creator.name, alice.name, "creator");
      eq(view.counts.score, 1, "the creator's own upvote");
      eq(view.my_vote, 1, "my_vote");
      s.p1 = view.post;
      const cross = await alice.client.createPost({ name: "JS cross-post", community_id: c2.id, url });
      s.p2 = cross.post_view.post;
      eq(s.p2.url, url, "cross-post url");
    },
    { critical: true },
  );
  const { p1, p2 } = s;

  await step("getPost with cross_posts", async (r) => {
    const res = shape(r, "GetPostResponse", await bob.client.getPost({ id: p1.id }));
    eq(res.post_view.post.id, p1.id, "post id");
    eq(res.community_view.community.id, c1.id, "community_view");
    eq(
      res.moderators.map((m) => m.moderator.id),
      [alice.id],
      "moderators",
    );
    eq(
      res.cross_posts.map((v) => v.post.id),
      [p2.id],
      "cross_posts",
    );
  });

  await step("editPost", async (r) => {
    const res = shape(
      r,
      "PostResponse",
      await alice.client.editPost({ post_id: p1.id, name: `JS edited post jsword${tag}`, body: "Edited body" }),
    );
    eq(res.post_view.post.name, `JS edited post jsword${tag}`, "name");
    eq(res.post_view.post.body, "Edited body", "body");
    eq(res.post_view.post.url, url, "url kept");
    check(typeof res.post_view.post.updated === "string", "updated is set");
    await rejects(bob.client.editPost({ post_id: p1.id, name: "Not mine" }), "no_post_edit_allowed");
  });

  await step("likePost up, down, up", async (r) => {
    const up = shape(r, "PostResponse", await bob.client.likePost({ post_id: p1.id, score: 1 }));
    eq([up.post_view.counts.score, up.post_view.counts.upvotes, up.post_view.my_vote], [2, 2, 1], "after upvote");
    const down = await bob.client.likePost({ post_id: p1.id, score: -1 });
    eq(
      [down.post_view.counts.score, down.post_view.counts.downvotes, down.post_view.my_vote],
      [0, 1, -1],
      "after downvote",
    );
    const again = await bob.client.likePost({ post_id: p1.id, score: 1 });
    eq([again.post_view.counts.score, again.post_view.counts.downvotes], [2, 0], "after upvote again");
  });

  await step("savePost", async (r) => {
    const res = shape(r, "PostResponse", await bob.client.savePost({ post_id: p1.id, save: true }));
    eq(res.post_view.saved, true, "saved");
    const saved = await bob.client.getPosts({ saved_only: true, limit: 50 });
    eq(postIds(saved), [p1.id], "saved_only listing");
  });

  await step(
    "createPost text posts for listing",
    async () => {
      s.more = [];
      for (let i = 3; i <= 6; i += 1) {
        const res = await alice.client.createPost({ name: `JS text post ${i}`, community_id: c1.id, body: `Body ${i}` });
        s.more.push(res.post_view.post.id);
      }
    },
    { critical: true },
  );
  const [p3, p4, p5, p6] = s.more;
  const inC1 = { community_id: c1.id, limit: 50 };

  await step("markPostAsRead", async (r) => {
    const read = (res) => res.posts.find((v) => v.post.id === p3)?.read;
    eq(read(await bob.client.getPosts({ ...inC1, sort: "New" })), false, "read before");
    const res = shape(r, "SuccessResponse", await bob.client.markPostAsRead({ post_ids: [p3], read: true }));
    eq(res.success, true, "success");
    eq(read(await bob.client.getPosts({ ...inC1, sort: "New" })), true, "read after");
    const unread = await bob.client.getPosts({ ...inC1, sort: "New", show_read: false });
    check(!postIds(unread).includes(p3), "show_read=false leaves the read post out");
  });

  await step("hidePost", async (r) => {
    const res = shape(r, "SuccessResponse", await bob.client.hidePost({ post_ids: [p4], hide: true }));
    eq(res.success, true, "success");
    check(!postIds(await bob.client.getPosts({ ...inC1, sort: "New" })).includes(p4), "hidden post left out");
    const all = await bob.client.getPosts({ ...inC1, sort: "New", show_hidden: true });
    eq(all.posts.find((v) => v.post.id === p4)?.hidden, true, "show_hidden lists it, hidden");
  });

  await step("getPosts by community_name, ignoring unknown fields", async (r) => {
    // Newer clients send fields Moot does not know; they must be ignored, not rejected.
    const form = { community_name: c1.name, sort: "New", limit: 50, no_such_field: "x", hide_media: true };
    const res = shape(r, "GetPostsResponse", await anon.getPosts(form));
    eq(sorted(postIds(res)), sorted([p1.id, p3, p4, p5, p6]), "anonymous listing of the community");
  });

  // Follow next_page until the listing runs out; a capped number of pages so a cursor loop cannot hang.
  async function allPages(r, form) {
    const seen = [];
    let cursor;
    for (let page = 0; page < 10; page += 1) {
      const res = shape(r, "GetPostsResponse", await bob.client.getPosts({ ...form, page_cursor: cursor }));
      seen.push(...postIds(res));
      cursor = res.next_page;
      if (res.posts.length === 0 || cursor === undefined) {
        return seen;
      }
    }
    throw new Error(`still paging after 10 pages: ${seen}`);
  }

  await step("getPosts page_cursor paging", async (r) => {
    const paged = { ...inC1, limit: 2, show_hidden: true };
    eq(await allPages(r, { ...paged, sort: "New" }), [p6, p5, p4, p3, p1.id], "New: all posts, newest first, once each");
    for (const sort of ["Old", "TopAll", "Hot", "Active"]) {
      const whole = postIds(await bob.client.getPosts({ ...inC1, sort, show_hidden: true }));
      eq(await allPages(r, { ...paged, sort }), whole, `${sort}: the pages together give the one-page listing`);
    }
    const second = await bob.client.getPosts({ ...inC1, sort: "New", limit: 2, page: 2, show_hidden: true });
    eq(postIds(second), [p4, p3], "page 2");
  });

  await step(
    "createComment and replies",
    async (r) => {
      const top = shape(
        r,
        "CommentResponse",
        await bob.client.createComment({ post_id: p1.id, content: `Top comment cword${tag}`, form_id: "js-1" }),
      );
      const c = top.comment_view.comment;
      eq(c.path, `0.${c.id}`, "top-level path");
      eq(top.comment_view.counts.score, 1, "own upvote");
      const reply = await alice.client.createComment({ post_id: p1.id, parent_id: c.id, content: "A reply" });
      const rc = reply.comment_view.comment;
      eq(rc.path, `0.${c.id}.${rc.id}`, "reply path");
      const deeper = await bob.client.createComment({ post_id: p1.id, parent_id: rc.id, content: "A reply's reply" });
      const dc = deeper.comment_view.comment;
      eq(dc.path, `0.${c.id}.${rc.id}.${dc.id}`, "second-level reply path");
      s.comments = [c, rc, dc];
    },
    { critical: true },
  );
  const [cm1, cm2, cm3] = s.comments;

  await step("getComments with max_depth", async (r) => {
    const depth = async (max_depth, extra = {}) =>
      sorted(commentIds(await anon.getComments({ post_id: p1.id, max_depth, ...extra })));
    const one = shape(r, "GetCommentsResponse", await anon.getComments({ post_id: p1.id, max_depth: 1 }));
    eq(commentIds(one), [cm1.id], "max_depth 1");
    eq(await depth(2), sorted([cm1.id, cm2.id]), "max_depth 2");
    eq(await depth(8), sorted([cm1.id, cm2.id, cm3.id]), "max_depth 8");
    // The form lemmy-ui sends for a post page.
    const ui = { sort: "Hot", type_: "All", saved_only: false, liked_only: false, disliked_only: false };
    eq(await depth(8, ui), sorted([cm1.id, cm2.id, cm3.id]), "lemmy-ui's post page form");
    eq(await depth(1, { parent_id: cm1.id }), sorted([cm1.id, cm2.id]), "parent_id with max_depth 1");
    const old = await anon.getComments({ post_id: p1.id, sort: "Old", limit: 50 });
    eq(commentIds(old), [cm1.id, cm2.id, cm3.id], "sort Old");
    const newest = await anon.getComments({ post_id: p1.id, sort: "New", limit: 50 });
    eq(commentIds(newest), [cm3.id, cm2.id, cm1.id], "sort New");
    eq(old.comments[0].counts.child_count, 2, "child_count of the top comment");
  });

  await step("likeComment", async (r) => {
    const res = shape(r, "CommentResponse", await alice.client.likeComment({ comment_id: cm1.id, score: 1 }));
    eq([res.comment_view.counts.score, res.comment_view.my_vote], [2, 1], "score and my_vote");
  });

  await step("getPosts with several sorts", async (r) => {
    const visible = sorted([p1.id, p3, p5, p6]);
    const sorts = ["Hot", "Active", "Scaled", "Controversial", "New", "Old", "TopAll", "TopDay", "MostComments"];
    for (const sort of [...sorts, "NewComments"]) {
      const res = shape(r, "GetPostsResponse", await bob.client.getPosts({ ...inC1, sort }));
      const ids = postIds(res);
      eq(sorted(ids), visible, `sort ${sort} lists the visible posts`);
      if (sort === "New") eq(ids, [p6, p5, p3, p1.id], "New order");
      if (sort === "Old") eq(ids, [p1.id, p3, p5, p6], "Old order");
      if (["TopAll", "TopDay", "MostComments", "NewComments"].includes(sort)) eq(ids[0], p1.id, `${sort} first`);
    }
    const listed = (await bob.client.getPosts({ ...inC1, sort: "New" })).posts.find((v) => v.post.id === p1.id);
    eq(listed.counts.comments, 3, "comment count");
  });

  await step("getReplies and getUnreadCount", async (r) => {
    const bobs = shape(r, "GetRepliesResponse", await bob.client.getReplies({ sort: "New" }));
    eq(
      bobs.replies.map((v) => v.comment.id),
      [cm2.id],
      "bob's replies",
    );
    eq(bobs.replies[0].recipient.id, bob.id, "recipient");
    // As Lemmy: answering a comment marks your reply notification for it read.
    eq(bobs.replies[0].comment_reply.read, true, "read once bob answered it");
    eq((await bob.client.getReplies({ unread_only: true })).replies.length, 0, "bob's unread_only");
    const alices = await alice.client.getReplies({ sort: "New" });
    eq(
      alices.replies.map((v) => [v.comment.id, v.comment_reply.read]),
      [
        [cm3.id, false],
        [cm1.id, true],
      ],
      "alice's replies (to her comment, and to her post which she answered)",
    );
    const count = shape(r, "GetUnreadCountResponse", await alice.client.getUnreadCount());
    eq([count.replies, count.mentions, count.private_messages], [1, 0, 0], "alice's unread count");
  });

  await step("markAllAsRead", async (r) => {
    shape(r, "GetRepliesResponse", await alice.client.markAllAsRead());
    eq((await alice.client.getUnreadCount()).replies, 0, "unread replies after");
    eq((await alice.client.getReplies({ unread_only: true })).replies.length, 0, "unread_only is empty");
    const all = await alice.client.getReplies({ sort: "New" });
    eq(
      all.replies.map((v) => v.comment_reply.read),
      [true, true],
      "all replies read, still listed",
    );
  });

  await step("mention, getPersonMentions, markPersonMentionAsRead", async (r) => {
    const res = await bob.client.createComment({ post_id: p1.id, content: `Hello @${alice.name}@${host}` });
    s.cm4 = res.comment_view.comment;
    // As Lemmy: the post's creator is mentioned, so she gets the mention and no duplicate reply.
    const count = await alice.client.getUnreadCount();
    eq([count.replies, count.mentions], [0, 1], "alice's unread replies and mentions");
    const mentions = shape(
      r,
      "GetPersonMentionsResponse",
      await alice.client.getPersonMentions({ sort: "New", unread_only: true }),
    );
    eq(
      mentions.mentions.map((v) => v.comment.id),
      [s.cm4.id],
      "mentions",
    );
    eq(mentions.mentions[0].recipient.id, alice.id, "recipient");
    const person_mention_id = mentions.mentions[0].person_mention.id;
    const marked = shape(
      r,
      "PersonMentionResponse",
      await alice.client.markPersonMentionAsRead({ person_mention_id, read: true }),
    );
    eq(marked.person_mention_view.person_mention.read, true, "mention read");
    eq((await alice.client.getUnreadCount()).mentions, 0, "unread mentions after");
  });

  await step("markCommentReplyAsRead", async (r) => {
    const replies = await alice.client.getReplies({ sort: "New" });
    const reply = replies.replies.find((v) => v.comment.id === cm3.id).comment_reply;
    const res = shape(
      r,
      "CommentReplyResponse",
      await alice.client.markCommentReplyAsRead({ comment_reply_id: reply.id, read: false }),
    );
    eq(res.comment_reply_view.comment_reply.read, false, "marked unread");
    eq((await alice.client.getUnreadCount()).replies, 1, "unread again");
    await alice.client.markCommentReplyAsRead({ comment_reply_id: reply.id, read: true });
    eq((await alice.client.getUnreadCount()).replies, 0, "read again");
  });

  await step("editComment, saveComment, getComment, getPost by comment_id", async (r) => {
    const edited = shape(r, "CommentResponse", await bob.client.editComment({ comment_id: s.cm4.id, content: "Edited" }));
    eq(edited.comment_view.comment.content, "Edited", "content");
    check(typeof edited.comment_view.comment.updated === "string", "updated is set");
    await rejects(alice.client.editComment({ comment_id: s.cm4.id, content: "Not mine" }), "no_comment_edit_allowed");
    const saved = shape(r, "CommentResponse", await alice.client.saveComment({ comment_id: cm1.id, save: true }));
    eq(saved.comment_view.saved, true, "saved");
    eq(commentIds(await alice.client.getComments({ saved_only: true })), [cm1.id], "saved_only comments");
    const one = shape(r, "CommentResponse", await anon.getComment({ id: cm2.id }));
    eq(one.comment_view.comment.path, cm2.path, "getComment");
    eq((await anon.getPost({ comment_id: cm2.id })).post_view.post.id, p1.id, "getPost by comment_id");
    await rejects(anon.getComment({ id: 2147480000 }), "couldnt_find_comment");
  });

  await step("search", async (r) => {
    const posts = shape(r, "SearchResponse", await bob.client.search({ q: `jsword${tag}`, type_: "Posts" }));
    eq(posts.type_, "Posts", "type_");
    eq(postIds(posts), [p1.id], "posts by title word");
    const comments = await bob.client.search({ q: `cword${tag}`, type_: "Comments" });
    eq(commentIds(comments), [cm1.id], "comments by word");
    const communities = await anon.search({ q: c1.name, type_: "Communities" });
    eq(
      communities.communities.map((v) => v.community.id),
      [c1.id],
      "communities by name",
    );
    const users = await anon.search({ q: alice.name, type_: "Users", listing_type: "All" });
    eq(
      users.users.map((v) => v.person.id),
      [alice.id],
      "users by name",
    );
    const everything = shape(r, "SearchResponse", await anon.search({ q: tag, type_: "All", sort: "New" }));
    check(everything.communities.length === 2 && everything.users.length === 2, "All finds communities and users");
    const byUrl = await anon.search({ q: url, type_: "Url" });
    eq(sorted(postIds(byUrl)), sorted([p1.id, p2.id]), "posts by url");
  });

  await step("resolveObject", async (r) => {
    const post = shape(r, "ResolveObjectResponse", await bob.client.resolveObject({ q: p1.ap_id }));
    eq(post.post?.post.id, p1.id, "post by ap_id");
    const community = shape(r, "ResolveObjectResponse", await bob.client.resolveObject({ q: `!${c1.name}@${host}` }));
    eq(community.community?.community.id, c1.id, "community by !name@host");
    const person = await bob.client.resolveObject({ q: `@${alice.name}@${host}` });
    eq(person.person?.person.id, alice.id, "person by @name@host");
    const comment = await bob.client.resolveObject({ q: cm1.ap_id });
    eq(comment.comment?.comment.id, cm1.id, "comment by ap_id");
    await rejects(anon.resolveObject({ q: `${baseUrl}/post/2147480000` }), "couldnt_find_object");
  });

  await step("getPersonDetails", async (r) => {
    const res = shape(r, "GetPersonDetailsResponse", await anon.getPersonDetails({ username: alice.name, limit: 50 }));
    eq(res.person_view.person.id, alice.id, "person id");
    eq(sorted(postIds(res)), sorted([p1.id, p2.id, p3, p4, p5, p6]), "posts");
    eq(commentIds(res), [cm2.id], "comments");
    eq(sorted(res.moderates.map((m) => m.community.id)), sorted([c1.id, c2.id]), "moderates");
    eq([res.person_view.counts.post_count, res.person_view.counts.comment_count], [6, 1], "counts");
    const byId = await anon.getPersonDetails({ person_id: bob.id });
    eq(byId.person_view.person.name, bob.name, "by person_id");
  });

  await step("saveUserSettings", async (r) => {
    const form = {
      display_name: `Bob ${tag}`,
      bio: "Writes comments from node",
      show_nsfw: true,
      default_sort_type: "New",
      default_listing_type: "Local",
      theme: "darkly",
      some_future_setting: true,
    };
    const res = shape(r, "SuccessResponse", await bob.client.saveUserSettings(form));
    eq(res.success, true, "success");
    const me = (await bob.client.getSite()).my_user.local_user_view;
    eq([me.person.display_name, me.person.bio], [form.display_name, form.bio], "person fields");
    eq(
      [me.local_user.show_nsfw, me.local_user.default_sort_type, me.local_user.default_listing_type, me.local_user.theme],
      [true, "New", "Local", "darkly"],
      "local_user fields",
    );
  });

  await step("blockPerson", async (r) => {
    const bobPost = await bob.client.createPost({ name: "JS post by bob", community_id: c1.id });
    const pb = bobPost.post_view.post.id;
    const res = shape(r, "BlockPersonResponse", await alice.client.blockPerson({ person_id: bob.id, block: true }));
    eq([res.blocked, res.person_view.person.id], [true, bob.id], "blocked");
    const site = await alice.client.getSite();
    eq(
      site.my_user.person_blocks.map((b) => b.target.id),
      [bob.id],
      "person_blocks",
    );
    check(!postIds(await alice.client.getPosts({ ...inC1, sort: "New" })).includes(pb), "blocked creator's post hidden");
    const tree = await alice.client.getComments({ post_id: p1.id, limit: 50 });
    eq(commentIds(tree), [cm2.id], "blocked creator's comments hidden");
    eq((await alice.client.getPost({ id: pb })).post_view.creator_blocked, true, "creator_blocked");
    const undo = await alice.client.blockPerson({ person_id: bob.id, block: false });
    eq(undo.blocked, false, "unblocked");
    check(postIds(await alice.client.getPosts({ ...inC1, sort: "New" })).includes(pb), "post back after unblock");
  });

  await step("deletePost and deleteComment", async (r) => {
    const post = shape(r, "PostResponse", await alice.client.deletePost({ post_id: p5, deleted: true }));
    eq(post.post_view.post.deleted, true, "post deleted");
    check(!postIds(await bob.client.getPosts({ ...inC1, sort: "New" })).includes(p5), "deleted post not listed");
    await rejects(bob.client.deletePost({ post_id: p6, deleted: true }), "no_post_edit_allowed");
    const comment = shape(r, "CommentResponse", await bob.client.deleteComment({ comment_id: cm3.id, deleted: true }));
    eq(comment.comment_view.comment.deleted, true, "comment deleted");
    const restored = await bob.client.deleteComment({ comment_id: cm3.id, deleted: false });
    eq(restored.comment_view.comment.deleted, false, "comment restored");
  });

  await step("errors: missing objects and no login", async () => {
    await rejects(anon.getPost({ id: 2147480000 }), "couldnt_find_post");
    await rejects(anon.getCommunity({ name: `nosuch_${tag}` }), "couldnt_find_community");
    await rejects(anon.createPost({ name: "No login", community_id: c1.id }), "not_logged_in");
  });

  await step("logout", async (r) => {
    const res = shape(r, "SuccessResponse", await bob.client.logout());
    eq(res.success, true, "success");
    await rejects(bob.client.validateAuth(), "not_logged_in");
    // An invalidated token is ignored, as Lemmy does: the request is answered as anonymous.
    const site = await bob.client.getSite();
    check(site.my_user === undefined, "no my_user after logout");
    const again = await anon.login({ username_or_email: bob.name, password: PASSWORD });
    const fresh = authed(again.jwt);
    eq((await fresh.validateAuth()).success, true, "a new login works");
  });
}

try {
  await scenario();
} catch (err) {
  if (!(err instanceof Abort)) {
    failures += 1;
    emit({ step: "scenario", ok: false, detail: String(err?.stack ?? err), shapes: [] });
  }
}
// exitCode rather than exit(): stdout is flushed before the process ends.
process.exitCode = failures === 0 ? 0 : 1;
