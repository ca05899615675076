-- search: GET /search?q=<a word in 1% of comments>&type_=All&sort=TopAll&listing_type=All&limit=20, anonymous.
--
-- SearchResponse in one row of four JSON arrays, each the 20 best of its kind, as Moot ranks them:
-- posts whose title or body has the word (prefix match), by featured_local then score; comments that have it, by
-- score; communities whose name or title contains it, by subscribers; people whose name or display name
-- contains it, by comment count. The full-text matches come from the GIN indexes (ix_comment_fts and the post
-- one) as bitmaps; every match is filtered (visible post and community, undeleted) before the top 20 is taken,
-- which at full size is about 100,000 comments: this part is the cost of the statement. Tuned indexes that
-- would help (proposed, not added): a GIN trigram index (pg_trgm) on person.name/display_name and on
-- community.name/title for the ILIKE scans, and, to stop reading every match, a rank-ordered index (RUM, or a
-- B-tree on score over a bounded recent window) for the comments.
--
-- Parameters: query (to_tsquery syntax, e.g. 'word:*'), pattern ('%word%'), limit.
-- Full size (10M comments), EXPLAIN (ANALYZE, BUFFERS), median of 5: 549.91 ms
-- (+1.61 ms planning, unless a prepared statement has a generic plan; 139622 buffers hit; 2026-11-30, busy 2
-- cores; 1.1-1.7 s while the machine was loaded)
SELECT
    (SELECT coalesce(json_agg(x ORDER BY x.featured_local DESC, x.score DESC, x.published DESC, x.id DESC), '[]')
     FROM (SELECT p.id, p.name, p.url, p.body, p.creator_id, p.community_id, p.removed, p.locked, p.published,
                  p.updated, p.deleted, p.nsfw, p.embed_title, p.embed_description, p.thumbnail_url, p.ap_id,
                  p.local, p.embed_video_url, p.language_id, p.featured_community, p.featured_local,
                  p.url_content_type, p.alt_text, p.comments, p.score, p.upvotes, p.downvotes,
                  p.newest_comment_time,
                  u.name AS creator_name, u.display_name AS creator_display_name, u.avatar AS creator_avatar,
                  u.ap_id AS creator_ap_id, u.local AS creator_local, u.bot_account AS creator_bot_account,
                  u.banned AS creator_banned, u.deleted AS creator_deleted, u.published AS creator_published,
                  c.name AS community_name, c.title AS community_title, c.ap_id AS community_ap_id,
                  c.local AS community_local, c.icon AS community_icon, c.nsfw AS community_nsfw,
                  c.hidden AS community_hidden, c.visibility AS community_visibility
           FROM post p
           JOIN community c ON c.id = p.community_id
           JOIN person u ON u.id = p.creator_id
           WHERE to_tsvector('simple', coalesce(p.name, '') || ' ' || coalesce(p.body, ''))
                 @@ to_tsquery('simple', :query)
             AND NOT p.deleted AND NOT p.removed AND NOT p.nsfw
             AND c.visibility = 'Public' AND NOT c.deleted AND NOT c.removed AND NOT c.hidden AND NOT c.nsfw
           ORDER BY p.featured_local DESC, p.score DESC, p.published DESC, p.id DESC
           LIMIT :limit) x) AS posts,
    (SELECT coalesce(json_agg(x ORDER BY x.score DESC, x.published DESC, x.id DESC), '[]')
     FROM (SELECT k.id, k.creator_id, k.post_id, k.content, k.removed, k.published, k.updated, k.deleted,
                  k.ap_id, k.local, k.path, k.distinguished, k.language_id, k.score, k.upvotes, k.downvotes,
                  k.child_count,
                  u.name AS creator_name, u.display_name AS creator_display_name, u.avatar AS creator_avatar,
                  u.ap_id AS creator_ap_id, u.local AS creator_local, u.bot_account AS creator_bot_account,
                  u.banned AS creator_banned, u.deleted AS creator_deleted, u.published AS creator_published,
                  p.name AS post_name, p.url AS post_url, p.ap_id AS post_ap_id, p.community_id,
                  c.name AS community_name, c.title AS community_title, c.ap_id AS community_ap_id
           FROM comment k
           JOIN post p ON p.id = k.post_id
           JOIN community c ON c.id = p.community_id
           JOIN person u ON u.id = k.creator_id
           WHERE to_tsvector('simple', k.content) @@ to_tsquery('simple', :query)
             AND NOT k.deleted AND NOT k.removed
             AND NOT p.deleted AND NOT p.removed AND c.visibility = 'Public'
           ORDER BY k.score DESC, k.published DESC, k.id DESC
           LIMIT :limit) x) AS comments,
    (SELECT coalesce(json_agg(x ORDER BY x.subscribers DESC, x.id DESC), '[]')
     FROM (SELECT c.id, c.name, c.title, c.description, c.removed, c.published, c.updated, c.deleted, c.nsfw,
                  c.ap_id, c.local, c.icon, c.banner, c.hidden, c.posting_restricted_to_mods, c.instance_id,
                  c.visibility, c.subscribers, c.subscribers_local, c.posts, c.comments, c.users_active_day,
                  c.users_active_week, c.users_active_month, c.users_active_half_year
           FROM community c
           WHERE (c.name ILIKE :pattern OR c.title ILIKE :pattern)
             AND c.visibility = 'Public' AND NOT c.deleted AND NOT c.removed AND NOT c.hidden AND NOT c.nsfw
           ORDER BY c.subscribers DESC, c.id DESC
           LIMIT :limit) x) AS communities,
    (SELECT coalesce(json_agg(x ORDER BY x.comment_count DESC, x.id), '[]')
     FROM (SELECT u.id, u.name, u.display_name, u.avatar, u.banned, u.published, u.updated, u.ap_id, u.bio,
                  u.local, u.banner, u.deleted, u.matrix_user_id, u.bot_account, u.ban_expires, u.instance_id,
                  u.post_count, u.comment_count,
                  EXISTS (SELECT 1 FROM local_user l WHERE l.person_id = u.id AND l.admin) AS is_admin
           FROM person u
           WHERE (u.name ILIKE :pattern OR u.display_name ILIKE :pattern) AND NOT u.deleted
           ORDER BY u.comment_count DESC, u.id
           LIMIT :limit) x) AS users
