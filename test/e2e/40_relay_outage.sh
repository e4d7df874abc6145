#!/usr/bin/env bash
# Every broker goes down during a write load, then comes back: nothing committed is
# lost, publishing resumes by itself, and the `kafka` breaker opened and closed again
# (visible in nova.status() and the server log).
set -euo pipefail
source "$(dirname "$0")/../../tools/lib.sh"
source "$NOVA_REPO/tools/kafka.sh"
nova_test_cluster relay_outage
nova_kafka_start --brokers 3 --topic nova.load:4
nova_psql >/dev/null <<'SQL'
ALTER SYSTEM SET nova.kafka_config = 'message.timeout.ms=2000; reconnect.backoff.max.ms=500';
-- Open after 2 failed batches in a row, probe after 1 s with one batch.
SELECT nova.breaker_configure('kafka', '{"consecutive_failures_threshold": 2, "wait_duration_in_open_state": "1s",
                                         "permitted_calls_in_half_open_state": 1}');
CREATE TABLE public.expected (event_id uuid, key text, payload jsonb);
SQL
nova_kafka_configure_relay
nova_relay_wait_ready 30 || nova_die "relay did not start: $(nova_psql -c 'SELECT nova.status()')"

cat >"$NOVA_CLUSTER/load.sql" <<'SQL'
\set k random(1, 50)
BEGIN;
INSERT INTO public.expected
SELECT nova.publish('nova.load', 'k' || :k, 'LoadEvent', p), 'k' || :k, p
FROM (SELECT jsonb_build_object('client', :client_id, 'k', :k, 'at', clock_timestamp()) AS p) s;
COMMIT;
SQL
pgbench -n -c 2 -T 16 -R 200 -f "$NOVA_CLUSTER/load.sql" >"$NOVA_CLUSTER/pgbench.log" 2>&1 &
load=$!
sleep 3
nova_log "all brokers down"
nova_kafka_cmd down_all
saw_open=0
for _ in $(seq 1 200); do
  s="$(nova_psql -c "SELECT (nova.status()->>'state') || ' ' || (nova.status()->>'breaker')")"
  case "$s" in *OPEN*|breaker_open*) saw_open=1; echo "during the outage: $s"; break ;; esac
  sleep 0.1
done
sleep 3
pending_during="$(nova_psql -c "SELECT count(*) FROM nova.outbox")"
nova_log "all brokers up ($pending_during events pending)"
nova_kafka_cmd up_all
wait "$load" || { cat "$NOVA_CLUSTER/pgbench.log"; nova_die "pgbench failed"; }
nova_relay_wait_drained 90 || nova_die "outbox not drained: $(nova_psql -c 'SELECT nova.status()')"
nova_wait_for 30 "breaker closed" bash -c "[ \"\$(psql -X -At -c \"SELECT nova.status()->>'breaker'\")\" = CLOSED ]" || true

rc=0
nova_kafka_check nova.load \
  "SELECT json_build_object('event_id', event_id, 'key', key, 'topic', 'nova.load', 'payload', payload) FROM public.expected" \
  "SELECT DISTINCT ON (key) json_build_object('key', key, 'payload', payload) FROM public.expected ORDER BY key, (payload->>'at')::timestamptz DESC" \
  || rc=1
echo "status: $(nova_psql -c 'SELECT nova.status()')"
[ "$saw_open" = 1 ] || { echo "FAIL: the breaker never opened during the outage"; rc=1; }
[ "$pending_during" -gt 0 ] || { echo "FAIL: no backlog during the outage"; rc=1; }
grep -q 'kafka circuit breaker .* -> OPEN' "$NOVA_CLUSTER/server.log" || { echo "FAIL: no OPEN transition logged"; rc=1; }
grep -q 'kafka circuit breaker .* -> CLOSED' "$NOVA_CLUSTER/server.log" || { echo "FAIL: no CLOSED transition logged"; rc=1; }
[ "$(nova_psql -c "SELECT nova.status()->>'breaker'")" = CLOSED ] || { echo "FAIL: breaker not closed at the end"; rc=1; }
[ "$(nova_psql -c "SELECT count(*) FROM nova.outbox_dead")" = 0 ] || { echo "FAIL: dead letters"; rc=1; }
grep 'kafka circuit breaker' "$NOVA_CLUSTER/server.log" | sed 's/^/  log: /' | head -10
exit $rc
