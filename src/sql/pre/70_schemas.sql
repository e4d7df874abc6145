-- ---------------------------------------------------------------------------
-- Event-schema registry (docs/schemas.md).
-- One row per (event type, version). The latest version of a type validates
-- outbox writes of that type (nova.validate_events). Every change to the table
-- invalidates the compiled schemas each backend caches (statement trigger).
-- ---------------------------------------------------------------------------
CREATE TABLE nova.event_schemas (
  event_type    text        NOT NULL,
  version       int         NOT NULL,
  schema        jsonb       NOT NULL,
  compatibility text        NOT NULL DEFAULT 'BACKWARD',
  created_at    timestamptz NOT NULL DEFAULT now(),
  created_by    text        NOT NULL DEFAULT current_user,
  PRIMARY KEY (event_type, version),
  CHECK (event_type <> '' AND octet_length(event_type) <= 255),
  CHECK (version > 0),
  CHECK (compatibility IN ('NONE', 'BACKWARD', 'BACKWARD_TRANSITIVE', 'FORWARD', 'FORWARD_TRANSITIVE',
                           'FULL', 'FULL_TRANSITIVE'))
);
SELECT pg_catalog.pg_extension_config_dump('nova.event_schemas', '');
