-- Snapshots (docs/outbox.md, "Snapshots"): nova.snapshot() and nova.snapshots,
-- nova.cancel_snapshot(), progress in nova.status(), refusals. The relay worker
-- does the publishing (test/e2e/45_snapshot.sh); this cluster has no Kafka, so
-- jobs stay pending here.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS nova;
RESET client_min_messages;
\set SHOW_CONTEXT never

CREATE TABLE sn_items (id int PRIMARY KEY, name text);
INSERT INTO sn_items SELECT g, 'n' || g FROM generate_series(1, 100) g;
ANALYZE sn_items;
-- not enabled yet
SELECT nova.snapshot('sn_items');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.enable_outbox('sn_items');
SELECT nova.snapshot('sn_items', batch_size => 0);
\echo :LAST_ERROR_SQLSTATE
SELECT nova.snapshot('sn_items', batch_size => NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT nova.snapshot('sn_items', batch_size => 10) AS id \gset
SELECT id = :id AS same_id, tbl, state, rows_done, rows_estimated, started_at IS NOT NULL AS started,
       finished_at, last_error FROM nova.snapshots;
-- one unfinished snapshot per table
SELECT nova.snapshot('sn_items');
\echo :LAST_ERROR_SQLSTATE
SELECT s->>'tbl' AS tbl, s->>'state' AS state, s->>'rows_done' AS rows_done, s->>'rows_estimated' AS rows_estimated
  FROM jsonb_array_elements(nova.status()->'snapshots') s WHERE (s->>'id')::bigint = :id;
SELECT nova.cancel_snapshot(:id), nova.cancel_snapshot(:id);
SELECT state, finished_at IS NOT NULL AS finished FROM nova.snapshots WHERE id = :id;
SELECT nova.status()->'snapshots' AS no_active_snapshots;
-- a table without a primary key (enabled with key_column) cannot be read in key order
CREATE TABLE sn_log (request_id text, body text);
SELECT nova.enable_outbox('sn_log', key_column => 'request_id');
SELECT nova.snapshot('sn_log');
\echo :LAST_ERROR_SQLSTATE

-- A plain role cannot start a snapshot, even of its own table, nor read the jobs.
CREATE ROLE sn_plain;
GRANT USAGE ON SCHEMA nova TO sn_plain;
ALTER TABLE sn_items OWNER TO sn_plain;
SET ROLE sn_plain;
SELECT nova.snapshot('sn_items');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM nova.snapshots;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT count(*) AS unfinished FROM nova.snapshots WHERE state IN ('pending', 'running');

DROP TABLE sn_items, sn_log;
REVOKE USAGE ON SCHEMA nova FROM sn_plain;
DROP ROLE sn_plain;
DELETE FROM nova.outbox_tables WHERE NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = tbl);
DELETE FROM nova.snapshot_jobs;
TRUNCATE nova.outbox;
