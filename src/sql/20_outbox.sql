COMMENT ON TABLE nova.outbox_tables IS
  'Tables whose changes nova publishes through the outbox; maintained by nova.enable_outbox() / nova.disable_outbox().';
REVOKE ALL ON nova.outbox_tables FROM PUBLIC;
GRANT SELECT ON nova.outbox_tables TO nova_service;

-- The row trigger (C++). Not for direct use: nova.enable_outbox() installs it.
CREATE OR REPLACE FUNCTION nova._outbox_trigger() RETURNS trigger
  LANGUAGE c AS 'MODULE_PATHNAME', 'nova_outbox_trigger';
REVOKE ALL ON FUNCTION nova._outbox_trigger() FROM PUBLIC;

-- Session switch between the direct partition insert (default) and the SPI
-- INSERT fallback; for tests and benchmarks. Returns the previous setting.
CREATE OR REPLACE FUNCTION nova._outbox_fast_path(on_ bool) RETURNS bool
  LANGUAGE c STRICT AS 'MODULE_PATHNAME', 'nova_outbox_fast_path';
REVOKE ALL ON FUNCTION nova._outbox_fast_path(bool) FROM PUBLIC;

-- Naming rules (src/core/outbox_names.cpp).
CREATE OR REPLACE FUNCTION nova._outbox_entity_name(tbl_name text) RETURNS text
  LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'nova_outbox_entity_name';
CREATE OR REPLACE FUNCTION nova._outbox_topic_problem(topic text) RETURNS text
  LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'nova_outbox_topic_problem';
CREATE OR REPLACE FUNCTION nova._outbox_entity_problem(entity text) RETURNS text
  LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'nova_outbox_entity_problem';

CREATE OR REPLACE FUNCTION nova.enable_outbox(tbl regclass, topic text DEFAULT NULL, key_column name DEFAULT NULL,
                                   entity text DEFAULT NULL, exclude_columns name[] DEFAULT '{}',
                                   tombstones boolean DEFAULT true, headers jsonb DEFAULT '{}')
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
#variable_conflict use_variable
DECLARE
  r          record;
  keys       name[];
  excl       name[];
  col        name;
  the_topic  text;
  the_entity text;
  problem    text;
  args       text;
  other      regclass;
  hdr        jsonb;
  hk         text;
