-- ---------------------------------------------------------------------------
-- Metrics (docs/operations.md, "What to watch"): counters since the server
-- started (or the last nova.reset_metrics()) and a few gauges, one row per
-- series, for prometheus-postgres-exporter (examples/monitoring/queries.yaml).
-- ---------------------------------------------------------------------------

-- Shared-memory counters and gauges (no rows without shared_preload_libraries).
CREATE OR REPLACE FUNCTION nova._metrics(OUT name text, OUT labels jsonb, OUT value double precision, OUT kind text)
  RETURNS SETOF record
  LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'nova_metrics';

-- kind: counter, gauge, or histogram (a cumulative bucket, label le). The outbox
-- gauges read two rows by primary key, never scan: the backlog is the id range of
-- pending events (exact while events leave in id order, an upper bound otherwise).
-- The view runs with its owner's rights, so readers need no right on nova.outbox.
CREATE OR REPLACE VIEW nova.metrics AS
SELECT m.name, m.labels, m.value, m.kind
  FROM nova._metrics() AS m
UNION ALL
SELECT 'nova_outbox_backlog_events'::text, '{}'::jsonb,
       COALESCE(h.last_id OPERATOR(pg_catalog.-) h.first_id OPERATOR(pg_catalog.+) 1, 0)::double precision,
       'gauge'::text
  FROM (SELECT (SELECT o.id FROM nova.outbox AS o ORDER BY o.id LIMIT 1) AS first_id,
               (SELECT o.id FROM nova.outbox AS o ORDER BY o.id DESC LIMIT 1) AS last_id) AS h
UNION ALL
SELECT 'nova_outbox_oldest_pending_seconds'::text, '{}'::jsonb,
       COALESCE((SELECT pg_catalog.date_part('epoch', pg_catalog.clock_timestamp() OPERATOR(pg_catalog.-) o.created_at)
                   FROM nova.outbox AS o ORDER BY o.id LIMIT 1), 0),
       'gauge'::text;

COMMENT ON VIEW nova.metrics IS
  'nova''s counters and gauges, one row per series (docs/operations.md, "What to watch")';

-- Counters start again from zero; Prometheus'' rate() treats it as a counter reset.
CREATE OR REPLACE FUNCTION nova.reset_metrics() RETURNS void
  LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'nova_reset_metrics';
COMMENT ON FUNCTION nova.reset_metrics() IS 'Reset nova.metrics counters to zero (extension owner only)';

REVOKE ALL ON FUNCTION nova._metrics(), nova.reset_metrics() FROM PUBLIC;
REVOKE ALL ON nova.metrics FROM PUBLIC;
-- The view calls nova._metrics() with the reader's rights.
GRANT EXECUTE ON FUNCTION nova._metrics() TO nova_service, pg_monitor;
GRANT SELECT ON nova.metrics TO nova_service, pg_monitor;
