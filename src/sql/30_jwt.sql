-- ---------------------------------------------------------------------------
-- JWT: stateless functions (docs/jwt.md). Verification against the
-- key table, nova.authenticate and the cache are in the authentication fragment.
-- All three are safe for any role: they use only the key the caller passes and
-- touch no table, so EXECUTE stays granted to PUBLIC (and explicitly to
-- nova_service).
-- ---------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION nova.jwt_verify(token text, key text, algorithms text[] DEFAULT NULL,
                                audience text DEFAULT NULL, issuer text DEFAULT NULL)
  RETURNS jsonb
  LANGUAGE c VOLATILE PARALLEL SAFE AS 'MODULE_PATHNAME', 'nova_jwt_verify';
COMMENT ON FUNCTION nova.jwt_verify(text, text, text[], text, text) IS
  'Verify a JWS-signed JWT with the given key (HMAC secret, PEM, JWK or JWKS) and return its claims';

CREATE OR REPLACE FUNCTION nova.jwt_sign(claims jsonb, key text, algorithm text DEFAULT 'HS256', header jsonb DEFAULT NULL)
  RETURNS text
  LANGUAGE c VOLATILE PARALLEL SAFE AS 'MODULE_PATHNAME', 'nova_jwt_sign';
COMMENT ON FUNCTION nova.jwt_sign(jsonb, text, text, jsonb) IS
  'Sign claims as a compact JWS (HS*, RS*, PS*, ES*, EdDSA)';

CREATE OR REPLACE FUNCTION nova.jwt_decode_unverified(token text)
  RETURNS TABLE(header jsonb, claims jsonb)
  LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE ROWS 1 AS 'MODULE_PATHNAME', 'nova_jwt_decode_unverified';
COMMENT ON FUNCTION nova.jwt_decode_unverified(text) IS
  'Split a compact JWS into header and claims WITHOUT verifying it (never use for authentication)';

GRANT EXECUTE ON FUNCTION nova.jwt_verify(text, text, text[], text, text) TO nova_service;
GRANT EXECUTE ON FUNCTION nova.jwt_sign(jsonb, text, text, jsonb) TO nova_service;
GRANT EXECUTE ON FUNCTION nova.jwt_decode_unverified(text) TO nova_service;
