-- nova.metrics: counters a monitoring stack can feed to rate(), reset, privileges.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS nova;
RESET client_min_messages;
\set VERBOSITY default

-- One series' value (NULL when the view has no such row).
CREATE FUNCTION pg_temp.m(n text, l jsonb DEFAULT '{}') RETURNS double precision
  LANGUAGE sql AS $$ SELECT value FROM nova.metrics WHERE name = n AND labels = l $$;

SELECT pg_catalog.format_type(atttypid, atttypmod), attname FROM pg_attribute
 WHERE attrelid = 'nova.metrics'::regclass AND attnum > 0 ORDER BY attnum;
SELECT DISTINCT kind FROM nova.metrics ORDER BY 1;
-- Every series is unique and named nova_*.
SELECT count(*) = count(DISTINCT (name, labels)) AS unique_series,
       bool_and(name LIKE 'nova\_%') AS prefixed FROM nova.metrics;

-- After a reset every counter reads zero.
SELECT nova.reset_metrics();
SELECT name, labels, value FROM nova.metrics WHERE kind <> 'gauge' AND value <> 0;

-- Key/value cache: two hits, one miss.
SELECT nova.cache_set('metrics:a', '1');
SELECT nova.cache_get('metrics:a'), nova.cache_get('metrics:a'), nova.cache_get('metrics:nope');
SELECT pg_temp.m('nova_cache_requests_total', '{"cache": "kv", "result": "hit"}') AS kv_hits,
       pg_temp.m('nova_cache_requests_total', '{"cache": "kv", "result": "miss"}') AS kv_misses;

-- An entry read after its TTL is an expiration (expiry is lazy: counted at the read).
SELECT nova.cache_set('metrics:ttl', 'short', '1 millisecond');
SELECT pg_sleep(0.05);
SELECT nova.cache_get('metrics:ttl') IS NULL AS gone;
SELECT pg_temp.m('nova_cache_expirations_total', '{"cache": "kv"}') AS kv_expired;

-- JWT cache: a miss, then a hit; a key change makes the entry stale (an expiration).
INSERT INTO nova.jwt_keys (kid, algorithm, key) VALUES ('metrics', 'HS256', 'metrics-secret-0123456789abcdef-0123456789');
SELECT nova.jwt_sign(jsonb_build_object('sub', 'mia', 'exp', extract(epoch FROM now())::bigint + 3600),
                     'metrics-secret-0123456789abcdef-0123456789', 'HS256', '{"kid": "metrics"}') AS tok \gset
SELECT nova.authenticate(:'tok')->>'sub' AS sub;
SELECT nova.authenticate(:'tok')->>'sub' AS sub;
UPDATE nova.jwt_keys SET issuer = NULL WHERE kid = 'metrics';
SELECT nova.authenticate(:'tok')->>'sub' AS sub;
SELECT pg_temp.m('nova_cache_requests_total', '{"cache": "jwt", "result": "hit"}') AS jwt_hits,
       pg_temp.m('nova_cache_requests_total', '{"cache": "jwt", "result": "miss"}') AS jwt_misses,
       pg_temp.m('nova_cache_expirations_total', '{"cache": "jwt"}') AS jwt_expired;
DELETE FROM nova.jwt_keys WHERE kid = 'metrics';

-- Outbox events written, per topic; the backlog gauge grows by what was written.
SELECT pg_temp.m('nova_outbox_backlog_events') AS backlog_before \gset
SELECT count(nova.publish('metrics.a', 'k' || g, 'Thing', '{}')) FROM generate_series(1, 3) g;
SELECT count(nova.publish('metrics.b', 'k' || g, 'Thing', '{}')) FROM generate_series(1, 2) g;
SELECT pg_temp.m('nova_outbox_events_written_total', '{"topic": "metrics.a"}') AS written_a,
       pg_temp.m('nova_outbox_events_written_total', '{"topic": "metrics.b"}') AS written_b,
       pg_temp.m('nova_outbox_backlog_events') - :backlog_before AS backlog_growth,
       pg_temp.m('nova_outbox_backlog_events') >= (SELECT count(*) FROM nova.outbox) AS backlog_bounds_count,
       pg_temp.m('nova_outbox_oldest_pending_seconds') >= 0 AS oldest_age_known;

