-- ---------------------------------------------------------------------------
-- Relay (docs/relay.md): status, dead letters. The worker itself lives in bgworker/.
-- ---------------------------------------------------------------------------

-- Shared-memory half of the status (worker state and counters since it started).
CREATE OR REPLACE FUNCTION nova._relay_status(
  OUT state text, OUT worker_pid int, OUT delivered bigint, OUT failed bigint, OUT dead bigint,
  OUT last_error text, OUT last_delivery_at timestamptz, OUT started_at timestamptz, OUT breaker text,
  OUT events_per_second float8, OUT brokers text, OUT active_slot int, OUT rotations bigint, OUT role text)
  RETURNS record LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'nova_relay_status';
REVOKE ALL ON FUNCTION nova._relay_status() FROM PUBLIC;
-- Called by view nova.relay, whose functions run with the caller's rights.
GRANT EXECUTE ON FUNCTION nova._relay_status() TO nova_service;

-- One row: the relay as an operator sees it. Runs with the view owner's rights, so
-- nova_service sees the outbox backlog and the dead-letter count (no event contents).
CREATE OR REPLACE VIEW nova.relay AS
SELECT r.state,
       p.pending,
       p.oldest_pending_seconds,
       r.delivered,
       r.failed,
       r.dead,
       d.dead_letters,
       r.last_error,
       r.last_delivery_at,
       r.breaker,
       round(r.events_per_second::numeric, 2) AS events_per_second,
       r.worker_pid,
       r.brokers,
       r.started_at,
       r.active_slot,
       r.rotations,
       r.role
FROM nova._relay_status() r,
     LATERAL (SELECT count(*) AS pending,
                     round(extract(epoch FROM pg_catalog.clock_timestamp() - min(o.created_at))::numeric, 3)
                       AS oldest_pending_seconds
              FROM nova.outbox o) p,
     LATERAL (SELECT count(*) AS dead_letters FROM nova.outbox_dead) d;

CREATE OR REPLACE FUNCTION nova.status() RETURNS jsonb
  LANGUAGE sql VOLATILE
  SET search_path = pg_catalog, pg_temp
  AS $$ SELECT to_jsonb(r) || jsonb_build_object('snapshots', (
           SELECT coalesce(jsonb_agg(jsonb_build_object('id', s.id, 'tbl', s.tbl::text, 'state', s.state,
                    'rows_done', s.rows_done, 'rows_estimated', s.rows_estimated) ORDER BY s.id), '[]')
             FROM nova.snapshot_jobs s WHERE s.state IN ('pending', 'running')))
        FROM nova.relay r $$;

REVOKE ALL ON nova.relay FROM PUBLIC;
REVOKE ALL ON FUNCTION nova.status() FROM PUBLIC;
GRANT SELECT ON nova.relay TO nova_service;
GRANT EXECUTE ON FUNCTION nova.status() TO nova_service;

-- Move dead letters back into the outbox (all of them when event_ids is NULL), with
-- attempts reset. They get new ids, i.e. they queue behind what is pending now and do
-- not hold back newer events of their key (docs/relay.md, "Dead letters").
CREATE OR REPLACE FUNCTION nova.retry_dead(event_ids uuid[] DEFAULT NULL) RETURNS bigint
  LANGUAGE sql VOLATILE
  SET search_path = pg_catalog, pg_temp
  AS $$
  WITH d AS (
    DELETE FROM nova.outbox_dead
    WHERE retry_dead.event_ids IS NULL OR event_id = ANY (retry_dead.event_ids)
    RETURNING *),
  i AS (
    INSERT INTO nova.outbox (event_id, topic, key, event_type, payload, headers, correlation_id, traceparent,
                             actor, created_at, attempts, next_attempt_at, last_error, source, schema_version)
    SELECT event_id, topic, key, event_type, payload, headers, correlation_id, traceparent,
           actor, created_at, 0, '-infinity', last_error, source, schema_version
    FROM d ORDER BY id
    RETURNING 1)
  SELECT count(*) FROM i
$$;
REVOKE ALL ON FUNCTION nova.retry_dead(uuid[]) FROM PUBLIC;

-- What the relay worker's role may do (docs/security.md): claim, delete, reschedule
-- outbox rows; dead-letter them; truncate a drained partition during rotation
-- (LOCK … NOWAIT needs TRUNCATE, UPDATE or DELETE on the partition). Nothing else.
GRANT USAGE ON SCHEMA nova TO nova_relay;
GRANT SELECT, UPDATE, DELETE ON nova.outbox TO nova_relay;
GRANT SELECT, TRUNCATE ON nova.outbox_0, nova.outbox_1 TO nova_relay;
GRANT INSERT ON nova.outbox_dead TO nova_relay;
