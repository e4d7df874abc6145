#!/usr/bin/env bash
# A long broker outage never turns into dead letters (docs/relay.md, "Which failures
# spend attempts"). nova.relay_max_attempts = 2, message.timeout.ms = 1 s, the breaker
# as in relay.md's example (5 failures, 10 s wait, backing off).
# First an idle relay (nothing to send): every broker goes down, nova.status() must
# say broker_down within 2 x message.timeout.ms, and idle again once they are back.
# Then every broker is down for ~35 s — far more than 10x what two attempts take —
# while writers keep updating interleaved keys. Then the brokers come back: the first
# delivery within 5 s, after a probe of ONE event (the relay's log line says how many
# the probe sent); every event arrives as committed, per key in order (values in order
# of first appearance increase) and complete, the last message of every key is its
# latest row, nova.outbox_dead stays empty, no attempt was spent, and nova.status()
# went through broker_down / breaker_open.
set -euo pipefail
source "$(dirname "$0")/../../tools/lib.sh"
source "$NOVA_REPO/tools/kafka.sh"
nova_test_cluster relay_long_outage "nova.relay_max_attempts = 2"
nova_kafka_start --brokers 3 --topic nova.items:4
nova_psql >/dev/null <<'SQL'
ALTER SYSTEM SET nova.kafka_config = 'message.timeout.ms=1000';
SELECT nova.breaker_configure('kafka', '{"consecutive_failures_threshold": 5, "wait_duration_in_open_state": "10s"}');
CREATE TABLE public.items (id int PRIMARY KEY, v int NOT NULL, at timestamptz);
INSERT INTO public.items SELECT g, 0, now() FROM generate_series(1, 12) g;
SELECT nova.enable_outbox('public.items');
SQL
/usr/bin/python3 "$NOVA_REPO/tools/check_key_order.py" --self-test || nova_die "the order checker accepts disorder"
nova_kafka_configure_relay
nova_relay_wait_ready 30 || nova_die "relay did not start: $(nova_psql -c 'SELECT nova.status()')"
rc=0

# ---- an idle relay notices the outage too (docs/relay.md, "Outages") ----
MTO_MS=1000   # message.timeout.ms above
nova_relay_wait_state 10 idle || nova_die "relay not idle: $(nova_psql -c 'SELECT nova.status()')"
sleep 2       # idle for a while: no delivery report can tell it anything
[ "$(nova_psql -c "SELECT count(*) FROM nova.outbox")" = 0 ] || nova_die "idle phase: the outbox is not empty"
nova_log "idle relay: all brokers down"
down_at="$(date +%s.%N)"
nova_kafka_cmd down_all
idle_deadline_ms=$(( 2 * MTO_MS + 1000 ))   # the bound, plus 1 s for this loop's own psql calls
if nova_wait_for 10 "idle relay shows broker_down" nova_relay_in_state broker_down; then
  seen_ms="$(awk -v a="$down_at" -v b="$(date +%s.%N)" 'BEGIN { printf "%d", (b - a) * 1000 }')"
  echo "idle relay: broker_down $seen_ms ms after down_all (bound 2 x message.timeout.ms = $(( 2 * MTO_MS )) ms)"
  [ "$seen_ms" -le "$idle_deadline_ms" ] || { echo "FAIL: idle relay showed broker_down after $seen_ms ms"; rc=1; }
else
  echo "FAIL: an idle relay never showed broker_down: $(nova_psql -c 'SELECT nova.status()')"; rc=1
fi
nova_kafka_cmd up_all
nova_wait_for 15 "idle relay back to idle" nova_relay_in_state idle \
  || { echo "FAIL: idle relay not idle after up_all: $(nova_psql -c 'SELECT nova.status()')"; rc=1; }
echo "idle relay: $(nova_relay_state) after up_all"
log_mark="$(wc -l <"$NOVA_CLUSTER/server.log")"

# Every update adds 1 to v: key k must arrive with every v in 1..(its final v), and its
# last message must be its final row.
cat >"$NOVA_CLUSTER/update.sql" <<'SQL'
\set k random(1, 12)
UPDATE public.items SET v = v + 1, at = clock_timestamp() WHERE id = :k;
SQL
pgbench -n -c 3 -T 50 -R 60 -f "$NOVA_CLUSTER/update.sql" >"$NOVA_CLUSTER/pgbench.log" 2>&1 &
load=$!

