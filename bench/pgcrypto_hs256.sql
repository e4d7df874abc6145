-- The alternative to nova.jwt_verify for HS256 that users write today: pure SQL over
-- pgcrypto's hmac() — split, base64url-decode, HMAC, compare, check alg and exp.
-- (Single-SELECT SQL functions, the style of the popular SQL-only JWT helpers.)
-- Returns the claims, or NULL when the token does not verify. Used by bench/jwt_verify.sh.
CREATE EXTENSION IF NOT EXISTS pgcrypto;
CREATE SCHEMA IF NOT EXISTS bench;

CREATE OR REPLACE FUNCTION bench.b64url_decode(t text) RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT decode(translate(t, '-_', '+/') || repeat('=', (4 - length(t) % 4) % 4), 'base64')
$$;

CREATE OR REPLACE FUNCTION bench.pgcrypto_hs256_verify(token text, secret text) RETURNS jsonb
LANGUAGE sql STABLE STRICT AS $$
  SELECT CASE
           WHEN p.header ->> 'alg' = 'HS256'
            AND p.sig = public.hmac(p.input, convert_to(secret, 'UTF8'), 'sha256')
            AND (p.claims ->> 'exp' IS NULL OR (p.claims ->> 'exp')::numeric > extract(epoch FROM now()))
           THEN p.claims
         END
  FROM (SELECT convert_from(bench.b64url_decode(split_part(token, '.', 1)), 'UTF8')::jsonb AS header,
               convert_from(bench.b64url_decode(split_part(token, '.', 2)), 'UTF8')::jsonb AS claims,
               bench.b64url_decode(split_part(token, '.', 3)) AS sig,
               convert_to(split_part(token, '.', 1) || '.' || split_part(token, '.', 2), 'UTF8') AS input) AS p
$$;
