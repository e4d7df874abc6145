-- ---------------------------------------------------------------------------
-- Authentication (docs/jwt.md, docs/security.md; docs/authentication.md): the key table, JWKS
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
