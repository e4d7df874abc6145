#!/usr/bin/env bash
# Relay throughput: pgbench inserts at full speed into an outbox-enabled table while
# the relay sends to the embedded Kafka. Samples backlog and outbox size over time
# (bounded backlog and size are the point), and compares the insert rate with the same
# inserts into a table without the outbox trigger. The age of the oldest pending event
# is sampled every second; issue 12's target: below 2 s throughout (the max is printed).
#   bash bench/relay_throughput.sh          (NOVA_BENCH_SECONDS=60, NOVA_BENCH_CLIENTS=2)
#   NOVA_BENCH_PERF=/tmp/relay.data         also `perf record -g` the relay worker during the load
set -euo pipefail
source "$(dirname "$0")/../tools/lib.sh"
cd "$NOVA_REPO"
SECS="${NOVA_BENCH_SECONDS:-60}"; CLIENTS="${NOVA_BENCH_CLIENTS:-2}"
nova_ensure_deps; nova_build; nova_install; make -s tools >/dev/null
source "$NOVA_REPO/tools/kafka.sh"
nova_test_cluster bench_relay "log_min_messages = warning" "shared_buffers = 256MB"
nova_kafka_start --brokers 3 --topic nova.bench_posts:6
nova_psql >/dev/null <<'SQL'
CREATE TABLE public.bench_posts (id bigserial PRIMARY KEY, author text NOT NULL, body text, created_at timestamptz DEFAULT now());
CREATE TABLE public.bench_plain (LIKE public.bench_posts INCLUDING ALL);
SELECT nova.enable_outbox('public.bench_posts');
SQL
nova_kafka_configure_relay
nova_relay_wait_ready 30 || nova_die "relay did not start"
for t in bench_posts bench_plain; do
  printf '\\set a random(1, 100000)\nINSERT INTO public.%s (author, body) VALUES (:a::text, repeat(md5(:a::text), 6));\n' "$t" >"$NOVA_CLUSTER/$t.sql"
done

nova_log "baseline: inserts without the outbox (15 s)"
base_tps="$(pgbench -n -c "$CLIENTS" -j 2 -T 15 -f "$NOVA_CLUSTER/bench_plain.sql" 2>/dev/null | grep -oP 'tps = \K[0-9.]+' | head -1)"

nova_log "inserts with the outbox trigger + relay ($SECS s)"
d0="$(nova_psql -c "SELECT nova.status()->>'delivered'")"
pgbench -n -c "$CLIENTS" -j 2 -T "$SECS" -f "$NOVA_CLUSTER/bench_posts.sql" >"$NOVA_CLUSTER/pgbench.out" 2>&1 &
load=$!
start=$(date +%s)
perf_pid=""
if [ -n "${NOVA_BENCH_PERF:-}" ]; then
  perf record -g -o "$NOVA_BENCH_PERF" -p "$(nova_relay_pid)" >"$NOVA_BENCH_PERF.log" 2>&1 &
  perf_pid=$!
fi
# Oldest pending event, every second while the load runs (one line per sample).
( while kill -0 "$load" 2>/dev/null; do
    nova_psql -c "SELECT coalesce(round(extract(epoch FROM pg_catalog.clock_timestamp() - min(o.created_at))::numeric, 3), 0)
                  FROM nova.outbox o" 2>/dev/null || true
    sleep 1
  done ) >"$NOVA_CLUSTER/oldest.txt" &
ages=$!
printf '%6s %10s %12s %12s %14s %6s\n' elapsed inserted delivered backlog outbox_bytes slot
max_backlog=0; max_bytes=0
sample() {
  nova_psql -F ' ' -c "SELECT (SELECT count(*) FROM public.bench_posts), (nova.status()->>'delivered')::bigint - $d0,
     (SELECT count(*) FROM nova.outbox), pg_total_relation_size('nova.outbox_0') + pg_total_relation_size('nova.outbox_1'),
     nova.status()->>'active_slot'"
}
while kill -0 "$load" 2>/dev/null; do
  sleep 5
  read -r ins del backlog bytes slot < <(sample)
  printf '%6s %10s %12s %12s %14s %6s\n' "$(( $(date +%s) - start ))s" "$ins" "$del" "$backlog" "$bytes" "$slot"
  [ "$backlog" -gt "$max_backlog" ] && max_backlog=$backlog
  [ "$bytes" -gt "$max_bytes" ] && max_bytes=$bytes
done
wait "$load"
wait "$ages" || true
[ -n "$perf_pid" ] && { kill -INT "$perf_pid"; wait "$perf_pid" || true; }
load_secs=$(( $(date +%s) - start ))
t_drain=$(date +%s)
nova_relay_wait_drained 300 || nova_log "not drained after 300 s"
drain_secs=$(( $(date +%s) - t_drain ))
read -r ins del backlog bytes slot < <(sample)
tps="$(grep -oP 'tps = \K[0-9.]+' "$NOVA_CLUSTER/pgbench.out" | head -1)"
echo
echo "insert rate without outbox: ${base_tps} rows/s"
echo "insert rate with outbox:    ${tps} rows/s  (ratio $(echo "scale=2; $tps / $base_tps" | bc))"
echo "relay delivery rate:        $(( del / (load_secs + drain_secs) )) events/s over ${load_secs}s load + ${drain_secs}s drain ($del events)"
echo "max backlog:                $max_backlog events; max outbox size: $(( max_bytes / 1024 )) kB; after drain: $(( bytes / 1024 )) kB"
sort -g "$NOVA_CLUSTER/oldest.txt" | awk '{ a[NR] = $1 } END {
  printf "oldest pending event (sampled every 1 s, %d samples): median %.3f s, max %.3f s (target < 2 s: %s)\n",
    NR, a[int((NR + 1) / 2)], a[NR], (a[NR] < 2 ? "met" : "NOT met") }'
echo "status: $(nova_psql -c 'SELECT nova.status()')"
echo "machine load (1/5/15 min): $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
