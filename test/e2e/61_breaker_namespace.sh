#!/usr/bin/env bash
# Circuit breakers are per database, and `kafka` / `nova.*` are reserved
# (docs/breakers.md, "Namespaces, reserved names"):
#  - a nova_service login role in another database cannot open the relay's
#    `kafka` breaker (42501, and the breaker in the relay's database is untouched);
#  - the same name in two databases is two breakers; each database's
#    nova.breakers lists its own;
#  - ten times the slot count of junk names from a service role never makes a
#    new legitimate name fail with 53400, in its own database or another.
set -euo pipefail
source "$(dirname "$0")/../../tools/lib.sh"
nova_test_cluster breaker_ns

q() { local sql="$1"; shift; nova_psql "$@" -c "$sql"; }
expect() {  # expect DESCRIPTION EXPECTED SQL [psql args...]
  local what="$1" want="$2" sql="$3"; shift 3
  local got; got="$(nova_psql "$@" -c "$sql")"
  if [ "$got" != "$want" ]; then nova_log "FAIL: $what: expected '$want', got '$got'"; exit 1; fi
  nova_log "ok: $what"
}

createdb other
q "CREATE EXTENSION nova" -d other >/dev/null
q "CREATE ROLE e2e_ns_svc LOGIN IN ROLE nova_service" >/dev/null

# ---- the relay's `kafka` breaker cannot be touched from another database -------------------
q "SELECT nova.breaker_force('kafka', 'closed')" >/dev/null   # as superuser, in the relay's database
for i in 1 2 3; do
  out="$(PGUSER=e2e_ns_svc psql -X -At -d other -v VERBOSITY=verbose -c "SELECT nova.breaker_record('kafka', false)" 2>&1 || true)"
  echo "$out" | grep -q "42501" || { nova_log "FAIL: record('kafka') from another database: $out"; exit 1; }
done
nova_log "ok: breaker_record('kafka', false) from another database is 42501"
out="$(PGUSER=e2e_ns_svc psql -X -At -d nova -v VERBOSITY=verbose -c "SELECT nova.breaker_record('nova.relay', false)" 2>&1 || true)"
echo "$out" | grep -q "42501" || { nova_log "FAIL: record('nova.relay') by a service: $out"; exit 1; }
nova_log "ok: nova.* names are reserved too"
expect "the relay's kafka breaker is untouched" "CLOSED|0|0" \
  "SELECT state || '|' || failed_calls || '|' || consecutive_failures FROM nova.breakers WHERE name = 'kafka'"
expect "nothing named kafka was created in the other database" "0" \
  "SELECT count(*) FROM nova.breakers WHERE name = 'kafka'" -d other

# ---- one name, two databases, two breakers ----------------------------------------------------
q "SELECT nova.breaker_configure('e2e_dep', '{\"consecutive_failures_threshold\": 1}')" -d other >/dev/null
expect "a failure opens e2e_dep in the other database" "OPEN" \
  "SELECT nova.breaker_record('e2e_dep', false)" -d other -U e2e_ns_svc
expect "e2e_dep in the relay's database still allows calls" "t" \
  "SELECT nova.breaker_allow('e2e_dep')" -U e2e_ns_svc
expect "each database lists its own e2e_dep" "CLOSED" "SELECT state FROM nova.breakers WHERE name = 'e2e_dep'"
expect "the other database's e2e_dep is open" "OPEN" "SELECT state FROM nova.breakers WHERE name = 'e2e_dep'" -d other

# ---- junk names never exhaust the table ------------------------------------------------------
expect "2560 junk names from a service role" "2560" \
  "SELECT count(*) FROM generate_series(1, 2560) i, LATERAL nova.breaker_record('junk_' || i, false) r" -d other -U e2e_ns_svc
expect "a new legitimate name in the flooded database" "t" "SELECT nova.breaker_allow('payments')" -d other -U e2e_ns_svc
expect "a new legitimate name in the relay's database" "t" "SELECT nova.breaker_allow('payments')" -U e2e_ns_svc
expect "configured breakers were not reclaimed" "OPEN" "SELECT state FROM nova.breakers WHERE name = 'e2e_dep'" -d other
expect "kafka was not reclaimed" "1" "SELECT count(*) FROM nova.breakers WHERE name = 'kafka'"
nova_log "breaker namespace e2e passed"
