#!/usr/bin/env bash
# Circuit breakers across sessions and restarts:
#  - a half-open permit held by a backend that exits is given back;
#  - options in nova.breaker_config survive a restart and are loaded on first use;
#  - the `kafka` breaker is forced like any other;
#  - without shared_preload_libraries breaker functions fail with 55000 (never a silent answer).
set -euo pipefail
source "$(dirname "$0")/../../tools/lib.sh"
nova_test_cluster breaker_e2e

q() { nova_psql -c "$1"; }
expect() {  # expect DESCRIPTION EXPECTED SQL
  local got; got="$(q "$3")"
  if [ "$got" != "$2" ]; then nova_log "FAIL: $1: expected '$2', got '$got'"; exit 1; fi
  nova_log "ok: $1"
}

# ---- a permit held by an exiting backend is released -----------------------------------------
q "SELECT nova.breaker_configure('e2e_exit', '{\"sliding_window_size\": 2, \"minimum_number_of_calls\": 1,
     \"wait_duration_in_open_state\": \"1 min\", \"permitted_calls_in_half_open_state\": 1}')" >/dev/null
q "SELECT nova.breaker_record('e2e_exit', false)" >/dev/null
expect "opened" "OPEN" "SELECT state FROM nova.breakers WHERE name = 'e2e_exit'"
q "SELECT nova._breaker_clock_advance('1 min')" >/dev/null

# Session A takes the only permit and then just sits there.
psql -X -q -At -c "SELECT nova.breaker_allow('e2e_exit')" -c "SELECT pg_sleep(300)" \
  -v application_name=x >/dev/null 2>&1 &
HOLDER=$!
NOVA_CLEANUP_CMDS+=("kill $HOLDER")
nova_wait_for 30 "session A holds the permit" \
  bash -c "[ \"\$(psql -X -At -c \"SELECT half_open_permits_in_use FROM nova.breakers WHERE name = 'e2e_exit'\")\" = 1 ]"
expect "another session is refused while A holds the permit" "f" "SELECT nova.breaker_allow('e2e_exit')"

# A's backend exits (terminated, as when a service's connection dies).
q "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(300)%' AND pid <> pg_backend_pid()" >/dev/null
wait "$HOLDER" 2>/dev/null || true
nova_wait_for 30 "permit released" \
  bash -c "[ \"\$(psql -X -At -c \"SELECT half_open_permits_in_use FROM nova.breakers WHERE name = 'e2e_exit'\")\" = 0 ]"
expect "another session can probe after A exited" "true|CLOSED" \
  "SELECT nova.breaker_allow('e2e_exit') || '|' || nova.breaker_record('e2e_exit', true)"
# A session that takes a permit and disconnects normally gives it back too.
q "SELECT nova.breaker_record('e2e_exit', false)" >/dev/null
q "SELECT nova._breaker_clock_advance('1 min')" >/dev/null
expect "session B takes the permit and disconnects" "t" "SELECT nova.breaker_allow('e2e_exit')"
expect "session C can probe" "t" "SELECT nova.breaker_allow('e2e_exit')"

# ---- many sessions hammering one breaker through all its states: invariants hold ------------------
q "SELECT nova.breaker_configure('e2e_storm', '{\"sliding_window_size\": 10, \"minimum_number_of_calls\": 5,
     \"wait_duration_in_open_state\": \"20 ms\", \"permitted_calls_in_half_open_state\": 3,
     \"randomized_wait_factor\": 0.5}')" >/dev/null
STORM="$(nova_tmpdir storm)"; NOVA_CLEANUP_DIRS+=("$STORM")
cat > "$STORM/storm.sql" <<'SQL'
SELECT CASE WHEN nova.breaker_allow('e2e_storm')
            THEN nova.breaker_record('e2e_storm', random() > 0.4, make_interval(secs => random() / 100)) END;
SQL
chmod 644 "$STORM/storm.sql"
pgbench -n -T 3 -c 4 -j 2 -f "$STORM/storm.sql" >"$STORM/pgbench.log" 2>&1 || { cat "$STORM/pgbench.log"; exit 1; }
grep -q "number of failed transactions: 0" "$STORM/pgbench.log" || { cat "$STORM/pgbench.log"; exit 1; }
expect "storm: invariants" "t" \
  "SELECT state IN ('CLOSED','OPEN','HALF_OPEN') AND half_open_permits_in_use BETWEEN 0 AND 3 AND calls BETWEEN 0 AND 10
     AND failed_calls <= calls FROM nova.breakers WHERE name = 'e2e_storm'"
