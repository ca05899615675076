-- front_hot_user: GET /post/list?type_=All&sort=Hot&limit=20, logged in as bench_1.
--
-- front_hot_anon's 20 post views with the viewer's filters and flags. The viewer's settings (NSFW, bots, read
-- posts), languages and blocks (people, communities, instances) are read once, in the same statement, into one
-- row of arrays; the walk of ix_post_hot compares each visited post with them (no anti join per block table to
-- plan and run) and probes post_actions' primary key for the viewer's vote, saved, read, hidden and
-- read-comments marks. Subscription status and the viewer's community ban are probed for the 20 rows only.
-- creator_blocked is false by construction (blocked creators' posts are filtered out). Moot also checks the
-- login token (one more indexed row); here the viewer is given by person id. The bench writes the page size
-- into the SQL (bench/reference.py), as Moot writes its own.
--
-- Parameters: viewer_id (bench_1's person id), limit.
-- Full size (1M posts), psql, a prepared statement run 8 times: from the 7th its generic plan, 0.29-0.45 ms
-- executing, 0.02 ms planning (before that, custom plans: 1.2-1.6 ms planning + 0.8-1.0 executing). The
-- earlier form (an anti join per block table, LIMIT as a parameter) kept planning, 2.7-4.4 ms each run
-- (2026-12-02, busy 2 cores).
WITH viewer AS MATERIALIZED (
    SELECT lu.id AS local_user_id, lu.person_id, lu.show_nsfw, lu.show_bot_accounts, lu.show_read_posts,
           ARRAY(SELECT ll.language_id FROM local_user_language ll WHERE ll.local_user_id = lu.id) AS languages,
           ARRAY(SELECT pb.target_id FROM person_block pb WHERE pb.person_id = lu.person_id) AS blocked_people,
           ARRAY(SELECT cb.community_id FROM community_block cb
                 WHERE cb.person_id = lu.person_id) AS blocked_communities,
           ARRAY(SELECT ib.instance_id FROM instance_block ib
                 WHERE ib.person_id = lu.person_id) AS blocked_instances
    FROM local_user lu
    WHERE lu.person_id = :viewer_id
)
SELECT page.*,
       EXISTS (SELECT 1 FROM community_moderator m
               WHERE m.community_id = page.community_id AND m.person_id = page.creator_id) AS creator_is_moderator,
       EXISTS (SELECT 1 FROM local_user l WHERE l.person_id = page.creator_id AND l.admin) AS creator_is_admin,
       EXISTS (SELECT 1 FROM community_person_ban b
               WHERE b.community_id = page.community_id AND b.person_id = page.creator_id
                 AND (b.expires IS NULL OR b.expires > now())) AS creator_banned_from_community,
       EXISTS (SELECT 1 FROM community_person_ban b
               WHERE b.community_id = page.community_id AND b.person_id = :viewer_id
                 AND (b.expires IS NULL OR b.expires > now())) AS banned_from_community,
       (SELECT f.pending FROM community_follower f
        WHERE f.community_id = page.community_id AND f.person_id = :viewer_id) AS follow_pending,
       false AS creator_blocked
FROM (
    SELECT p.id, p.name, p.url, p.body, p.creator_id, p.community_id, p.removed, p.locked, p.published, p.updated,
           p.deleted, p.nsfw, p.embed_title, p.embed_description, p.thumbnail_url, p.ap_id, p.local,
           p.embed_video_url, p.language_id, p.featured_community, p.featured_local, p.url_content_type,
           p.alt_text, p.comments, p.score, p.upvotes, p.downvotes, p.newest_comment_time, p.hot_rank,
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
           c.instance_id AS community_instance_id, c.visibility AS community_visibility,
           pa.like_score AS my_vote, pa.saved, pa.read, pa.hidden, pa.read_comments_amount
    FROM viewer v
    CROSS JOIN post p
    JOIN community c ON c.id = p.community_id
    JOIN person u ON u.id = p.creator_id
    LEFT JOIN post_actions pa ON pa.person_id = v.person_id AND pa.post_id = p.id
    WHERE (NOT p.deleted OR p.creator_id = v.person_id) AND NOT p.removed
      AND NOT c.deleted AND NOT c.removed
      AND (NOT c.hidden OR EXISTS (SELECT 1 FROM community_follower f
                                   WHERE f.community_id = c.id AND f.person_id = v.person_id))
      AND (v.show_nsfw OR (NOT p.nsfw AND NOT c.nsfw))
      AND (v.show_bot_accounts OR NOT u.bot_account)
      AND (v.show_read_posts OR pa.read IS NULL)
      AND pa.hidden IS NULL
      AND (p.language_id = 0 OR cardinality(v.languages) = 0 OR p.language_id = ANY (v.languages))
      AND p.creator_id <> ALL (v.blocked_people)
      AND p.community_id <> ALL (v.blocked_communities)
      AND c.instance_id <> ALL (v.blocked_instances)
    ORDER BY p.featured_local DESC, p.hot_rank DESC, p.published DESC, p.id DESC
    LIMIT :limit
) page
ORDER BY page.featured_local DESC, page.hot_rank DESC, page.published DESC, page.id DESC
