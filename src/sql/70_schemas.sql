-- ---------------------------------------------------------------------------
-- Event-schema registry (SPEC §8; docs/schemas.md).
-- One row per (event type, version). The latest version of a type validates
-- outbox writes of that type (nova.validate_events). Every change to the table
-- invalidates the compiled schemas each backend caches (statement trigger).
-- ---------------------------------------------------------------------------
CREATE TABLE nova.event_schemas (
  event_type    text        NOT NULL,
  version       int         NOT NULL,
  schema        jsonb       NOT NULL,
  compatibility text        NOT NULL DEFAULT 'BACKWARD',
  created_at    timestamptz NOT NULL DEFAULT now(),
  created_by    text        NOT NULL DEFAULT current_user,
  PRIMARY KEY (event_type, version),
  CHECK (event_type <> '' AND octet_length(event_type) <= 255),
  CHECK (version > 0),
  CHECK (compatibility IN ('NONE', 'BACKWARD', 'BACKWARD_TRANSITIVE', 'FORWARD', 'FORWARD_TRANSITIVE',
                           'FULL', 'FULL_TRANSITIVE'))
);
SELECT pg_catalog.pg_extension_config_dump('nova.event_schemas', '');

CREATE FUNCTION nova._event_schemas_invalidate() RETURNS trigger
  LANGUAGE c AS 'MODULE_PATHNAME', 'nova_event_schemas_invalidate';
CREATE TRIGGER event_schemas_invalidate
  AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON nova.event_schemas
  FOR EACH STATEMENT EXECUTE FUNCTION nova._event_schemas_invalidate();

-- Registers a new version (or returns the latest when the schema is identical to it).
CREATE FUNCTION nova.register_schema(event_type text, schema jsonb, compatibility text DEFAULT 'BACKWARD')
  RETURNS int
  LANGUAGE c VOLATILE SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'nova_register_schema';

-- Dry run for CI: the breaking changes registering `schema` would be refused for (no rows = compatible).
CREATE FUNCTION nova.check_schema(event_type text, schema jsonb)
  RETURNS TABLE (path text, change text, message text)
  LANGUAGE c STABLE ROWS 10
  AS 'MODULE_PATHNAME', 'nova_check_schema';

-- The outbox's check, callable directly: validates against the latest version
-- (honouring nova.validate_events) and returns that version, 0 when none applies.
CREATE FUNCTION nova.validate_event(event_type text, payload jsonb) RETURNS int
  LANGUAGE c STABLE
  AS 'MODULE_PATHNAME', 'nova_validate_event';

REVOKE ALL ON nova.event_schemas FROM PUBLIC;
GRANT SELECT ON nova.event_schemas TO nova_service;
REVOKE ALL ON FUNCTION nova._event_schemas_invalidate() FROM PUBLIC;
REVOKE ALL ON FUNCTION nova.register_schema(text, jsonb, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION nova.check_schema(text, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION nova.validate_event(text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION nova.check_schema(text, jsonb) TO nova_service;
GRANT EXECUTE ON FUNCTION nova.validate_event(text, jsonb) TO nova_service;
