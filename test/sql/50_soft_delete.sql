-- Soft delete (docs/soft-delete.md): enable/disable, DELETE semantics, the active_ view,
-- cascade and exact restore.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS nova;
RESET client_min_messages;
\set VERBOSITY default

CREATE SCHEMA sd;
SET search_path = sd, public;
CREATE TABLE users (id bigint PRIMARY KEY, email text UNIQUE, name text);
CREATE TABLE posts (id bigint PRIMARY KEY, author_id bigint NOT NULL REFERENCES users ON DELETE CASCADE, body text);
CREATE TABLE comments (id bigint PRIMARY KEY,
  post_id bigint NOT NULL REFERENCES posts ON DELETE CASCADE,
  author_id bigint REFERENCES users ON DELETE SET NULL,
  parent_id bigint REFERENCES comments ON DELETE CASCADE,
  body text);
CREATE TABLE likes (post_id bigint REFERENCES posts ON DELETE CASCADE, user_id bigint, PRIMARY KEY (post_id, user_id));

-- ---- enable_soft_delete: errors ------------------------------------------
CREATE TABLE nopk (a int);
SELECT nova.enable_soft_delete('nopk');
\echo :LAST_ERROR_SQLSTATE
CREATE VIEW v AS SELECT 1 AS x;
SELECT nova.enable_soft_delete('v');
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE parted (id int PRIMARY KEY) PARTITION BY RANGE (id);
SELECT nova.enable_soft_delete('parted');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.enable_soft_delete('users', 'no_such_column');
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE badcol (id int PRIMARY KEY, deleted_at date);
SELECT nova.enable_soft_delete('badcol');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.enable_soft_delete('no_such_table');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.enable_soft_delete(NULL);
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE "a_table_name_that_is_long_enough_to_overflow_the_view_name_xx" (id int PRIMARY KEY);
SELECT nova.enable_soft_delete('"a_table_name_that_is_long_enough_to_overflow_the_view_name_xx"');
\echo :LAST_ERROR_SQLSTATE
-- nothing was changed by the failed calls
SELECT count(*) FROM nova.soft_delete_tables;
SELECT count(*) FROM pg_attribute WHERE attrelid = 'nopk'::regclass AND attname LIKE 'deleted%';
DROP TABLE nopk, parted, badcol, "a_table_name_that_is_long_enough_to_overflow_the_view_name_xx";
DROP VIEW v;

-- ---- enable_soft_delete: reports unique constraints and foreign keys ---------
SELECT nova.enable_soft_delete('users', 'id');
SELECT nova.enable_soft_delete('posts', 'author_id');
SELECT nova.enable_soft_delete('comments', 'author_id');
SELECT nova.enable_soft_delete('likes', 'user_id');
-- idempotent
SELECT nova.enable_soft_delete('posts', 'author_id');
SELECT tbl, owner_column FROM nova.soft_delete_tables ORDER BY tbl::text;
SELECT tbl, index_name, constraint_name, columns, fix FROM nova.soft_delete_unique_conflicts;
SELECT parent, child, constraint_name, on_delete, on_soft_delete FROM nova.soft_delete_foreign_keys ORDER BY 1, 2, 3;
SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
  WHERE attrelid = 'posts'::regclass AND attname LIKE 'deleted%' ORDER BY attnum;
SELECT tgname FROM pg_trigger WHERE tgrelid = 'posts'::regclass AND NOT tgisinternal ORDER BY 1;
SELECT relname, reloptions FROM pg_class WHERE relname LIKE 'active_%' AND relnamespace = 'sd'::regnamespace ORDER BY 1;
-- the suggested fix removes the conflict
CREATE UNIQUE INDEX users_email_key_active ON sd.users (email) WHERE deleted_at IS NULL;
ALTER TABLE sd.users DROP CONSTRAINT users_email_key;
SELECT count(*) FROM nova.soft_delete_unique_conflicts;

