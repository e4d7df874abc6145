-- Catalog changes from 1.0 to 1.1: what src/sql/pre/ creates differently now, and
-- functions or views whose signature changed (dropped here, recreated by the
-- replaceable files that make appends to this one). See src/sql/README.md.

-- relay: its own role, status names it (issues 9, 10, 11)
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'nova_relay') THEN
    CREATE ROLE nova_relay NOLOGIN;
  END IF;
END
$$;
-- nova._relay_status() gains an OUT column (role): drop it and the view built on it;
-- src/sql/40_relay.sql creates both again, with their grants.
DROP VIEW nova.relay;
DROP FUNCTION nova._relay_status();

-- outbox write path security (issue 9): publish grants (src/sql/pre/22_publish_grants.sql).
CREATE TABLE nova.publish_grants (
  grantee       regrole     NOT NULL,
  topic_pattern text        NOT NULL CHECK (topic_pattern OPERATOR(pg_catalog.<>) ''),  -- LIKE pattern
  granted_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
  PRIMARY KEY (grantee, topic_pattern)
);
SELECT pg_catalog.pg_extension_config_dump('nova.publish_grants', '');
-- soft delete: audit => false (issue 12)
ALTER TABLE nova.soft_delete_tables ADD COLUMN audit boolean NOT NULL DEFAULT true;
DROP FUNCTION nova.enable_soft_delete(regclass, name);
-- event contract (issue 10)
-- Tables enabled under 1.0 keep their 1.0 behaviour (no tombstones, no fixed
-- headers; their triggers carry format-1 arguments) until enable_outbox runs
-- again; new rows get the 1.1 default. Their stored topics are kept.
ALTER TABLE nova.outbox_tables ADD COLUMN tombstones boolean NOT NULL DEFAULT false;
ALTER TABLE nova.outbox_tables ALTER COLUMN tombstones SET DEFAULT true;
ALTER TABLE nova.outbox_tables ADD COLUMN headers jsonb NOT NULL DEFAULT '{}';
DROP FUNCTION nova.enable_outbox(regclass, text, name, text, name[]);
CREATE TABLE nova.snapshot_jobs (
  id             bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tbl            regclass    NOT NULL,
  batch_size     int         NOT NULL CHECK (batch_size BETWEEN 1 AND 1000000),
  state          text        NOT NULL DEFAULT 'pending'
                             CHECK (state IN ('pending', 'running', 'done', 'failed', 'cancelled')),
  key_columns    name[]      NOT NULL,
  cursor         text[],
  rows_done      bigint      NOT NULL DEFAULT 0,
  rows_estimated bigint,
  started_at     timestamptz NOT NULL DEFAULT now(),
  finished_at    timestamptz,
  last_error     text
);
CREATE UNIQUE INDEX snapshot_jobs_active_idx ON nova.snapshot_jobs (tbl) WHERE state IN ('pending', 'running');
-- register_schema gains force => (refuse a schema that rejects current data unless true).
DROP FUNCTION nova.register_schema(text, jsonb, text);
-- operations: test hooks only in test builds (issue 11)
-- 1.0 created these for everyone; from 1.1 only a test build has them (its
-- src/sql/test_hooks/*.sql, appended after this file, creates them again).
DROP FUNCTION IF EXISTS nova._selftest_boundary(text);
DROP FUNCTION IF EXISTS nova._breaker_clock_advance(interval);