-- Circuit breakers: calls by outcome, transitions by state entered, current state.
SELECT nova.breaker_allow('metrics_b'), nova.breaker_record('metrics_b', true),
       nova.breaker_record('metrics_b', false);
SELECT nova.breaker_force('metrics_b', 'open');
SELECT nova.breaker_allow('metrics_b'), nova.breaker_allow('metrics_b');
SELECT labels->>'outcome' AS outcome, value FROM nova.metrics
 WHERE name = 'nova_breaker_calls_total' AND labels->>'breaker' = 'metrics_b' ORDER BY 1;
SELECT labels->>'to' AS entered, value FROM nova.metrics
 WHERE name = 'nova_breaker_transitions_total' AND labels->>'breaker' = 'metrics_b' AND value > 0;
SELECT labels->>'state' AS state FROM nova.metrics
 WHERE name = 'nova_breaker_status' AND labels->>'breaker' = 'metrics_b' AND value = 1;
SELECT nova.breaker_force('metrics_b', 'closed');
SELECT labels->>'to' AS entered, value FROM nova.metrics
 WHERE name = 'nova_breaker_transitions_total' AND labels->>'breaker' = 'metrics_b' AND value > 0 ORDER BY 1;

-- Histogram buckets are cumulative and end with +Inf = _count.
SELECT bool_and(kind = 'histogram') AND count(*) > 1 AS buckets,
       max(value) FILTER (WHERE labels->>'le' = '+Inf') = pg_temp.m('nova_relay_produce_latency_seconds_count')
         AS inf_is_count
  FROM nova.metrics WHERE name = 'nova_relay_produce_latency_seconds_bucket';

-- Privileges: pg_monitor members and nova_service read the view; nobody else does,
-- and only the extension owner resets.
CREATE ROLE nova_regress_monitor IN ROLE pg_monitor;
CREATE ROLE nova_regress_service IN ROLE nova_service;
CREATE ROLE nova_regress_plain;
SET ROLE nova_regress_monitor;
SELECT count(*) > 0 AS monitor_reads FROM nova.metrics WHERE name = 'nova_outbox_events_written_total';
SET ROLE nova_regress_service;
SELECT count(*) > 0 AS service_reads FROM nova.metrics WHERE name = 'nova_outbox_events_written_total';
\set VERBOSITY sqlstate
SELECT nova.reset_metrics();
SET ROLE nova_regress_plain;
SELECT count(*) FROM nova.metrics;
SELECT * FROM nova._metrics();
SELECT nova.reset_metrics();
SET ROLE nova_regress_monitor;
SELECT nova.reset_metrics();
\set VERBOSITY default
RESET ROLE;
-- The refused resets changed nothing.
SELECT pg_temp.m('nova_outbox_events_written_total', '{"topic": "metrics.a"}') AS written_a_still;
DROP ROLE nova_regress_monitor, nova_regress_service, nova_regress_plain;

-- The owner's reset: counters restart from zero, gauges keep their values.
SELECT nova.reset_metrics();
SELECT pg_temp.m('nova_outbox_events_written_total', '{"topic": "metrics.a"}') AS written_a,
       pg_temp.m('nova_cache_requests_total', '{"cache": "kv", "result": "hit"}') AS kv_hits,
       pg_temp.m('nova_breaker_calls_total', '{"breaker": "metrics_b", "outcome": "not_permitted"}') AS not_permitted,
       pg_temp.m('nova_outbox_backlog_events') >= 5 AS backlog_kept;
SELECT nova.cache_get('metrics:a');
SELECT pg_temp.m('nova_cache_requests_total', '{"cache": "kv", "result": "hit"}') AS kv_hits_after_reset;
SELECT nova.cache_delete('metrics:a');
