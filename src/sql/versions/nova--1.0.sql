-- nova install script. Assembled by `make` from src/sql/*.sql in name order;
-- each feature owns one fragment.
\echo Use "CREATE EXTENSION nova" to load this file. \quit

-- The role services connect as (or are granted). Cluster-wide, so it may exist already.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'nova_service') THEN
    CREATE ROLE nova_service NOLOGIN;
  END IF;
END
$$;

REVOKE ALL ON SCHEMA nova FROM PUBLIC;
GRANT USAGE ON SCHEMA nova TO PUBLIC;
GRANT USAGE ON SCHEMA nova TO nova_service;

-- Boundary self-test (regression suite only).
CREATE FUNCTION nova._selftest_boundary(kind text) RETURNS int
  LANGUAGE c STRICT AS 'MODULE_PATHNAME', 'nova_selftest_boundary';
REVOKE ALL ON FUNCTION nova._selftest_boundary(text) FROM PUBLIC;

-- ---------------------------------------------------------------------------
-- Outbox storage (SPEC §3). Undelivered events only: the relay deletes each
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

REVOKE ALL ON nova.outbox, nova.outbox_0, nova.outbox_1, nova.outbox_dead, nova.outbox_id_seq FROM PUBLIC;
GRANT SELECT ON nova.outbox TO nova_service;

-- ---------------------------------------------------------------------------
-- Correlation (SPEC §2): the current transaction's correlation id and trace
-- context. Services SET LOCAL nova.correlation_id / nova.traceparent, or pass
-- them as PostgREST request.headers; otherwise an id is generated per transaction.
-- VOLATILE: the value may change with SET LOCAL inside a transaction.
-- PARALLEL RESTRICTED: a generated id lives in the leader's memory.
-- ---------------------------------------------------------------------------
CREATE FUNCTION nova.correlation_id() RETURNS text
  LANGUAGE c VOLATILE PARALLEL RESTRICTED AS 'MODULE_PATHNAME', 'nova_correlation_id';
COMMENT ON FUNCTION nova.correlation_id() IS
  'Correlation id of the current transaction: nova.correlation_id, else request.headers x-correlation-id / x-request-id, else a UUID generated once per transaction.';

CREATE FUNCTION nova.traceparent() RETURNS text
  LANGUAGE c VOLATILE PARALLEL RESTRICTED AS 'MODULE_PATHNAME', 'nova_traceparent';
COMMENT ON FUNCTION nova.traceparent() IS
  'W3C traceparent supplied by the service (nova.traceparent, else request.headers traceparent), else NULL.';

-- Harmless and useful to every caller (services log them).
GRANT EXECUTE ON FUNCTION nova.correlation_id(), nova.traceparent() TO PUBLIC;

-- ---------------------------------------------------------------------------
-- Outbox API (SPEC §3): nova.enable_outbox / nova.disable_outbox install and
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
  enabled_at      timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE nova.outbox_tables IS
  'Tables whose changes nova publishes through the outbox; maintained by nova.enable_outbox() / nova.disable_outbox().';
SELECT pg_catalog.pg_extension_config_dump('nova.outbox_tables', '');
REVOKE ALL ON nova.outbox_tables FROM PUBLIC;
GRANT SELECT ON nova.outbox_tables TO nova_service;

-- The row trigger (C++). Not for direct use: nova.enable_outbox() installs it.
CREATE FUNCTION nova._outbox_trigger() RETURNS trigger
  LANGUAGE c AS 'MODULE_PATHNAME', 'nova_outbox_trigger';
REVOKE ALL ON FUNCTION nova._outbox_trigger() FROM PUBLIC;

-- Session switch between the direct partition insert (default) and the SPI
-- INSERT fallback; for tests and benchmarks. Returns the previous setting.
CREATE FUNCTION nova._outbox_fast_path(on_ bool) RETURNS bool
  LANGUAGE c STRICT AS 'MODULE_PATHNAME', 'nova_outbox_fast_path';
REVOKE ALL ON FUNCTION nova._outbox_fast_path(bool) FROM PUBLIC;

-- Naming rules (src/core/outbox_names.cpp).
CREATE FUNCTION nova._outbox_entity_name(tbl_name text) RETURNS text
  LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'nova_outbox_entity_name';
CREATE FUNCTION nova._outbox_topic_problem(topic text) RETURNS text
  LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'nova_outbox_topic_problem';
CREATE FUNCTION nova._outbox_entity_problem(entity text) RETURNS text
  LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'nova_outbox_entity_problem';

CREATE FUNCTION nova.enable_outbox(tbl regclass, topic text DEFAULT NULL, key_column name DEFAULT NULL,
                                   entity text DEFAULT NULL, exclude_columns name[] DEFAULT '{}')
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
#variable_conflict use_variable
DECLARE
  r          record;
  keys       name[];
  excl       name[];
  col        name;
  the_topic  text;
  the_entity text;
  problem    text;
  args       text;
  other      regclass;
BEGIN
  IF tbl IS NULL THEN
    RAISE EXCEPTION 'table must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  SELECT c.relname, c.relkind, c.relispartition, n.nspname INTO r
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.oid = tbl;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'table with OID % does not exist', tbl::oid USING ERRCODE = 'undefined_table';
  END IF;
  IF r.relkind NOT IN ('r', 'p') THEN
    RAISE EXCEPTION '"%" is not a table', tbl USING ERRCODE = 'wrong_object_type',
      DETAIL = 'The outbox can be enabled on ordinary and partitioned tables only.';
  END IF;
  IF r.nspname IN ('nova', 'information_schema') OR r.nspname LIKE 'pg\_%' THEN
    RAISE EXCEPTION 'cannot enable the outbox on "%"', tbl USING ERRCODE = 'feature_not_supported',
      DETAIL = 'Tables in schema nova and in system schemas cannot have an outbox.';
  END IF;
  IF EXISTS (SELECT 1 FROM pg_trigger t
              WHERE t.tgrelid = tbl AND t.tgname = 'nova_outbox' AND t.tgfoid <> 'nova._outbox_trigger()'::regprocedure) THEN
    RAISE EXCEPTION '"%" already has a trigger named nova_outbox that is not nova''s', tbl
      USING ERRCODE = 'duplicate_object', HINT = 'Rename that trigger; nova reserves the name nova_outbox.';
  END IF;
  -- A partition publishes through its parent's outbox; a parent cannot take over partitions that have their own.
  SELECT o.tbl INTO other FROM pg_partition_ancestors(tbl) a JOIN nova.outbox_tables o ON o.tbl = a.relid
   WHERE a.relid <> tbl LIMIT 1;
  IF other IS NOT NULL THEN
    RAISE EXCEPTION 'the outbox of "%" is enabled on its parent "%"', tbl, other
      USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'Change the configuration on the parent table instead.';
  END IF;
  SELECT o.tbl INTO other FROM pg_partition_tree(tbl) p JOIN nova.outbox_tables o ON o.tbl = p.relid
   WHERE p.relid <> tbl LIMIT 1;
  IF other IS NOT NULL THEN
    RAISE EXCEPTION 'partition "%" of "%" has its own outbox', other, tbl
      USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'Run nova.disable_outbox() on the partition first.';
  END IF;

  -- The event key: key_column, else the primary key.
  IF key_column IS NOT NULL THEN
    IF NOT EXISTS (SELECT 1 FROM pg_attribute a
                    WHERE a.attrelid = tbl AND a.attname = key_column AND a.attnum > 0 AND NOT a.attisdropped) THEN
      RAISE EXCEPTION 'column "%" of "%" does not exist', key_column, tbl USING ERRCODE = 'undefined_column';
    END IF;
    keys := ARRAY[key_column];
  ELSE
    SELECT array_agg(a.attname ORDER BY k.ord) INTO keys
      FROM pg_index i
     CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
      JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
     WHERE i.indrelid = tbl AND i.indisprimary;
    IF keys IS NULL THEN
      RAISE EXCEPTION '"%" has no primary key', tbl USING ERRCODE = 'invalid_table_definition',
        HINT = 'Add a primary key, or name the event key column: nova.enable_outbox(tbl, key_column => ''...'').';
    END IF;
  END IF;

  excl := coalesce(exclude_columns, '{}');
  IF array_position(excl, NULL) IS NOT NULL THEN
    RAISE EXCEPTION 'exclude_columns must not contain NULL' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  FOREACH col IN ARRAY excl LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_attribute a
                    WHERE a.attrelid = tbl AND a.attname = col AND a.attnum > 0 AND NOT a.attisdropped) THEN
      RAISE EXCEPTION 'column "%" of "%" does not exist', col, tbl USING ERRCODE = 'undefined_column',
        DETAIL = 'It is listed in exclude_columns.';
    END IF;
    IF col = ANY (keys) THEN
      RAISE EXCEPTION 'cannot exclude key column "%"', col USING ERRCODE = 'invalid_parameter_value',
        DETAIL = 'The event key is built from it.';
    END IF;
  END LOOP;
  excl := ARRAY(SELECT DISTINCT x FROM unnest(excl) AS x ORDER BY 1);

  IF topic IS NOT NULL AND btrim(topic) = '' THEN
    RAISE EXCEPTION 'topic must not be empty' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  -- Calling into the library first defines nova's GUCs when nova is not preloaded.
  PERFORM nova._outbox_topic_problem('nova');
  the_topic := coalesce(topic, current_setting('nova.topic_prefix') || r.relname);
  problem := nova._outbox_topic_problem(the_topic);
  IF problem IS NOT NULL THEN
    RAISE EXCEPTION 'invalid topic "%"', the_topic USING ERRCODE = 'invalid_parameter_value', DETAIL = problem || '.',
      HINT = CASE WHEN topic IS NULL THEN 'The default topic is nova.topic_prefix || table name; pass topic => ''...''.'
                  ELSE 'Kafka topic names are 1-249 characters from [A-Za-z0-9._-].' END;
  END IF;

  IF entity IS NOT NULL AND btrim(entity) = '' THEN
    RAISE EXCEPTION 'entity must not be empty' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  the_entity := coalesce(entity, nova._outbox_entity_name(r.relname));
  problem := nova._outbox_entity_problem(the_entity);
  IF problem IS NOT NULL THEN
    RAISE EXCEPTION 'invalid entity "%"', the_entity USING ERRCODE = 'invalid_parameter_value', DETAIL = problem || '.',
      HINT = CASE WHEN entity IS NULL THEN 'The default entity is the table name in singular CamelCase; pass entity => ''...''.'
                  ELSE 'An entity is an identifier such as Post or UserFollow.' END;
  END IF;

  -- Trigger arguments, format 1: '1', topic, entity, nkeys, keys..., excluded...
  args := format('%L, %L, %L, %L', '1', the_topic, the_entity, cardinality(keys)::text);
  args := args || coalesce((SELECT string_agg(format(', %L', k), '' ORDER BY o)
                              FROM unnest(keys) WITH ORDINALITY AS u(k, o)), '');
  args := args || coalesce((SELECT string_agg(format(', %L', x), '' ORDER BY o)
                              FROM unnest(excl) WITH ORDINALITY AS u(x, o)), '');
  IF EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = tbl AND t.tgname = 'nova_outbox') THEN
    EXECUTE format('DROP TRIGGER nova_outbox ON %s', tbl);
  END IF;
  EXECUTE format('CREATE TRIGGER nova_outbox AFTER INSERT OR UPDATE OR DELETE ON %s '
                 'FOR EACH ROW EXECUTE FUNCTION nova._outbox_trigger(%s)', tbl, args);

  INSERT INTO nova.outbox_tables AS o (tbl, topic, key_columns, entity, exclude_columns, enabled_at)
  VALUES (enable_outbox.tbl, the_topic, keys, the_entity, excl, now())
  ON CONFLICT ON CONSTRAINT outbox_tables_pkey DO UPDATE
    SET topic = EXCLUDED.topic, key_columns = EXCLUDED.key_columns, entity = EXCLUDED.entity,
        exclude_columns = EXCLUDED.exclude_columns, enabled_at = EXCLUDED.enabled_at;
END
$fn$;
COMMENT ON FUNCTION nova.enable_outbox(regclass, text, name, text, name[]) IS
  'Publish every INSERT, UPDATE and DELETE of a table as outbox events (idempotent; re-running replaces the configuration).';

CREATE FUNCTION nova.disable_outbox(tbl regclass) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
#variable_conflict use_variable
DECLARE
  other regclass;
BEGIN
  IF tbl IS NULL THEN
    RAISE EXCEPTION 'table must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = tbl) THEN
    RAISE EXCEPTION 'table with OID % does not exist', tbl::oid USING ERRCODE = 'undefined_table';
  END IF;
  SELECT o.tbl INTO other FROM pg_partition_ancestors(tbl) a JOIN nova.outbox_tables o ON o.tbl = a.relid
   WHERE a.relid <> tbl LIMIT 1;
  IF other IS NOT NULL THEN
    RAISE EXCEPTION 'the outbox of "%" is enabled on its parent "%"', tbl, other
      USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'Disable it on the parent table.';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_trigger t
                  WHERE t.tgrelid = tbl AND t.tgname = 'nova_outbox' AND t.tgfoid = 'nova._outbox_trigger()'::regprocedure)
     AND NOT EXISTS (SELECT 1 FROM nova.outbox_tables o WHERE o.tbl = disable_outbox.tbl) THEN
    RAISE NOTICE 'the outbox is not enabled on "%", skipping', tbl;
    RETURN;
  END IF;
  IF EXISTS (SELECT 1 FROM pg_trigger t
              WHERE t.tgrelid = tbl AND t.tgname = 'nova_outbox' AND t.tgfoid = 'nova._outbox_trigger()'::regprocedure) THEN
    EXECUTE format('DROP TRIGGER nova_outbox ON %s', tbl);
  END IF;
  DELETE FROM nova.outbox_tables o WHERE o.tbl = disable_outbox.tbl;
END
$fn$;
COMMENT ON FUNCTION nova.disable_outbox(regclass) IS 'Stop publishing a table''s changes (removes the outbox trigger).';

REVOKE ALL ON FUNCTION nova.enable_outbox(regclass, text, name, text, name[]), nova.disable_outbox(regclass) FROM PUBLIC;

CREATE FUNCTION nova.publish(topic text, key text, event_type text, payload jsonb, headers jsonb DEFAULT '{}')
RETURNS uuid LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'nova_publish';
COMMENT ON FUNCTION nova.publish(text, text, text, jsonb, jsonb) IS
  'Write an explicit event to the outbox in the current transaction; returns its event_id.';
REVOKE ALL ON FUNCTION nova.publish(text, text, text, jsonb, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION nova.publish(text, text, text, jsonb, jsonb) TO nova_service;

-- ---------------------------------------------------------------------------
-- JWT: stateless functions (SPEC §6, docs/jwt.md). Verification against the
-- key table, nova.authenticate and the cache are in the authentication fragment.
-- All three are safe for any role: they use only the key the caller passes and
-- touch no table, so EXECUTE stays granted to PUBLIC (and explicitly to
-- nova_service).
-- ---------------------------------------------------------------------------
CREATE FUNCTION nova.jwt_verify(token text, key text, algorithms text[] DEFAULT NULL,
                                audience text DEFAULT NULL, issuer text DEFAULT NULL)
  RETURNS jsonb
  LANGUAGE c VOLATILE PARALLEL SAFE AS 'MODULE_PATHNAME', 'nova_jwt_verify';
COMMENT ON FUNCTION nova.jwt_verify(text, text, text[], text, text) IS
  'Verify a JWS-signed JWT with the given key (HMAC secret, PEM, JWK or JWKS) and return its claims';

CREATE FUNCTION nova.jwt_sign(claims jsonb, key text, algorithm text DEFAULT 'HS256', header jsonb DEFAULT NULL)
  RETURNS text
  LANGUAGE c VOLATILE PARALLEL SAFE AS 'MODULE_PATHNAME', 'nova_jwt_sign';
COMMENT ON FUNCTION nova.jwt_sign(jsonb, text, text, jsonb) IS
  'Sign claims as a compact JWS (HS*, RS*, PS*, ES*, EdDSA)';

CREATE FUNCTION nova.jwt_decode_unverified(token text)
  RETURNS TABLE(header jsonb, claims jsonb)
  LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE ROWS 1 AS 'MODULE_PATHNAME', 'nova_jwt_decode_unverified';
COMMENT ON FUNCTION nova.jwt_decode_unverified(text) IS
  'Split a compact JWS into header and claims WITHOUT verifying it (never use for authentication)';

GRANT EXECUTE ON FUNCTION nova.jwt_verify(text, text, text[], text, text) TO nova_service;
GRANT EXECUTE ON FUNCTION nova.jwt_sign(jsonb, text, text, jsonb) TO nova_service;
GRANT EXECUTE ON FUNCTION nova.jwt_decode_unverified(text) TO nova_service;
-- ---------------------------------------------------------------------------
-- Authentication (SPEC §6, §9; docs/authentication.md): the key table, JWKS
-- import, revocation, nova.authenticate and the transaction's identity.
-- Keys and revocations are for the extension owner only; services call
-- nova.authenticate, which reads them as the owner of nova.jwt_keys.
-- ---------------------------------------------------------------------------

-- Row check of nova.jwt_keys: the algorithm is known and the key serves it.
CREATE FUNCTION nova._jwt_key_check(algorithm text, key text) RETURNS boolean
  LANGUAGE c IMMUTABLE STRICT AS 'MODULE_PATHNAME', 'nova_jwt_key_check';

CREATE TABLE nova.jwt_keys (
  kid        text PRIMARY KEY CHECK (kid <> ''),
  algorithm  text NOT NULL,
  key        text NOT NULL,
  issuer     text,
  audience   text,
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz,
  CONSTRAINT jwt_keys_key_valid CHECK (nova._jwt_key_check(algorithm, key))
);
COMMENT ON TABLE nova.jwt_keys IS
  'Keys nova.authenticate verifies tokens with (secrets: owner only). kid selects the row; revoked_at <= now() disables it.';

-- Revoked token ids: a revocation counts until expires_at (+ nova.jwt_leeway); set it to the token''s exp.
CREATE TABLE nova.jwt_revoked_jti (
  jti        text PRIMARY KEY,
  expires_at timestamptz NOT NULL,
  revoked_at timestamptz NOT NULL DEFAULT now()
);
-- Revoked subjects: every token of the subject whose iat is before issued_before (or that has no iat).
CREATE TABLE nova.jwt_revoked_subjects (
  subject       text PRIMARY KEY,
  issued_before timestamptz NOT NULL,
  revoked_at    timestamptz NOT NULL DEFAULT now()
);

SELECT pg_catalog.pg_extension_config_dump('nova.jwt_keys', '');
SELECT pg_catalog.pg_extension_config_dump('nova.jwt_revoked_jti', '');
SELECT pg_catalog.pg_extension_config_dump('nova.jwt_revoked_subjects', '');
REVOKE ALL ON nova.jwt_keys, nova.jwt_revoked_jti, nova.jwt_revoked_subjects FROM PUBLIC;

-- Any change to keys or revocations invalidates the shared JWT cache in every backend.
CREATE FUNCTION nova._jwt_keyset_changed() RETURNS trigger
  LANGUAGE c AS 'MODULE_PATHNAME', 'nova_jwt_keyset_changed';
CREATE TRIGGER jwt_keys_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON nova.jwt_keys
  FOR EACH STATEMENT EXECUTE FUNCTION nova._jwt_keyset_changed();
CREATE TRIGGER jwt_revoked_jti_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON nova.jwt_revoked_jti
  FOR EACH STATEMENT EXECUTE FUNCTION nova._jwt_keyset_changed();
CREATE TRIGGER jwt_revoked_subjects_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON nova.jwt_revoked_subjects
  FOR EACH STATEMENT EXECUTE FUNCTION nova._jwt_keyset_changed();

-- JWKS → rows ({kid, algorithm, key}); nova.jwks_import upserts them.
CREATE FUNCTION nova._jwks_parse(jwks jsonb) RETURNS jsonb
  LANGUAGE c IMMUTABLE STRICT AS 'MODULE_PATHNAME', 'nova_jwks_parse';

-- Upsert by kid. A re-import replaces algorithm and key but keeps issuer,
-- audience, created_at and revoked_at: a periodic JWKS sync never un-revokes.
CREATE FUNCTION nova.jwks_import(jwks jsonb) RETURNS int
  LANGUAGE sql STRICT SET search_path = pg_catalog, pg_temp AS $$
  WITH parsed AS (
    SELECT r.kid, r.algorithm, r.key
      FROM pg_catalog.jsonb_to_recordset(nova._jwks_parse(jwks)) AS r(kid text, algorithm text, key text)
  ), upserted AS (
    INSERT INTO nova.jwt_keys AS k (kid, algorithm, key)
    SELECT kid, algorithm, key FROM parsed
    ON CONFLICT (kid) DO UPDATE SET algorithm = excluded.algorithm, key = excluded.key
    RETURNING 1
  )
  SELECT pg_catalog.count(*)::int FROM upserted
$$;

-- Revoke one token by its jti until expires_at (use the token's exp). Also drops
-- revocations that ended more than a day ago (the longest nova.jwt_leeway).
CREATE FUNCTION nova.jwt_revoke(jti text, expires_at timestamptz) RETURNS void
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF jti IS NULL OR jti = '' THEN
    RAISE EXCEPTION 'jti must not be null or empty' USING ERRCODE = '22004';
  END IF;
  IF expires_at IS NULL THEN
    RAISE EXCEPTION 'expires_at must not be null' USING ERRCODE = '22004',
      HINT = 'use the token''s exp; ''infinity'' revokes forever';
  END IF;
  INSERT INTO nova.jwt_revoked_jti AS r (jti, expires_at) VALUES (jwt_revoke.jti, jwt_revoke.expires_at)
  ON CONFLICT ON CONSTRAINT jwt_revoked_jti_pkey
    DO UPDATE SET expires_at = greatest(r.expires_at, excluded.expires_at), revoked_at = now();
  DELETE FROM nova.jwt_revoked_jti r WHERE r.expires_at < now() - interval '1 day';
END
$$;

-- Revoke every token of a subject issued before issued_before (default: now).
CREATE FUNCTION nova.jwt_revoke_subject(subject text, issued_before timestamptz DEFAULT now()) RETURNS void
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF subject IS NULL OR subject = '' THEN
    RAISE EXCEPTION 'subject must not be null or empty' USING ERRCODE = '22004';
  END IF;
  IF issued_before IS NULL THEN
    RAISE EXCEPTION 'issued_before must not be null' USING ERRCODE = '22004';
  END IF;
  INSERT INTO nova.jwt_revoked_subjects AS r (subject, issued_before)
  VALUES (jwt_revoke_subject.subject, jwt_revoke_subject.issued_before)
  ON CONFLICT ON CONSTRAINT jwt_revoked_subjects_pkey
    DO UPDATE SET issued_before = greatest(r.issued_before, excluded.issued_before), revoked_at = now();
END
$$;

-- Drop jti revocations that ended more than a day ago; returns how many.
CREATE FUNCTION nova.jwt_revocations_cleanup() RETURNS int
  LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
  WITH d AS (DELETE FROM nova.jwt_revoked_jti r WHERE r.expires_at < now() - interval '1 day' RETURNING 1)
  SELECT count(*)::int FROM d
$$;

-- Verify a bearer token against nova.jwt_keys (through the shared cache) and make
-- its subject this transaction's identity. Returns the claims.
CREATE FUNCTION nova.authenticate(token text) RETURNS jsonb
  LANGUAGE c VOLATILE PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'nova_authenticate';
-- The identity: NULL until nova.authenticate succeeds in this transaction. For RLS
-- policies: PUBLIC may call them; PARALLEL RESTRICTED so they run in the leader,
-- the backend that holds the identity.
CREATE FUNCTION nova.subject() RETURNS text
  LANGUAGE c STABLE PARALLEL RESTRICTED AS 'MODULE_PATHNAME', 'nova_subject';
CREATE FUNCTION nova.claims() RETURNS jsonb
  LANGUAGE c STABLE PARALLEL RESTRICTED AS 'MODULE_PATHNAME', 'nova_claims';
CREATE FUNCTION nova.jwt_cache_stats() RETURNS jsonb
  LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'nova_jwt_cache_stats';

REVOKE ALL ON FUNCTION nova._jwt_keyset_changed(), nova._jwks_parse(jsonb), nova.jwks_import(jsonb),
  nova.jwt_revoke(text, timestamptz), nova.jwt_revoke_subject(text, timestamptz), nova.jwt_revocations_cleanup(),
  nova.authenticate(text), nova.jwt_cache_stats() FROM PUBLIC;
-- The key check runs inside the table's CHECK constraint for whoever may write the
-- table; it reveals nothing, so it stays executable.
GRANT EXECUTE ON FUNCTION nova.subject(), nova.claims() TO PUBLIC;
GRANT EXECUTE ON FUNCTION nova.authenticate(text), nova.subject(), nova.claims(), nova.jwt_cache_stats()
  TO nova_service;
-- ---------------------------------------------------------------------------
-- Shared key/value cache (SPEC §7; docs/cache.md). Shared memory, per database,
-- LRU-bounded by nova.cache_memory, lazy TTL expiry. Not durable by design.
-- ---------------------------------------------------------------------------
CREATE FUNCTION nova.cache_get(key text) RETURNS text STRICT
  LANGUAGE c VOLATILE PARALLEL SAFE AS 'MODULE_PATHNAME', 'nova_cache_get';
CREATE FUNCTION nova.cache_set(key text, value text, ttl interval DEFAULT NULL) RETURNS void
  LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'nova_cache_set';
CREATE FUNCTION nova.cache_delete(key text) RETURNS boolean STRICT
  LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'nova_cache_delete';
CREATE FUNCTION nova.cache_incr(key text, delta bigint DEFAULT 1, ttl interval DEFAULT NULL) RETURNS bigint
  LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'nova_cache_incr';
CREATE FUNCTION nova.cache_stats() RETURNS jsonb
  LANGUAGE c VOLATILE PARALLEL SAFE AS 'MODULE_PATHNAME', 'nova_cache_stats';
CREATE FUNCTION nova.cache_flush() RETURNS void
  LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'nova_cache_flush';

REVOKE ALL ON FUNCTION nova.cache_get(text), nova.cache_set(text, text, interval), nova.cache_delete(text),
  nova.cache_incr(text, bigint, interval), nova.cache_stats(), nova.cache_flush() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION nova.cache_get(text), nova.cache_set(text, text, interval), nova.cache_delete(text),
  nova.cache_incr(text, bigint, interval), nova.cache_stats() TO nova_service;
-- ---------------------------------------------------------------------------
-- Relay (SPEC §4): status, dead letters. The worker itself lives in bgworker/.
-- ---------------------------------------------------------------------------

-- Shared-memory half of the status (worker state and counters since it started).
CREATE FUNCTION nova._relay_status(
  OUT state text, OUT worker_pid int, OUT delivered bigint, OUT failed bigint, OUT dead bigint,
  OUT last_error text, OUT last_delivery_at timestamptz, OUT started_at timestamptz, OUT breaker text,
  OUT events_per_second float8, OUT brokers text, OUT active_slot int, OUT rotations bigint)
  RETURNS record LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'nova_relay_status';
REVOKE ALL ON FUNCTION nova._relay_status() FROM PUBLIC;
-- Called by view nova.relay, whose functions run with the caller's rights.
GRANT EXECUTE ON FUNCTION nova._relay_status() TO nova_service;

-- One row: the relay as an operator sees it. Runs with the view owner's rights, so
-- nova_service sees the outbox backlog and the dead-letter count (no event contents).
CREATE VIEW nova.relay AS
SELECT r.state,
       p.pending,
       p.oldest_pending_seconds,
       r.delivered,
       r.failed,
       r.dead,
       d.dead_letters,
       r.last_error,
       r.last_delivery_at,
       r.breaker,
       round(r.events_per_second::numeric, 2) AS events_per_second,
       r.worker_pid,
       r.brokers,
       r.started_at,
       r.active_slot,
       r.rotations
FROM nova._relay_status() r,
     LATERAL (SELECT count(*) AS pending,
                     round(extract(epoch FROM pg_catalog.clock_timestamp() - min(o.created_at))::numeric, 3)
                       AS oldest_pending_seconds
              FROM nova.outbox o) p,
     LATERAL (SELECT count(*) AS dead_letters FROM nova.outbox_dead) d;

CREATE FUNCTION nova.status() RETURNS jsonb
  LANGUAGE sql VOLATILE
  SET search_path = pg_catalog, pg_temp
  AS $$ SELECT to_jsonb(r) FROM nova.relay r $$;

REVOKE ALL ON nova.relay FROM PUBLIC;
REVOKE ALL ON FUNCTION nova.status() FROM PUBLIC;
GRANT SELECT ON nova.relay TO nova_service;
GRANT EXECUTE ON FUNCTION nova.status() TO nova_service;

-- Move dead letters back into the outbox (all of them when event_ids is NULL), with
-- attempts reset. They get new ids, i.e. they queue behind what is pending now and do
-- not hold back newer events of their key (docs/relay.md, "Dead letters").
CREATE FUNCTION nova.retry_dead(event_ids uuid[] DEFAULT NULL) RETURNS bigint
  LANGUAGE sql VOLATILE
  SET search_path = pg_catalog, pg_temp
  AS $$
  WITH d AS (
    DELETE FROM nova.outbox_dead
    WHERE retry_dead.event_ids IS NULL OR event_id = ANY (retry_dead.event_ids)
    RETURNING *),
  i AS (
    INSERT INTO nova.outbox (event_id, topic, key, event_type, payload, headers, correlation_id, traceparent,
                             actor, created_at, attempts, next_attempt_at, last_error, source, schema_version)
    SELECT event_id, topic, key, event_type, payload, headers, correlation_id, traceparent,
           actor, created_at, 0, '-infinity', last_error, source, schema_version
    FROM d ORDER BY id
    RETURNING 1)
  SELECT count(*) FROM i
$$;
REVOKE ALL ON FUNCTION nova.retry_dead(uuid[]) FROM PUBLIC;
-- ---------------------------------------------------------------------------
-- Soft delete (SPEC §5). See docs/soft-delete.md.
-- ---------------------------------------------------------------------------

-- Which tables are soft-delete enabled, and the column naming each row's data subject.
CREATE TABLE nova.soft_delete_tables (
  tbl          regclass    PRIMARY KEY,
  owner_column name,
  enabled_at   timestamptz NOT NULL DEFAULT now()
);
SELECT pg_catalog.pg_extension_config_dump('nova.soft_delete_tables', '');
REVOKE ALL ON nova.soft_delete_tables FROM PUBLIC;
-- Readable by everyone: the triggers (running as the deleting user) read it; it holds no data.
GRANT SELECT ON nova.soft_delete_tables TO PUBLIC;

-- Operation ids: one per DELETE/UPDATE statement (cascade included), purge or erasure.
CREATE SEQUENCE nova.soft_delete_op_seq AS bigint;
SELECT pg_catalog.pg_extension_config_dump('nova.soft_delete_op_seq', '');
REVOKE ALL ON SEQUENCE nova.soft_delete_op_seq FROM PUBLIC;

-- The audit trail: keys only, no other personal data, so it outlives purged/erased rows.
CREATE TABLE nova.audit_log (
  id             bigint      GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  at             timestamptz NOT NULL DEFAULT now(),
  action         text        NOT NULL,   -- soft_delete | restore | purge | erase (written by nova only;
                                         -- no CHECK: it would be re-parsed for every audited row)
  table_name     text        NOT NULL,   -- schema-qualified, as it was named then
  pk             jsonb       NOT NULL,   -- {"column": value} of the primary key
  actor          text,                   -- authenticated subject, else current_user
  correlation_id text,
  operation_id   bigint                  -- rows deleted together share it
);
SELECT pg_catalog.pg_extension_config_dump('nova.audit_log', '');
SELECT pg_catalog.pg_extension_config_dump('nova.audit_log_id_seq', '');
REVOKE ALL ON nova.audit_log FROM PUBLIC;
REVOKE ALL ON SEQUENCE nova.audit_log_id_seq FROM PUBLIC;

-- Triggers (C++, src/pg/soft_delete_triggers.cpp).
CREATE FUNCTION nova._soft_delete_trigger() RETURNS trigger
  LANGUAGE c AS 'MODULE_PATHNAME', 'nova_soft_delete_trigger';
CREATE FUNCTION nova._soft_delete_update_trigger() RETURNS trigger
  LANGUAGE c AS 'MODULE_PATHNAME', 'nova_soft_delete_update_trigger';
CREATE FUNCTION nova._soft_delete_cascade_trigger() RETURNS trigger
  LANGUAGE c AS 'MODULE_PATHNAME', 'nova_soft_delete_cascade_trigger';
CREATE FUNCTION nova._soft_delete_truncate_trigger() RETURNS trigger
  LANGUAGE c AS 'MODULE_PATHNAME', 'nova_soft_delete_truncate_trigger';
CREATE FUNCTION nova._soft_delete_view_trigger() RETURNS trigger
  LANGUAGE c AS 'MODULE_PATHNAME', 'nova_soft_delete_view_trigger';
CREATE FUNCTION nova._soft_delete_invalidate(tbl regclass) RETURNS void
  LANGUAGE c STRICT AS 'MODULE_PATHNAME', 'nova_soft_delete_invalidate';
REVOKE ALL ON FUNCTION nova._soft_delete_trigger(), nova._soft_delete_update_trigger(),
  nova._soft_delete_cascade_trigger(), nova._soft_delete_truncate_trigger(),
  nova._soft_delete_view_trigger(), nova._soft_delete_invalidate(regclass) FROM PUBLIC;

-- Unique indexes that would block re-inserting a soft-deleted row, with the fix.
CREATE VIEW nova.soft_delete_unique_conflicts AS
SELECT s.tbl,
       i.indexrelid::regclass AS index_name,
       con.conname AS constraint_name,
       k.columns,
       pg_catalog.format('CREATE UNIQUE INDEX %I ON %s (%s) WHERE deleted_at IS NULL; %s',
              left(ic.relname, 56) || '_active', s.tbl, k.columns,
              CASE WHEN con.conname IS NOT NULL
                   THEN pg_catalog.format('ALTER TABLE %s DROP CONSTRAINT %I;', s.tbl, con.conname)
                   ELSE pg_catalog.format('DROP INDEX %s;', i.indexrelid::regclass) END) AS fix
FROM nova.soft_delete_tables s
JOIN pg_catalog.pg_index i ON i.indrelid = s.tbl::oid
JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
LEFT JOIN pg_catalog.pg_constraint con ON con.conindid = i.indexrelid AND con.contype = 'u'
CROSS JOIN LATERAL (
  SELECT string_agg(pg_catalog.pg_get_indexdef(i.indexrelid, n, true), ', ' ORDER BY n) AS columns
  FROM generate_series(1, i.indnkeyatts) n) k
WHERE i.indisunique AND NOT i.indisprimary AND i.indpred IS NULL
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                  WHERE a.attrelid = s.tbl::oid AND a.attname = 'deleted_at' AND a.attnum = ANY (i.indkey));
REVOKE ALL ON nova.soft_delete_unique_conflicts FROM PUBLIC;

-- What a soft delete does to each foreign key referencing an enabled table.
CREATE VIEW nova.soft_delete_foreign_keys AS
SELECT s.tbl AS parent,
       c.conrelid::regclass AS child,
       c.conname AS constraint_name,
       CASE c.confdeltype WHEN 'c' THEN 'CASCADE' WHEN 'n' THEN 'SET NULL' WHEN 'd' THEN 'SET DEFAULT'
                          WHEN 'r' THEN 'RESTRICT' ELSE 'NO ACTION' END AS on_delete,
       CASE WHEN c.confdeltype = 'c' AND ch.tbl IS NOT NULL THEN 'soft-deleted with the parent'
            WHEN c.confdeltype = 'c' THEN 'kept (child table not soft-delete enabled)'
            ELSE 'kept (the parent row stays)' END AS on_soft_delete
FROM nova.soft_delete_tables s
JOIN pg_catalog.pg_constraint c ON c.confrelid = s.tbl::oid AND c.contype = 'f'
LEFT JOIN nova.soft_delete_tables ch ON ch.tbl = c.conrelid;
REVOKE ALL ON nova.soft_delete_foreign_keys FROM PUBLIC;

CREATE FUNCTION nova.enable_soft_delete(tbl regclass, owner_column name DEFAULT NULL) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  v_kind   "char";
  v_nsp    name;
  v_rel    name;
  v_view   text;
  v_type   oid;
  v_add    text := '';
  r        record;
BEGIN
  IF tbl IS NULL THEN
    RAISE EXCEPTION 'table must not be null' USING ERRCODE = '22004';
  END IF;
  SELECT c.relkind, n.nspname, c.relname INTO v_kind, v_nsp, v_rel
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = tbl;
  IF v_kind = 'p' THEN
    RAISE EXCEPTION 'soft delete is not supported on partitioned table %', tbl
      USING ERRCODE = '0A000', HINT = 'Enable it on each partition.';
  ELSIF v_kind IS DISTINCT FROM 'r' THEN
    RAISE EXCEPTION '% is not a table', tbl USING ERRCODE = '42809';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_index WHERE indrelid = tbl AND indisprimary) THEN
    RAISE EXCEPTION 'table % has no primary key', tbl
      USING ERRCODE = '55000',
            DETAIL = 'Soft delete identifies rows (for restore and the audit trail) by their primary key.',
            HINT = format('Add one: ALTER TABLE %s ADD PRIMARY KEY (…);', tbl);
  END IF;
  IF owner_column IS NOT NULL AND NOT EXISTS (
       SELECT 1 FROM pg_attribute WHERE attrelid = tbl AND attname = owner_column AND attnum > 0 AND NOT attisdropped) THEN
    RAISE EXCEPTION 'column "%" of table % does not exist', owner_column, tbl USING ERRCODE = '42703';
  END IF;
  IF length('active_' || v_rel) > 63 THEN
    RAISE EXCEPTION 'view name "active_%" would be longer than 63 bytes', v_rel USING ERRCODE = '42622';
  END IF;

  -- Columns (added when missing; existing ones must have the right type).
  FOR r IN SELECT * FROM (VALUES ('deleted_at', 'timestamptz'::regtype), ('deleted_by', 'text'::regtype),
                                 ('deleted_op', 'bigint'::regtype)) AS m(col, typ) LOOP
    SELECT atttypid INTO v_type FROM pg_attribute
      WHERE attrelid = tbl AND attname = r.col AND attnum > 0 AND NOT attisdropped;
    IF NOT FOUND THEN
      v_add := v_add || CASE WHEN v_add = '' THEN '' ELSE ', ' END || format('ADD COLUMN %I %s', r.col, r.typ);
    ELSIF v_type <> r.typ THEN
      RAISE EXCEPTION 'column "%" of table % has type %, expected %', r.col, tbl, v_type::regtype, r.typ
        USING ERRCODE = '42804';
    END IF;
  END LOOP;
  IF v_add <> '' THEN
    EXECUTE format('ALTER TABLE %s %s', tbl, v_add);
  END IF;

  INSERT INTO nova.soft_delete_tables AS s (tbl, owner_column) VALUES (tbl, owner_column)
    ON CONFLICT ON CONSTRAINT soft_delete_tables_pkey DO UPDATE SET owner_column = EXCLUDED.owner_column;

  EXECUTE format('CREATE OR REPLACE TRIGGER nova_soft_delete BEFORE DELETE ON %s '
                 'FOR EACH ROW EXECUTE FUNCTION nova._soft_delete_trigger()', tbl);
  -- No WHEN clauses: PostgreSQL parses a trigger's WHEN for every new executor, i.e. for every
  -- nested UPDATE nova runs; the C++ triggers test the same conditions for free.
  EXECUTE format('CREATE OR REPLACE TRIGGER nova_soft_delete_update BEFORE UPDATE OF deleted_at, deleted_by, deleted_op ON %s '
                 'FOR EACH ROW EXECUTE FUNCTION nova._soft_delete_update_trigger()', tbl);
  EXECUTE format('CREATE OR REPLACE TRIGGER nova_soft_delete_cascade AFTER UPDATE OF deleted_at ON %s '
                 'FOR EACH ROW EXECUTE FUNCTION nova._soft_delete_cascade_trigger()', tbl);
  EXECUTE format('CREATE OR REPLACE TRIGGER nova_soft_delete_truncate BEFORE TRUNCATE ON %s '
                 'FOR EACH STATEMENT EXECUTE FUNCTION nova._soft_delete_truncate_trigger()', tbl);

  -- The view of live rows. DELETE through it soft-deletes (INSTEAD OF trigger, so the
  -- row count is right); INSERT and UPDATE go to the table (auto-updatable view).
  v_view := 'active_' || v_rel;
  IF EXISTS (SELECT 1 FROM pg_class WHERE relname = v_view AND relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = v_nsp) AND relkind <> 'v') THEN
    RAISE EXCEPTION 'relation %.% exists and is not a view', quote_ident(v_nsp), quote_ident(v_view) USING ERRCODE = '42P07';
  END IF;
  EXECUTE format('CREATE OR REPLACE VIEW %I.%I WITH (security_invoker = true) AS SELECT * FROM ONLY %s WHERE deleted_at IS NULL',
                 v_nsp, v_view, tbl);
  EXECUTE format('CREATE OR REPLACE TRIGGER nova_soft_delete INSTEAD OF DELETE ON %I.%I '
                 'FOR EACH ROW EXECUTE FUNCTION nova._soft_delete_view_trigger(%L)', v_nsp, v_view, tbl::oid::text);

  -- Parents' cached plans must learn about this new cascade child.
  PERFORM nova._soft_delete_invalidate(c.confrelid) FROM pg_constraint c WHERE c.conrelid = tbl AND c.contype = 'f';
  PERFORM nova._soft_delete_invalidate(tbl);

  -- Reports.
  FOR r IN SELECT * FROM nova.soft_delete_unique_conflicts u WHERE u.tbl = enable_soft_delete.tbl LOOP
    RAISE WARNING 'unique index % on % would block re-inserting a soft-deleted row', r.index_name, tbl
      USING DETAIL = format('Columns: %s. Soft-deleted rows keep their values.', r.columns),
            HINT = 'Make it a partial unique index over live rows: ' || r.fix;
  END LOOP;
  FOR r IN SELECT * FROM nova.soft_delete_foreign_keys f
           WHERE (f.parent = enable_soft_delete.tbl OR f.child = enable_soft_delete.tbl)
             AND f.on_soft_delete <> 'soft-deleted with the parent' LOOP
    RAISE NOTICE 'foreign key % of % (ON DELETE %): % when a row of % is soft-deleted',
      r.constraint_name, r.child, r.on_delete, r.on_soft_delete, r.parent;
  END LOOP;
END
$fn$;

CREATE FUNCTION nova.disable_soft_delete(tbl regclass) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  v_nsp  name;
  v_rel  name;
  r      record;
BEGIN
  IF tbl IS NULL THEN
    RAISE EXCEPTION 'table must not be null' USING ERRCODE = '22004';
  END IF;
  SELECT n.nspname, c.relname INTO v_nsp, v_rel FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.oid = tbl;
  FOR r IN SELECT tgname FROM pg_trigger WHERE tgrelid = tbl
           AND tgname IN ('nova_soft_delete', 'nova_soft_delete_update', 'nova_soft_delete_cascade', 'nova_soft_delete_truncate') LOOP
    EXECUTE format('DROP TRIGGER %I ON %s', r.tgname, tbl);
  END LOOP;
  IF EXISTS (SELECT 1 FROM pg_class WHERE relname = 'active_' || v_rel AND relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = v_nsp) AND relkind = 'v') THEN
    EXECUTE format('DROP VIEW %I.%I', v_nsp, 'active_' || v_rel);
  END IF;
  DELETE FROM nova.soft_delete_tables s WHERE s.tbl = disable_soft_delete.tbl;
  PERFORM nova._soft_delete_invalidate(c.confrelid) FROM pg_constraint c WHERE c.conrelid = tbl AND c.contype = 'f';
  PERFORM nova._soft_delete_invalidate(tbl);
END
$fn$;

CREATE FUNCTION nova.restore(tbl regclass, pk jsonb) RETURNS bigint
  LANGUAGE c STRICT AS 'MODULE_PATHNAME', 'nova_soft_delete_restore';
CREATE FUNCTION nova.purge(tbl regclass, older_than interval) RETURNS bigint
  LANGUAGE c STRICT AS 'MODULE_PATHNAME', 'nova_soft_delete_purge';
CREATE FUNCTION nova.erase_subject(subject text) RETURNS jsonb
  LANGUAGE c STRICT AS 'MODULE_PATHNAME', 'nova_soft_delete_erase_subject';

REVOKE ALL ON FUNCTION nova.enable_soft_delete(regclass, name), nova.disable_soft_delete(regclass),
  nova.restore(regclass, jsonb), nova.purge(regclass, interval), nova.erase_subject(text) FROM PUBLIC;
-- Services may restore what their users deleted (runs with the caller's privileges on the table).
GRANT EXECUTE ON FUNCTION nova.restore(regclass, jsonb) TO nova_service;

-- ---------------------------------------------------------------------------
-- Circuit breakers (SPEC §7; docs/breakers.md). State lives in shared memory,
-- one per name per cluster; options persist in nova.breaker_config and are
-- loaded into shared memory on first use after a restart.
-- ---------------------------------------------------------------------------
CREATE TABLE nova.breaker_config (
  name       text        COLLATE "C" PRIMARY KEY CHECK (octet_length(name) BETWEEN 1 AND 63),
  options    jsonb       NOT NULL CHECK (jsonb_typeof(options) = 'object'),
  updated_at timestamptz NOT NULL DEFAULT now()
);
SELECT pg_catalog.pg_extension_config_dump('nova.breaker_config', '');
REVOKE ALL ON nova.breaker_config FROM PUBLIC;

CREATE FUNCTION nova.breaker_allow(name text) RETURNS boolean
  LANGUAGE c STRICT VOLATILE AS 'MODULE_PATHNAME', 'nova_breaker_allow';
CREATE FUNCTION nova.breaker_record(name text, success boolean, duration interval DEFAULT NULL) RETURNS text
  LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'nova_breaker_record';
CREATE FUNCTION nova.breaker_force(name text, state text) RETURNS void
  LANGUAGE c STRICT VOLATILE AS 'MODULE_PATHNAME', 'nova_breaker_force';

-- Validates the options and queues them for shared memory at commit.
CREATE FUNCTION nova._breaker_prepare_config(name text, options jsonb) RETURNS void
  LANGUAGE c STRICT VOLATILE AS 'MODULE_PATHNAME', 'nova_breaker_prepare_config';

CREATE FUNCTION nova.breaker_configure(name text, options jsonb) RETURNS void
  LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF name IS NULL OR options IS NULL THEN
    RAISE EXCEPTION 'breaker name and options must not be null' USING ERRCODE = '22004';
  END IF;
  PERFORM nova._breaker_prepare_config(name, options);
  INSERT INTO nova.breaker_config AS c (name, options) VALUES (name, options)
    ON CONFLICT ON CONSTRAINT breaker_config_pkey
    DO UPDATE SET options = EXCLUDED.options, updated_at = pg_catalog.now();
END
$$;

-- Test hook: moves the breakers' clock forward (superusers only; never for production).
CREATE FUNCTION nova._breaker_clock_advance(by interval) RETURNS void
  LANGUAGE c STRICT VOLATILE AS 'MODULE_PATHNAME', 'nova_breaker_clock_advance';

CREATE FUNCTION nova._breaker_states(
  OUT name text, OUT state text, OUT failure_rate float8, OUT slow_call_rate float8,
  OUT calls int, OUT failed_calls int, OUT slow_calls int, OUT not_permitted_calls bigint,
  OUT consecutive_failures int, OUT half_open_permits_in_use int,
  OUT opened_at timestamptz, OUT next_attempt_at timestamptz, OUT remaining_wait interval,
  OUT config jsonb) RETURNS SETOF record
  LANGUAGE c STRICT VOLATILE AS 'MODULE_PATHNAME', 'nova_breaker_states';

CREATE VIEW nova.breakers AS
  SELECT b.name, b.state, b.failure_rate, b.slow_call_rate, b.calls, b.failed_calls, b.slow_calls,
         b.not_permitted_calls, b.consecutive_failures, b.half_open_permits_in_use,
         b.opened_at, b.next_attempt_at, b.remaining_wait, b.config
    FROM nova._breaker_states() AS b
   ORDER BY b.name;

REVOKE ALL ON FUNCTION nova.breaker_allow(text), nova.breaker_record(text, boolean, interval),
  nova.breaker_force(text, text), nova._breaker_prepare_config(text, jsonb),
  nova.breaker_configure(text, jsonb), nova._breaker_clock_advance(interval), nova._breaker_states()
  FROM PUBLIC;
REVOKE ALL ON nova.breakers FROM PUBLIC;
GRANT EXECUTE ON FUNCTION nova.breaker_allow(text), nova.breaker_record(text, boolean, interval),
  nova._breaker_states() TO nova_service;
GRANT SELECT ON nova.breakers TO nova_service;
-- ---------------------------------------------------------------------------
-- Event-schema registry (SPEC §8; docs/schemas.md).
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

CREATE FUNCTION nova._event_schemas_invalidate() RETURNS trigger
  LANGUAGE c AS 'MODULE_PATHNAME', 'nova_event_schemas_invalidate';
CREATE TRIGGER event_schemas_invalidate
  AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON nova.event_schemas
  FOR EACH STATEMENT EXECUTE FUNCTION nova._event_schemas_invalidate();

-- Registers a new version (or returns the latest when the schema is identical to it).
CREATE FUNCTION nova.register_schema(event_type text, schema jsonb, compatibility text DEFAULT 'BACKWARD')
  RETURNS int
  LANGUAGE c VOLATILE SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'nova_register_schema';

-- Dry run for CI: the breaking changes registering `schema` would be refused for (no rows = compatible).
CREATE FUNCTION nova.check_schema(event_type text, schema jsonb)
  RETURNS TABLE (path text, change text, message text)
  LANGUAGE c STABLE ROWS 10
  AS 'MODULE_PATHNAME', 'nova_check_schema';

-- The outbox's check, callable directly: validates against the latest version
-- (honouring nova.validate_events) and returns that version, 0 when none applies.
CREATE FUNCTION nova.validate_event(event_type text, payload jsonb) RETURNS int
  LANGUAGE c STABLE
  AS 'MODULE_PATHNAME', 'nova_validate_event';

REVOKE ALL ON nova.event_schemas FROM PUBLIC;
GRANT SELECT ON nova.event_schemas TO nova_service;
REVOKE ALL ON FUNCTION nova._event_schemas_invalidate() FROM PUBLIC;
REVOKE ALL ON FUNCTION nova.register_schema(text, jsonb, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION nova.check_schema(text, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION nova.validate_event(text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION nova.check_schema(text, jsonb) TO nova_service;
GRANT EXECUTE ON FUNCTION nova.validate_event(text, jsonb) TO nova_service;