INSERT INTO users VALUES (1, 'ann@example.com', 'Ann'), (2, 'bob@example.com', 'Bob'), (3, 'cy@example.com', 'Cy');
INSERT INTO posts VALUES (10, 1, 'p10'), (11, 1, 'p11'), (20, 2, 'p20');
INSERT INTO comments VALUES (100, 10, 2, NULL, 'c100'), (101, 10, 1, 100, 'reply to c100'),
  (102, 10, 3, NULL, 'c102'), (103, 10, 2, 101, 'reply to 101'), (200, 20, 1, NULL, 'c200');
INSERT INTO likes VALUES (10, 2), (10, 3), (20, 1);

-- ---- DELETE soft-deletes ----------------------------------------------------
-- On the table, a BEFORE trigger turns DELETE into UPDATE: the count is 0, the row stays.
BEGIN;
DELETE FROM comments WHERE id = 102;
SELECT id, deleted_at IS NOT NULL AS deleted, deleted_at = now() AS at_now, deleted_by = current_user AS by_me,
       deleted_op IS NOT NULL AS has_op FROM comments WHERE id = 102;
COMMIT;
-- deleting it again changes nothing (and is not audited again)
SELECT deleted_at, deleted_op INTO TEMP before102 FROM comments WHERE id = 102;
DELETE FROM comments WHERE id = 102;
SELECT c.deleted_at = b.deleted_at AND c.deleted_op = b.deleted_op AS unchanged FROM comments c, before102 b WHERE c.id = 102;
SELECT count(*) FROM nova.audit_log WHERE table_name = 'sd.comments' AND pk = '{"id": 102}';
-- Through the view the count is right, and a deleted row is no longer seen.
SELECT count(*) FROM active_comments;
DELETE FROM active_comments WHERE id = 102;
DELETE FROM active_comments WHERE id = 200;
SELECT count(*) FROM active_comments;
-- DELETE … RETURNING through the view returns the soft-deleted rows
UPDATE comments SET deleted_at = NULL WHERE id = 200;
DELETE FROM active_comments WHERE id = 200 RETURNING id, body;
UPDATE comments SET deleted_at = NULL WHERE id = 200;
-- INSERT and UPDATE through the view go to the table
INSERT INTO active_comments (id, post_id, author_id, body) VALUES (104, 11, 3, 'via view');
UPDATE active_comments SET body = 'edited via view' WHERE id = 104;
SELECT id, body, deleted_at IS NULL AS live FROM comments WHERE id = 104;
-- clients cannot forge deleted_by / deleted_op: refused (42501); nova fills them
UPDATE comments SET deleted_at = now(), deleted_by = 'someone else', deleted_op = 42 WHERE id = 104;
\echo :LAST_ERROR_SQLSTATE
SELECT deleted_at IS NULL AS untouched FROM comments WHERE id = 104;
UPDATE comments SET deleted_at = now() WHERE id = 104;
SELECT deleted_by = current_user AS by_me, deleted_op IS NOT NULL AS has_op FROM comments WHERE id = 104;
UPDATE comments SET deleted_by = 'someone else', deleted_op = 42 WHERE id = 104;
\echo :LAST_ERROR_SQLSTATE
SELECT deleted_by = current_user AS by_me, deleted_op <> 42 AS real_op FROM comments WHERE id = 104;
UPDATE comments SET deleted_at = NULL WHERE id = 104;
SELECT deleted_at IS NULL AND deleted_by IS NULL AND deleted_op IS NULL AS restored FROM comments WHERE id = 104;

-- ---- cascade ---------------------------------------------------------------
-- Deleting post 10 soft-deletes its comments (multi-level: replies via parent_id),
-- its likes, all with the same deleted_at / deleted_by / operation id.
-- Comment 102 was deleted earlier on its own and keeps its own operation.
DELETE FROM active_posts WHERE id = 10;
SELECT 'post' AS kind, id::text, deleted_at IS NOT NULL AS deleted FROM posts WHERE id = 10
UNION ALL SELECT 'comment', id::text, deleted_at IS NOT NULL FROM comments WHERE post_id = 10
UNION ALL SELECT 'like', post_id || '/' || user_id, deleted_at IS NOT NULL FROM likes WHERE post_id = 10
ORDER BY 1, 2;
SELECT count(DISTINCT (deleted_at, deleted_by, deleted_op)) AS one_operation FROM (
  SELECT deleted_at, deleted_by, deleted_op FROM posts WHERE id = 10
  UNION ALL SELECT deleted_at, deleted_by, deleted_op FROM comments WHERE post_id = 10 AND id <> 102
  UNION ALL SELECT deleted_at, deleted_by, deleted_op FROM likes WHERE post_id = 10) s;
