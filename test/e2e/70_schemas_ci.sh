#!/usr/bin/env bash
# The schema-repository CI gate (examples/schemas/check_schemas.sh) against a
# live cluster: register the sample schemas, accept a compatible change, refuse
# a breaking one with its path, and validate events of the registered types.
set -euo pipefail
source "$(dirname "$0")/../../tools/lib.sh"
nova_test_cluster schemas_ci

SCRIPT="$NOVA_REPO/examples/schemas/check_schemas.sh"
WORKDIR="$(mktemp -d)"; NOVA_CLEANUP_CMDS+=("rm -rf '$WORKDIR'")
cp "$NOVA_REPO"/examples/schemas/*.json "$WORKDIR/"

fail() { echo "FAIL: $*" >&2; exit 1; }

# first deploy: every file registers as version 1; a second run changes nothing
out="$(bash "$SCRIPT" --register "$WORKDIR")" || fail "register: $out"
echo "$out"
[ "$(echo "$out" | grep -c 'version 1$')" -eq 4 ] || fail "expected four version-1 registrations"
out="$(bash "$SCRIPT" --register "$WORKDIR")" || fail "re-register: $out"
[ "$(echo "$out" | grep -c 'version 1$')" -eq 4 ] || fail "re-registering unchanged files must keep version 1"
bash "$SCRIPT" "$WORKDIR" >/dev/null || fail "unchanged files must pass the check"

# a compatible change (new optional property in a closed model) passes the gate and registers as v2
/usr/bin/python3 - "$WORKDIR/PostCreated.json" <<'PY'
import json, sys
p = sys.argv[1]; s = json.load(open(p))
s["properties"]["lang"] = {"type": ["string", "null"], "maxLength": 8}
json.dump(s, open(p, "w"), indent=2)
PY
bash "$SCRIPT" "$WORKDIR" || fail "a compatible change must pass"
out="$(bash "$SCRIPT" --register "$WORKDIR")" || fail "register v2: $out"
echo "$out" | grep -q 'PostCreated version 2' || fail "PostCreated should be at version 2: $out"

# a deploy role that is not the owner: EXECUTE on register_schema plus SELECT/INSERT on the registry
nova_psql -c "CREATE ROLE nova_schema_deployer LOGIN;
  GRANT EXECUTE ON FUNCTION nova.register_schema(text, jsonb, text, boolean) TO nova_schema_deployer;
  GRANT SELECT, INSERT ON nova.event_schemas TO nova_schema_deployer;"
/usr/bin/python3 - "$WORKDIR/UserSignedUp.json" <<'PY'
import json, sys
p = sys.argv[1]; s = json.load(open(p))
s["properties"]["username"]["maxLength"] = 40
json.dump(s, open(p, "w"), indent=2)
PY
out="$(PGUSER=nova_schema_deployer bash "$SCRIPT" --register "$WORKDIR")" || fail "deployer register: $out"
echo "$out" | grep -q 'UserSignedUp version 2' || fail "UserSignedUp should be at version 2: $out"
[ "$(nova_psql -c "SELECT created_by FROM nova.event_schemas WHERE event_type = 'UserSignedUp' AND version = 2")" = nova_schema_deployer ] \
  || fail "created_by must name the deploy role"

# a breaking change (narrowed length, removed property) fails with paths and codes
/usr/bin/python3 - "$WORKDIR/CommentCreated.json" <<'PY'
import json, sys
p = sys.argv[1]; s = json.load(open(p))
s["properties"]["body"]["maxLength"] = 100
del s["properties"]["deleted_by"]
json.dump(s, open(p, "w"), indent=2)
PY
if out="$(bash "$SCRIPT" "$WORKDIR")"; then fail "a breaking change must fail the gate"; fi
echo "$out"
echo "$out" | grep -q '\$.body | MAX_LENGTH_DECREASED' || fail "missing MAX_LENGTH_DECREASED"
echo "$out" | grep -q '\$.deleted_by | PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL' || fail "missing PROPERTY_REMOVED"
if bash "$SCRIPT" --register "$WORKDIR" >/dev/null; then fail "registering a breaking change must fail"; fi
[ "$(nova_psql -c "SELECT max(version) FROM nova.event_schemas WHERE event_type = 'CommentCreated'")" = 1 ] \
  || fail "CommentCreated must stay at version 1"

# events of registered types are validated on publish
nova_psql -c "SELECT nova.publish('nova.users', '1', 'UserSignedUp',
  '{\"user_id\": 1, \"username\": \"ada\", \"email\": \"ada@example.com\", \"signed_up_at\": \"2026-11-27T05:00:00Z\"}')" >/dev/null \
  || fail "a valid UserSignedUp must publish"
if err="$(nova_psql -c "SELECT nova.publish('nova.users', '2', 'UserSignedUp',
  '{\"user_id\": 2, \"username\": \"bo\", \"email\": \"bo@example.com\", \"signed_up_at\": \"2026-11-27T05:00:00Z\"}')" 2>&1)"; then
  fail "an invalid UserSignedUp must fail"
fi
echo "$err" | grep -q '\$.username: string of 2 characters is shorter than minLength 3' || fail "unexpected error: $err"
[ "$(nova_psql -c "SELECT schema_version FROM nova.outbox WHERE event_type = 'UserSignedUp'")" = 2 ] \
  || fail "the outbox row must record schema version 2"
# the sample schemas match the sample Nova schema's row events
nova_psql -f "$NOVA_REPO/examples/nova_schema.sql" >/dev/null
nova_psql <<'SQL' >/dev/null || fail "sample rows must pass validation"
INSERT INTO users (username, display_name, email) VALUES ('ada', 'Ada', 'ada@example.com');
INSERT INTO posts (author_id, body) SELECT id, 'hello' FROM users WHERE username = 'ada';
INSERT INTO comments (post_id, author_id, body) SELECT p.id, p.author_id, 'first' FROM posts p;
SQL
got="$(nova_psql -c "SELECT string_agg(event_type || '=' || coalesce(schema_version::text, '-'), ',' ORDER BY id)
                      FROM nova.outbox WHERE event_type IN ('UserCreated', 'PostCreated', 'CommentCreated')")"
[ "$got" = "UserCreated=1,PostCreated=2,CommentCreated=1" ] || fail "sample events: $got"
echo "schemas CI gate: ok"