# Record every state nova.status() shows (one line per change) until told to stop.
( last=""
  while [ ! -e "$NOVA_CLUSTER/stop_sampling" ]; do
    s="$(psql -X -At -c "SELECT (nova.status()->>'state') || ' ' || (nova.status()->>'breaker')" 2>/dev/null || true)"
    [ "$s" != "$last" ] && { echo "$(date +%s.%N | cut -c1-14) $s"; last="$s"; }
    sleep 0.2
  done ) >"$NOVA_CLUSTER/states.log" &
sampler=$!
NOVA_CLEANUP_CMDS+=("touch '$NOVA_CLUSTER/stop_sampling'; wait $sampler")

sleep 5
nova_log "all brokers down"
nova_kafka_cmd down_all
max_attempts_seen=0
for _ in $(seq 1 35); do
  sleep 1
  a="$(nova_psql -c "SELECT coalesce(max(attempts), 0) FROM nova.outbox")"
  [ "$a" -gt "$max_attempts_seen" ] && max_attempts_seen="$a"
done
pending_during="$(nova_psql -c "SELECT count(*) FROM nova.outbox")"
dead_during="$(nova_psql -c "SELECT count(*) FROM nova.outbox_dead")"
state_during="$(nova_relay_state)"
delivered_before="$(nova_psql -c "SELECT nova.status()->>'delivered'")"
nova_log "all brokers up ($pending_during pending, state $state_during)"
up_at="$(date +%s.%N)"
nova_kafka_cmd up_all
nova_wait_for 60 "deliveries resume" bash -c \
  "[ \"\$(psql -X -At -c \"SELECT nova.status()->>'delivered'\")\" -gt $delivered_before ]" \
  || { echo "FAIL: no delivery after the brokers came back: $(nova_psql -c 'SELECT nova.status()')"; rc=1; }
resumed_at="$(date +%s.%N)"
recovery="$(awk -v a="$up_at" -v b="$resumed_at" 'BEGIN { printf "%.1f", b - a }')"
echo "recovery: first delivery $recovery s after up_all (bound 5 s)"
awk -v r="$recovery" 'BEGIN { exit !(r <= 5.0) }' || { echo "FAIL: first delivery $recovery s after up_all (> 5 s)"; rc=1; }
wait "$load" || { cat "$NOVA_CLUSTER/pgbench.log"; nova_die "pgbench failed"; }
nova_relay_wait_drained 90 || nova_die "outbox not drained: $(nova_psql -c 'SELECT nova.status()')"
touch "$NOVA_CLUSTER/stop_sampling"; wait "$sampler" || true

nova_check_key_order nova.items || rc=1

# The probe that ended the outage sent ONE event: the relay logs the probe batch's size.
tail -n +"$((log_mark + 1))" "$NOVA_CLUSTER/server.log" | grep -o 'Kafka reachable again after .*' >"$NOVA_CLUSTER/resumed.log" || true
sed 's/^/  resumed: /' "$NOVA_CLUSTER/resumed.log"
[ -s "$NOVA_CLUSTER/resumed.log" ] || { echo "FAIL: no 'Kafka reachable again' line after the outage"; rc=1; }
if grep -v '(probe: 1 event); resuming' "$NOVA_CLUSTER/resumed.log" | grep -q .; then
  echo "FAIL: an outage ended with a probe of other than one event"; rc=1
fi

echo "states seen:"; sed 's/^/  /' "$NOVA_CLUSTER/states.log"
echo "status: $(nova_psql -c 'SELECT nova.status()')"
[ "$pending_during" -gt 0 ] || { echo "FAIL: no backlog during the outage (test too weak)"; rc=1; }
[ "$max_attempts_seen" = 0 ] || { echo "FAIL: the outage spent attempts (max $max_attempts_seen)"; rc=1; }
[ "$dead_during" = 0 ] || { echo "FAIL: $dead_during dead letters during the outage"; rc=1; }
[ "$(nova_psql -c "SELECT count(*) FROM nova.outbox_dead")" = 0 ] || { echo "FAIL: dead letters"; rc=1; }
grep -q ' broker_down ' "$NOVA_CLUSTER/states.log" || { echo "FAIL: state broker_down never shown"; rc=1; }
grep -q ' breaker_open ' "$NOVA_CLUSTER/states.log" || { echo "FAIL: state breaker_open never shown"; rc=1; }
case "$state_during" in broker_down|breaker_open) ;; *) echo "FAIL: state $state_during late in the outage"; rc=1 ;; esac
[ "$(nova_psql -c "SELECT nova.status()->>'breaker'")" = CLOSED ] || { echo "FAIL: breaker not closed at the end"; rc=1; }
grep -E 'nova relay: (Kafka|kafka circuit)' "$NOVA_CLUSTER/server.log" | sed 's/^/  log: /' | head -12
exit $rc