grep -q "circuit breaker \"e2e_storm\" changed from CLOSED to OPEN" "$NOVA_CLUSTER/server.log" \
  || { nova_log "FAIL: storm never opened the breaker"; exit 1; }
nova_log "ok: storm opened and probed the breaker ($(grep -c 'e2e_storm" changed' "$NOVA_CLUSTER/server.log") transitions)"
# With all sessions gone, no permit is left behind.
expect "storm: no permit held after the sessions exited" "0" \
  "SELECT half_open_permits_in_use FROM nova.breakers WHERE name = 'e2e_storm'"

# ---- the relay's breaker is an ordinary breaker ----------------------------------------------
q "SELECT nova.breaker_force('kafka', 'closed')" >/dev/null
expect "kafka has the relay's defaults" "3|1|5 s" \
  "SELECT concat_ws('|', config->>'consecutive_failures_threshold', config->>'permitted_calls_in_half_open_state',
                    config->>'wait_duration_in_open_state') FROM nova.breakers WHERE name = 'kafka'"
q "SELECT nova.breaker_force('kafka', 'open')" >/dev/null
expect "kafka forced open" "FORCED_OPEN" "SELECT state FROM nova.breakers WHERE name = 'kafka'"
q "SELECT nova.breaker_force('kafka', 'closed')" >/dev/null

# ---- configuration survives a restart; state does not ------------------------------------------
q "SELECT nova.breaker_configure('e2e_persist', '{\"sliding_window_size\": 3, \"minimum_number_of_calls\": 3,
     \"wait_duration_in_open_state\": \"5 min\"}')" >/dev/null
q "SELECT nova.breaker_force('e2e_persist', 'open')" >/dev/null
nova_as_run_user "$(nova_pg_bindir)/pg_ctl" -D "$NOVA_CLUSTER/data" -w -t 60 -m fast restart -l "$NOVA_CLUSTER/server.log" >/dev/null
expect "no breaker in shared memory after restart" "0" "SELECT count(*) FROM nova.breakers"
expect "first use after restart" "t" "SELECT nova.breaker_allow('e2e_persist')"
expect "options loaded from nova.breaker_config" "CLOSED|3|5 min" \
  "SELECT state || '|' || (config->>'sliding_window_size') || '|' || (config->>'wait_duration_in_open_state') FROM nova.breakers WHERE name = 'e2e_persist'"
q "SELECT nova.breaker_record('e2e_persist', false), nova.breaker_record('e2e_persist', false)" >/dev/null
expect "loaded window applies" "OPEN" "SELECT nova.breaker_record('e2e_persist', false)"
# A service role loads the configuration too (it cannot read the table itself).
q "CREATE ROLE e2e_svc LOGIN IN ROLE nova_service" >/dev/null
nova_as_run_user "$(nova_pg_bindir)/pg_ctl" -D "$NOVA_CLUSTER/data" -w -t 60 -m fast restart -l "$NOVA_CLUSTER/server.log" >/dev/null
got="$(PGUSER=e2e_svc nova_psql -c "SELECT nova.breaker_allow('e2e_persist')")"
[ "$got" = t ] || { nova_log "FAIL: service role first use: $got"; exit 1; }
expect "service role sees loaded config" "3" "SELECT config->>'sliding_window_size' FROM nova.breakers WHERE name = 'e2e_persist'"

# ---- without shared_preload_libraries: a clear error ----------------------------------------------
nova_as_run_user "$(nova_pg_bindir)/pg_ctl" -D "$NOVA_CLUSTER/data" -w -t 60 -m fast restart \
  -o "-c shared_preload_libraries=''" -l "$NOVA_CLUSTER/server.log" >/dev/null
export PGOPTIONS="-c client_min_messages=error"  # nova.database is dropped with a WARNING without preload
out="$(psql -X -At -v VERBOSITY=verbose -c "SELECT nova.breaker_allow('e2e_persist')" 2>&1 || true)"
echo "$out" | grep -q "55000" || { nova_log "FAIL: breaker_allow without preload: $out"; exit 1; }
nova_log "ok: breaker_allow without preload fails with 55000"
out="$(psql -X -At -v VERBOSITY=verbose -c "SELECT * FROM nova.breakers" 2>&1 || true)"
echo "$out" | grep -q "55000" || { nova_log "FAIL: nova.breakers without preload: $out"; exit 1; }
nova_log "ok: nova.breakers without preload fails with 55000"
expect "configure still stores options" "" \
  "SELECT nova.breaker_configure('e2e_later', '{\"minimum_number_of_calls\": 7}')"
expect "stored" "7" "SELECT options->>'minimum_number_of_calls' FROM nova.breaker_config WHERE name = 'e2e_later'"
nova_log "breaker e2e passed"
