-- The transactional outbox (docs/outbox.md): nova.enable_outbox / disable_outbox, the
-- C++ row trigger (event types, payloads, keys, partitions, COPY, rollback),
-- nova.publish, privileges, and every error path.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS nova;
RESET client_min_messages;
\set SHOW_CONTEXT never
TRUNCATE nova.outbox;

CREATE TYPE ob_mood AS ENUM ('happy', 'sad');
CREATE DOMAIN ob_positive AS int CHECK (VALUE > 0);
CREATE TYPE ob_point AS (x int, y int);
CREATE TABLE ob_posts (
  id         bigint PRIMARY KEY,
  author_id  ob_positive,
  body       text,
  secret     text,
  meta       jsonb,
  n          numeric,
  f          float8,
  tags       text[],
  at         timestamptz,
  day        date,
  ok         boolean,
  u          uuid,
  mood       ob_mood,
  pt         ob_point,
  js         json,
  ch         char(4),
  small      smallint
);

-- Defaults: topic nova.<table>, key = primary key, entity = singular CamelCase.
SELECT nova.enable_outbox('ob_posts', exclude_columns => '{secret}');
SELECT tbl, topic, key_columns, entity, exclude_columns FROM nova.outbox_tables;
SELECT tgname, tgenabled, tgtype FROM pg_trigger WHERE tgrelid = 'ob_posts'::regclass;

