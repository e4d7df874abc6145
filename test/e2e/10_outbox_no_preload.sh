#!/usr/bin/env bash
# Without shared_preload_libraries the outbox still works in a fresh session:
# nova.enable_outbox() (which reads nova.topic_prefix before any C function has
# loaded the library), the trigger's writes, correlation ids and nova.publish.
set -euo pipefail
source "$(dirname "$0")/../../tools/lib.sh"

nova_test_cluster outbox_nopreload "shared_preload_libraries = ''"
fail() { echo "FAIL: $*"; tail -30 "$NOVA_CLUSTER/server.log"; exit 1; }

[ "$(nova_psql -c "SHOW shared_preload_libraries")" = "" ] || fail "nova is preloaded"
nova_psql -c "CREATE TABLE user_follows (follower int, followee int, PRIMARY KEY (follower, followee))" >/dev/null
# a new session: the library is not loaded yet when enable_outbox runs
nova_psql -c "SELECT nova.enable_outbox('user_follows')" >/dev/null || fail "enable_outbox without preload"
nova_psql >/dev/null <<'SQL' || fail "writes without preload"
BEGIN;
SET LOCAL nova.correlation_id = 'np-1';
INSERT INTO user_follows VALUES (1, 2);
SELECT nova.publish('nova.misc', NULL, 'Pinged', '{}');
COMMIT;
SQL
got=$(nova_psql -c "SELECT string_agg(topic || '|' || coalesce(key, '-') || '|' || event_type || '|' || correlation_id || '|' || slot, ',' ORDER BY id) FROM nova.outbox")
[ "$got" = "nova.user_follows|[1, 2]|UserFollowCreated|np-1|0,nova.misc|-|Pinged|np-1|0" ] || fail "events: $got"
echo "ok: outbox works without shared_preload_libraries"
