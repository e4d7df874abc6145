-- Catalog changes from 1.0 to 1.1: what src/sql/pre/ creates differently now, and
-- functions or views whose signature changed (dropped here, recreated by the
-- replaceable files that make appends to this one). See src/sql/README.md.

-- event contract (issue 10)
-- Tables enabled under 1.0 keep their 1.0 behaviour (no tombstones, no fixed
-- headers; their triggers carry format-1 arguments) until enable_outbox runs
-- again; new rows get the 1.1 default. Their stored topics are kept.
ALTER TABLE nova.outbox_tables ADD COLUMN tombstones boolean NOT NULL DEFAULT false;
ALTER TABLE nova.outbox_tables ALTER COLUMN tombstones SET DEFAULT true;
ALTER TABLE nova.outbox_tables ADD COLUMN headers jsonb NOT NULL DEFAULT '{}';
DROP FUNCTION nova.enable_outbox(regclass, text, name, text, name[]);
