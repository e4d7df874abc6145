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
