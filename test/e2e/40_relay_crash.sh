#!/usr/bin/env bash
# The relay worker is SIGKILLed during a write load (the postmaster restarts every
# process), then the whole server stops with `pg_ctl stop -m immediate` during load
# and starts again: every committed event still reaches Kafka (at least once).
set -euo pipefail
source "$(dirname "$0")/../../tools/lib.sh"
source "$NOVA_REPO/tools/kafka.sh"
nova_test_cluster relay_crash
nova_kafka_start --brokers 1 --topic nova.crash:3
nova_psql >/dev/null <<'SQL'
CREATE TABLE public.expected (event_id uuid, key text, payload jsonb);
SQL
nova_kafka_configure_relay
nova_relay_wait_ready 30 || nova_die "relay did not start"

cat >"$NOVA_CLUSTER/load.sql" <<'SQL'
\set k random(1, 100)
INSERT INTO public.expected
SELECT nova.publish('nova.crash', 'k' || :k, 'CrashEvent', p), 'k' || :k, p
FROM (SELECT jsonb_build_object('k', :k, 'client', :client_id, 'at', clock_timestamp()) AS p) s;
SQL
load() {  # clients lose their connections in the crash: pgbench's exit status means nothing here
  pgbench -n -c 2 -T "$1" -R 300 -f "$NOVA_CLUSTER/load.sql" >>"$NOVA_CLUSTER/pgbench.log" 2>&1 || true
}
ready() { pg_isready -q && nova_relay_in_state idle running; }

# 1. SIGKILL the relay while events are being written and sent.
load 8 &
loader=$!
sleep 3
pid="$(nova_relay_pid)"
[ -n "$pid" ] || nova_die "no relay pid"
nova_log "SIGKILL relay pid $pid (pending: $(nova_psql -c 'SELECT count(*) FROM nova.outbox'))"
kill -KILL "$pid"
wait "$loader"
nova_wait_for 60 "server and relay back after the crash" ready || nova_die "relay did not come back"
newpid="$(nova_relay_pid)"
[ "$newpid" != "$pid" ] || nova_die "relay pid unchanged"
grep -q 'background worker "nova relay" (PID '"$pid"') was terminated by signal 9' "$NOVA_CLUSTER/server.log" \
  || nova_die "postmaster did not notice the crash"

# 2. Immediate shutdown of the whole server during load, then restart.
load 8 &
loader=$!
sleep 3
nova_log "pg_ctl stop -m immediate (pending: $(nova_psql -c 'SELECT count(*) FROM nova.outbox'))"
nova_cluster_stop "$NOVA_CLUSTER" immediate
wait "$loader"
nova_as_run_user "$(nova_pg_bindir)/pg_ctl" -D "$NOVA_CLUSTER/data" -l "$NOVA_CLUSTER/server.log" -w -t 60 start >/dev/null
pending_after_crash="$(nova_psql -c 'SELECT count(*) FROM nova.outbox')"
nova_log "restarted with $pending_after_crash events pending"
nova_wait_for 60 "relay back after the restart" ready || nova_die "relay did not come back"
nova_relay_wait_drained 60 || nova_die "outbox not drained: $(nova_psql -c 'SELECT nova.status()')"

rc=0
nova_kafka_check nova.crash \
  "SELECT json_build_object('event_id', event_id, 'key', key, 'topic', 'nova.crash', 'payload', payload) FROM public.expected" \
  "" || rc=1
[ "$(nova_psql -c 'SELECT count(*) FROM public.expected')" -gt 1000 ] || { echo "FAIL: too little load"; rc=1; }
echo "status: $(nova_psql -c 'SELECT nova.status()')"
exit $rc
