CREATE OR REPLACE FUNCTION nova._event_schemas_invalidate() RETURNS trigger
  LANGUAGE c AS 'MODULE_PATHNAME', 'nova_event_schemas_invalidate';
CREATE OR REPLACE TRIGGER event_schemas_invalidate
  AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON nova.event_schemas
  FOR EACH STATEMENT EXECUTE FUNCTION nova._event_schemas_invalidate();

-- Registers a new version (or returns the latest when the schema is identical to it).
CREATE OR REPLACE FUNCTION nova.register_schema(event_type text, schema jsonb, compatibility text DEFAULT 'BACKWARD')
  RETURNS int
  LANGUAGE c VOLATILE SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'nova_register_schema';

-- Dry run for CI: the breaking changes registering `schema` would be refused for (no rows = compatible).
CREATE OR REPLACE FUNCTION nova.check_schema(event_type text, schema jsonb)
  RETURNS TABLE (path text, change text, message text)
  LANGUAGE c STABLE ROWS 10
  AS 'MODULE_PATHNAME', 'nova_check_schema';

-- The outbox's check, callable directly: validates against the latest version
-- (honouring nova.validate_events) and returns that version, 0 when none applies.
CREATE OR REPLACE FUNCTION nova.validate_event(event_type text, payload jsonb) RETURNS int
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
