#!/usr/bin/env bash
# Relay drain rate: a backlog of N events (default 300,000) is written while the relay
# is unconfigured, then nova.kafka_brokers is set and the time until nova.outbox is
# empty is measured (embedded Kafka, 3 brokers). Prints events/s.
#   bash bench/relay_drain.sh            (NOVA_BENCH_EVENTS=300000)
#   NOVA_BENCH_PERF=/tmp/relay.data      also `perf record -g` the relay worker during the drain
#   NOVA_BENCH_BATCH=N                   nova.relay_batch_size (default: the setting's default)
#   NOVA_BENCH_KAFKA_CONFIG='k=v;…'      nova.kafka_config
set -euo pipefail
source "$(dirname "$0")/../tools/lib.sh"
cd "$NOVA_REPO"
N="${NOVA_BENCH_EVENTS:-300000}"
nova_ensure_deps; nova_build; nova_install; make -s tools >/dev/null
source "$NOVA_REPO/tools/kafka.sh"
nova_test_cluster bench_drain "log_min_messages = warning" "shared_buffers = 256MB" "synchronous_commit = off"
nova_kafka_start --brokers 3 --topic nova.bench_posts:6
nova_psql >/dev/null <<SQL
CREATE TABLE public.bench_posts (id bigserial PRIMARY KEY, author text NOT NULL, body text);
SELECT nova.enable_outbox('public.bench_posts');
INSERT INTO public.bench_posts (author, body) SELECT (g % 1000)::text, repeat(md5(g::text), 6)
  FROM generate_series(1, $N) g;
SQL
[ "$(nova_psql -c 'SELECT count(*) FROM nova.outbox')" = "$N" ] || nova_die "backlog not written"
[ -n "${NOVA_BENCH_BATCH:-}" ] && nova_psql -c "ALTER SYSTEM SET nova.relay_batch_size = ${NOVA_BENCH_BATCH}" >/dev/null
[ -n "${NOVA_BENCH_KAFKA_CONFIG:-}" ] && nova_psql -c "ALTER SYSTEM SET nova.kafka_config = '${NOVA_BENCH_KAFKA_CONFIG}'" >/dev/null
nova_psql -c "CHECKPOINT" -c "VACUUM ANALYZE nova.outbox" >/dev/null
# The anchor: librdkafka alone, same number of messages of the same (compact JSON) size,
# same keys and producer settings, flushing per batch as the relay does, same Kafka.
vsize="$(nova_psql -c "SELECT round(avg(length(replace(replace(payload::text, '\": ', '\":'), ', \"', ',\"'))))::int FROM nova.outbox")"
bsize="$(nova_psql -c "SHOW nova.relay_batch_size")"; [ -n "${NOVA_BENCH_BATCH:-}" ] && bsize="$NOVA_BENCH_BATCH"
anchor() {
  "$NOVA_REPO/build/kafka_produce" -b "$NOVA_KAFKA_BOOTSTRAP" -t nova.bench_posts -n "$N" --size "$vsize" --keys 1000 \
    --batch "$bsize" -X linger.ms=10 -X batch.num.messages=10000 | tee -a "$NOVA_CLUSTER/anchor.out"
}
anchor
relay_pid() { nova_psql -c "SELECT pid FROM pg_catalog.pg_stat_activity WHERE backend_type = 'nova relay'"; }
relay_up() { [ -n "$(relay_pid)" ]; }
nova_wait_for 30 "relay worker" relay_up || true
pid="$(relay_pid)"; [ -n "$pid" ] || nova_die "no relay worker"
perf_pid=""
if [ -n "${NOVA_BENCH_PERF:-}" ]; then
  perf record -g -o "$NOVA_BENCH_PERF" -p "$pid" >"$NOVA_BENCH_PERF.log" 2>&1 &
  perf_pid=$!
  sleep 1
fi
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
cpu0="$(ticks "$pid")"; kcpu0="$(ticks "$NOVA_KAFKA_PID")"; all0="$(awk '/^cpu / {print $2 + $3 + $4 + $7 + $8}' /proc/stat)"
t0=$(date +%s.%N)
nova_kafka_configure_relay
# The rate counts from the first delivered batch (connecting to Kafka excluded).
delivered() { nova_psql -c "SELECT (nova.status()->>'delivered')::bigint"; }
d_first=0
for _ in $(seq 1 600); do d_first="$(delivered)"; [ "$d_first" -gt 0 ] && break; sleep 0.02; done
t_first=$(date +%s.%N)
nova_relay_wait_drained 600
t1=$(date +%s.%N)
cpu1="$(ticks "$pid")"; kcpu1="$(ticks "$NOVA_KAFKA_PID")"; all1="$(awk '/^cpu / {print $2 + $3 + $4 + $7 + $8}' /proc/stat)"
[ -n "$perf_pid" ] && { kill -INT "$perf_pid"; wait "$perf_pid" || true; }
awk -v n="$N" -v a="$t0" -v b="$t1" -v c="$((cpu1 - cpu0))" -v hz="$(getconf CLK_TCK)" 'BEGIN {
  printf "drained %d events in %.1f s: %.0f events/s; relay CPU %.2f s = %.1f us/event\n", n, b - a, n / (b - a), c / hz, c / hz * 1e6 / n }'
awk -v n="$((N - d_first))" -v a="$t_first" -v b="$t1" 'BEGIN { printf "from the first delivery: %d events in %.2f s: %.0f events/s\n", n, b - a, n / (b - a) }'
echo "CPU during the drain: relay $(( cpu1 - cpu0 )), kafka_mock $(( kcpu1 - kcpu0 )), whole machine $(( all1 - all0 )) ticks (of $(getconf CLK_TCK)/s per core)"
anchor
awk -v n="$((N - d_first))" -v a="$t_first" -v b="$t1" '/messages\/s/ { for (i = 1; i <= NF; i++) if ($i == "messages/s;") { s += $(i - 1); k++ } }
  END { r = n / (b - a); printf "relay / librdkafka alone (mean of the two anchor runs, %.0f messages/s): %.2f\n", s / k, r / (s / k) }' "$NOVA_CLUSTER/anchor.out"
# Time the relay spent in deliver() (produce + waiting for the acknowledgements) vs the drain.
nova_psql -F ' ' -c "SELECT (SELECT value FROM nova.metrics WHERE name = 'nova_relay_batches_total'),
  (SELECT value FROM nova.metrics WHERE name = 'nova_relay_produce_latency_seconds_sum')" |
  awk -v a="$t0" -v b="$t1" '{ printf "batches: %d; time in produce + acknowledgement wait: %.2f s (%.0f%% of the drain), %.2f ms per batch\n", $1, $2, 100 * $2 / (b - a), 1000 * $2 / ($1 > 0 ? $1 : 1) }'
echo "machine load (1/5/15 min): $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
