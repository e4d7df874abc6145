#!/usr/bin/env bash
# Snapshot throughput: re-publishing an existing table of N rows (default 200,000)
# to the embedded Kafka (3 brokers), measured from the call until every row's event
# is acknowledged by Kafka (nova.outbox empty). Two ways, interleaved per round:
#   snapshot   SELECT nova.snapshot(tbl, batch_size): the relay reads the table in
#              keyset batches of short transactions and publishes while it goes
#   one_xact   the hand-written alternative without snapshot support: one statement
#              that publishes every row (SELECT nova.publish(…) FROM tbl) in ONE
#              transaction, then the relay drains what it wrote
# Prints rows/s of each and the ratio snapshot / one_xact.
#   bash bench/snapshot.sh      (NOVA_BENCH_ROWS=200000 NOVA_BENCH_ROUNDS=2 NOVA_BENCH_BATCH=10000)
set -euo pipefail
source "$(dirname "$0")/../tools/lib.sh"
cd "$NOVA_REPO"
N="${NOVA_BENCH_ROWS:-200000}"
ROUNDS="${NOVA_BENCH_ROUNDS:-2}"
BATCH="${NOVA_BENCH_BATCH:-10000}"
nova_ensure_deps; nova_build; nova_install; make -s tools >/dev/null
source "$NOVA_REPO/tools/kafka.sh"
nova_test_cluster bench_snapshot "log_min_messages = warning" "shared_buffers = 256MB" "synchronous_commit = off"
nova_kafka_start --brokers 3 --topic nova.bench_rows:6
nova_psql >/dev/null <<SQL
CREATE TABLE public.bench_rows (id bigint PRIMARY KEY, author text NOT NULL, body text, at timestamptz NOT NULL);
INSERT INTO public.bench_rows SELECT g, (g % 1000)::text, repeat(md5(g::text), 4), now() FROM generate_series(1, $N) g;
SELECT nova.enable_outbox('public.bench_rows');
VACUUM ANALYZE public.bench_rows;
SQL
nova_kafka_configure_relay
nova_relay_wait_ready 30 || nova_die "relay did not start: $(nova_psql -c 'SELECT nova.status()')"

now() { date +%s.%N; }
run_snapshot() {
  local t0 id
  t0=$(now)
  id="$(nova_psql -c "SELECT nova.snapshot('public.bench_rows', batch_size => $BATCH)")"
  nova_wait_for 600 "snapshot $id" bash -c \
    "[ \"\$(psql -X -At -c \"SELECT state FROM nova.snapshots WHERE id = $id\")\" = done ]" \
    || nova_die "snapshot $id: $(nova_psql -c "SELECT * FROM nova.snapshots WHERE id = $id")"
  nova_relay_wait_drained 600
  [ "$(nova_psql -c "SELECT rows_done FROM nova.snapshots WHERE id = $id")" = "$N" ] || nova_die "snapshot $id: not every row"
  awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'
}
run_one_xact() {
  local t0
  t0=$(now)
  nova_psql -c "SELECT count(nova.publish('nova.bench_rows', r.id::text, 'BenchRowSnapshot', pg_catalog.to_jsonb(r)))
                  FROM public.bench_rows r" >/dev/null
  nova_relay_wait_drained 600
  awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'
}

: >"$NOVA_CLUSTER/times"
for r in $(seq 1 "$ROUNDS"); do
  if [ $((r % 2)) -eq 1 ]; then order="snapshot one_xact"; else order="one_xact snapshot"; fi
  for v in $order; do
    nova_psql -c "CHECKPOINT" >/dev/null
    s="$("run_$v")"
    echo "$v $s" >>"$NOVA_CLUSTER/times"
    awk -v v="$v" -v r="$r" -v s="$s" -v n="$N" 'BEGIN { printf "round %d %-8s %d rows in %.2f s: %.0f rows/s\n", r, v, n, s, n / s }'
  done
done
awk -v n="$N" '{ t[$1] += $2; k[$1]++ }
  END { a = n / (t["snapshot"] / k["snapshot"]); b = n / (t["one_xact"] / k["one_xact"]);
        printf "mean: snapshot %.0f rows/s, one transaction %.0f rows/s; snapshot / one transaction = %.2f\n", a, b, a / b }' \
  "$NOVA_CLUSTER/times"
echo "machine load (1/5/15 min): $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
