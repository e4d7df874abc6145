-- Correlation ids and trace context (docs/correlation.md): nova.correlation_id(),
-- nova.traceparent(), their sources in order, validation, and the correlation
-- id carried in server log records (and so in the CONTEXT of errors).
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS nova;
RESET client_min_messages;
\set SHOW_CONTEXT never

-- Generated: a UUID, stable within a transaction, different in the next one.
BEGIN;
SELECT nova.correlation_id() ~ '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' AS is_uuid;
SELECT nova.correlation_id() AS first \gset
SAVEPOINT s;
SELECT nova.correlation_id() = :'first' AS stable_in_subtransaction;
ROLLBACK TO SAVEPOINT s;
SELECT nova.correlation_id() = :'first' AS stable_until_commit;
COMMIT;
SELECT nova.correlation_id() <> :'first' AS new_transaction_new_id;
SELECT nova.traceparent() IS NULL AS no_traceparent;

-- From nova.correlation_id (SET LOCAL): only for that transaction.
BEGIN;
SET LOCAL nova.correlation_id = 'req-42';
SELECT nova.correlation_id();
SET LOCAL nova.traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
SELECT nova.traceparent();
COMMIT;
SELECT nova.correlation_id() <> 'req-42' AS gone_after_commit, nova.traceparent() IS NULL AS traceparent_gone;

-- Invalid values are rejected.
SET nova.correlation_id = 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx';
\echo :LAST_ERROR_SQLSTATE
SET nova.correlation_id = E'bad\nid';
\echo :LAST_ERROR_SQLSTATE
SET nova.traceparent = 'not-a-traceparent';
\echo :LAST_ERROR_SQLSTATE
SET nova.traceparent = '00-00000000000000000000000000000000-00f067aa0ba902b7-01';
\echo :LAST_ERROR_SQLSTATE
-- 128 bytes is the limit, inclusive.
BEGIN;
SET LOCAL nova.correlation_id = 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx';
SELECT length(nova.correlation_id());
COMMIT;

-- From PostgREST's request.headers: x-correlation-id, then x-request-id.
BEGIN;
SELECT set_config('request.headers', '{"x-correlation-id": "hdr-corr", "x-request-id": "hdr-req", "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"}', true) IS NOT NULL AS set;
SELECT nova.correlation_id(), nova.traceparent();
SELECT set_config('request.headers', '{"x-request-id": "hdr-req", "accept": "*/*"}', true) IS NOT NULL AS set;
SELECT nova.correlation_id(), nova.traceparent() IS NULL AS no_traceparent;
-- header names are case-insensitive; an empty value counts as absent
SELECT set_config('request.headers', '{"X-Correlation-Id": "", "X-Request-ID": "upper"}', true) IS NOT NULL AS set;
SELECT nova.correlation_id();
-- the GUC wins over the headers
SET LOCAL nova.correlation_id = 'guc-wins';
SELECT nova.correlation_id();
COMMIT;
-- headers without an id: a generated one
BEGIN;
SELECT set_config('request.headers', '{"accept": "*/*"}', true) IS NOT NULL AS set;
SELECT length(nova.correlation_id()) = 36 AS generated;
COMMIT;

-- Invalid headers are rejected with a clear error.
BEGIN;
SELECT set_config('request.headers', '{"x-correlation-id": "' || repeat('y', 129) || '"}', true) IS NOT NULL AS set;
SELECT nova.correlation_id();
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SELECT set_config('request.headers', '{"x-request-id": "a\u0001b"}', true) IS NOT NULL AS set;
SELECT nova.correlation_id();
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SELECT set_config('request.headers', '{"x-correlation-id": 42}', true) IS NOT NULL AS set;
SELECT nova.correlation_id();
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SELECT set_config('request.headers', '{"traceparent": "00-bad"}', true) IS NOT NULL AS set;
SELECT nova.traceparent();
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SELECT set_config('request.headers', 'not json', true) IS NOT NULL AS set;
SELECT nova.correlation_id();
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SELECT set_config('request.headers', '["x-correlation-id", "a"]', true) IS NOT NULL AS set;
SELECT nova.correlation_id();
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
-- an invalid header does not matter while the GUC supplies the id
BEGIN;
SELECT set_config('request.headers', 'not json', true) IS NOT NULL AS set;
SET LOCAL nova.correlation_id = 'guc';
SELECT nova.correlation_id();
ROLLBACK;

-- Log records (and so errors) carry the supplied correlation id as a CONTEXT line;
-- generated ids are not added. SQLSTATE and message are unchanged.
\set SHOW_CONTEXT errors
BEGIN;
SET LOCAL nova.correlation_id = 'req-log-1';
SELECT 1 / 0;
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SELECT set_config('request.headers', '{"x-request-id": "req-from-header"}', true) IS NOT NULL AS set;
SELECT nova.correlation_id();
SELECT 1 / 0;
ROLLBACK;
SELECT 1 / 0;
\set SHOW_CONTEXT never

-- Everyone may call them.
CREATE ROLE nova_regress_corr;
SET ROLE nova_regress_corr;
BEGIN;
SET LOCAL nova.correlation_id = 'as-other-role';
SELECT nova.correlation_id(), nova.traceparent();
COMMIT;
RESET ROLE;
DROP ROLE nova_regress_corr;
