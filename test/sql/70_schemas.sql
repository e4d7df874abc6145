-- Event-schema registry: registration, compatibility modes, the CI dry run,
-- and payload validation with the JSON path of the first violation.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS nova;
RESET client_min_messages;
\set VERBOSITY default

-- v1: a closed content model (additionalProperties: false)
SELECT nova.register_schema('RegressPostCreated', '{
  "type": "object", "additionalProperties": false,
  "required": ["id", "author_id", "body"],
  "properties": {
    "id": {"type": "integer"},
    "author_id": {"type": "integer"},
    "body": {"type": "string", "maxLength": 280},
    "visibility": {"enum": ["public", "followers"]}
  }}') AS version;
-- the same schema again (keys in another order) returns the existing version
SELECT nova.register_schema('RegressPostCreated', '{
  "additionalProperties": false, "type": "object",
  "required": ["id", "author_id", "body"],
  "properties": {
    "visibility": {"enum": ["public", "followers"]},
    "body": {"maxLength": 280, "type": "string"},
    "author_id": {"type": "integer"},
    "id": {"type": "integer"}
  }}') AS same_version;

-- BACKWARD (the default): adding an optional property to a closed model is fine
SELECT nova.register_schema('RegressPostCreated', '{
  "type": "object", "additionalProperties": false,
  "required": ["id", "author_id", "body"],
  "properties": {
    "id": {"type": "integer"},
    "author_id": {"type": "integer"},
    "body": {"type": "string", "maxLength": 280},
    "visibility": {"enum": ["public", "followers"]},
    "title": {"type": ["string", "null"]}
  }}') AS version;

-- dry run: no rows = compatible
SELECT * FROM nova.check_schema('RegressPostCreated', '{
  "type": "object", "additionalProperties": false,
  "required": ["id", "author_id", "body"],
  "properties": {
    "id": {"type": "integer"},
    "author_id": {"type": "integer"},
    "body": {"type": "string", "maxLength": 500},
    "visibility": {"enum": ["public", "followers", "private"]},
    "title": {"type": ["string", "null"]},
    "lang": {"type": "string", "default": "en"}
  }}');
-- dry run of breaking changes: one row per violation with its JSON path
SELECT * FROM nova.check_schema('RegressPostCreated', '{
  "type": "object", "additionalProperties": false,
  "required": ["id", "author_id", "body", "lang"],
  "properties": {
    "id": {"type": "number"},
    "author_id": {"type": "integer"},
    "body": {"type": "string", "maxLength": 140},
    "visibility": {"enum": ["public"]},
    "title": {"type": "string"},
    "lang": {"type": "string"}
  }}');

-- registering a breaking change fails and lists every violation
SELECT nova.register_schema('RegressPostCreated', '{
  "type": "object", "additionalProperties": false,
  "required": ["id", "author_id", "body"],
  "properties": {
    "id": {"type": "integer"},
    "author_id": {"type": "integer"},
    "body": {"type": "string", "maxLength": 140},
    "title": {"type": "string"}
  }}');
\echo :LAST_ERROR_SQLSTATE

