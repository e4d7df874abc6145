-- The 1.1 event contract (docs/outbox.md): tombstones after hard deletes,
-- payloads that do not depend on the writer's session, schema-qualified default
-- topics that cannot collide, fixed headers and tracestate, and triggers
-- created by 1.0 (argument format 1) still working.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS nova;
RESET client_min_messages;
\set SHOW_CONTEXT never
TRUNCATE nova.outbox;

-- ---- tombstones --------------------------------------------------------------
CREATE TABLE oc_items (id int PRIMARY KEY, name text);
SELECT nova.enable_outbox('oc_items');
SELECT topic, tombstones, headers FROM nova.outbox_tables WHERE tbl = 'oc_items'::regclass;
INSERT INTO oc_items VALUES (1, 'a'), (2, 'b');
DELETE FROM oc_items WHERE id = 1;
-- Deleted (old row) then a tombstone: same key, NULL payload, after it.
SELECT key, event_type, payload FROM nova.outbox ORDER BY id;
TRUNCATE nova.outbox;
-- tombstones => false: 1.0 behaviour, Deleted only.
SELECT nova.enable_outbox('oc_items', tombstones => false);
DELETE FROM oc_items WHERE id = 2;
SELECT key, event_type, payload FROM nova.outbox ORDER BY id;
TRUNCATE nova.outbox;
SELECT nova.enable_outbox('oc_items', tombstones => NULL);
\echo :LAST_ERROR_SQLSTATE

-- ---- payloads do not depend on the session -----------------------------------
CREATE TABLE oc_times (
  id int PRIMARY KEY, at timestamptz, ts timestamp, d date, t time, iv interval, f8 float8, f4 float4,
  ats timestamptz[], during tstzrange, days daterange, grid timestamptz[][]
);
SELECT nova.enable_outbox('oc_times');
SET TimeZone = 'UTC';
INSERT INTO oc_times VALUES (1, '2026-01-02 03:04:05.5+00', '2026-01-02 03:04:05', '2026-01-02', '03:04:05',
  '1 day 02:03:04', 0.1, 0.1, '{"2026-01-02 03:04:05+00", NULL}', '[2026-01-02 00:00+00, 2026-01-03 00:00+00)',
  '[2026-01-02, 2026-01-05)', '{{"2026-01-02 00:00+00"},{"2026-01-03 00:00+00"}}');
SET TimeZone = 'Asia/Tokyo';
SET DateStyle = 'SQL, DMY';
SET IntervalStyle = 'iso_8601';
SET extra_float_digits = -3;
INSERT INTO oc_times SELECT 2, at, ts, d, t, iv, f8, f4, ats, during, days, grid FROM oc_times WHERE id = 1;
RESET TimeZone; RESET DateStyle; RESET IntervalStyle; RESET extra_float_digits;
-- The same values written from two different sessions give the same payload.
SELECT (SELECT payload - 'id' FROM nova.outbox WHERE key = '1') = (SELECT payload - 'id' FROM nova.outbox WHERE key = '2')
       AS same_payload;
SELECT jsonb_pretty(payload) FROM nova.outbox WHERE key = '2';
-- A timestamptz key is rendered in UTC too.
CREATE TABLE oc_tkeys (at timestamptz PRIMARY KEY);
SELECT nova.enable_outbox('oc_tkeys');
SET TimeZone = 'Asia/Tokyo';
INSERT INTO oc_tkeys VALUES ('2026-01-02 09:00+09');
RESET TimeZone;
SELECT key FROM nova.outbox WHERE event_type = 'OcTkeyCreated';
-- bytea is hex whatever bytea_output; date, timestamp, float and bytea keys read
-- as with the default settings whatever DateStyle, extra_float_digits, bytea_output.
CREATE TABLE oc_bkeys (d date, ts timestamp, f float8, b bytea, bytes bytea, blist bytea[],
  PRIMARY KEY (d, ts, f, b));