BEGIN
  IF tbl IS NULL THEN
    RAISE EXCEPTION 'table must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  SELECT c.relname, c.relkind, c.relispartition, n.nspname INTO r
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.oid = tbl;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'table with OID % does not exist', tbl::oid USING ERRCODE = 'undefined_table';
  END IF;
  IF r.relkind NOT IN ('r', 'p') THEN
    RAISE EXCEPTION '"%" is not a table', tbl USING ERRCODE = 'wrong_object_type',
      DETAIL = 'The outbox can be enabled on ordinary and partitioned tables only.';
  END IF;
  IF r.nspname IN ('nova', 'information_schema') OR r.nspname LIKE 'pg\_%' THEN
    RAISE EXCEPTION 'cannot enable the outbox on "%"', tbl USING ERRCODE = 'feature_not_supported',
      DETAIL = 'Tables in schema nova and in system schemas cannot have an outbox.';
  END IF;
  IF EXISTS (SELECT 1 FROM pg_trigger t
              WHERE t.tgrelid = tbl AND t.tgname = 'nova_outbox' AND t.tgfoid <> 'nova._outbox_trigger()'::regprocedure) THEN
    RAISE EXCEPTION '"%" already has a trigger named nova_outbox that is not nova''s', tbl
      USING ERRCODE = 'duplicate_object', HINT = 'Rename that trigger; nova reserves the name nova_outbox.';
  END IF;
  -- A partition publishes through its parent's outbox; a parent cannot take over partitions that have their own.
  SELECT o.tbl INTO other FROM pg_partition_ancestors(tbl) a JOIN nova.outbox_tables o ON o.tbl = a.relid
   WHERE a.relid <> tbl LIMIT 1;
  IF other IS NOT NULL THEN
    RAISE EXCEPTION 'the outbox of "%" is enabled on its parent "%"', tbl, other
      USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'Change the configuration on the parent table instead.';
  END IF;
  SELECT o.tbl INTO other FROM pg_partition_tree(tbl) p JOIN nova.outbox_tables o ON o.tbl = p.relid
   WHERE p.relid <> tbl LIMIT 1;
  IF other IS NOT NULL THEN
    RAISE EXCEPTION 'partition "%" of "%" has its own outbox', other, tbl
      USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'Run nova.disable_outbox() on the partition first.';
  END IF;

  -- The event key: key_column, else the primary key.
  IF key_column IS NOT NULL THEN
    IF NOT EXISTS (SELECT 1 FROM pg_attribute a
                    WHERE a.attrelid = tbl AND a.attname = key_column AND a.attnum > 0 AND NOT a.attisdropped) THEN
      RAISE EXCEPTION 'column "%" of "%" does not exist', key_column, tbl USING ERRCODE = 'undefined_column';
    END IF;
    keys := ARRAY[key_column];
  ELSE
    SELECT array_agg(a.attname ORDER BY k.ord) INTO keys
      FROM pg_index i
     CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
      JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
     WHERE i.indrelid = tbl AND i.indisprimary;
    IF keys IS NULL THEN
      RAISE EXCEPTION '"%" has no primary key', tbl USING ERRCODE = 'invalid_table_definition',
        HINT = 'Add a primary key, or name the event key column: nova.enable_outbox(tbl, key_column => ''...'').';
    END IF;
  END IF;

  excl := coalesce(exclude_columns, '{}');
  IF array_position(excl, NULL) IS NOT NULL THEN
    RAISE EXCEPTION 'exclude_columns must not contain NULL' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  FOREACH col IN ARRAY excl LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_attribute a
                    WHERE a.attrelid = tbl AND a.attname = col AND a.attnum > 0 AND NOT a.attisdropped) THEN
      RAISE EXCEPTION 'column "%" of "%" does not exist', col, tbl USING ERRCODE = 'undefined_column',
        DETAIL = 'It is listed in exclude_columns.';
    END IF;
    IF col = ANY (keys) THEN
      RAISE EXCEPTION 'cannot exclude key column "%"', col USING ERRCODE = 'invalid_parameter_value',
        DETAIL = 'The event key is built from it.';
    END IF;
  END LOOP;
  excl := ARRAY(SELECT DISTINCT x FROM unnest(excl) AS x ORDER BY 1);

  IF tombstones IS NULL THEN
    RAISE EXCEPTION 'tombstones must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  -- Fixed headers: an object of string values; nova's own header names are taken.
  hdr := coalesce(headers, '{}');
  IF jsonb_typeof(hdr) <> 'object' THEN
    RAISE EXCEPTION 'headers must be a JSON object' USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('Got a JSON %s.', jsonb_typeof(hdr));
  END IF;
  FOR hk IN SELECT h.key FROM jsonb_each(hdr) h WHERE jsonb_typeof(h.value) <> 'string' ORDER BY 1 LOOP
    RAISE EXCEPTION 'header "%" must have a string value', hk USING ERRCODE = 'invalid_parameter_value',
      DETAIL = 'Fixed headers are an object of string values, e.g. ''{"tenant": "acme"}''.';
  END LOOP;
  FOR hk IN SELECT h.key FROM jsonb_each(hdr) h
             WHERE h.key = '' OR lower(h.key) IN ('event-id', 'event-type', 'correlation-id', 'traceparent', 'tracestate',
                                                  'actor', 'occurred-at', 'source', 'schema-version', 'snapshot')
             ORDER BY 1 LOOP
    RAISE EXCEPTION 'header name "%" is reserved', hk USING ERRCODE = 'invalid_parameter_value',
      DETAIL = 'nova sets the headers event-id, event-type, correlation-id, traceparent, tracestate, actor, occurred-at, source, schema-version and snapshot itself.';
  END LOOP;

  IF topic IS NOT NULL AND btrim(topic) = '' THEN
    RAISE EXCEPTION 'topic must not be empty' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  -- Calling into the library first defines nova's GUCs when nova is not preloaded.
  PERFORM nova._outbox_topic_problem('nova');
  -- The default topic names the schema too, except for tables in public (docs/outbox.md, "Defaults").
  the_topic := coalesce(topic, current_setting('nova.topic_prefix')
                               || CASE WHEN r.nspname = 'public' THEN '' ELSE r.nspname || '.' END || r.relname);
  problem := nova._outbox_topic_problem(the_topic);
  IF problem IS NOT NULL THEN
    RAISE EXCEPTION 'invalid topic "%"', the_topic USING ERRCODE = 'invalid_parameter_value', DETAIL = problem || '.',
      HINT = CASE WHEN topic IS NULL THEN 'The default topic is nova.topic_prefix || [schema || ''.'' ||] table name; pass topic => ''...''.'
                  ELSE 'Kafka topic names are 1-249 characters from [A-Za-z0-9._-].' END;
  END IF;
  IF topic IS NULL THEN
    SELECT o.tbl INTO other FROM nova.outbox_tables o
     WHERE o.topic OPERATOR(pg_catalog.=) the_topic AND o.tbl OPERATOR(pg_catalog.<>) enable_outbox.tbl
     ORDER BY o.tbl LIMIT 1;
    IF other IS NOT NULL THEN
      RAISE EXCEPTION 'default topic "%" is already used by "%"', the_topic, other USING ERRCODE = 'duplicate_object',
        HINT = 'Pass topic => ''...'' to choose a topic for this table (a shared topic must be asked for explicitly).';
    END IF;
  END IF;

  IF entity IS NOT NULL AND btrim(entity) = '' THEN
    RAISE EXCEPTION 'entity must not be empty' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  the_entity := coalesce(entity, nova._outbox_entity_name(r.relname));
  problem := nova._outbox_entity_problem(the_entity);
  IF problem IS NOT NULL THEN
    RAISE EXCEPTION 'invalid entity "%"', the_entity USING ERRCODE = 'invalid_parameter_value', DETAIL = problem || '.',
      HINT = CASE WHEN entity IS NULL THEN 'The default entity is the table name in singular CamelCase; pass entity => ''...''.'
                  ELSE 'An entity is an identifier such as Post or UserFollow.' END;
  END IF;

  -- Trigger arguments, format 2: '2', topic, entity, tombstones, headers, nkeys, keys..., excluded...
  args := format('%L, %L, %L, %L, %L, %L', '2', the_topic, the_entity, CASE WHEN tombstones THEN 't' ELSE 'f' END,
                 hdr::text, cardinality(keys)::text);
  args := args || coalesce((SELECT string_agg(format(', %L', k), '' ORDER BY o)
                              FROM unnest(keys) WITH ORDINALITY AS u(k, o)), '');
  args := args || coalesce((SELECT string_agg(format(', %L', x), '' ORDER BY o)
                              FROM unnest(excl) WITH ORDINALITY AS u(x, o)), '');
  IF EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = tbl AND t.tgname = 'nova_outbox') THEN
    EXECUTE format('DROP TRIGGER nova_outbox ON %s', tbl);
  END IF;
  EXECUTE format('CREATE TRIGGER nova_outbox AFTER INSERT OR UPDATE OR DELETE ON %s '
                 'FOR EACH ROW EXECUTE FUNCTION nova._outbox_trigger(%s)', tbl, args);

  INSERT INTO nova.outbox_tables AS o (tbl, topic, key_columns, entity, exclude_columns, enabled_at, tombstones, headers)
  VALUES (enable_outbox.tbl, the_topic, keys, the_entity, excl, now(), enable_outbox.tombstones, hdr)
  ON CONFLICT ON CONSTRAINT outbox_tables_pkey DO UPDATE
    SET topic = EXCLUDED.topic, key_columns = EXCLUDED.key_columns, entity = EXCLUDED.entity,
        exclude_columns = EXCLUDED.exclude_columns, enabled_at = EXCLUDED.enabled_at,
        tombstones = EXCLUDED.tombstones, headers = EXCLUDED.headers;
