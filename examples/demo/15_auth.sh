#!/usr/bin/env bash
# Authentication: a signing key in nova.jwt_keys, a token per demo user, nova.authenticate → nova.subject()
# Sourced by tools/demo.sh (PG env set, examples/nova_schema.sql loaded).
#
# What it leaves for later steps (e.g. 20_workload.sh):
#   NOVA_DEMO_TOKEN_alice, NOVA_DEMO_TOKEN_bob, NOVA_DEMO_TOKEN_carol
#       bearer tokens (HS256, kid demo-1, iss https://auth.nova.example,
#       aud nova-api, sub = the username, valid for an hour)
#   demo_as USER SQL
#       runs SQL in one transaction that first calls nova.authenticate with
#       USER's token — what a thin service does per request — so nova.subject()
#       is USER inside SQL (outbox events and audit rows record it as actor).
# The HMAC secret is generated here and never printed.

demo_secret="$(head -c 48 /dev/urandom | base64 | tr -d '\n/+=' | head -c 64)"
nova_psql >/dev/null <<SQL
INSERT INTO nova.jwt_keys (kid, algorithm, key, issuer, audience)
VALUES ('demo-1', 'HS256', '$demo_secret', 'https://auth.nova.example', 'nova-api')
ON CONFLICT (kid) DO UPDATE SET key = excluded.key, revoked_at = NULL;
SQL
echo "   signing key demo-1 (HS256, issuer https://auth.nova.example, audience nova-api) stored in nova.jwt_keys"

demo_mint() {  # demo_mint SUBJECT [JTI] → token on stdout (what an identity provider does)
  nova_psql -c "SELECT nova.jwt_sign(jsonb_build_object(
      'sub', '$1', 'iss', 'https://auth.nova.example', 'aud', 'nova-api',
      'jti', '${2:-$1-demo}', 'iat', extract(epoch FROM now())::bigint,
      'exp', extract(epoch FROM now())::bigint + 3600),
    '$demo_secret', 'HS256', '{\"kid\": \"demo-1\"}')"
}
for u in alice bob carol; do
  export "NOVA_DEMO_TOKEN_$u=$(demo_mint "$u")"
done
echo "   minted tokens for alice, bob, carol (\$NOVA_DEMO_TOKEN_<user>)"

demo_as() {  # demo_as USER SQL
  local var="NOVA_DEMO_TOKEN_$1"
  psql -X -q -v ON_ERROR_STOP=1 -P pager=off -P footer=off <<SQL
BEGIN;
SELECT nova.authenticate('${!var}') IS NOT NULL AS authenticated \gset
$2
COMMIT;
SQL
}
export -f demo_as 2>/dev/null || true

echo
echo "── a request from alice: one nova.authenticate per transaction, then nova.subject() is hers"
psql -X -q -P pager=off -P footer=off <<SQL
BEGIN;
SELECT nova.authenticate('$NOVA_DEMO_TOKEN_alice') ->> 'sub' AS authenticated_as;
SELECT nova.subject() AS subject, nova.claims() ->> 'iss' AS issuer, current_user AS db_role;
COMMIT;
SELECT coalesce(nova.subject(), '(none)') AS subject_after_commit;
SQL

echo "── the identity cannot be set any other way:"
psql -X -q -P pager=off -P footer=off 2>&1 <<SQL | sed 's/^/   /'
SET request.jwt.claims = '{"sub": "alice"}';
SELECT coalesce(nova.subject(), '(none)') AS subject_after_set;
SELECT nova.authenticate(nova.jwt_sign('{"sub": "alice"}', 'a-guessed-secret-0123456789abcdef-0123', 'HS256', '{"kid": "demo-1"}'));
SQL

echo "── revocation: a token of bob's is revoked; it fails on the next call although it was cached"
demo_bob_stolen="$(demo_mint bob bob-stolen-device)"
psql -X -q -P pager=off -P footer=off 2>&1 <<SQL | sed 's/^/   /'
SELECT nova.authenticate('$demo_bob_stolen') ->> 'sub' AS first_call;
SELECT nova.authenticate('$demo_bob_stolen') ->> 'sub' AS second_call_from_cache;
SELECT nova.jwt_revoke('bob-stolen-device', now() + interval '1 hour');
SELECT nova.authenticate('$demo_bob_stolen');
SELECT nova.authenticate('$NOVA_DEMO_TOKEN_bob') ->> 'sub' AS other_tokens_of_bob_still_work;
SELECT nova.jwt_cache_stats() - 'max_entry_bytes' AS jwt_cache;
SQL
unset demo_bob_stolen