SELECT nova.enable_outbox('oc_bkeys');
INSERT INTO oc_bkeys VALUES ('2026-01-02', '2026-01-02 03:04:05.25', 0.1, '\x01ff', '\x00ab', '{"\\x01", NULL}');
SET bytea_output = 'escape';
SET DateStyle = 'SQL, DMY';
SET extra_float_digits = -3;
INSERT INTO oc_bkeys VALUES ('2026-01-02', '2026-01-02 03:04:05.25', 0.30000000000000004, '\x01ff', '\x00ab', '{"\\x01", NULL}');
RESET bytea_output; RESET DateStyle; RESET extra_float_digits;
SELECT key, payload->'bytes' AS bytes, payload->'blist' AS blist, payload->'ts' AS ts
  FROM nova.outbox WHERE event_type = 'OcBkeyCreated' ORDER BY key;
SELECT count(DISTINCT payload - 'f') AS same_payload_but_f FROM nova.outbox WHERE event_type = 'OcBkeyCreated';
CREATE TABLE oc_dkey (k date PRIMARY KEY);
CREATE TABLE oc_tskey (k timestamp PRIMARY KEY);
CREATE TABLE oc_fkey (k float8 PRIMARY KEY);
CREATE TABLE oc_bytekey (k bytea PRIMARY KEY);
SELECT nova.enable_outbox(t) FROM unnest('{oc_dkey,oc_tskey,oc_fkey,oc_bytekey}'::regclass[]) t;
SET bytea_output = 'escape';
SET DateStyle = 'SQL, DMY';
SET extra_float_digits = -3;
INSERT INTO oc_dkey VALUES ('2026-01-02');
INSERT INTO oc_tskey VALUES ('2026-01-02 03:04:05.25');
INSERT INTO oc_fkey VALUES (0.30000000000000004);
INSERT INTO oc_bytekey VALUES ('\x01ff');
RESET bytea_output; RESET DateStyle; RESET extra_float_digits;
SELECT event_type, key FROM nova.outbox WHERE event_type IN ('OcDkeyCreated', 'OcTskeyCreated', 'OcFkeyCreated', 'OcBytekeyCreated')
 ORDER BY event_type, key;
TRUNCATE nova.outbox;

-- ---- topics ------------------------------------------------------------------
CREATE SCHEMA oc_other;
CREATE TABLE oc_posts (id int PRIMARY KEY);
CREATE TABLE oc_other.oc_posts (id int PRIMARY KEY);
SELECT nova.enable_outbox('oc_posts');
SELECT nova.enable_outbox('oc_other.oc_posts');
SELECT tbl, topic FROM nova.outbox_tables WHERE tbl::text LIKE '%oc_posts' ORDER BY topic;
-- A default topic already used by another enabled table is refused
-- (public."oc_other.oc_posts" would also default to nova.oc_other.oc_posts).
CREATE TABLE "oc_other.oc_posts" (id int PRIMARY KEY);
SELECT nova.enable_outbox('"oc_other.oc_posts"');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS no_trigger FROM pg_trigger WHERE tgrelid = '"oc_other.oc_posts"'::regclass;
SELECT count(*) AS not_enabled FROM nova.outbox_tables WHERE tbl = '"oc_other.oc_posts"'::regclass;
-- An explicit topic may be shared on purpose.
SELECT nova.enable_outbox('"oc_other.oc_posts"', topic => 'nova.oc_other.oc_posts');
-- Re-running on the same table does not collide with itself.
SELECT nova.enable_outbox('oc_posts');

