-- Objects created once (src/sql/README.md): the roles, the outbox storage.
-- The role services connect as (or are granted). Cluster-wide, so it may exist already.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'nova_service') THEN
    CREATE ROLE nova_service NOLOGIN;
  END IF;
END
$$;

-- The role the relay worker's SQL runs as (docs/security.md): not a superuser, no
-- login, only the privileges src/sql/40_relay.sql grants it. Cluster-wide as well.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'nova_relay') THEN
    CREATE ROLE nova_relay NOLOGIN;
  END IF;
END
$$;

-- ---------------------------------------------------------------------------
-- Outbox storage (docs/outbox.md). Undelivered events only: the relay deletes each
-- event in the transaction that records its delivery. The table is
-- list-partitioned on `slot` into two partitions; new rows go to the active
-- slot (nova._outbox_slot(), from shared memory). The relay flips the active
-- slot periodically and TRUNCATEs the inactive partition once it is drained,
-- so sustained load never needs a big DELETE + VACUUM to reclaim space.
-- ---------------------------------------------------------------------------
CREATE FUNCTION nova._outbox_slot() RETURNS smallint
  LANGUAGE c VOLATILE PARALLEL SAFE AS 'MODULE_PATHNAME', 'nova_outbox_slot';

CREATE SEQUENCE nova.outbox_id_seq AS bigint;

CREATE TABLE nova.outbox (
  id              bigint      NOT NULL DEFAULT nextval('nova.outbox_id_seq'),
  event_id        uuid        NOT NULL DEFAULT gen_random_uuid(),
  topic           text        NOT NULL,
  key             text,
  event_type      text        NOT NULL,
  payload         jsonb,
  headers         jsonb       NOT NULL DEFAULT '{}',
  correlation_id  text,
  traceparent     text,
  actor           text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  attempts        int         NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT '-infinity',
  last_error      text,
  source          text,        -- 'db.schema.table' or 'publish' (Kafka header `source`)
  schema_version  int,         -- registered schema version the payload was validated against
  slot            smallint    NOT NULL DEFAULT nova._outbox_slot(),
  PRIMARY KEY (id, slot),
  CHECK (topic <> ''),
  CHECK (event_type <> ''),
  CHECK (jsonb_typeof(headers) = 'object')
) PARTITION BY LIST (slot);
ALTER SEQUENCE nova.outbox_id_seq OWNED BY nova.outbox.id;

CREATE TABLE nova.outbox_0 PARTITION OF nova.outbox FOR VALUES IN (0);
CREATE TABLE nova.outbox_1 PARTITION OF nova.outbox FOR VALUES IN (1);
-- Every insert pays for each index, and the outbox trigger is on the write path
-- of every business table, so the table has one full index (the primary key,
-- which also gives the relay its claim order). The relay's other lookups only
-- concern events that failed at least once, so those indexes are partial: a
-- new event (attempts = 0) never enters them. event_id is a random UUID made
-- by nova (unique in practice; nova.outbox_dead enforces it).
CREATE INDEX outbox_retry_idx ON nova.outbox (next_attempt_at) WHERE attempts > 0;
CREATE INDEX outbox_key_idx ON nova.outbox (topic, key, id) WHERE attempts > 0;

CREATE TABLE nova.outbox_dead (
  id              bigint      NOT NULL PRIMARY KEY,
  event_id        uuid        NOT NULL UNIQUE,
  topic           text        NOT NULL,
  key             text,
  event_type      text        NOT NULL,
  payload         jsonb,
  headers         jsonb       NOT NULL DEFAULT '{}',
  correlation_id  text,
  traceparent     text,
  actor           text,
  created_at      timestamptz NOT NULL,
  attempts        int         NOT NULL,
  last_error      text,
  source          text,
  schema_version  int,
  dead_at         timestamptz NOT NULL DEFAULT now()
);
