#!/usr/bin/env bash
# A permanent failure (a message larger than the producer's message.max.bytes) goes to
# nova.outbox_dead at once without blocking other keys, or later events of its own key;
# after fixing the cause nova.retry_dead() sends it. A bad nova.kafka_config leaves the
# relay unconfigured with a clear error; a secret given as `@/file` never reaches the log.
set -euo pipefail
source "$(dirname "$0")/../../tools/lib.sh"
source "$NOVA_REPO/tools/kafka.sh"
nova_test_cluster relay_dead
nova_kafka_start --brokers 1 --topic nova.dead:2
nova_psql >/dev/null <<'SQL'
CREATE TABLE public.expected (event_id uuid, key text, payload jsonb, big boolean);
SQL
rc=0

# A typo in nova.kafka_config: unconfigured, the property named, no value shown.
nova_psql -c "ALTER SYSTEM SET nova.kafka_config = 'no.such.property=1'" >/dev/null
nova_kafka_configure_relay
nova_wait_for 30 "config error visible" bash -c \
  "psql -X -At -c \"SELECT nova.status()->>'last_error'\" | grep -q 'no.such.property'" \
  || { echo "FAIL: bad config not reported: $(nova_psql -c 'SELECT nova.status()')"; rc=1; }
[ "$(nova_relay_state)" = unconfigured ] || { echo "FAIL: state $(nova_relay_state) with a bad config"; rc=1; }

# Producer limit 1000 bytes: the big event cannot be sent, ever. (The password is unused
# without SASL; it shows that file secrets are read and stay out of the log.)
echo hunter2 >"$NOVA_CLUSTER/kafka.secret"; chmod 600 "$NOVA_CLUSTER/kafka.secret"
[ "$(id -u)" -eq 0 ] && chown postgres "$NOVA_CLUSTER/kafka.secret"
nova_psql -c "ALTER SYSTEM SET nova.kafka_config = 'message.max.bytes=1000; sasl.password=@$NOVA_CLUSTER/kafka.secret'" \
          -c "SELECT pg_reload_conf()" >/dev/null
nova_relay_wait_ready 30 || nova_die "relay did not start: $(nova_psql -c 'SELECT nova.status()')"
nova_psql >/dev/null <<'SQL'
BEGIN;
INSERT INTO public.expected SELECT nova.publish('nova.dead', 'a', 'Small', '{"n": 1}'), 'a', '{"n": 1}', false;
INSERT INTO public.expected SELECT nova.publish('nova.dead', 'a', 'Big', p), 'a', p, true
  FROM (SELECT jsonb_build_object('n', 2, 'blob', repeat('x', 5000)) p) s;
INSERT INTO public.expected SELECT nova.publish('nova.dead', 'a', 'Small', '{"n": 3}'), 'a', '{"n": 3}', false;
INSERT INTO public.expected SELECT nova.publish('nova.dead', 'b', 'Small', jsonb_build_object('n', g)), 'b', jsonb_build_object('n', g), false
  FROM generate_series(1, 20) g;
COMMIT;
SQL
nova_relay_wait_drained 30 || nova_die "outbox not drained: $(nova_psql -c 'SELECT nova.status()')"
dead="$(nova_psql -c "SELECT count(*) || ' ' || min(attempts) || ' ' || (min(last_error) ILIKE '%too large%') FROM nova.outbox_dead")"
echo "dead letters: $dead"
[ "$dead" = "1 1 true" ] || { echo "FAIL: expected one dead letter after one attempt"; rc=1; }
nova_psql -c "SELECT (nova.status()->>'dead')::int = 1 AND (nova.status()->>'dead_letters')::int = 1" | grep -qx t \
  || { echo "FAIL: status does not count the dead letter"; rc=1; }
echo "-- before retry (the big event must be missing):"
nova_kafka_check nova.dead \
  "SELECT json_build_object('event_id', event_id, 'key', key, 'payload', payload) FROM public.expected WHERE NOT big" "" \
  || rc=1

# Fix the cause, retry.
nova_psql -c "ALTER SYSTEM SET nova.kafka_config = 'message.max.bytes=100000'" -c "SELECT pg_reload_conf()" >/dev/null
nova_wait_for 30 "new producer" grep -q 'producing to .* with extra properties: message.max.bytes$' "$NOVA_CLUSTER/server.log" \
  || { echo "FAIL: the new config was not applied"; rc=1; }
retried="$(nova_psql -c "SELECT nova.retry_dead()")"
[ "$retried" = 1 ] || { echo "FAIL: retry_dead returned $retried"; rc=1; }
nova_relay_wait_drained 30 || nova_die "retried event not sent"
echo "-- after retry:"
nova_kafka_check nova.dead \
  "SELECT json_build_object('event_id', event_id, 'key', key, 'payload', payload) FROM public.expected" "" || rc=1
[ "$(nova_psql -c 'SELECT count(*) FROM nova.outbox_dead')" = 0 ] || { echo "FAIL: dead letters left"; rc=1; }

if grep -q hunter2 "$NOVA_CLUSTER/server.log"; then echo "FAIL: a secret reached the server log"; rc=1; fi
grep -E 'nova relay: (invalid|producing|.*outbox_dead)' "$NOVA_CLUSTER/server.log" | sed 's/^/  log: /'
exit $rc