-- ---- fixed headers and tracestate --------------------------------------------
SELECT nova.enable_outbox('oc_items', headers => '{"tenant": "acme", "app": "forum"}');
SELECT headers FROM nova.outbox_tables WHERE tbl = 'oc_items'::regclass;
INSERT INTO oc_items VALUES (3, 'c');
BEGIN;
SET LOCAL nova.tracestate = 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE';
SELECT nova.tracestate();
INSERT INTO oc_items VALUES (4, 'd');
SELECT nova.publish('oc.explicit', 'k', 'Thing', '{}', '{"x": "y"}') IS NOT NULL AS published;
COMMIT;
BEGIN;
SET LOCAL request.headers = '{"tracestate": "vendor=abc"}';
SELECT nova.tracestate();
INSERT INTO oc_items VALUES (5, 'e');
COMMIT;
SELECT key, event_type, headers FROM nova.outbox ORDER BY id;
SELECT nova.tracestate() IS NULL AS no_tracestate;
TRUNCATE nova.outbox;
-- Invalid tracestate values are refused.
SET nova.tracestate = 'Upper=1';
\echo :LAST_ERROR_SQLSTATE
SET nova.tracestate = 'novalue';
\echo :LAST_ERROR_SQLSTATE
BEGIN;
SET LOCAL request.headers = '{"tracestate": "a=b=c"}';
SELECT nova.tracestate();
ROLLBACK;
-- Header validation.
SELECT nova.enable_outbox('oc_items', headers => '[1]');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.enable_outbox('oc_items', headers => '{"n": 1}');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.enable_outbox('oc_items', headers => '{"event-type": "x"}');
\echo :LAST_ERROR_SQLSTATE
SELECT headers FROM nova.outbox_tables WHERE tbl = 'oc_items'::regclass;

-- ---- a trigger created by 1.0 (argument format 1) keeps working --------------
CREATE TABLE oc_legacy (id int PRIMARY KEY, body text, secret text);
CREATE TRIGGER nova_outbox AFTER INSERT OR UPDATE OR DELETE ON oc_legacy
  FOR EACH ROW EXECUTE FUNCTION nova._outbox_trigger('1', 'nova.oc_legacy', 'OcLegacy', '1', 'id', 'secret');
INSERT INTO oc_legacy VALUES (1, 'x', 's');
DELETE FROM oc_legacy;
SELECT topic, key, event_type, payload, headers FROM nova.outbox ORDER BY id;
TRUNCATE nova.outbox;
-- hand-made format-2 arguments are checked
CREATE TABLE oc_bad (id int PRIMARY KEY);
CREATE TRIGGER nova_outbox AFTER INSERT ON oc_bad
  FOR EACH ROW EXECUTE FUNCTION nova._outbox_trigger('2', 'nova.oc_bad', 'OcBad', 'x', '{}', '1', 'id');
INSERT INTO oc_bad VALUES (1);
\echo :LAST_ERROR_SQLSTATE
DROP TRIGGER nova_outbox ON oc_bad;
CREATE TRIGGER nova_outbox AFTER INSERT ON oc_bad
  FOR EACH ROW EXECUTE FUNCTION nova._outbox_trigger('2', 'nova.oc_bad', 'OcBad', 't', '[]', '1', 'id');
INSERT INTO oc_bad VALUES (1);
\echo :LAST_ERROR_SQLSTATE

-- ---- privileges: a plain role cannot enable an outbox ------------------------
CREATE ROLE oc_plain;
GRANT USAGE ON SCHEMA nova TO oc_plain;
CREATE TABLE oc_mine (id int PRIMARY KEY);
ALTER TABLE oc_mine OWNER TO oc_plain;
SET ROLE oc_plain;
SELECT nova.enable_outbox('oc_mine', headers => '{"a": "b"}');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT count(*) AS not_enabled FROM nova.outbox_tables WHERE tbl = 'oc_mine'::regclass;

DROP TABLE oc_items, oc_times, oc_tkeys, oc_bkeys, oc_dkey, oc_tskey, oc_fkey, oc_bytekey, oc_posts, oc_other.oc_posts, "oc_other.oc_posts", oc_legacy, oc_bad, oc_mine;
DROP SCHEMA oc_other;
REVOKE USAGE ON SCHEMA nova FROM oc_plain;
DROP ROLE oc_plain;
DELETE FROM nova.outbox_tables WHERE NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = tbl);
TRUNCATE nova.outbox;
