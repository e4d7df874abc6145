CREATE OR REPLACE FUNCTION nova._event_schemas_invalidate() RETURNS trigger
  LANGUAGE c AS 'MODULE_PATHNAME', 'nova_event_schemas_invalidate';
CREATE OR REPLACE TRIGGER event_schemas_invalidate
  AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON nova.event_schemas
  FOR EACH STATEMENT EXECUTE FUNCTION nova._event_schemas_invalidate();

-- The first violation of `payload` against `schema` ("path: message"), NULL when valid.
CREATE OR REPLACE FUNCTION nova._schema_violation(schema jsonb, payload jsonb) RETURNS text
  LANGUAGE c STABLE STRICT AS 'MODULE_PATHNAME', 'nova_schema_violation';

-- Current data a proposed schema would reject (docs/schemas.md, "Checked against
-- current data"): the latest `sample` events of the type still in nova.outbox and
-- nova.outbox_dead, and `sample` rows of every outbox-enabled table that emits the
-- type, rendered as the trigger renders them (UTC, default styles). Runs with the
-- caller's rights: what the caller may not read is not checked (and not shown).
CREATE OR REPLACE FUNCTION nova._schema_data_rejections(event_type text, schema jsonb, sample int DEFAULT 1000)
  RETURNS TABLE (path text, change text, message text)
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  SET TimeZone = 'UTC' SET DateStyle = 'ISO, MDY' SET IntervalStyle = 'postgres' SET extra_float_digits = 1
AS $fn$
#variable_conflict use_column
DECLARE
  src  text;
  t    record;
  excl text[];
  v    record;
  etype text := _schema_data_rejections.event_type;
  sch  jsonb := _schema_data_rejections.schema;
BEGIN
  FOREACH src IN ARRAY ARRAY['nova.outbox', 'nova.outbox_dead'] LOOP
    CONTINUE WHEN NOT has_table_privilege(src, 'SELECT');
    FOR v IN EXECUTE format(
        'SELECT e.id, e.event_id, nova._schema_violation($1, e.payload) AS problem FROM'
        ' (SELECT o.id, o.event_id, o.payload FROM %s o WHERE o.event_type OPERATOR(pg_catalog.=) $2'
        '   AND o.payload IS NOT NULL ORDER BY o.id DESC LIMIT $3) e', src)
      USING sch, etype, sample LOOP
      IF v.problem IS NOT NULL THEN
        RETURN QUERY SELECT split_part(v.problem, ': ', 1), 'REJECTS_CURRENT_DATA'::text,
          format('event %s in %s: %s', v.event_id, src, substr(v.problem, length(split_part(v.problem, ': ', 1)) + 3));
      END IF;
    END LOOP;
  END LOOP;
  IF NOT has_table_privilege('nova.outbox_tables', 'SELECT') THEN
    RETURN;
  END IF;
  FOR t IN SELECT o.tbl, o.exclude_columns FROM nova.outbox_tables o
            WHERE etype IN (o.entity || 'Created', o.entity || 'Updated', o.entity || 'Deleted',
                            o.entity || 'Restored', o.entity || 'Snapshot')
              AND EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = o.tbl)
            ORDER BY o.tbl::text LOOP
    CONTINUE WHEN NOT has_table_privilege(t.tbl, 'SELECT');
    excl := t.exclude_columns::text[];
    IF EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = t.tbl AND a.attname = 'deleted_at' AND NOT a.attisdropped) THEN
      excl := excl || 'deleted_op'::text;
    END IF;
    FOR v IN EXECUTE format(
        'SELECT nova._schema_violation($1, to_jsonb(r) OPERATOR(pg_catalog.-) $2) AS problem FROM'
        ' (SELECT * FROM %s LIMIT $3) r', t.tbl)
      USING sch, excl, sample LOOP
      IF v.problem IS NOT NULL THEN
        RETURN QUERY SELECT split_part(v.problem, ': ', 1), 'REJECTS_CURRENT_DATA'::text,
          format('a row of %s: %s', t.tbl, substr(v.problem, length(split_part(v.problem, ': ', 1)) + 3));
      END IF;
    END LOOP;
  END LOOP;
END
$fn$;

-- Registers a new version (or returns the latest when the schema is identical to it).
-- Refuses a schema that rejects current data unless force.
CREATE OR REPLACE FUNCTION nova.register_schema(event_type text, schema jsonb, compatibility text DEFAULT 'BACKWARD',
                                                force boolean DEFAULT false)
  RETURNS int
  LANGUAGE c VOLATILE SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'nova_register_schema';

-- Dry run for CI: the breaking changes registering `schema` would be refused for,
-- then the current data it rejects (nova._schema_data_rejections); no rows = fine.
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
REVOKE ALL ON FUNCTION nova.register_schema(text, jsonb, text, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION nova.check_schema(text, jsonb) FROM PUBLIC;
-- check_schema and register_schema call these as their caller (whoever was
-- granted those): they run with the caller's rights and read only what the
-- caller may read, so they stay executable by PUBLIC.
GRANT EXECUTE ON FUNCTION nova._schema_data_rejections(text, jsonb, int), nova._schema_violation(jsonb, jsonb)
  TO PUBLIC;
REVOKE ALL ON FUNCTION nova.validate_event(text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION nova.check_schema(text, jsonb) TO nova_service;
GRANT EXECUTE ON FUNCTION nova.validate_event(text, jsonb) TO nova_service;
