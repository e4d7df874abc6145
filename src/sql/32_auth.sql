COMMENT ON TABLE nova.jwt_keys IS
  'Keys nova.authenticate verifies tokens with (secrets: owner only). kid selects the row; revoked_at <= now() disables it.';
REVOKE ALL ON nova.jwt_keys, nova.jwt_revoked_jti, nova.jwt_revoked_subjects FROM PUBLIC;

-- Any change to keys or revocations invalidates the shared JWT cache in every backend.
CREATE OR REPLACE FUNCTION nova._jwt_keyset_changed() RETURNS trigger
  LANGUAGE c AS 'MODULE_PATHNAME', 'nova_jwt_keyset_changed';
CREATE OR REPLACE TRIGGER jwt_keys_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON nova.jwt_keys
  FOR EACH STATEMENT EXECUTE FUNCTION nova._jwt_keyset_changed();
CREATE OR REPLACE TRIGGER jwt_revoked_jti_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON nova.jwt_revoked_jti
  FOR EACH STATEMENT EXECUTE FUNCTION nova._jwt_keyset_changed();
CREATE OR REPLACE TRIGGER jwt_revoked_subjects_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON nova.jwt_revoked_subjects
  FOR EACH STATEMENT EXECUTE FUNCTION nova._jwt_keyset_changed();

-- JWKS → rows ({kid, algorithm, key}); nova.jwks_import upserts them.
CREATE OR REPLACE FUNCTION nova._jwks_parse(jwks jsonb) RETURNS jsonb
  LANGUAGE c IMMUTABLE STRICT AS 'MODULE_PATHNAME', 'nova_jwks_parse';

-- Upsert by kid. A re-import replaces algorithm and key but keeps issuer,
-- audience, created_at and revoked_at: a periodic JWKS sync never un-revokes.
CREATE OR REPLACE FUNCTION nova.jwks_import(jwks jsonb) RETURNS int
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
CREATE OR REPLACE FUNCTION nova.jwt_revoke(jti text, expires_at timestamptz) RETURNS void
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
CREATE OR REPLACE FUNCTION nova.jwt_revoke_subject(subject text, issued_before timestamptz DEFAULT now()) RETURNS void
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
CREATE OR REPLACE FUNCTION nova.jwt_revocations_cleanup() RETURNS int
  LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
  WITH d AS (DELETE FROM nova.jwt_revoked_jti r WHERE r.expires_at < now() - interval '1 day' RETURNING 1)
  SELECT count(*)::int FROM d
$$;

-- Verify a bearer token against nova.jwt_keys (through the shared cache) and make
-- its subject this transaction's identity. Returns the claims.
CREATE OR REPLACE FUNCTION nova.authenticate(token text) RETURNS jsonb
  LANGUAGE c VOLATILE PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'nova_authenticate';
-- The identity: NULL until nova.authenticate succeeds in this transaction. For RLS
-- policies: PUBLIC may call them; PARALLEL RESTRICTED so they run in the leader,
-- the backend that holds the identity.
CREATE OR REPLACE FUNCTION nova.subject() RETURNS text
  LANGUAGE c STABLE PARALLEL RESTRICTED AS 'MODULE_PATHNAME', 'nova_subject';
CREATE OR REPLACE FUNCTION nova.claims() RETURNS jsonb
  LANGUAGE c STABLE PARALLEL RESTRICTED AS 'MODULE_PATHNAME', 'nova_claims';
CREATE OR REPLACE FUNCTION nova.jwt_cache_stats() RETURNS jsonb
  LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'nova_jwt_cache_stats';

REVOKE ALL ON FUNCTION nova._jwt_keyset_changed(), nova._jwks_parse(jsonb), nova.jwks_import(jsonb),
  nova.jwt_revoke(text, timestamptz), nova.jwt_revoke_subject(text, timestamptz), nova.jwt_revocations_cleanup(),
  nova.authenticate(text), nova.jwt_cache_stats() FROM PUBLIC;
-- The key check runs inside the table's CHECK constraint for whoever may write the
-- table; it reveals nothing, so it stays executable.
GRANT EXECUTE ON FUNCTION nova.subject(), nova.claims() TO PUBLIC;
GRANT EXECUTE ON FUNCTION nova.authenticate(text), nova.subject(), nova.claims(), nova.jwt_cache_stats()
  TO nova_service;
