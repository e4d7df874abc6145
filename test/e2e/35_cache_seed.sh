#!/usr/bin/env bash
# The key/value cache's hash seed (docs/cache.md, "Memory and eviction"): drawn
# from pg_strong_random at every server start, so the hash of a fixed key
#  - is the same in every session and backend of one server start,
#  - differs between two databases,
#  - differs after a restart of the same cluster (and again after a second one),
# and cache entries do not survive the restart. Observed through the test-build
# hook nova._cache_key_hash, which only a superuser may call.
set -euo pipefail
source "$(dirname "$0")/../../tools/lib.sh"
nova_test_cluster cache_seed

q() { local sql="$1"; shift; nova_psql "$@" -c "$sql"; }
fail() { nova_log "FAIL: $*"; exit 1; }
hash_of() { q "SELECT nova._cache_key_hash('e2e:seed')" "$@"; }

createdb other
q "CREATE EXTENSION nova" -d other >/dev/null
q "CREATE ROLE e2e_seed_svc LOGIN IN ROLE nova_service" >/dev/null

# a service cannot read the hash (nor anything else derived from the seed)
out="$(PGUSER=e2e_seed_svc psql -X -At -v VERBOSITY=verbose -c "SELECT nova._cache_key_hash('e2e:seed')" 2>&1 || true)"
echo "$out" | grep -q 42501 || fail "a service role called nova._cache_key_hash: $out"

declare -a SEEN=()
for start in 1 2 3; do
  if [ "$start" -gt 1 ]; then
    nova_cluster_stop "$NOVA_CLUSTER" fast
    nova_cluster_start "$NOVA_CLUSTER" || fail "restart $start"
    # the entry written before the restart is gone with the old shared memory
    [ "$(q "SELECT nova.cache_get('e2e:seed') IS NULL")" = t ] || fail "cache entry survived restart $start"
  fi
  h="$(hash_of)"
  [ -n "$h" ] || fail "no hash (is this a test build with shared memory?)"
  [ "$(hash_of)" = "$h" ] || fail "hash not stable across sessions of one start"
  # another backend of the same start, in a transaction that also uses the cache
  [ "$(q "SELECT nova.cache_set('e2e:seed', 'start $start'); SELECT nova._cache_key_hash('e2e:seed')" | tail -1)" = "$h" ] \
    || fail "hash not stable across backends"
  [ "$(q "SELECT nova.cache_get('e2e:seed')")" = "start $start" ] || fail "cache does not work on start $start"
  o="$(hash_of -d other)"
  [ "$o" != "$h" ] || fail "the same hash in two databases ($h)"
  for prev in "${SEEN[@]}"; do
    [ "$prev" != "$h" ] && [ "$prev" != "$o" ] || fail "start $start repeats an earlier start's hash ($prev)"
  done
  SEEN+=("$h" "$o")
  nova_log "ok: start $start: hash $h (database other: $o)"
done
nova_log "ok: the seed changes with every server start"