END
$fn$;
COMMENT ON FUNCTION nova.enable_outbox(regclass, text, name, text, name[], boolean, jsonb) IS
  'Publish every INSERT, UPDATE and DELETE of a table as outbox events (idempotent; re-running replaces the configuration).';

CREATE OR REPLACE FUNCTION nova.disable_outbox(tbl regclass) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
#variable_conflict use_variable
DECLARE
  other regclass;
BEGIN
  IF tbl IS NULL THEN
    RAISE EXCEPTION 'table must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = tbl) THEN
    RAISE EXCEPTION 'table with OID % does not exist', tbl::oid USING ERRCODE = 'undefined_table';
  END IF;
  SELECT o.tbl INTO other FROM pg_partition_ancestors(tbl) a JOIN nova.outbox_tables o ON o.tbl = a.relid
   WHERE a.relid <> tbl LIMIT 1;
  IF other IS NOT NULL THEN
    RAISE EXCEPTION 'the outbox of "%" is enabled on its parent "%"', tbl, other
      USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'Disable it on the parent table.';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_trigger t
                  WHERE t.tgrelid = tbl AND t.tgname = 'nova_outbox' AND t.tgfoid = 'nova._outbox_trigger()'::regprocedure)
     AND NOT EXISTS (SELECT 1 FROM nova.outbox_tables o WHERE o.tbl = disable_outbox.tbl) THEN
    RAISE NOTICE 'the outbox is not enabled on "%", skipping', tbl;
    RETURN;
  END IF;
  IF EXISTS (SELECT 1 FROM pg_trigger t
              WHERE t.tgrelid = tbl AND t.tgname = 'nova_outbox' AND t.tgfoid = 'nova._outbox_trigger()'::regprocedure) THEN
    EXECUTE format('DROP TRIGGER nova_outbox ON %s', tbl);
  END IF;
  DELETE FROM nova.outbox_tables o WHERE o.tbl = disable_outbox.tbl;
END
$fn$;
COMMENT ON FUNCTION nova.disable_outbox(regclass) IS 'Stop publishing a table''s changes (removes the outbox trigger).';

REVOKE ALL ON FUNCTION nova.enable_outbox(regclass, text, name, text, name[], boolean, jsonb), nova.disable_outbox(regclass) FROM PUBLIC;

CREATE OR REPLACE FUNCTION nova.publish(topic text, key text, event_type text, payload jsonb, headers jsonb DEFAULT '{}')
RETURNS uuid LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'nova_publish';
COMMENT ON FUNCTION nova.publish(text, text, text, jsonb, jsonb) IS
  'Write an explicit event to the outbox in the current transaction; returns its event_id.';
REVOKE ALL ON FUNCTION nova.publish(text, text, text, jsonb, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION nova.publish(text, text, text, jsonb, jsonb) TO nova_service;
