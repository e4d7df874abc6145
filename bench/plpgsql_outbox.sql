-- The baseline for bench/outbox_insert.sh: the outbox trigger a team would
-- write by hand in PL/pgSQL, doing the same work as nova's C++ trigger for an
-- INSERT/UPDATE/DELETE (payload = row as jsonb, key = primary key, correlation
-- id, traceparent, actor, source, written to nova.outbox as its owner).
-- Usage: CREATE TRIGGER t AFTER INSERT OR UPDATE OR DELETE ON posts
--          FOR EACH ROW EXECUTE FUNCTION bench_plpgsql_outbox('nova.posts', 'Post', 'id');
CREATE OR REPLACE FUNCTION bench_plpgsql_outbox() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  row_json   jsonb;
  event_type text;
BEGIN
  IF TG_OP = 'DELETE' THEN
    row_json := to_jsonb(OLD);
    event_type := TG_ARGV[1] || 'Deleted';
  ELSE
    row_json := to_jsonb(NEW);
    IF TG_OP = 'UPDATE' THEN
      IF row_json = to_jsonb(OLD) THEN RETURN NULL; END IF;
      event_type := TG_ARGV[1] || 'Updated';
    ELSE
      event_type := TG_ARGV[1] || 'Created';
    END IF;
  END IF;
  INSERT INTO nova.outbox (topic, key, event_type, payload, correlation_id, traceparent, actor, source)
  VALUES (TG_ARGV[0], row_json ->> TG_ARGV[2], event_type, row_json, nova.correlation_id(), nova.traceparent(),
          session_user, current_database() || '.' || TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME);
  RETURN NULL;
END
$$;
