-- Soft delete (docs/soft-delete.md): purge, GDPR erasure, the audit trail, privileges, and
-- the outbox events a soft delete / restore / purge emits.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS nova;
RESET client_min_messages;
\set VERBOSITY default

CREATE SCHEMA sdp;
SET search_path = sdp, public;
CREATE TABLE users (id text PRIMARY KEY, name text);
CREATE TABLE posts (id bigint PRIMARY KEY, author_id text NOT NULL REFERENCES users ON DELETE CASCADE, body text);
CREATE TABLE comments (id bigint PRIMARY KEY, post_id bigint NOT NULL REFERENCES posts ON DELETE CASCADE,
  author_id text NOT NULL REFERENCES users ON DELETE CASCADE, body text);
CREATE TABLE tags (id int PRIMARY KEY, label text);   -- no owner column
SET client_min_messages = warning;
SELECT nova.enable_soft_delete('users', 'id'), nova.enable_soft_delete('posts', 'author_id'),
       nova.enable_soft_delete('comments', 'author_id'), nova.enable_soft_delete('tags');
SELECT nova.enable_outbox('posts'), nova.enable_outbox('comments'), nova.enable_outbox('users');
RESET client_min_messages;
INSERT INTO users VALUES ('u1', 'Ann'), ('u2', 'Bob');
INSERT INTO posts VALUES (1, 'u1', 'p1'), (2, 'u1', 'p2'), (3, 'u2', 'p3');
INSERT INTO comments VALUES (10, 1, 'u2', 'c10'), (11, 3, 'u1', 'c11'), (12, 3, 'u2', 'c12');
INSERT INTO tags VALUES (1, 'a'), (2, 'b');
DELETE FROM nova.outbox WHERE source LIKE '%.sdp.%';

-- ---- outbox events of a soft delete and a restore ------------------------------
SET nova.correlation_id = 'req-sd-1';
DELETE FROM active_posts WHERE id = 1;
SELECT event_type, key, payload->>'id' AS id, payload->>'deleted_by' = current_user AS by_me,
       payload ? 'deleted_at' AS has_deleted_at, correlation_id
  FROM nova.outbox WHERE source LIKE '%.sdp.%' ORDER BY id;
SELECT action, table_name, pk, actor = current_user AS by_me, correlation_id FROM nova.audit_log
  WHERE table_name LIKE 'sdp.%' ORDER BY id;
SELECT nova.restore('posts', '{"id": 1}');
SELECT event_type, payload->>'id' AS id FROM nova.outbox WHERE source LIKE '%.sdp.%' AND event_type LIKE '%Restored' ORDER BY id;
RESET nova.correlation_id;
DELETE FROM nova.outbox WHERE source LIKE '%.sdp.%';

