-- ---------------------------------------------------------------------------
-- Snapshots (docs/outbox.md, "Snapshots"): nova.snapshot() asks the relay
-- worker to publish every current row of an outbox-enabled table as an
-- <Entity>Snapshot event; nova.snapshots shows progress. The table is in
-- pre/45_snapshot.sql, the worker's step in bgworker/snapshot.cpp.
-- ---------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION nova.snapshot(tbl regclass, batch_size int DEFAULT 10000) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
#variable_conflict use_variable
DECLARE
  keys   name[];
  est    float8;
  job_id bigint;
BEGIN
  IF tbl IS NULL OR batch_size IS NULL THEN
    RAISE EXCEPTION 'table and batch_size must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF batch_size < 1 OR batch_size > 1000000 THEN
    RAISE EXCEPTION 'batch_size must be between 1 and 1000000' USING ERRCODE = 'invalid_parameter_value',
      DETAIL = format('Got %s.', batch_size);
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = tbl) THEN
    RAISE EXCEPTION 'table with OID % does not exist', tbl::oid USING ERRCODE = 'undefined_table';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM nova.outbox_tables o WHERE o.tbl OPERATOR(pg_catalog.=) snapshot.tbl)
     OR NOT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = tbl AND t.tgname = 'nova_outbox'
                       AND t.tgfoid = 'nova._outbox_trigger()'::regprocedure) THEN
    RAISE EXCEPTION 'the outbox is not enabled on "%"', tbl USING ERRCODE = 'object_not_in_prerequisite_state',
      HINT = 'Run nova.enable_outbox() on the table first: snapshot events use its topic, key and entity.';
  END IF;
  -- Keyset pagination needs a unique order: the primary key.
  SELECT array_agg(a.attname ORDER BY k.ord) INTO keys
    FROM pg_index i
   CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
   WHERE i.indrelid = tbl AND i.indisprimary;
  IF keys IS NULL THEN
    RAISE EXCEPTION '"%" has no primary key', tbl USING ERRCODE = 'invalid_table_definition',
      DETAIL = 'A snapshot reads the table in primary-key order, one batch at a time.';
  END IF;
  IF EXISTS (SELECT 1 FROM nova.snapshot_jobs j
              WHERE j.tbl OPERATOR(pg_catalog.=) snapshot.tbl AND j.state IN ('pending', 'running')) THEN
    RAISE EXCEPTION 'a snapshot of "%" is already in progress', tbl USING ERRCODE = 'object_in_use',
      HINT = 'Watch nova.snapshots; nova.cancel_snapshot(id) stops it.';
  END IF;
  SELECT sum(c.reltuples) FILTER (WHERE c.reltuples >= 0) INTO est
    FROM pg_class c
   WHERE c.relkind = 'r' AND (c.oid = tbl OR c.oid IN (SELECT p.relid FROM pg_partition_tree(tbl) p));
  INSERT INTO nova.snapshot_jobs (tbl, batch_size, key_columns, rows_estimated)
  VALUES (tbl, batch_size, keys, est::bigint)
  RETURNING id INTO job_id;
  RETURN job_id;
END
$fn$;
COMMENT ON FUNCTION nova.snapshot(regclass, int) IS
  'Publish every current row of an outbox-enabled table as <Entity>Snapshot events, in the background; returns the snapshot id.';

CREATE OR REPLACE FUNCTION nova.cancel_snapshot(id bigint) RETURNS boolean
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $fn$
  WITH c AS (
    UPDATE nova.snapshot_jobs j SET state = 'cancelled', finished_at = pg_catalog.now()
     WHERE j.id OPERATOR(pg_catalog.=) cancel_snapshot.id AND j.state IN ('pending', 'running')
    RETURNING 1)
  SELECT pg_catalog.count(*) OPERATOR(pg_catalog.>) 0 FROM c
$fn$;
COMMENT ON FUNCTION nova.cancel_snapshot(bigint) IS 'Stop an unfinished snapshot (events already written stay).';

CREATE OR REPLACE VIEW nova.snapshots AS
SELECT j.id, j.tbl, j.state, j.rows_done, j.rows_estimated, j.started_at, j.finished_at, j.last_error
  FROM nova.snapshot_jobs j;
COMMENT ON VIEW nova.snapshots IS 'Snapshots requested with nova.snapshot(), and their progress.';

REVOKE ALL ON nova.snapshot_jobs, nova.snapshots FROM PUBLIC;
REVOKE ALL ON FUNCTION nova.snapshot(regclass, int), nova.cancel_snapshot(bigint) FROM PUBLIC;
GRANT SELECT ON nova.snapshot_jobs, nova.snapshots TO nova_service;
-- The relay worker's bookkeeping runs as nova_relay (bgworker/snapshot.cpp,
-- docs/security.md "The relay's role"): pick the oldest unfinished job (FOR UPDATE),
-- advance its cursor and counters, mark it done or failed, record an error. Exactly
-- the columns those statements read and write; nothing on the view or functions.
GRANT SELECT (id, tbl, batch_size, key_columns, cursor, state, rows_done),
      UPDATE (cursor, rows_done, state, finished_at, last_error)
   ON nova.snapshot_jobs TO nova_relay;
