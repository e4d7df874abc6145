-- Authentication: nova.jwt_keys, nova.authenticate, the transaction's identity,
-- revocation, the shared JWT cache, JWKS import, privileges and spoofing attempts.
-- Tokens are minted here with pgcrypto (an oracle independent of nova's signer).
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS nova;
CREATE EXTENSION IF NOT EXISTS pgcrypto;
RESET client_min_messages;
\set VERBOSITY terse

CREATE FUNCTION pg_temp.b64url(b bytea) RETURNS text LANGUAGE sql IMMUTABLE AS
  $$ SELECT translate(rtrim(encode(b, 'base64'), '='), E'+/\n', '-_') $$;
CREATE FUNCTION pg_temp.hs(header jsonb, claims jsonb, secret text, alg text DEFAULT 'sha256') RETURNS text
  LANGUAGE sql IMMUTABLE AS $$
  SELECT s || '.' || pg_temp.b64url(hmac(s, secret, alg))
    FROM (SELECT pg_temp.b64url(convert_to(header::text, 'UTF8')) || '.' ||
                 pg_temp.b64url(convert_to(claims::text, 'UTF8')) AS s) x $$;
\set secret '''regress-secret-0123456789abcdef-0123456789'''
\set other  '''another-secret-0123456789abcdef-0123456789'''
-- now + 1 hour, as a JSON number
CREATE FUNCTION pg_temp.later(s int DEFAULT 3600) RETURNS bigint LANGUAGE sql AS
  $$ SELECT extract(epoch FROM now())::bigint + s $$;

-- ---- the key table: row checks -------------------------------------------------------
INSERT INTO nova.jwt_keys (kid, algorithm, key) VALUES ('bad', 'none', 'x');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO nova.jwt_keys (kid, algorithm, key) VALUES ('bad', 'hs256', :secret);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO nova.jwt_keys (kid, algorithm, key) VALUES ('bad', 'HS256', 'too short');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO nova.jwt_keys (kid, algorithm, key) VALUES ('bad', 'RS256', :secret);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO nova.jwt_keys (kid, algorithm, key) VALUES ('bad', 'ES256',
  '{"kty":"EC","crv":"P-384","x":"AA","y":"AA"}');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO nova.jwt_keys (kid, algorithm, key) VALUES ('bad', 'HS256', '{"keys":[]}');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO nova.jwt_keys (kid, algorithm, key) VALUES ('', 'HS256', :secret);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO nova.jwt_keys (kid, algorithm, key) VALUES ('k1', 'HS256', :secret);
UPDATE nova.jwt_keys SET key = 'short' WHERE kid = 'k1';
\echo :LAST_ERROR_SQLSTATE
SELECT kid, algorithm, revoked_at IS NULL AS active FROM nova.jwt_keys ORDER BY kid;

-- ---- authenticate sets the transaction's identity --------------------------------------
SELECT pg_temp.hs('{"alg":"HS256","typ":"JWT","kid":"k1"}',
  jsonb_build_object('sub', 'alice', 'role', 'member', 'jti', 'tok-1', 'iat', pg_temp.later(-10), 'exp', pg_temp.later()),
  :secret) AS alice \gset
SELECT nova.subject() IS NULL AS anonymous, nova.claims() IS NULL AS no_claims;
BEGIN;
SELECT nova.authenticate(:'alice')->>'role' AS role;
SELECT nova.subject(), nova.claims()->>'jti' AS jti;
COMMIT;
SELECT nova.subject() IS NULL AS cleared_at_commit;
BEGIN;
SELECT nova.authenticate(:'alice') ? 'sub' AS ok;
ROLLBACK;
SELECT nova.subject() IS NULL AS cleared_at_rollback;
-- autocommit: the identity lasts for that statement's transaction only
SELECT nova.authenticate(:'alice') IS NOT NULL AS ok, nova.subject();
SELECT nova.subject() IS NULL AS cleared;

-- savepoints: rolling back the subtransaction that authenticated clears the identity;
-- releasing it keeps the identity
BEGIN;
SAVEPOINT a;
SELECT nova.authenticate(:'alice') IS NOT NULL AS ok;
ROLLBACK TO SAVEPOINT a;
SELECT nova.subject() IS NULL AS cleared_by_rollback_to;
SAVEPOINT b;
SELECT nova.authenticate(:'alice') IS NOT NULL AS ok;
RELEASE SAVEPOINT b;
SAVEPOINT c;
ROLLBACK TO SAVEPOINT c;
SELECT nova.subject() AS kept_after_release;
-- a failed authenticate clears the identity it replaced
SAVEPOINT d;
SELECT nova.authenticate('not.a.token');
ROLLBACK TO SAVEPOINT d;
SELECT nova.subject() IS NULL AS cleared_by_failure;
COMMIT;

-- ---- spoofing attempts: nothing but a verified token sets the identity ------------------
SET nova.subject = 'admin';
\echo :LAST_ERROR_SQLSTATE
SELECT set_config('nova.subject', 'admin', false);
\echo :LAST_ERROR_SQLSTATE
SELECT set_config('nova.claims', '{"sub":"admin"}', false);
\echo :LAST_ERROR_SQLSTATE
SET request.jwt.claims = '{"sub":"admin"}';
SET request.jwt.claim.sub = 'admin';
SELECT set_config('request.jwt.claims', '{"sub":"admin"}', false) IS NOT NULL AS set;
SELECT nova.subject() IS NULL AS still_anonymous, nova.claims() IS NULL AS still_no_claims;
RESET request.jwt.claims;
RESET request.jwt.claim.sub;
CREATE FUNCTION pg_temp.subject() RETURNS text LANGUAGE sql AS $$ SELECT 'admin'::text $$;
SET search_path = pg_temp, public;
SELECT nova.subject() IS NULL AS qualified_call_unaffected;
RESET search_path;
-- forged tokens
SELECT nova.authenticate(pg_temp.hs('{"alg":"HS256","kid":"k1"}', '{"sub":"admin"}', :other));
SELECT nova.authenticate(pg_temp.b64url('{"alg":"none","kid":"k1"}') || '.' || pg_temp.b64url('{"sub":"admin"}') || '.');
SELECT nova.authenticate(pg_temp.hs('{"alg":"HS512","kid":"k1"}', '{"sub":"admin"}', :secret, 'sha512'));
SELECT nova.authenticate(split_part(:'alice', '.', 1) || '.' || pg_temp.b64url('{"sub":"admin"}') || '.' ||
                         split_part(:'alice', '.', 3));
SELECT nova.authenticate(pg_temp.hs('{"alg":"HS256","kid":"nope"}', '{"sub":"admin"}', :secret));
SELECT nova.authenticate(NULL);
SELECT nova.authenticate(repeat('a', 16385));
SELECT nova.authenticate(pg_temp.hs('{"alg":"HS256","kid":"k1"}', '{"role":"admin"}', :secret));
SELECT nova.authenticate(pg_temp.hs('{"alg":"HS256","kid":"k1"}',
  jsonb_build_object('sub', 'alice', 'exp', pg_temp.later(-3600)), :secret));
\echo :LAST_ERROR_SQLSTATE
SELECT nova.subject() IS NULL AS still_anonymous;

-- ---- key selection -----------------------------------------------------------------
-- no kid: accepted while exactly one usable key has the token's alg
SELECT nova.authenticate(pg_temp.hs('{"alg":"HS256"}', '{"sub":"bob"}', :secret))->>'sub' AS no_kid_one_key;
INSERT INTO nova.jwt_keys (kid, algorithm, key) VALUES ('k2', 'HS256', :other);
SELECT nova.authenticate(pg_temp.hs('{"alg":"HS256"}', '{"sub":"bob"}', :secret));
-- the token's kid selects exactly one key: k2's secret does not verify a k1 token
SELECT nova.authenticate(pg_temp.hs('{"alg":"HS256","kid":"k1"}', '{"sub":"bob"}', :other));
SELECT nova.authenticate(pg_temp.hs('{"alg":"HS256","kid":"k2"}', '{"sub":"bob"}', :other))->>'sub' AS k2_ok;
-- issuer and audience of the row are enforced when set
UPDATE nova.jwt_keys SET issuer = 'https://id.example', audience = 'nova-api' WHERE kid = 'k2';
SELECT nova.authenticate(pg_temp.hs('{"alg":"HS256","kid":"k2"}', '{"sub":"bob"}', :other));
SELECT nova.authenticate(pg_temp.hs('{"alg":"HS256","kid":"k2"}',
  '{"sub":"bob","iss":"https://evil.example","aud":"nova-api"}', :other));
SELECT nova.authenticate(pg_temp.hs('{"alg":"HS256","kid":"k2"}',
  '{"sub":"bob","iss":"https://id.example","aud":"other"}', :other));
SELECT nova.authenticate(pg_temp.hs('{"alg":"HS256","kid":"k2"}',
  '{"sub":"bob","iss":"https://id.example","aud":["x","nova-api"]}', :other))->>'sub' AS iss_aud_ok;
-- revoked_at in the future: still usable; in the past: disabled (cached or not)
UPDATE nova.jwt_keys SET revoked_at = now() + interval '1 hour' WHERE kid = 'k2';
SELECT nova.authenticate(pg_temp.hs('{"alg":"HS256","kid":"k2"}',
  '{"sub":"bob","iss":"https://id.example","aud":"nova-api"}', :other))->>'sub' AS not_yet_revoked;
UPDATE nova.jwt_keys SET revoked_at = now() - interval '1 second' WHERE kid = 'k2';
SELECT nova.authenticate(pg_temp.hs('{"alg":"HS256","kid":"k2"}',
  '{"sub":"bob","iss":"https://id.example","aud":"nova-api"}', :other));
-- with k2 revoked, k1 is again the only usable HS256 key for kid-less tokens
SELECT nova.authenticate(pg_temp.hs('{"alg":"HS256"}', '{"sub":"bob"}', :secret))->>'sub' AS no_kid_again;

-- ---- the shared cache and revocation ---------------------------------------------------
SELECT (nova.jwt_cache_stats()->>'enabled')::boolean AS cache_enabled;
SELECT (nova.jwt_cache_stats()->>'hits')::bigint AS hits0, (nova.jwt_cache_stats()->>'generation')::bigint AS gen0 \gset
SELECT nova.authenticate(:'alice')->>'sub' AS sub;
SELECT nova.authenticate(:'alice')->>'sub' AS sub;
SELECT (nova.jwt_cache_stats()->>'hits')::bigint > :hits0 AS served_from_cache;
SELECT (nova.jwt_cache_stats()->>'entries')::bigint > 0 AS has_entries;
-- revoke its jti: the cached token fails on the very next call
SELECT nova.jwt_revoke('tok-1', to_timestamp(pg_temp.later()));
SELECT (nova.jwt_cache_stats()->>'generation')::bigint > :gen0 AS generation_bumped;
SELECT nova.authenticate(:'alice');
-- a subject revocation covers tokens issued before it
SELECT pg_temp.hs('{"alg":"HS256","kid":"k1"}',
  jsonb_build_object('sub', 'carol', 'iat', pg_temp.later(-60), 'exp', pg_temp.later()), :secret) AS carol \gset
SELECT nova.authenticate(:'carol')->>'sub' AS sub;
SELECT nova.authenticate(:'carol')->>'sub' AS cached;
SELECT nova.jwt_revoke_subject('carol', now());
SELECT nova.authenticate(:'carol');
-- tokens without iat count as issued before any subject revocation
SELECT nova.authenticate(pg_temp.hs('{"alg":"HS256","kid":"k1"}', '{"sub":"carol"}', :secret));
-- a token issued after the revocation passes
SELECT nova.authenticate(pg_temp.hs('{"alg":"HS256","kid":"k1"}',
  jsonb_build_object('sub', 'carol', 'iat', pg_temp.later(5)), :secret))->>'sub' AS reissued;
-- revoking the key itself disables its cached tokens too
SELECT pg_temp.hs('{"alg":"HS256","kid":"k1"}', '{"sub":"erin"}', :secret) AS erin \gset
SELECT nova.authenticate(:'erin')->>'sub' AS sub;
SELECT nova.authenticate(:'erin')->>'sub' AS cached;
UPDATE nova.jwt_keys SET revoked_at = now() WHERE kid = 'k1';
SELECT nova.authenticate(:'erin');
\echo :LAST_ERROR_SQLSTATE
UPDATE nova.jwt_keys SET revoked_at = NULL WHERE kid = 'k1';
SELECT nova.authenticate(:'erin')->>'sub' AS reinstated;
-- bad revocation input
SELECT nova.jwt_revoke(NULL, now());
\echo :LAST_ERROR_SQLSTATE
SELECT nova.jwt_revoke('x', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT nova.jwt_revoke_subject('', now());
\echo :LAST_ERROR_SQLSTATE
-- re-revoking keeps the later expiry; cleanup drops ended revocations only
SELECT nova.jwt_revoke('old', now() - interval '2 days');
SELECT nova.jwt_revoke('tok-1', now());
SELECT jti, expires_at > now() AS still_active FROM nova.jwt_revoked_jti ORDER BY jti;
SELECT nova.jwt_revoke('old', now() - interval '2 days');
SELECT nova.jwt_revocations_cleanup() >= 0 AS cleaned;
SELECT count(*) AS old_rows FROM nova.jwt_revoked_jti WHERE jti = 'old';
-- a transaction that changed keys cannot be prepared (the cache must be invalidated at commit)
BEGIN;
SELECT nova.jwt_revoke('tok-2', now() + interval '1 hour');
PREPARE TRANSACTION 'nova_regress_keys';
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS rolled_back FROM nova.jwt_revoked_jti WHERE jti = 'tok-2';

-- ---- JWKS import -------------------------------------------------------------------
SELECT nova.jwks_import('{"keys":[
  {"kty":"EC","crv":"P-256","kid":"ec-1","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
  {"kty":"OKP","crv":"Ed25519","kid":"ed-1","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
  {"kty":"oct","kid":"enc-1","use":"enc","k":"AAAA"}]}') AS imported;
SELECT kid, algorithm, (key::jsonb)->>'alg' AS pinned FROM nova.jwt_keys WHERE kid IN ('ec-1', 'ed-1') ORDER BY kid;
-- tokens signed by nova.jwt_sign with the private half (RFC 8037 A.1) authenticate against the imported key
\set ed_private '''{"kty":"OKP","crv":"Ed25519","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}'''
SELECT nova.authenticate(nova.jwt_sign('{"sub":"eddie"}', :ed_private, 'EdDSA', '{"kid":"ed-1"}'))->>'sub' AS eddsa_ok;
-- no algorithm confusion: an HS256 token "signed" with the public key text fails on an EdDSA row
SELECT nova.authenticate(pg_temp.hs('{"alg":"HS256","kid":"ed-1"}', '{"sub":"admin"}',
  (SELECT key FROM nova.jwt_keys WHERE kid = 'ed-1')));
SELECT nova.authenticate(nova.jwt_sign('{"sub":"eddie"}', :ed_private, 'EdDSA', '{"kid":"ec-1"}'));
UPDATE nova.jwt_keys SET revoked_at = now() WHERE kid = 'ed-1';
SELECT nova.jwks_import('{"kty":"OKP","crv":"Ed25519","kid":"ed-1","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}') AS reimported;
SELECT revoked_at IS NOT NULL AS stays_revoked FROM nova.jwt_keys WHERE kid = 'ed-1';
SELECT nova.jwks_import('{"keys":[{"kty":"RSA","kid":"r","n":"AQAB","e":"AQAB"}]}');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.jwks_import('{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.jwks_import('[1]');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.jwks_import('{"keys":[]}') AS none;

-- ---- key texts: a public key is never an HMAC secret (docs/jwt.md, "Key texts") --------
-- The P-256 public key text with a newline in front: before 1.1 it passed as an
-- HS256 secret, and anyone holding the public key could mint tokens.
SELECT E'\n-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEzvJ4msYsBkUgL8gVcsDZ0Ap4w2rM\n'
       '28zPccSYUX/NizpkjRwhtIPnZUkAnDgzOHjic161GZUL6+yjEgLIgvXMag==\n-----END PUBLIC KEY-----\n' AS lf_pem \gset
INSERT INTO nova.jwt_keys (kid, algorithm, key) VALUES ('lf', 'HS256', :'lf_pem');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO nova.jwt_keys (kid, algorithm, key) VALUES ('lf', 'HS256', 'secret: ' || :'lf_pem');
\echo :LAST_ERROR_SQLSTATE
-- nor wrapped in an oct JWK
SELECT nova.jwks_import(jsonb_build_object('keys', jsonb_build_array(jsonb_build_object(
  'kty', 'oct', 'kid', 'lf-oct', 'alg', 'HS256', 'k', pg_temp.b64url(convert_to(:'lf_pem', 'UTF8'))))));
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS lf_rows FROM nova.jwt_keys WHERE kid LIKE 'lf%';
-- the same text with whitespace around it is the ES256 key it is
INSERT INTO nova.jwt_keys (kid, algorithm, key) VALUES ('lf-es', 'ES256', :'lf_pem');
SELECT kid, algorithm FROM nova.jwt_keys WHERE kid LIKE 'lf%';

-- ---- privileges -----------------------------------------------------------------------
CREATE ROLE nova_regress_svc IN ROLE nova_service;
CREATE ROLE nova_regress_nobody;
SET ROLE nova_regress_svc;
SELECT count(*) FROM nova.jwt_keys;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM nova.jwt_revoked_jti;
\echo :LAST_ERROR_SQLSTATE
INSERT INTO nova.jwt_revoked_subjects VALUES ('x', now());
\echo :LAST_ERROR_SQLSTATE
SELECT nova.jwt_revoke('x', now());
\echo :LAST_ERROR_SQLSTATE
SELECT nova.jwks_import('{"keys":[]}');
\echo :LAST_ERROR_SQLSTATE
CREATE FUNCTION nova.subject() RETURNS text LANGUAGE sql AS $$ SELECT 'admin'::text $$;
\echo :LAST_ERROR_SQLSTATE
CREATE OR REPLACE FUNCTION nova.subject() RETURNS text LANGUAGE sql AS $$ SELECT 'admin'::text $$;
\echo :LAST_ERROR_SQLSTATE
-- the service authenticates (reading keys it cannot see) and gets the identity
SELECT pg_temp.hs('{"alg":"HS256","kid":"k1"}', '{"sub":"dave"}', :secret) AS dave \gset
BEGIN;
SELECT nova.authenticate(:'dave')->>'sub' AS sub;
SELECT nova.subject(), current_user;
COMMIT;
SELECT (nova.jwt_cache_stats()->>'enabled')::boolean AS stats_visible;
-- an HS256 token HMAC'ed with the public key text is refused, and leaves no identity
SELECT nova.authenticate(pg_temp.hs('{"alg":"HS256","kid":"lf-es"}', '{"sub":"admin"}', :'lf_pem'));
\echo :LAST_ERROR_SQLSTATE
SELECT nova.authenticate(pg_temp.hs('{"alg":"HS256"}', '{"sub":"admin"}', :'lf_pem'));
\echo :LAST_ERROR_SQLSTATE
SELECT nova.subject() IS NULL AS no_identity;
RESET ROLE;
SET ROLE nova_regress_nobody;
SELECT nova.authenticate(:'dave');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.subject() IS NULL AS public_may_read_identity, nova.claims() IS NULL AS and_claims;
RESET ROLE;
DROP ROLE nova_regress_svc;
DROP ROLE nova_regress_nobody;

-- ---- RLS with nova.subject() -------------------------------------------------------------
CREATE TABLE regress_notes (owner text, body text);
INSERT INTO regress_notes VALUES ('alice', 'a1'), ('dave', 'd1'), ('dave', 'd2');
ALTER TABLE regress_notes ENABLE ROW LEVEL SECURITY;
CREATE POLICY own ON regress_notes USING (owner = nova.subject());
CREATE ROLE nova_regress_reader;
GRANT SELECT ON regress_notes TO nova_regress_reader;
GRANT EXECUTE ON FUNCTION nova.authenticate(text) TO nova_regress_reader;
SET ROLE nova_regress_reader;
SELECT count(*) AS anonymous_sees FROM regress_notes;
BEGIN;
SELECT nova.authenticate(:'dave') IS NOT NULL AS ok;
SELECT body FROM regress_notes ORDER BY body;
COMMIT;
RESET ROLE;
DROP TABLE regress_notes;
REVOKE EXECUTE ON FUNCTION nova.authenticate(text) FROM nova_regress_reader;
DROP ROLE nova_regress_reader;

-- ---- clean up -----------------------------------------------------------------------------
DELETE FROM nova.jwt_keys;
DELETE FROM nova.jwt_revoked_jti;
DELETE FROM nova.jwt_revoked_subjects;
DROP EXTENSION pgcrypto;
