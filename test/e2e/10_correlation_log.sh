#!/usr/bin/env bash
# Server log records written while a correlation id is set carry it
# ("CONTEXT:  correlation id: <id>"), whether the id came from SET LOCAL
# nova.correlation_id or from PostgREST's request.headers; records of other
# transactions do not; and the outbox event of the same transaction has the same
# id — one id finds the request's SQL, its errors and its events.
set -euo pipefail
source "$(dirname "$0")/../../tools/lib.sh"

nova_test_cluster corrlog "log_statement = 'all'" "log_min_messages = info"
LOG="$NOVA_CLUSTER/server.log"
ID="e2e-$RANDOM-$RANDOM"
HID="hdr-$RANDOM-$RANDOM"

nova_psql <<SQL >/dev/null
CREATE TABLE posts (id int PRIMARY KEY, body text);
SELECT nova.enable_outbox('posts');
BEGIN;
SET LOCAL nova.correlation_id = '$ID';
SELECT 'marker-statement-1';
DO \$\$ BEGIN RAISE LOG 'marker-raise-log'; END \$\$;
INSERT INTO posts VALUES (1, 'hello');
COMMIT;
SELECT 'marker-after-commit';
BEGIN;
SELECT set_config('request.headers', '{"x-correlation-id": "$HID"}', true);
INSERT INTO posts VALUES (2, 'from a PostgREST request');
SELECT 'marker-header-statement';
COMMIT;
SQL
# an error inside a request carries the id too (psql fails, as it should)
if nova_psql -c "BEGIN" -c "SET LOCAL nova.correlation_id = '$ID'" -c "SELECT 1/0 AS marker_error" >/dev/null 2>&1; then
  echo "expected division by zero to fail"; exit 1
fi

fail() { echo "FAIL: $*"; echo "---- server log (tail) ----"; tail -60 "$LOG"; exit 1; }
# The detail lines (CONTEXT, STATEMENT, ...) of the first record matching $1.
context_of() {
  awk -v pat="$1" '
    found && (/ (CONTEXT|DETAIL|HINT|STATEMENT|QUERY|LOCATION):  / || /^\t/) { print; next }
    found { exit }
    $0 ~ pat { found = 1 }' "$LOG"
}
nova_wait_for 10 "log records flushed" grep -q "marker-header-statement" "$LOG" || fail "log incomplete"
nova_wait_for 10 "error logged" grep -q "division by zero" "$LOG" || fail "error not logged"

context_of "statement: SELECT 'marker-statement-1'" | grep -q "CONTEXT:  correlation id: $ID\$" \
  || fail "statement log record lacks the correlation id"
context_of "LOG:  marker-raise-log" | grep -q "correlation id: $ID" \
  || fail "RAISE LOG record lacks the correlation id"
context_of "ERROR:  division by zero" | grep -q "correlation id: $ID" \
  || fail "error record lacks the correlation id"
if context_of "statement: SELECT 'marker-after-commit'" | grep -q "correlation id:"; then
  fail "a record after COMMIT still carries a correlation id"
fi
context_of "statement: SELECT 'marker-header-statement'" | grep -q "correlation id: $HID" \
  || fail "record lacks the id taken from request.headers"

# The outbox events of those transactions carry the same ids.
got=$(nova_psql -c "SELECT string_agg(key || '=' || correlation_id, ',' ORDER BY id) FROM nova.outbox")
[ "$got" = "1=$ID,2=$HID" ] || fail "outbox correlation ids: $got"
echo "ok: log records and outbox events carry the correlation id"