-- invalid schemas and arguments
SELECT nova.register_schema('RegressBad', '{"type": "object", "patternProperties": {"^x": {}}}');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.register_schema('RegressBad', '{"properties": {"a": {"additionalProperties": {"type": "string"}}}}');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.register_schema('RegressBad', '{"type": "text"}');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.register_schema('RegressBad', '{"type": "string", "format": "hostname"}');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.register_schema('RegressBad', '{}', 'SIDEWAYS');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.register_schema('', '{}');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.register_schema(NULL, '{}');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.register_schema('RegressBad', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM nova.check_schema('RegressPostCreated', '{"not": {}}');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS nothing_registered FROM nova.event_schemas WHERE event_type = 'RegressBad';

-- NONE: anything goes
SELECT nova.register_schema('RegressNone', '{"type": "string"}', 'NONE') AS v1,
       nova.register_schema('RegressNone', '{"type": "integer"}', 'none') AS v2;

-- FORWARD: the old schema must read new data (removing an optional property
-- from an open model is fine; narrowing a type is fine; widening is not)
SELECT nova.register_schema('RegressFwd', '{"properties": {"a": {"type": ["string", "null"]}, "b": {}}}', 'FORWARD') AS v1;
SELECT nova.register_schema('RegressFwd', '{"properties": {"a": {"type": "string"}}}', 'FORWARD') AS v2;
SELECT nova.register_schema('RegressFwd', '{"properties": {"a": {"type": ["string", "integer"]}}}', 'FORWARD');
\echo :LAST_ERROR_SQLSTATE

-- FULL: both directions; widening passes backward but fails forward
SELECT nova.register_schema('RegressFull', '{"type": "object", "properties": {"n": {"type": "integer", "maximum": 10}}}', 'FULL') AS v1;
SELECT nova.register_schema('RegressFull', '{"type": "object", "properties": {"n": {"type": "integer", "maximum": 20}}}', 'FULL');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.register_schema('RegressFull', '{"type": "object", "properties": {"n": {"type": "integer", "maximum": 10}, "note": {}}}', 'FULL') AS v2;
-- check_schema uses the mode of the latest version (FULL here)
SELECT change, message FROM nova.check_schema('RegressFull', '{"type": "object", "properties": {"n": {"type": "integer", "maximum": 20}}}');

-- BACKWARD vs BACKWARD_TRANSITIVE: v2 broke with v1 (registered with NONE);
-- a candidate compatible with v2 only passes BACKWARD, not BACKWARD_TRANSITIVE
SELECT nova.register_schema('RegressTrans', '{"type": "string"}') AS v1;
SELECT nova.register_schema('RegressTrans', '{"type": "integer"}', 'NONE') AS v2;
SELECT nova.register_schema('RegressTrans', '{"type": ["integer", "null"]}', 'BACKWARD_TRANSITIVE');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.register_schema('RegressTrans', '{"type": ["integer", "null"]}', 'BACKWARD') AS v3;
-- FORWARD_TRANSITIVE: v1 cannot read integers; FORWARD (v3 only) can.
-- A schema identical to an older version (v2) is registered as a new version.
SELECT nova.register_schema('RegressTrans', '{"type": "integer"}', 'FORWARD_TRANSITIVE');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.register_schema('RegressTrans', '{"type": "integer"}', 'FORWARD') AS v4;
-- FULL_TRANSITIVE: both directions against every version
SELECT nova.register_schema('RegressTrans', '{"type": "integer", "minimum": 0}', 'FULL_TRANSITIVE');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.register_schema('RegressTrans', '{"type": "integer", "title": "count"}', 'FULL') AS v5;

-- passing *_TRANSITIVE registrations
SELECT nova.register_schema('RegressTransOk', '{"type": "integer"}') AS v1;
SELECT nova.register_schema('RegressTransOk', '{"type": ["integer", "null"]}', 'BACKWARD_TRANSITIVE') AS v2;
SELECT nova.register_schema('RegressTransOk', '{"type": "integer", "maximum": 100}', 'FORWARD_TRANSITIVE') AS v3;
SELECT nova.register_schema('RegressFullT', '{"type": "object", "properties": {"a": {"type": "string"}}}') AS v1;
SELECT nova.register_schema('RegressFullT', '{"type": "object", "properties": {"a": {"type": "string"}, "b": {}}}', 'FULL_TRANSITIVE') AS v2;
SELECT nova.register_schema('RegressFullT', '{"type": "object", "description": "ping", "properties": {"a": {"type": "string", "title": "A"}, "b": {}}}', 'FULL_TRANSITIVE') AS v3;

SELECT event_type, version, compatibility, created_by = current_user AS by_me, created_at <= now() AS dated
  FROM nova.event_schemas WHERE event_type LIKE 'Regress%' ORDER BY event_type, version;

-- Validation (what outbox writes run): valid payloads return the schema version
SELECT nova.validate_event('RegressPostCreated', '{"id": 1, "author_id": 2, "body": "hi", "title": null}') AS version;
SELECT nova.validate_event('RegressNoSchema', '{"anything": true}') AS no_schema;
SELECT nova.validate_event('RegressPostCreated', NULL) AS tombstone;
-- invalid payloads fail with the path of the first violation
SELECT nova.validate_event('RegressPostCreated', '{"id": 1, "author_id": "2", "body": "hi"}');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.validate_event('RegressPostCreated', '{"id": 1, "author_id": 2}');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.validate_event('RegressPostCreated', '{"id": 1, "author_id": 2, "body": "hi", "extra": 1}');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.validate_event('RegressPostCreated', '{"id": 1, "author_id": 2, "body": "hi", "visibility": "private"}');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.validate_event('RegressPostCreated', '[1, 2]');
\echo :LAST_ERROR_SQLSTATE
-- payload shapes: nested arrays and objects, scalars at the top, numbers as JSON sees them
SELECT nova.register_schema('RegressShapes', '{"type": ["object", "integer"],
  "properties": {"rows": {"type": "array", "items": {"type": "object", "required": ["n"],
    "properties": {"n": {"type": "integer", "maximum": 18446744073709551615}, "tags": {"items": {"type": "string"}}}}}}}') AS version;
SELECT nova.validate_event('RegressShapes', '{"rows": [{"n": 1.0}, {"n": -9223372036854775808, "tags": []}, {"n": 18446744073709551615, "tags": ["a", "b"]}]}') AS nested_ok;
SELECT nova.validate_event('RegressShapes', '{"rows": [{"n": 1}, {"n": 2, "tags": ["a", 3]}]}');
SELECT nova.validate_event('RegressShapes', '{"rows": [{"n": 1}, {"m": 2}]}');
SELECT nova.validate_event('RegressShapes', '{"rows": [{"n": 1.5}]}');
SELECT nova.validate_event('RegressShapes', '{"rows": [{"n": 1e400}]}');
-- a number past 2^64 is compared exactly too: 2^64 is greater than the maximum 2^64-1
SELECT nova.validate_event('RegressShapes', '{"rows": [{"n": 18446744073709551616}]}') AS past_two_to_the_64;
SELECT nova.validate_event('RegressShapes', '42') AS scalar_ok;
SELECT nova.validate_event('RegressShapes', '"42"');
SELECT nova.validate_event('RegressShapes', '[]');
-- warn: a warning, version 0 (no schema-version header); off: no check
SET nova.validate_events = warn;
SELECT nova.validate_event('RegressPostCreated', '{"id": "x", "author_id": 2, "body": "hi"}') AS warned;
SET nova.validate_events = off;
SELECT nova.validate_event('RegressPostCreated', '{"id": "x", "author_id": 2, "body": "hi"}') AS off,
       nova.validate_event('RegressPostCreated', '{"id": 1, "author_id": 2, "body": "hi"}') AS off_valid;
RESET nova.validate_events;

-- Outbox writes are validated: nova.publish and the outbox row trigger
SELECT nova.publish('regress.posts', '1', 'RegressPostCreated', '{"id": 1, "author_id": 2, "body": "hi"}') IS NOT NULL AS published;
SELECT nova.publish('regress.posts', '2', 'RegressPostCreated', '{"id": 2, "author_id": 2, "body": 42}');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.publish('regress.posts', '3', 'RegressPostCreated', NULL) IS NOT NULL AS tombstone_published;
SELECT nova.publish('regress.posts', '4', 'RegressUnregistered', '{"x": 1}') IS NOT NULL AS unregistered_published;
CREATE TABLE regress_schema_posts (id int PRIMARY KEY, author_id int NOT NULL, body text);
SELECT nova.enable_outbox('regress_schema_posts', entity => 'RegressSchemaPost');
SELECT nova.register_schema('RegressSchemaPostCreated', '{"type": "object", "required": ["body"],
  "properties": {"id": {"type": "integer"}, "body": {"type": "string", "minLength": 1}}}') AS version;
INSERT INTO regress_schema_posts VALUES (1, 7, 'first post');
INSERT INTO regress_schema_posts VALUES (2, 7, '');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS rows_kept FROM regress_schema_posts;
SET nova.validate_events = warn;
INSERT INTO regress_schema_posts VALUES (3, 7, NULL);
RESET nova.validate_events;
SELECT event_type, key, schema_version FROM nova.outbox
  WHERE event_type LIKE 'Regress%' ORDER BY id;
SELECT nova.disable_outbox('regress_schema_posts');
DROP TABLE regress_schema_posts;
DELETE FROM nova.outbox WHERE event_type LIKE 'Regress%';

-- the per-backend cache follows registrations, rollbacks and direct table changes
SELECT nova.validate_event('RegressNone', '5') AS v2_integer;
BEGIN;
SELECT nova.register_schema('RegressNone', '{"type": "boolean"}', 'NONE') AS v3;
SELECT nova.validate_event('RegressNone', 'true') AS v3_in_transaction;
ROLLBACK;
SELECT nova.validate_event('RegressNone', '5') AS back_to_v2;
DELETE FROM nova.event_schemas WHERE event_type = 'RegressNone' AND version = 2;
SELECT nova.validate_event('RegressNone', '"text"') AS v1_again;
TRUNCATE nova.event_schemas;
SELECT nova.validate_event('RegressNone', '5') AS none_left;

-- privileges: services may check and validate and read, not register
SELECT has_function_privilege('nova_service', 'nova.register_schema(text,jsonb,text,boolean)', 'EXECUTE') AS service_registers,
       has_function_privilege('nova_service', 'nova.check_schema(text,jsonb)', 'EXECUTE') AS service_checks,
       has_function_privilege('nova_service', 'nova.validate_event(text,jsonb)', 'EXECUTE') AS service_validates,
       has_table_privilege('nova_service', 'nova.event_schemas', 'SELECT') AS service_reads,
       has_table_privilege('nova_service', 'nova.event_schemas', 'INSERT') AS service_writes,
       has_function_privilege('public', 'nova.check_schema(text,jsonb)', 'EXECUTE') AS public_checks;
CREATE ROLE nova_regress_svc IN ROLE nova_service;
SET ROLE nova_regress_svc;
SELECT * FROM nova.check_schema('RegressSvc', '{"type": "string"}');
SELECT nova.validate_event('RegressSvc', '"x"') AS svc_validates;
SELECT nova.register_schema('RegressSvc', '{"type": "string"}');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
DROP ROLE nova_regress_svc;
SELECT count(*) AS left_over FROM nova.event_schemas;