-- ---- purge -----------------------------------------------------------------------
SELECT nova.purge('posts', '-1 day');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.purge('plain_table_that_does_not_exist', '1 day');
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE plain (id int PRIMARY KEY);
SELECT nova.purge('plain', '1 day');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.purge('posts', NULL) IS NULL AS strict;
-- post 1 and its comment soft-deleted "3 days ago", post 2 a minute ago
DELETE FROM posts WHERE id IN (1, 2);
ALTER TABLE posts DISABLE TRIGGER nova_soft_delete_update;
UPDATE posts SET deleted_at = now() - interval '3 days' WHERE id = 1;
UPDATE posts SET deleted_at = now() - interval '1 minute' WHERE id = 2;
ALTER TABLE posts ENABLE TRIGGER nova_soft_delete_update;
DELETE FROM nova.outbox WHERE source LIKE '%.sdp.%';
SELECT nova.purge('posts', '1 day');
SELECT id FROM posts ORDER BY id;
-- the comment went with it (the foreign key's ON DELETE CASCADE), audited too
SELECT id FROM comments ORDER BY id;
SELECT action, table_name, pk FROM nova.audit_log WHERE table_name LIKE 'sdp.%' AND action = 'purge' ORDER BY id;
-- tombstones: Purged with a NULL payload for the soft-deleted rows
SELECT event_type, key, payload IS NULL AS tombstone FROM nova.outbox WHERE source LIKE '%.sdp.%' ORDER BY id;
-- nothing else old enough
SELECT nova.purge('posts', '1 day');
-- a purge inside a transaction that is rolled back changes nothing
BEGIN;
SELECT nova.purge('posts', '0');
ROLLBACK;
SELECT count(*) FROM posts;
-- the backend-local purge mode ended with the call: DELETE soft-deletes again
DELETE FROM tags WHERE id = 2;
SELECT id, deleted_at IS NOT NULL AS deleted FROM tags ORDER BY id;

-- ---- erase_subject (GDPR) ---------------------------------------------------------
INSERT INTO posts VALUES (4, 'u1', 'p4');
INSERT INTO comments VALUES (13, 4, 'u2', 'Bob on Ann''s post'), (14, 3, 'u1', 'Ann on Bob''s post');
DELETE FROM nova.outbox WHERE source LIKE '%.sdp.%';
SELECT nova.erase_subject('u1');
SELECT 'user' AS kind, id FROM users UNION ALL SELECT 'post', id::text FROM posts
UNION ALL SELECT 'comment', id::text FROM comments ORDER BY 1, 2;
-- consumers see a Deleted event and then a tombstone for every erased row
SELECT event_type, count(*), bool_and(payload IS NULL) AS all_tombstones FROM nova.outbox
  WHERE source LIKE '%.sdp.%' GROUP BY 1 ORDER BY 1;
SELECT action, table_name, pk FROM nova.audit_log WHERE table_name LIKE 'sdp.%' AND action = 'erase' ORDER BY table_name, pk::text;
-- the audit trail survives the erasure and holds keys only
SELECT count(*) > 0 AS audited FROM nova.audit_log WHERE pk = '{"id": "u1"}';
SELECT DISTINCT jsonb_object_keys(pk) FROM nova.audit_log WHERE table_name LIKE 'sdp.%';
-- a subject with nothing left, and one that cannot be a value of an owner column
SELECT nova.erase_subject('u1');
SELECT nova.erase_subject('not-a-number');
SELECT nova.erase_subject(NULL) IS NULL AS strict;

-- ---- audit keys are formatted like jsonb_build_object, for any key type ----------------
CREATE TABLE keyed (at timestamptz, flag boolean, n numeric, d date, j jsonb, a int[], PRIMARY KEY (at, flag, n, d, j, a));
SET client_min_messages = warning;
SELECT nova.enable_soft_delete('keyed');
RESET client_min_messages;
INSERT INTO keyed VALUES ('2026-01-02 03:04:05.5+00', true, 1.50, '2026-01-02', '{"b": [1, "x"]}', '{1,2}'),
                         ('2026-01-02 03:04:05+00', false, 'NaN', '2026-01-03', '"s"', '{}');
DELETE FROM keyed;
SELECT count(*) AS same_as_jsonb_build_object FROM keyed k JOIN nova.audit_log a
  ON a.table_name = 'sdp.keyed' AND a.pk = jsonb_build_object('at', k.at, 'flag', k.flag, 'n', k.n, 'd', k.d, 'j', k.j, 'a', k.a);
CREATE TABLE keyed2 (at timestamptz, flag boolean, n float8, d date, j jsonb, u uuid, PRIMARY KEY (at, flag, n, d, j, u));
SET client_min_messages = warning;
SELECT nova.enable_soft_delete('keyed2');
RESET client_min_messages;
INSERT INTO keyed2 VALUES ('2026-01-02 03:04:05.5+00', true, 1.5, '2026-01-02', '{"b": [1, "x"]}', '00000000-0000-0000-0000-000000000001'),
                          ('2026-01-02 03:04:05+00', false, 'Infinity', '2026-01-03', '"s"', '00000000-0000-0000-0000-000000000002');
DELETE FROM keyed2;
SELECT count(*) AS same_as_jsonb_build_object FROM keyed2 k JOIN nova.audit_log a
  ON a.table_name = 'sdp.keyed2' AND a.pk = jsonb_build_object('at', k.at, 'flag', k.flag, 'n', k.n, 'd', k.d, 'j', k.j, 'u', k.u);
-- the audit row is written through SPI when nova.audit_log is not as created (here: a trigger on it)
CREATE FUNCTION count_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER t BEFORE INSERT ON nova.audit_log FOR EACH ROW EXECUTE FUNCTION count_audit();
UPDATE keyed SET deleted_at = NULL;
DROP TRIGGER t ON nova.audit_log;
SELECT count(*) AS restores_audited_via_spi FROM keyed k JOIN nova.audit_log a
  ON a.table_name = 'sdp.keyed' AND a.action = 'restore'
  AND a.pk = jsonb_build_object('at', k.at, 'flag', k.flag, 'n', k.n, 'd', k.d, 'j', k.j, 'a', k.a);

-- ---- privileges -----------------------------------------------------------------------
CREATE ROLE regress_sd_app LOGIN;
GRANT USAGE ON SCHEMA sdp TO regress_sd_app;
GRANT SELECT, DELETE ON sdp.tags TO regress_sd_app;
GRANT SELECT, DELETE ON sdp.active_tags TO regress_sd_app;
SET ROLE regress_sd_app;
-- DELETE privilege is enough to soft-delete; the audit row is written as the extension owner
DELETE FROM active_tags WHERE id = 1;
SELECT id, deleted_at IS NOT NULL AS deleted, deleted_by FROM tags ORDER BY id;
-- but the audit trail and the admin functions are not theirs
SELECT count(*) FROM nova.audit_log;
\echo :LAST_ERROR_SQLSTATE
INSERT INTO nova.audit_log (action, table_name, pk) VALUES ('restore', 'x', '{}');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.purge('sdp.tags', '0');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.erase_subject('u2');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.enable_soft_delete('sdp.tags');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.restore('sdp.tags', '{"id": 1}');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT actor FROM nova.audit_log WHERE table_name = 'sdp.tags' ORDER BY id DESC LIMIT 1;
SELECT has_table_privilege('nova_service', 'nova.audit_log', 'INSERT') AS service_can_write_audit,
       has_function_privilege('nova_service', 'nova.restore(regclass, jsonb)', 'EXECUTE') AS service_can_restore;

-- clean up
SET client_min_messages = warning;
SELECT nova.disable_outbox(t) FROM (VALUES ('sdp.users'::regclass), ('sdp.posts'), ('sdp.comments')) v(t);
SELECT nova.disable_soft_delete(t) FROM (VALUES ('sdp.users'::regclass), ('sdp.posts'), ('sdp.comments'), ('sdp.tags'), ('sdp.keyed'), ('sdp.keyed2')) v(t);
RESET client_min_messages;
DELETE FROM nova.outbox WHERE source LIKE '%.sdp.%';
DELETE FROM nova.audit_log WHERE table_name LIKE 'sdp.%';
RESET search_path;
SET client_min_messages = warning;
DROP SCHEMA sdp CASCADE;
RESET client_min_messages;
DROP ROLE regress_sd_app;