SELECT (SELECT deleted_op FROM comments WHERE id = 102) <> (SELECT deleted_op FROM posts WHERE id = 10) AS own_op;
-- other posts untouched
SELECT id, deleted_at IS NULL AS live FROM posts ORDER BY id;

-- ---- exact restore ------------------------------------------------------------
SELECT nova.restore('posts', '{"id": 10}');
SELECT id, deleted_at IS NOT NULL AS deleted FROM comments WHERE post_id = 10 ORDER BY id;
SELECT count(*) AS likes_live FROM likes WHERE post_id = 10 AND deleted_at IS NULL;
-- restoring a row that is not deleted, or does not exist, restores nothing
SELECT nova.restore('posts', '{"id": 10}');
SELECT nova.restore('posts', '{"id": 999}');

-- A child deleted earlier in the SAME transaction, by another statement, stays deleted.
BEGIN;
DELETE FROM comments WHERE id = 103;
DELETE FROM posts WHERE id = 10;
SELECT count(*) FILTER (WHERE deleted_at IS NOT NULL) AS deleted FROM comments WHERE post_id = 10;
UPDATE posts SET deleted_at = NULL WHERE id = 10;
SELECT id, deleted_at IS NOT NULL AS deleted FROM comments WHERE post_id = 10 ORDER BY id;
COMMIT;

-- One DELETE statement = one operation, even for many rows (and a data-modifying CTE).
WITH a AS (DELETE FROM active_posts WHERE id = 11 RETURNING id) DELETE FROM active_posts WHERE id = 20;
SELECT count(DISTINCT deleted_op) FROM posts WHERE id IN (11, 20);
UPDATE posts SET deleted_at = NULL WHERE id IN (11, 20);

-- Deleting a user cascades user → posts → comments/likes; restoring the user restores them all,
-- but not what had been deleted before.
DELETE FROM comments WHERE id = 100;   -- on its own: its reply 101 and 103 go with it
SELECT id, deleted_at IS NOT NULL AS deleted FROM comments ORDER BY id;
DELETE FROM users WHERE id = 1;
SELECT count(*) FILTER (WHERE deleted_at IS NULL) AS live_posts FROM posts WHERE author_id = 1;
SELECT id, deleted_at IS NOT NULL AS deleted FROM comments ORDER BY id;
SELECT nova.restore('users', '{"id": 1}');
SELECT id, deleted_at IS NOT NULL AS deleted FROM comments ORDER BY id;
-- ON DELETE SET NULL children are left alone (comments.author_id still references user 2)
DELETE FROM users WHERE id = 2;
SELECT count(*) FROM comments WHERE author_id = 2;
UPDATE users SET deleted_at = NULL WHERE id = 2;
SELECT id, deleted_at IS NOT NULL AS deleted FROM comments ORDER BY id;

-- Cached metadata rebuilt in the middle of a cascade (here: an invalidation of the table
-- between the nested statements) is retired, not freed under the outer trigger still using it.
INSERT INTO comments VALUES (105, 11, 2, 104, 'reply to 104'), (106, 11, 3, 105, 'reply to 105');
CREATE FUNCTION invalidate_me() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM nova._soft_delete_invalidate(TG_RELID); RETURN NEW; END $$;
CREATE TRIGGER a_invalidate BEFORE UPDATE ON comments FOR EACH ROW EXECUTE FUNCTION invalidate_me();
DELETE FROM active_posts WHERE id = 11;
SELECT id, deleted_at IS NOT NULL AS deleted FROM comments WHERE post_id = 11 ORDER BY id;
SELECT nova.restore('posts', '{"id": 11}');
DROP TRIGGER a_invalidate ON comments;
SELECT id, deleted_at IS NOT NULL AS deleted FROM comments WHERE post_id = 11 ORDER BY id;

