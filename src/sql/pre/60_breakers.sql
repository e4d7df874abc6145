-- ---------------------------------------------------------------------------
-- Circuit breakers (docs/breakers.md). State lives in shared memory,
-- one per name per cluster; options persist in nova.breaker_config and are
-- loaded into shared memory on first use after a restart.
-- ---------------------------------------------------------------------------
CREATE TABLE nova.breaker_config (
  name       text        COLLATE "C" PRIMARY KEY CHECK (octet_length(name) BETWEEN 1 AND 63),
  options    jsonb       NOT NULL CHECK (jsonb_typeof(options) = 'object'),
  updated_at timestamptz NOT NULL DEFAULT now()
);
SELECT pg_catalog.pg_extension_config_dump('nova.breaker_config', '');
