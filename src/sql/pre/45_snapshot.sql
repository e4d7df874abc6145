-- ---------------------------------------------------------------------------
-- Snapshots (docs/outbox.md, "Snapshots"): one row per nova.snapshot() call.
-- The relay worker (bgworker/snapshot.cpp) publishes the table's rows in
-- primary-key order, one short transaction per batch, and keeps its place in
-- `cursor` (the last primary key published, as text), so it resumes after a
-- crash or restart where the last committed batch ended.
-- ---------------------------------------------------------------------------
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
-- At most one unfinished snapshot per table.
CREATE UNIQUE INDEX snapshot_jobs_active_idx ON nova.snapshot_jobs (tbl) WHERE state IN ('pending', 'running');
