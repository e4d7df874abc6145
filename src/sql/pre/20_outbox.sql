-- ---------------------------------------------------------------------------
-- Outbox API (docs/outbox.md): nova.enable_outbox / nova.disable_outbox install and
-- remove the C++ row trigger; nova.publish writes an explicit event.
-- Storage (nova.outbox, nova.outbox_dead) is in 00_base.sql.
-- ---------------------------------------------------------------------------

-- What is enabled where (the trigger's arguments carry the same configuration).
CREATE TABLE nova.outbox_tables (
  tbl             regclass    PRIMARY KEY,
  topic           text        NOT NULL,
  key_columns     name[]      NOT NULL,
  entity          text        NOT NULL,
  exclude_columns name[]      NOT NULL DEFAULT '{}',
  enabled_at      timestamptz NOT NULL DEFAULT now(),
  tombstones      boolean     NOT NULL DEFAULT true,   -- 1.1: hard DELETE → Deleted + tombstone
  headers         jsonb       NOT NULL DEFAULT '{}'    -- 1.1: fixed headers of every event
);
SELECT pg_catalog.pg_extension_config_dump('nova.outbox_tables', '');
