#!/usr/bin/env bash
# Soft delete: delete a post with its comments, restore it, erase a user (GDPR), events and audit trail
# Sourced by tools/demo.sh (PG env set, examples/nova_schema.sql loaded).
if [ "$(nova_psql -c "SELECT count(*) FROM nova.soft_delete_tables WHERE tbl = 'posts'::regclass")" = 0 ]; then
  nova_psql -f examples/nova_soft_delete.sql >/dev/null
fi

# One transaction, so the outbox rows are still there to show (the relay only sees them at commit).
psql -X -q -v ON_ERROR_STOP=1 <<'SQL'
\pset footer off
BEGIN;
SET LOCAL nova.correlation_id = 'demo-soft-delete-1';
INSERT INTO users (username, display_name, email) VALUES ('sd_alice', 'Alice', 'sd_alice@example.com') RETURNING id AS alice \gset
INSERT INTO users (username, display_name, email) VALUES ('sd_bob', 'Bob', 'sd_bob@example.com') RETURNING id AS bob \gset
INSERT INTO posts (author_id, body) VALUES (:alice, 'Hello from Alice') RETURNING id AS post \gset
INSERT INTO comments (post_id, author_id, body) VALUES (:post, :bob, 'Hi Alice!'), (:post, :alice, 'Hi Bob!');
INSERT INTO posts (author_id, body) VALUES (:bob, 'Bob''s own post') RETURNING id AS bobpost \gset
INSERT INTO comments (post_id, author_id, body) VALUES (:bobpost, :alice, 'Alice on Bob''s post');
SELECT coalesce(max(id), 0) AS before_demo FROM nova.audit_log \gset

\echo
\echo '-- Bob deletes his comment first (on its own), then Alice deletes her post through the view:'
DELETE FROM active_comments WHERE post_id = :post AND author_id = :bob;
DELETE FROM active_posts WHERE id = :post;
SELECT 'post' AS row, id, deleted_at IS NOT NULL AS deleted, deleted_by, deleted_op FROM posts WHERE id = :post
UNION ALL
SELECT 'comment by ' || CASE author_id WHEN :alice THEN 'alice' ELSE 'bob' END, id, deleted_at IS NOT NULL, deleted_by, deleted_op
  FROM comments WHERE post_id = :post ORDER BY 2;

\echo '-- nova.restore brings back the post and the comment deleted with it; Bob''s own delete stays:'
SELECT nova.restore('posts', jsonb_build_object('id', :post)) AS rows_restored;
SELECT 'comment by ' || CASE author_id WHEN :alice THEN 'alice' ELSE 'bob' END AS row, id, deleted_at IS NOT NULL AS deleted
  FROM comments WHERE post_id = :post ORDER BY id;

\echo '-- GDPR: erase everything Alice owns (soft-deleted first, then hard-deleted: Deleted + Purged tombstones):'
SELECT nova.erase_subject(:'alice') AS erased;
SELECT (SELECT count(*) FROM users WHERE id = :alice) AS alice_rows,
       (SELECT count(*) FROM posts WHERE author_id = :alice) AS alice_posts,
       (SELECT count(*) FROM comments WHERE author_id = :alice) AS alice_comments,
       (SELECT count(*) FROM comments WHERE post_id = :bobpost) AS comments_left_on_bobs_post;

\echo '-- the events waiting in nova.outbox for the relay (payload NULL = Kafka tombstone):'
SELECT event_type, key, payload IS NULL AS tombstone, payload->>'deleted_by' AS deleted_by, correlation_id
  FROM nova.outbox WHERE correlation_id = 'demo-soft-delete-1' AND event_type NOT LIKE '%Created' ORDER BY id;

\echo '-- nova.audit_log: keys only, it outlives the erased rows:'
SELECT action, table_name, pk, actor, correlation_id, operation_id FROM nova.audit_log
  WHERE id > :before_demo ORDER BY id;
COMMIT;
SQL
