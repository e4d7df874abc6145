-- Schema registry correctness in 1.1 (docs/schemas.md): check_schema and
-- register_schema also check current data (REJECTS_CURRENT_DATA, force), integer
-- bounds are exact, messages stay valid UTF-8.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS nova;
RESET client_min_messages;
\set SHOW_CONTEXT never
TRUNCATE nova.outbox;

-- A table with soft-delete style columns and rows already published.
CREATE TABLE sd_posts (id bigint PRIMARY KEY, body text NOT NULL, deleted_at timestamptz, deleted_by text, deleted_op bigint);
INSERT INTO sd_posts VALUES (1, 'hello', NULL, NULL, NULL), (2, 'gone', '2026-01-01 00:00+00', 'alice', 7);
SELECT nova.enable_outbox('sd_posts');
INSERT INTO sd_posts VALUES (3, 'new', NULL, NULL, NULL);

-- The 1.0 docs example: a closed schema without deleted_at/deleted_by.
\set closed '{"type": "object", "additionalProperties": false, "required": ["id", "body"], "properties": {"id": {"type": "integer"}, "body": {"type": "string"}}}'
SELECT path, change, regexp_replace(message, 'event [0-9a-f-]+', 'event <id>') AS message
  FROM nova.check_schema('SdPostCreated', :'closed') ORDER BY 3, 2;
-- register_schema refuses it (DETAIL: the first five, with event ids), and nothing is registered
\set VERBOSITY terse
SELECT nova.register_schema('SdPostCreated', :'closed');
\set VERBOSITY default
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS registered FROM nova.event_schemas WHERE event_type = 'SdPostCreated';
-- the corrected schema passes the check and registers
\set open '{"type": "object", "additionalProperties": false, "required": ["id", "body"], "properties": {"id": {"type": "integer"}, "body": {"type": "string"}, "deleted_at": {"type": ["string", "null"], "format": "date-time"}, "deleted_by": {"type": ["string", "null"]}}}'
SELECT count(*) AS problems FROM nova.check_schema('SdPostCreated', :'open');
SELECT nova.register_schema('SdPostCreated', :'open');
INSERT INTO sd_posts VALUES (4, 'still works', NULL, NULL, NULL);
-- force => true registers a schema that rejects current data
SELECT nova.register_schema('SdPostUpdated', :'closed', force => true);
UPDATE sd_posts SET body = 'x' WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE

-- Events still in the outbox are checked too (nova.publish, no table behind them).
SELECT nova.publish('t.things', 'k1', 'ThingHappened', '{"n": 9007199254740993}') IS NOT NULL AS published;
SELECT path, change, message LIKE 'event % in nova.outbox: 9007199254740993 is greater than maximum 9007199254740992' AS ok
  FROM nova.check_schema('ThingHappened', '{"properties": {"n": {"type": "integer", "maximum": 9007199254740992}}}');

-- Exact integer bounds in validation.
SELECT nova.register_schema('BigThing', '{"type": "object", "properties": {"n": {"type": "integer", "maximum": 9007199254740992}}}');
SELECT nova.validate_event('BigThing', '{"n": 9007199254740992}');
SELECT nova.validate_event('BigThing', '{"n": 9007199254740993}');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.register_schema('ConstThing', '{"const": 9007199254740993}');
SELECT nova.validate_event('ConstThing', '9007199254740992');
\echo :LAST_ERROR_SQLSTATE

-- Messages cut long values on UTF-8 character boundaries: the text converts.
SELECT nova.register_schema('Euro', '{"properties": {"s": {"enum": ["a"]}}}');
DO $$
DECLARE pad int; msg text;
BEGIN
  FOR pad IN 0..3 LOOP
    BEGIN
      PERFORM nova.validate_event('Euro', jsonb_build_object('s', repeat('x', pad) || repeat('€', 40)));
    EXCEPTION WHEN check_violation THEN
      GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT;
      PERFORM convert_to(msg, 'UTF8');
      RAISE NOTICE 'pad %: %', pad, substr(msg, strpos(msg, '...') - 3, 8);
    END;
  END LOOP;
END $$;
SELECT nova.publish('t.notes', 'n1', 'EuroNote', jsonb_build_object('s', 'x' || repeat('€', 40))) IS NOT NULL AS published;
SELECT path, change, convert_to(message, 'UTF8') IS NOT NULL AS converts, message LIKE '%€...%' AS cut_after_a_euro
  FROM nova.check_schema('EuroNote', '{"properties": {"s": {"enum": ["a"]}}}');

-- A plain role cannot register; check_schema runs with the caller's rights.
CREATE ROLE sd_plain;
GRANT USAGE ON SCHEMA nova TO sd_plain;
SET ROLE sd_plain;
SELECT nova.register_schema('SdPostDeleted', :'open', force => true);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT count(*) AS registered FROM nova.event_schemas WHERE event_type = 'SdPostDeleted';
GRANT nova_service TO sd_plain;
SET ROLE sd_plain;
SELECT path, change, regexp_replace(message, 'event [0-9a-f-]+', 'event <id>') AS message
  FROM nova.check_schema('SdPostCreated', :'closed') ORDER BY 3, 2;
RESET ROLE;

DROP TABLE sd_posts;
REVOKE nova_service FROM sd_plain;
REVOKE USAGE ON SCHEMA nova FROM sd_plain;
DROP ROLE sd_plain;
DELETE FROM nova.outbox_tables WHERE NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = tbl);
DELETE FROM nova.event_schemas WHERE event_type IN ('SdPostCreated', 'SdPostUpdated', 'BigThing', 'ConstThing', 'Euro');
TRUNCATE nova.outbox;
