-- front_default: GET /post/list?limit=20, anonymous: the front page of a first visit, in the site's default
-- listing and sort (the bench site keeps Lemmy's defaults: Local, Active).
--
-- front_hot_anon's statement with the listing's one difference (the community is local) and the Active order.
-- The inner query walks ix_post_active (featured_local, hot_rank_active, published) backwards (migration 0010;
-- before it no index had this order and every such page sorted all visible posts: 2.4 s at 1M posts) and
-- joins each post's community until 20 are local and visible.
--
-- Parameters: limit.
-- Full size (1M posts), EXPLAIN (ANALYZE, BUFFERS), 3 runs: 3.7-4.6 ms, 55 posts walked for 20 local ones
-- (+5-8 ms planning unless a prepared statement has a generic plan; 412 buffers hit; 2026-11-30, busy 2 cores).
-- Before migration 0010: 2,459 ms (417,000 local posts sorted).
SELECT page.*,
       EXISTS (SELECT 1 FROM community_moderator m
               WHERE m.community_id = page.community_id AND m.person_id = page.creator_id) AS creator_is_moderator,
       EXISTS (SELECT 1 FROM local_user l WHERE l.person_id = page.creator_id AND l.admin) AS creator_is_admin,
       EXISTS (SELECT 1 FROM community_person_ban b
               WHERE b.community_id = page.community_id AND b.person_id = page.creator_id
                 AND (b.expires IS NULL OR b.expires > now())) AS creator_banned_from_community,
       NULL::smallint AS my_vote, NULL::timestamptz AS saved, NULL::timestamptz AS read,
       NULL::timestamptz AS hidden, NULL::integer AS read_comments_amount, false AS banned_from_community,
       NULL::boolean AS follow_pending, false AS creator_blocked
FROM (
    SELECT p.id, p.name, p.url, p.body, p.creator_id, p.community_id, p.removed, p.locked, p.published, p.updated,
           p.deleted, p.nsfw, p.embed_title, p.embed_description, p.thumbnail_url, p.ap_id, p.local,
           p.embed_video_url, p.language_id, p.featured_community, p.featured_local, p.url_content_type,
           p.alt_text, p.comments, p.score, p.upvotes, p.downvotes, p.newest_comment_time, p.hot_rank_active,
           u.name AS creator_name, u.display_name AS creator_display_name, u.avatar AS creator_avatar,
           u.banned AS creator_banned, u.published AS creator_published, u.updated AS creator_updated,
           u.ap_id AS creator_ap_id, u.bio AS creator_bio, u.local AS creator_local, u.banner AS creator_banner,
           u.deleted AS creator_deleted, u.matrix_user_id AS creator_matrix_user_id,
           u.bot_account AS creator_bot_account, u.ban_expires AS creator_ban_expires,
           u.instance_id AS creator_instance_id,
           c.name AS community_name, c.title AS community_title, c.description AS community_description,
           c.removed AS community_removed, c.published AS community_published, c.updated AS community_updated,
           c.deleted AS community_deleted, c.nsfw AS community_nsfw, c.ap_id AS community_ap_id,
           c.local AS community_local, c.icon AS community_icon, c.banner AS community_banner,
           c.hidden AS community_hidden, c.posting_restricted_to_mods AS community_posting_restricted_to_mods,
           c.instance_id AS community_instance_id, c.visibility AS community_visibility
    FROM post p
    JOIN community c ON c.id = p.community_id
    JOIN person u ON u.id = p.creator_id
    WHERE NOT p.deleted AND NOT p.removed AND NOT p.nsfw
      AND c.local AND c.visibility = 'Public' AND NOT c.deleted AND NOT c.removed AND NOT c.hidden AND NOT c.nsfw
    ORDER BY p.featured_local DESC, p.hot_rank_active DESC, p.published DESC, p.id DESC
    LIMIT :limit
) page
ORDER BY page.featured_local DESC, page.hot_rank_active DESC, page.published DESC, page.id DESC
