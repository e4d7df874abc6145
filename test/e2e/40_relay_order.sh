#!/usr/bin/env bash
# Ordering under faults: concurrent writers update a small set of rows (outbox
# trigger) while the broker rejects produce requests and goes down for a moment.
# Every event arrives, and the last message of every key in Kafka equals that
# key's latest state in the database.
set -euo pipefail
source "$(dirname "$0")/../../tools/lib.sh"
source "$NOVA_REPO/tools/kafka.sh"
nova_test_cluster relay_order "nova.relay_max_attempts = 1000"
nova_kafka_start --brokers 1 --topic nova.items:3
nova_psql >/dev/null <<'SQL'
ALTER SYSTEM SET nova.kafka_config = 'message.timeout.ms=1000; retry.backoff.ms=200; reconnect.backoff.max.ms=300';
CREATE TABLE public.items (id int PRIMARY KEY, v int NOT NULL, at timestamptz);
INSERT INTO public.items SELECT g, 0, now() FROM generate_series(1, 10) g;
SELECT nova.enable_outbox('public.items');
SQL
# Every update adds 1 to v, so key k must arrive with every v in 1..(its final v), and
# its last message must be its final row.
nova_kafka_configure_relay
nova_relay_wait_ready 30 || nova_die "relay did not start"

cat >"$NOVA_CLUSTER/update.sql" <<'SQL'
\set k random(1, 10)
UPDATE public.items SET v = v + 1, at = clock_timestamp() WHERE id = :k;
SQL
pgbench -n -c 4 -T 15 -R 400 -f "$NOVA_CLUSTER/update.sql" >"$NOVA_CLUSTER/pgbench.log" 2>&1 &
load=$!
# Faults: bursts of produce errors (more than the producer retries within
# message.timeout.ms, so deliveries fail and the relay's per-key retry runs), and a
# short broker outage.
for i in $(seq 1 12); do
  nova_kafka_cmd "produce_errors 40 NOT_ENOUGH_REPLICAS"
  if [ "$i" = 6 ]; then nova_kafka_cmd "down 1"; sleep 1.5; nova_kafka_cmd "up 1"; fi
  sleep 1
done
nova_kafka_cmd clear_errors
wait "$load" || { cat "$NOVA_CLUSTER/pgbench.log"; nova_die "pgbench failed"; }
nova_relay_wait_drained 120 || nova_die "outbox not drained: $(nova_psql -c 'SELECT nova.status()')"

rc=0
nova_check_key_order nova.items || rc=1
failed="$(nova_psql -c "SELECT nova.status()->>'failed'")"
echo "failed deliveries retried by the relay: $failed; status: $(nova_psql -c 'SELECT nova.status()')"
[ "$failed" -gt 0 ] || { echo "FAIL: the faults never reached the relay (test too weak)"; rc=1; }
exit $rc
