#!/usr/bin/env bash
# Without shared_preload_libraries, CREATE EXTENSION nova works, every SQL
# function works (caches fall back to "no cache"), the relay does not run and
# nova.status() says not_loaded (docs/operations.md).
set -euo pipefail
source "$(dirname "$0")/../../tools/lib.sh"
nova_test_cluster nopreload "shared_preload_libraries = ''"

check() {  # check DESCRIPTION EXPECTED SQL
  local got; got="$(nova_psql -c "$3" 2>&1)" || true
  if [ "$got" = "$2" ]; then echo "ok: $1"; else echo "FAIL: $1: expected [$2] got [$got]"; FAILS=$((FAILS + 1)); fi
}
FAILS=0
# postgresql.conf sets nova.database, which PostgreSQL drops (with a WARNING) when nova is not preloaded.
export PGOPTIONS="-c client_min_messages=error"
check "extension created" "nova" "SELECT extname FROM pg_extension WHERE extname = 'nova'"
check "library loads on demand" "0" "SELECT nova._selftest_boundary('ok')"
check "no relay worker" "0" "SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'nova%'"
check "outbox slot defaults to 0" "0" "SELECT nova._outbox_slot()"
[ "$FAILS" -eq 0 ]
