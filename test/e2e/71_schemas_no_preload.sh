#!/usr/bin/env bash
# The event-schema registry needs no shared memory: without shared_preload_libraries
# registration, the dry run and validation (direct and through nova.publish) work.
set -euo pipefail
source "$(dirname "$0")/../../tools/lib.sh"
nova_test_cluster schemas_nopreload "shared_preload_libraries = ''"
export PGOPTIONS="-c client_min_messages=error"

FAILS=0
check() {  # check DESCRIPTION EXPECTED SQL
  local got; got="$(nova_psql -c "$3" 2>&1 | head -1)" || true
  if [ "$got" = "$2" ]; then echo "ok: $1"; else echo "FAIL: $1: expected [$2] got [$got]"; FAILS=$((FAILS + 1)); fi
}
check "register" "1" \
  "SELECT nova.register_schema('Ping', '{\"type\": \"object\", \"required\": [\"n\"], \"properties\": {\"n\": {\"type\": \"integer\"}}}')"
check "dry run" '$.n|MINIMUM_ADDED' \
  "SELECT path || '|' || change FROM nova.check_schema('Ping', '{\"type\": \"object\", \"required\": [\"n\"], \"properties\": {\"n\": {\"type\": \"integer\", \"minimum\": 0}}}')"
check "valid event" "1" "SELECT nova.validate_event('Ping', '{\"n\": 5}')"
check "invalid event" 'ERROR:  event "Ping" does not match its schema (version 1): $.n: expected integer, got string' \
  "SELECT nova.validate_event('Ping', '{\"n\": \"5\"}')"
check "publish" "t" "SELECT nova.publish('pings', '1', 'Ping', '{\"n\": 1}') IS NOT NULL"
check "outbox row carries the version" "1" "SELECT schema_version FROM nova.outbox WHERE event_type = 'Ping'"
check "publish refused" 'ERROR:  event "Ping" does not match its schema (version 1): $: missing required property "n"' \
  "SELECT nova.publish('pings', '2', 'Ping', '{}')"
[ "$FAILS" -eq 0 ]
