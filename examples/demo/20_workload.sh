#!/usr/bin/env bash
# A social workload: each request sets its correlation id; the outbox events it wrote
# Sourced by tools/demo.sh (PG env set, examples/nova_schema.sql loaded).
# Every simulated HTTP request is one transaction that does what a thin service
# would do: SET LOCAL nova.correlation_id to the request id, run its SQL, and
# commit. Just before COMMIT we show the events the request wrote to the outbox
# (after COMMIT the relay may already have sent them to Kafka and removed them).

demo_request() {  # demo_request REQUEST_ID DESCRIPTION SQL
  local id="$1" what="$2" sql="$3"
  echo
  echo "── $id: $what"
  psql -X -q -v ON_ERROR_STOP=1 -P pager=off -P footer=off <<SQL
BEGIN;
SET LOCAL nova.correlation_id = '$id';
$sql
SELECT topic, key, event_type, correlation_id, left(payload::text, 60) AS payload_excerpt
  FROM nova.outbox WHERE correlation_id = nova.correlation_id() ORDER BY id;
COMMIT;
SQL
}

demo_request req-0001 "sign up alice, bob and carol (password_hash and email never leave the database)" "
INSERT INTO users (username, display_name, email, password_hash) VALUES
  ('alice', 'Alice', 'alice@example.com', 'argon2id\$...'),
  ('bob',   'Bob',   'bob@example.com',   'argon2id\$...'),
  ('carol', 'Carol', 'carol@example.com', 'argon2id\$...');"

demo_request req-0002 "bob and carol follow alice (composite key → JSON array key)" "
INSERT INTO follows (follower_id, followee_id)
SELECT f.id, a.id FROM users f, users a WHERE f.username IN ('bob', 'carol') AND a.username = 'alice';"

demo_request req-0003 "alice posts" "
INSERT INTO posts (author_id, body) SELECT id, 'Hello, Nova! Events leave the database with my correlation id.' FROM users WHERE username = 'alice';"

demo_request req-0004 "bob comments and likes; alice is notified" "
WITH p AS (SELECT id, author_id FROM posts ORDER BY id DESC LIMIT 1), b AS (SELECT id FROM users WHERE username = 'bob')
INSERT INTO comments (post_id, author_id, body) SELECT p.id, b.id, 'Welcome!' FROM p, b;
WITH p AS (SELECT id FROM posts ORDER BY id DESC LIMIT 1), b AS (SELECT id FROM users WHERE username = 'bob')
INSERT INTO likes (user_id, post_id) SELECT b.id, p.id FROM p, b;
INSERT INTO notifications (user_id, kind, actor_id, post_id)
SELECT p.author_id, k, b.id, p.id FROM (SELECT id, author_id FROM posts ORDER BY id DESC LIMIT 1) p,
       (SELECT id FROM users WHERE username = 'bob') b, unnest(ARRAY['comment', 'like']) k;"

demo_request req-0005 "alice edits her post, then opens a conversation with carol" "
UPDATE posts SET body = body || ' (edited)', updated_at = now() WHERE author_id = (SELECT id FROM users WHERE username = 'alice');
WITH c AS (INSERT INTO conversations (title, created_by) SELECT 'coffee?', id FROM users WHERE username = 'alice' RETURNING id)
INSERT INTO conversation_members (conversation_id, user_id) SELECT c.id, u.id FROM c, users u WHERE u.username IN ('alice', 'carol');
INSERT INTO messages (conversation_id, sender_id, body)
SELECT max(c.id), (SELECT id FROM users WHERE username = 'alice'), 'Coffee tomorrow?' FROM conversations c;"

demo_request req-0006 "bob unlikes the post (DELETE → LikeDeleted carrying the old row)" "
DELETE FROM likes WHERE user_id = (SELECT id FROM users WHERE username = 'bob');"

echo
echo "── a request that fails rolls back its events with its rows:"
psql -X -q -P pager=off <<'SQL' 2>&1 | sed 's/^/   /'
BEGIN;
SET LOCAL nova.correlation_id = 'req-0007';
INSERT INTO posts (author_id, body) SELECT id, 'this post will not exist' FROM users WHERE username = 'carol';
INSERT INTO posts (author_id, body) VALUES (-1, 'no such author');  -- foreign key violation
COMMIT;
SQL
echo "   events with correlation id req-0007: $(nova_psql -c "SELECT count(*) FROM nova.outbox WHERE correlation_id = 'req-0007'")"