-- INSERT → <Entity>Created; payload = the row as JSON minus excluded columns,
-- exactly what to_jsonb(row) gives.
INSERT INTO ob_posts VALUES
  (1, 7, 'hello', 'hidden', '{"a": [1, 2]}', 1.50, 2.5, '{x,y}', '2026-01-02 03:04:05+00', '2026-01-02', true,
   'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'happy', '(1,2)', '{"j": 1}', 'ab', 3),
  (2, 8, 'world', 'hidden', '5', 'NaN', 'Infinity', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
SELECT topic, key, event_type, payload ? 'secret' AS has_secret, source = current_database() || '.public.ob_posts' AS source_ok,
       actor = current_user AS actor_ok, schema_version, headers, attempts, next_attempt_at, last_error
  FROM nova.outbox ORDER BY id;
-- (payloads render timestamptz in UTC whatever the writer's TimeZone: compare in UTC)
SET TimeZone = 'UTC';
SELECT o.payload = to_jsonb(p) - 'secret' AS same_as_to_jsonb
  FROM nova.outbox o JOIN ob_posts p ON p.id::text = o.key ORDER BY o.id;
RESET TimeZone;
SELECT payload FROM nova.outbox WHERE key = '2';
-- one generated correlation id for the whole transaction, no traceparent
SELECT count(DISTINCT correlation_id) AS ids, bool_and(length(correlation_id) = 36) AS generated,
       bool_and(traceparent IS NULL) AS no_traceparent FROM nova.outbox;
TRUNCATE nova.outbox;

-- The service's correlation id and traceparent are recorded.
BEGIN;
SET LOCAL nova.correlation_id = 'req-outbox-1';
SET LOCAL nova.traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
INSERT INTO ob_posts (id, author_id, body) VALUES (3, 9, 'traced');
COMMIT;
SELECT key, event_type, correlation_id, traceparent FROM nova.outbox;
TRUNCATE nova.outbox;

-- UPDATE → Updated with the new row; an UPDATE that changes only excluded
-- columns, or nothing, publishes nothing.
UPDATE ob_posts SET secret = 'changed' WHERE id = 1;
UPDATE ob_posts SET body = body WHERE id = 1;
SELECT count(*) AS events_for_invisible_updates FROM nova.outbox;
UPDATE ob_posts SET body = 'hello again' WHERE id = 1;
SELECT key, event_type, payload->>'body' AS body FROM nova.outbox;
TRUNCATE nova.outbox;

-- DELETE → Deleted with the old row.
DELETE FROM ob_posts WHERE id = 2;
SELECT key, event_type, payload->>'body' AS body, payload IS NOT NULL AS has_payload FROM nova.outbox;
TRUNCATE nova.outbox;

-- Multi-row statements and COPY: one event per row.
INSERT INTO ob_posts (id, author_id, body) SELECT g, 1, 'bulk ' || g FROM generate_series(100, 149) g;
COPY ob_posts (id, author_id, body) FROM stdin;
200	1	copied one
201	1	copied two
\.
UPDATE ob_posts SET body = body || '!' WHERE id BETWEEN 100 AND 109;
DELETE FROM ob_posts WHERE id BETWEEN 140 AND 149;
SELECT event_type, count(*), count(DISTINCT key) AS keys FROM nova.outbox GROUP BY 1 ORDER BY 1;
TRUNCATE nova.outbox;

-- Rolling back a transaction or a savepoint removes exactly its events.
BEGIN;
INSERT INTO ob_posts (id, author_id, body) VALUES (300, 1, 'rolled back');
ROLLBACK;
BEGIN;
INSERT INTO ob_posts (id, author_id, body) VALUES (301, 1, 'kept');
SAVEPOINT s1;
INSERT INTO ob_posts (id, author_id, body) VALUES (302, 1, 'undone');
UPDATE ob_posts SET body = 'undone too' WHERE id = 301;
ROLLBACK TO SAVEPOINT s1;
INSERT INTO ob_posts (id, author_id, body) VALUES (303, 1, 'kept after savepoint');
COMMIT;
SELECT key, event_type FROM nova.outbox ORDER BY id;
-- an error in the business statement leaves no event behind
INSERT INTO ob_posts (id, author_id, body) VALUES (304, 1, 'a'), (301, 1, 'duplicate key');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS events FROM nova.outbox WHERE key = '304';
TRUNCATE nova.outbox;

-- The direct partition insert and the SPI fallback write the same events.
SELECT nova._outbox_fast_path(false) AS was_fast;
INSERT INTO ob_posts (id, author_id, body, n, tags) VALUES (400, 1, 'via spi', 4.5, '{a}');
SELECT nova._outbox_fast_path(true) AS was_fast;
INSERT INTO ob_posts (id, author_id, body, n, tags) VALUES (401, 1, 'via spi', 4.5, '{a}');
SELECT count(DISTINCT payload - 'id') AS distinct_payloads, count(*) AS events, count(DISTINCT event_id) AS event_ids,
       count(DISTINCT slot) AS slots FROM nova.outbox;
TRUNCATE nova.outbox;

-- Schema changes are picked up (relcache invalidation), in this session too.
ALTER TABLE ob_posts ADD COLUMN added int DEFAULT 42;
INSERT INTO ob_posts (id, author_id, body) VALUES (500, 1, 'after alter');
ALTER TABLE ob_posts DROP COLUMN small;
UPDATE ob_posts SET body = 'after drop' WHERE id = 500;
SELECT event_type, payload->'added' AS added, payload ? 'small' AS has_small FROM nova.outbox ORDER BY id;
TRUNCATE nova.outbox;

-- Re-enabling replaces the configuration (idempotent).
SELECT nova.enable_outbox('ob_posts', topic => 'social.posts', entity => 'Article', exclude_columns => '{secret, meta}');
SELECT nova.enable_outbox('ob_posts', topic => 'social.posts', entity => 'Article', exclude_columns => '{secret, meta}');
SELECT tbl, topic, key_columns, entity, exclude_columns FROM nova.outbox_tables;
SELECT count(*) AS triggers FROM pg_trigger WHERE tgrelid = 'ob_posts'::regclass;
INSERT INTO ob_posts (id, author_id, body, meta) VALUES (600, 1, 'reconfigured', '{}');
SELECT topic, key, event_type, payload ? 'meta' AS has_meta FROM nova.outbox;
TRUNCATE nova.outbox;

-- Soft delete semantics when the table has a deleted_at column.
CREATE TABLE ob_comments (
  id         int PRIMARY KEY,
  body       text,
  deleted_at timestamptz,
  deleted_by text
);
SELECT nova.enable_outbox('ob_comments');
INSERT INTO ob_comments VALUES (1, 'c1', NULL, NULL), (2, 'c2', NULL, NULL);
UPDATE ob_comments SET deleted_at = '2026-03-01 00:00:00+00', deleted_by = 'alice' WHERE id = 1;  -- Deleted
UPDATE ob_comments SET body = 'edited while deleted' WHERE id = 1;                                -- Updated
UPDATE ob_comments SET deleted_at = NULL, deleted_by = NULL WHERE id = 1;                         -- Restored
UPDATE ob_comments SET deleted_at = '2026-03-02 00:00:00+00', deleted_by = 'bob' WHERE id = 1;    -- Deleted
DELETE FROM ob_comments WHERE id = 1;                                                             -- Purged
DELETE FROM ob_comments WHERE id = 2;                                                             -- Deleted (hard)
SELECT key, event_type, payload->>'deleted_at' AS deleted_at, payload->>'deleted_by' AS deleted_by,
       payload IS NULL AS tombstone
  FROM nova.outbox ORDER BY id;
TRUNCATE nova.outbox;

-- Composite primary key: the key is a JSON array; key_column overrides the key.
CREATE TABLE ob_user_follows (follower_id int, followee text, since date, PRIMARY KEY (followee, follower_id));
SELECT nova.enable_outbox('ob_user_follows');
INSERT INTO ob_user_follows VALUES (1, 'bob', '2026-01-01');
SELECT nova.enable_outbox('ob_user_follows', key_column => 'since');
INSERT INTO ob_user_follows VALUES (2, 'bob', NULL);
SELECT topic, key, event_type FROM nova.outbox ORDER BY id;
SELECT tbl, key_columns, entity FROM nova.outbox_tables WHERE tbl = 'ob_user_follows'::regclass;
TRUNCATE nova.outbox;

-- A table without a primary key needs key_column.
CREATE TABLE ob_replies (reply_no int, body text);
SELECT nova.enable_outbox('ob_replies');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.enable_outbox('ob_replies', key_column => 'reply_no');
INSERT INTO ob_replies VALUES (5, 'r');
SELECT topic, key, event_type FROM nova.outbox;
TRUNCATE nova.outbox;

-- Partitioned tables: enable on the parent; every partition (also ones created
-- later) publishes with the parent's topic and source.
CREATE TABLE ob_messages (id int, conv int, body text, PRIMARY KEY (conv, id)) PARTITION BY LIST (conv);
CREATE TABLE ob_messages_1 PARTITION OF ob_messages FOR VALUES IN (1);
SELECT nova.enable_outbox('ob_messages');
CREATE TABLE ob_messages_2 PARTITION OF ob_messages FOR VALUES IN (2);
INSERT INTO ob_messages VALUES (1, 1, 'in p1'), (1, 2, 'in p2');
INSERT INTO ob_messages_2 VALUES (2, 2, 'straight into p2');
UPDATE ob_messages SET conv = 1 WHERE id = 2;  -- moves between partitions: delete + insert
SELECT topic, key, event_type, source = current_database() || '.public.ob_messages' AS parent_source
  FROM nova.outbox ORDER BY id;
-- the configuration lives on the parent
SELECT nova.enable_outbox('ob_messages_1');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.disable_outbox('ob_messages_1');
\echo :LAST_ERROR_SQLSTATE
TRUNCATE nova.outbox;
-- a partition may have its own outbox only while its parent has none
SELECT nova.disable_outbox('ob_messages');
SELECT nova.enable_outbox('ob_messages_1', topic => 'p1.only');
SELECT nova.enable_outbox('ob_messages');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO ob_messages VALUES (3, 1, 'p1 only'), (3, 2, 'not published');
SELECT topic, key, source = current_database() || '.public.ob_messages_1' AS partition_source FROM nova.outbox;
SELECT nova.disable_outbox('ob_messages_1');
TRUNCATE nova.outbox;

-- Writers need no privilege on nova.outbox; actor = the writing role.
CREATE ROLE nova_regress_writer;
GRANT INSERT, UPDATE, DELETE, SELECT ON ob_posts TO nova_regress_writer;
SET ROLE nova_regress_writer;
INSERT INTO ob_posts (id, author_id, body) VALUES (700, 1, 'by writer');
SELECT count(*) FROM nova.outbox;
\echo :LAST_ERROR_SQLSTATE
-- and they cannot call the admin functions
SELECT nova.enable_outbox('ob_posts');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.disable_outbox('ob_posts');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.publish('t', 'k', 'E', '{}');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT key, actor FROM nova.outbox;
TRUNCATE nova.outbox;
SELECT current_user = (SELECT rolname FROM pg_roles r JOIN pg_class c ON c.relowner = r.oid WHERE c.oid = 'nova.outbox'::regclass)
  AS test_runs_as_owner;

-- nova.publish: an explicit event in the caller's transaction (needs a publish
-- grant for the topic: test/sql/21_outbox_security.sql).
GRANT nova_service TO nova_regress_writer;
SELECT nova.grant_publish('nova_regress_writer', 'billing.%');
SET ROLE nova_regress_writer;
BEGIN;
SET LOCAL nova.correlation_id = 'req-publish';
SELECT nova.publish('billing.invoices', 'inv-1', 'InvoicePaid', '{"amount": 10}', '{"tenant": "acme"}') IS NOT NULL AS published;
SELECT nova.publish('billing.invoices', NULL, 'InvoiceNoted', NULL) IS NOT NULL AS published;
SELECT nova.publish('billing.invoices', 'k', 'InvoiceNoted', '{}', NULL) IS NOT NULL AS published;
COMMIT;
BEGIN;
SELECT nova.publish('billing.invoices', 'inv-2', 'InvoiceVoided', '{}') IS NOT NULL AS published;
ROLLBACK;
RESET ROLE;
SELECT topic, key, event_type, payload, headers, correlation_id, actor, source FROM nova.outbox ORDER BY id;
SELECT (SELECT event_id FROM nova.outbox WHERE key = 'inv-1') IS NOT NULL AS has_event_id;
TRUNCATE nova.outbox;
-- publish errors
SELECT nova.publish(NULL, 'k', 'E', '{}');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.publish('', 'k', 'E', '{}');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.publish('bad topic!', 'k', 'E', '{}');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.publish('t', 'k', NULL, '{}');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.publish('t', 'k', '', '{}');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.publish('t', 'k', 'E', '{}', '["not", "an", "object"]');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.publish('t', 'k', 'E', '{}', '"scalar"');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.publish('t', 'k', 'E', '{}', '{"n": 1}');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.publish('t', 'k', 'E', '{}', '{"": "x"}');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS events_after_errors FROM nova.outbox;

-- enable_outbox errors
SELECT nova.enable_outbox(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT nova.enable_outbox('ob_no_such_table');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.enable_outbox(1::oid::regclass);
\echo :LAST_ERROR_SQLSTATE
CREATE VIEW ob_view AS SELECT 1 AS id;
SELECT nova.enable_outbox('ob_view');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.enable_outbox('nova.outbox_tables');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.enable_outbox('ob_posts', key_column => 'nope');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.enable_outbox('ob_posts', exclude_columns => '{nope}');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.enable_outbox('ob_posts', exclude_columns => '{id}');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.enable_outbox('ob_posts', exclude_columns => ARRAY[NULL]::name[]);
\echo :LAST_ERROR_SQLSTATE
SELECT nova.enable_outbox('ob_posts', topic => ' ');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.enable_outbox('ob_posts', topic => 'has space');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.enable_outbox('ob_posts', entity => '');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.enable_outbox('ob_posts', entity => 'Not An Identifier');
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE "Ob Weird Name!" (id int PRIMARY KEY);
SELECT nova.enable_outbox('"Ob Weird Name!"');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.enable_outbox('"Ob Weird Name!"', topic => 'ob.weird', entity => 'Weird');
CREATE TABLE ob_own_trigger (id int PRIMARY KEY);
CREATE FUNCTION ob_noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
CREATE TRIGGER nova_outbox AFTER INSERT ON ob_own_trigger FOR EACH ROW EXECUTE FUNCTION ob_noop();
SELECT nova.enable_outbox('ob_own_trigger');
\echo :LAST_ERROR_SQLSTATE
-- failed calls changed nothing
SELECT tbl, topic, key_columns, entity, exclude_columns FROM nova.outbox_tables ORDER BY tbl::text;

-- The trigger function refuses to be installed any other way.
CREATE TABLE ob_misuse (id int PRIMARY KEY);
CREATE TRIGGER ob_before BEFORE INSERT ON ob_misuse FOR EACH ROW EXECUTE FUNCTION nova._outbox_trigger('1', 't', 'E', '1', 'id');
INSERT INTO ob_misuse VALUES (1);
\echo :LAST_ERROR_SQLSTATE
DROP TRIGGER ob_before ON ob_misuse;
CREATE TRIGGER ob_bad_args AFTER INSERT ON ob_misuse FOR EACH ROW EXECUTE FUNCTION nova._outbox_trigger('9');
INSERT INTO ob_misuse VALUES (1);
\echo :LAST_ERROR_SQLSTATE
DROP TRIGGER ob_bad_args ON ob_misuse;
CREATE TRIGGER ob_bad_key AFTER INSERT ON ob_misuse FOR EACH ROW EXECUTE FUNCTION nova._outbox_trigger('1', 't', 'E', '1', 'nope');
INSERT INTO ob_misuse VALUES (1);
\echo :LAST_ERROR_SQLSTATE
DROP TRIGGER ob_bad_key ON ob_misuse;
SELECT count(*) AS events FROM nova.outbox;

-- An invalid request.headers fails the write: no row, no event.
BEGIN;
SELECT set_config('request.headers', '{"x-request-id": 1}', true) IS NOT NULL AS set;
INSERT INTO ob_posts (id, author_id, body) VALUES (800, 1, 'x');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
SELECT count(*) AS events FROM nova.outbox;

-- disable_outbox: no more events; idempotent.
SELECT nova.disable_outbox('ob_posts');
INSERT INTO ob_posts (id, author_id, body) VALUES (900, 1, 'unpublished');
SELECT count(*) AS events FROM nova.outbox;
SELECT nova.disable_outbox('ob_posts');
SELECT nova.disable_outbox(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS triggers FROM pg_trigger WHERE tgrelid = 'ob_posts'::regclass;
SELECT tbl FROM nova.outbox_tables ORDER BY tbl::text;

-- Entity naming rules.
SELECT t, nova._outbox_entity_name(t) FROM unnest(ARRAY['posts', 'comments', 'user_follows', 'replies', 'addresses',
  'conversation_members', 'people', 'status', 'categories', 'boxes']) AS t;

-- clean up
SELECT nova.disable_outbox(tbl) FROM nova.outbox_tables;
DROP TABLE ob_posts, ob_comments, ob_user_follows, ob_replies, ob_messages, "Ob Weird Name!", ob_own_trigger, ob_misuse;
DROP VIEW ob_view;
DROP FUNCTION ob_noop();
DROP TYPE ob_mood, ob_point;
DROP DOMAIN ob_positive;
REVOKE nova_service FROM nova_regress_writer;
SELECT nova.revoke_publish('nova_regress_writer', 'billing.%');
DROP ROLE nova_regress_writer;
TRUNCATE nova.outbox;
SELECT count(*) AS configs_left FROM nova.outbox_tables;
