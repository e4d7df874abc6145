#!/usr/bin/env bash
# Relay latency: commit → consumer receipt at a fixed ~1,000 events/s (pgbench -R).
# Each event carries the inserting statement's clock in microseconds (just before its
# commit); a librdkafka consumer on this machine stamps the receive time.
#   bash bench/relay_latency.sh            (NOVA_BENCH_SECONDS=30, NOVA_BENCH_RATE=1000)
set -euo pipefail
source "$(dirname "$0")/../tools/lib.sh"
cd "$NOVA_REPO"
SECS="${NOVA_BENCH_SECONDS:-30}"; RATE="${NOVA_BENCH_RATE:-1000}"
nova_ensure_deps; nova_build; nova_install; make -s tools >/dev/null
source "$NOVA_REPO/tools/kafka.sh"
nova_test_cluster bench_latency "log_min_messages = warning"
nova_kafka_start --brokers 3 --topic nova.latency:6
nova_kafka_configure_relay
nova_relay_wait_ready 30 || nova_die "relay did not start"
# Warm-up: the producer connects and fetches metadata on its first messages.
nova_psql -c "SELECT nova.publish('nova.latency', g::text, 'Warmup', '{\"t\": 0}') FROM generate_series(1, 100) g" >/dev/null
nova_relay_wait_drained 30
cat >"$NOVA_CLUSTER/publish.sql" <<'SQL'
\set k random(1, 10000)
SELECT nova.publish('nova.latency', :k::text, 'LatencyProbe',
                    jsonb_build_object('t', (extract(epoch FROM clock_timestamp()) * 1000000)::bigint));
SQL
"$NOVA_REPO/build/kafka_consume" -b "$NOVA_KAFKA_BOOTSTRAP" -t nova.latency --idle 5 >"$NOVA_CLUSTER/received.tsv" 2>"$NOVA_CLUSTER/consumer.err" &
consumer=$!
NOVA_CLEANUP_CMDS+=("kill $consumer")
nova_wait_for 20 "consumer ready" grep -q ready "$NOVA_CLUSTER/consumer.err"
sleep 1
nova_log "pgbench -R $RATE for $SECS s"
pgbench -n -c 4 -j 2 -R "$RATE" -T "$SECS" -f "$NOVA_CLUSTER/publish.sql" >"$NOVA_CLUSTER/pgbench.out" 2>&1
nova_relay_wait_drained 60 || true
wait "$consumer" || true
echo "pgbench: $(grep -oP 'tps = \K[0-9.]+' "$NOVA_CLUSTER/pgbench.out" | head -1) tx/s, latency $(grep -oP 'latency average = \K.*' "$NOVA_CLUSTER/pgbench.out")"
/usr/bin/python3 - "$NOVA_CLUSTER/received.tsv" <<'PY'
import json, sys
lat = []
for line in open(sys.argv[1]):
    recv, payload = line.rstrip("\n").split("\t", 1)
    lat.append((int(recv) - json.loads(payload)["t"]) / 1000.0)
lat.sort()
if not lat:
    sys.exit("no messages received")
p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
print("received %d events; commit -> consumer latency ms: p50 %.2f  p90 %.2f  p99 %.2f  max %.2f"
      % (len(lat), p(0.50), p(0.90), p(0.99), lat[-1]))
PY
echo "status: $(nova_psql -c 'SELECT nova.status()')"
echo "machine load (1/5/15 min): $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
