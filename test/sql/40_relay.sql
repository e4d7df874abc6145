-- The relay's SQL surface without Kafka: status, the nova.relay view, dead letters
-- and nova.retry_dead(), privileges. (End-to-end delivery: test/e2e/40_relay_*.sh.)
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS nova;
RESET client_min_messages;

-- No brokers configured: the relay is unconfigured and says so.
SHOW nova.kafka_brokers;
SELECT nova.status()->>'state' AS state;
SELECT (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(nova.status()) k) AS status_keys;
SELECT state, pending, dead_letters, oldest_pending_seconds IS NULL AS no_backlog,
       events_per_second >= 0 AS rate_ok, active_slot IN (0, 1) AS slot_ok
FROM nova.relay;
SELECT nova._outbox_slot() IN (0, 1) AS slot_ok;

-- Pending events show up in the status (the relay serves another database here).
INSERT INTO nova.outbox (topic, key, event_type, payload)
SELECT 'nova.regress', 'k' || g, 'RegressCreated', jsonb_build_object('n', g) FROM generate_series(1, 3) g;
SELECT (nova.status()->>'pending')::int AS pending, (nova.status()->>'oldest_pending_seconds')::numeric >= 0 AS age_ok;

-- Dead letters go back with attempts reset, new ids, and their content unchanged.
INSERT INTO nova.outbox_dead (id, event_id, topic, key, event_type, payload, headers, correlation_id, actor,
                              created_at, attempts, last_error, source)
VALUES (-1, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'nova.regress', 'd1', 'RegressDead', '{"big": true}',
        '{"h": "v"}', 'corr-dead', 'alice', '2026-01-01 00:00:00+00', 10, 'Broker: Message size too large', 'publish'),
       (-2, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12', 'nova.regress', NULL, 'RegressDead', NULL,
        '{}', NULL, NULL, '2026-01-01 00:00:01+00', 3, 'max attempts reached: Local: Message timed out', NULL);
SELECT nova.status()->>'dead_letters' AS dead_letters;
SELECT nova.retry_dead(ARRAY['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11']::uuid[]) AS retried;
SELECT nova.retry_dead(ARRAY['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11']::uuid[]) AS retried_again;
SELECT key, event_type, payload, headers, correlation_id, actor, attempts, next_attempt_at = '-infinity' AS due_now,
       id > 0 AS new_id, created_at = '2026-01-01 00:00:00+00' AS same_created_at
FROM nova.outbox WHERE event_type = 'RegressDead';
SELECT nova.retry_dead() AS retried_all;
SELECT nova.retry_dead() AS nothing_left;
SELECT count(*) AS dead_left FROM nova.outbox_dead;
SELECT count(*) AS pending FROM nova.outbox;
SELECT nova.retry_dead('{}') AS empty_list;

-- Bad input.
SELECT nova.retry_dead('{not-a-uuid}');
\echo :LAST_ERROR_SQLSTATE

-- Privileges: services see the status, not dead letters, retry or the secret config.
CREATE ROLE nova_regress_svc LOGIN IN ROLE nova_service;
SET ROLE nova_regress_svc;
SELECT nova.status()->>'state' AS state_as_service;
SELECT pending FROM nova.relay;
SELECT nova.retry_dead();
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM nova.outbox_dead;
\echo :LAST_ERROR_SQLSTATE
SHOW nova.kafka_config;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- PUBLIC gets nothing.
CREATE ROLE nova_regress_nobody LOGIN;
SET ROLE nova_regress_nobody;
SELECT nova.status();
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- The relay's settings are reload-only.
SET nova.kafka_brokers = 'localhost:9092';
\echo :LAST_ERROR_SQLSTATE
SET nova.relay_batch_size = 0;
\echo :LAST_ERROR_SQLSTATE
SET nova.event_format = 'cloudevents';
\echo :LAST_ERROR_SQLSTATE
SHOW nova.event_format;

-- The relay's role: no superuser, no login, only what the relay needs (docs/security.md).
SELECT rolname, rolsuper, rolcanlogin, rolcreaterole, rolcreatedb, rolbypassrls
FROM pg_roles WHERE rolname = 'nova_relay';
SELECT c.relname, p.priv
FROM pg_class c, unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) p(priv)
WHERE c.relnamespace = 'nova'::regnamespace AND c.relkind IN ('r', 'p', 'v')
  AND has_table_privilege('nova_relay', c.oid, p.priv)
ORDER BY 1, 2;
-- Column privileges beyond those: the snapshot bookkeeping (bgworker/snapshot.cpp).
SELECT c.relname, p.priv, string_agg(a.attname, ', ' ORDER BY a.attnum) AS columns
FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped,
     unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'REFERENCES']) p(priv)
WHERE c.relnamespace = 'nova'::regnamespace AND c.relkind IN ('r', 'p', 'v')
  AND has_column_privilege('nova_relay', c.oid, a.attnum, p.priv)
  AND NOT has_table_privilege('nova_relay', c.oid, p.priv)
GROUP BY 1, 2 ORDER BY 1, 2;
SELECT count(*) AS functions_nova_relay_may_call_beyond_public
FROM pg_proc f WHERE f.pronamespace = 'nova'::regnamespace AND has_function_privilege('nova_relay', f.oid, 'EXECUTE')
  AND NOT has_function_privilege('nova_regress_nobody', f.oid, 'EXECUTE');

DROP ROLE nova_regress_svc;
DROP ROLE nova_regress_nobody;
DELETE FROM nova.outbox WHERE topic = 'nova.regress';