-- Cycles: two tables referencing each other with ON DELETE CASCADE.
CREATE TABLE ca (id int PRIMARY KEY, b_id int);
CREATE TABLE cb (id int PRIMARY KEY, a_id int REFERENCES ca ON DELETE CASCADE);
ALTER TABLE ca ADD FOREIGN KEY (b_id) REFERENCES cb ON DELETE CASCADE;
SET client_min_messages = warning;
SELECT nova.enable_soft_delete('ca'), nova.enable_soft_delete('cb');
RESET client_min_messages;
INSERT INTO ca VALUES (1, NULL);
INSERT INTO cb VALUES (1, 1);
UPDATE ca SET b_id = 1 WHERE id = 1;
DELETE FROM active_ca WHERE id = 1;
SELECT (SELECT deleted_at IS NOT NULL FROM ca) AS ca_deleted, (SELECT deleted_at IS NOT NULL FROM cb) AS cb_deleted;
SELECT nova.restore('cb', '{"id": 1}');
SELECT (SELECT deleted_at IS NULL FROM ca) AS ca_live, (SELECT deleted_at IS NULL FROM cb) AS cb_live;

-- Composite primary keys
DELETE FROM likes WHERE post_id = 20 AND user_id = 1;
SELECT nova.restore('likes', '{"post_id": 20, "user_id": 1}');

-- ---- restore: errors ---------------------------------------------------------
SELECT nova.restore('likes', '{"post_id": 20}');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.restore('likes', '{"post_id": 20, "user_id": 1, "extra": 1}');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.restore('posts', '[10]');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.restore('posts', '{"id": null}');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.restore('posts', '{"id": "ten"}');
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE plain (id int PRIMARY KEY);
SELECT nova.restore('plain', '{"id": 1}');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.restore(NULL, '{"id": 1}') IS NULL AS strict;

-- ---- TRUNCATE is refused --------------------------------------------------------
TRUNCATE comments;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM comments;

-- ---- disable_soft_delete ---------------------------------------------------------
SELECT nova.disable_soft_delete('likes');
SELECT nova.disable_soft_delete('likes');   -- idempotent
SELECT nova.disable_soft_delete('plain');   -- never enabled: nothing to do
SELECT count(*) FROM pg_trigger WHERE tgrelid = 'likes'::regclass AND NOT tgisinternal;
SELECT count(*) FROM pg_class WHERE relname = 'active_likes';
-- columns stay; DELETE is a hard delete again
SELECT count(*) FROM pg_attribute WHERE attrelid = 'likes'::regclass AND attname LIKE 'deleted%';
DELETE FROM likes WHERE post_id = 20;
SELECT count(*) FROM likes WHERE post_id = 20;
-- posts no longer cascade into likes (cached plans were invalidated)
DELETE FROM posts WHERE id = 10;
SELECT count(*) FILTER (WHERE deleted_at IS NULL) AS likes_live FROM likes WHERE post_id = 10;
UPDATE posts SET deleted_at = NULL WHERE id = 10;

-- the audit trail recorded every transition, keys only
SELECT action, table_name, count(*) FROM nova.audit_log WHERE table_name LIKE 'sd.%'
  GROUP BY 1, 2 ORDER BY 2, 1;
SELECT DISTINCT jsonb_object_keys(pk) FROM nova.audit_log WHERE table_name LIKE 'sd.%' ORDER BY 1;
SELECT bool_and(actor = current_user) AS actor_me FROM nova.audit_log WHERE table_name LIKE 'sd.%';

-- clean up
SELECT nova.disable_soft_delete(t) FROM (VALUES ('sd.users'::regclass), ('sd.posts'), ('sd.comments'), ('sd.ca'), ('sd.cb')) v(t);
SELECT count(*) FROM nova.soft_delete_tables;
DELETE FROM nova.audit_log WHERE table_name LIKE 'sd.%';
RESET search_path;
SET client_min_messages = warning;
DROP SCHEMA sd CASCADE;
RESET client_min_messages;
