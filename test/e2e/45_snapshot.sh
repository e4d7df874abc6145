#!/usr/bin/env bash
# Snapshot of existing rows (docs/outbox.md, "Snapshots"): 50,000 rows that
# existed before enable_outbox are published as <Entity>Snapshot events while
# concurrent writers update random rows, and the server is stopped (immediate
# mode, like a crash) and started again in the middle. Consumed from Kafka: every row is there, snapshot events carry the
# header snapshot=true, and the last message of every key is the row's latest
# state. Prints the snapshot's rows/s.
set -euo pipefail
source "$(dirname "$0")/../../tools/lib.sh"
source "$NOVA_REPO/tools/kafka.sh"
ROWS="${NOVA_SNAPSHOT_ROWS:-50000}"
nova_test_cluster snapshot
# 16 partitions: with 3, the embedded mock lost the oldest messages of this volume
# (it appears to keep a bounded log per partition)
nova_kafka_start --brokers 1 --topic nova.snap_items:16
nova_psql >/dev/null <<SQL
CREATE TABLE public.snap_items (id int PRIMARY KEY, v int NOT NULL, at timestamptz NOT NULL, note text);
INSERT INTO public.snap_items SELECT g, 0, '2026-01-01 00:00+00', 'row ' || g FROM generate_series(1, $ROWS) g;
ANALYZE public.snap_items;
SELECT nova.enable_outbox('public.snap_items');
SQL
nova_kafka_configure_relay
nova_relay_wait_ready 30 || nova_die "relay did not start"

# Writers: each update adds 1 to v of a random row, from sessions in Tokyo time.
cat >"$NOVA_CLUSTER/update.sql" <<SQL
\set k random(1, $ROWS)
UPDATE public.snap_items SET v = v + 1, at = clock_timestamp() WHERE id = :k;
SQL
start_load() {
  PGOPTIONS='-c TimeZone=Asia/Tokyo' pgbench -n -c 2 -T 600 -R 100 -f "$NOVA_CLUSTER/update.sql" \
    >>"$NOVA_CLUSTER/pgbench.log" 2>&1 &
  load=$!
  NOVA_CLEANUP_CMDS+=("kill $load")
}
start_load

id="$(nova_psql -c "SELECT nova.snapshot('public.snap_items', batch_size => 2000)")"
echo "snapshot $id started: $(nova_psql -c "SELECT row_to_json(s) FROM nova.snapshots s WHERE id = $id")"
nova_psql -c "SELECT nova.status()->'snapshots'"

# Crash and restart the server in the middle: the snapshot resumes after its last committed batch.
snap_midway() { [ "$(nova_psql -c "SELECT rows_done > 0 AND state = 'running' FROM nova.snapshots WHERE id = $id")" = t ]; }
nova_wait_for 120 "snapshot under way" snap_midway || nova_die "snapshot did not start"
echo "stopping the server (immediate) at $(nova_psql -c "SELECT rows_done FROM nova.snapshots WHERE id = $id") rows"
nova_cluster_stop "$NOVA_CLUSTER" immediate
wait "$load" 2>/dev/null || true
nova_cluster_start "$NOVA_CLUSTER" || nova_die "cluster did not restart"
echo "restarted; resuming at $(nova_psql -c "SELECT rows_done FROM nova.snapshots WHERE id = $id") rows"
start_load
snap_done() { [ "$(nova_psql -c "SELECT state FROM nova.snapshots WHERE id = $id")" = done ]; }
nova_wait_for 300 "snapshot done" snap_done || nova_die "snapshot not done: $(nova_psql -c "SELECT row_to_json(s) FROM nova.snapshots s WHERE id = $id")"
kill "$load" 2>/dev/null || true
wait "$load" 2>/dev/null || true
# pgbench is gone, but an UPDATE it had sent runs on to its commit (its backend only
# notices the closed connection afterwards): wait for those too, or their events could
# come after the drain and the consumption below while their rows are read as latest.
nova_wait_for 60 "the writers' last updates" bash -c \
  "[ \"\$(psql -X -At -c \"SELECT count(*) FROM pg_stat_activity WHERE application_name OPERATOR(pg_catalog.=) 'pgbench'\")\" = 0 ]" \
  || nova_die "pgbench sessions still running"
nova_relay_wait_drained 120 || nova_die "outbox not drained: $(nova_psql -c 'SELECT nova.status()')"

nova_psql -c "SELECT format('snapshot %s: %s rows (estimated %s) in %s s = %s rows/s', id, rows_done, rows_estimated,
                round(extract(epoch FROM finished_at - started_at)::numeric, 2),
                round(rows_done / greatest(extract(epoch FROM finished_at - started_at), 0.001)::numeric))
              FROM nova.snapshots WHERE id = $id"
echo "updates during the snapshot: $(nova_psql -c "SELECT sum(v) FROM public.snap_items")"

nova_kafka_consume nova.snap_items 120 >"$NOVA_CLUSTER/messages.jsonl"
nova_psql -c "SET TimeZone = 'UTC'" -c "SELECT json_build_object('key', id::text, 'payload', to_jsonb(i)) FROM public.snap_items i" \
  >"$NOVA_CLUSTER/final.jsonl"
/usr/bin/python3 - "$NOVA_CLUSTER/messages.jsonl" "$NOVA_CLUSTER/final.jsonl" "$ROWS" <<'PY'
import json, sys
msgs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
final = {f["key"]: f["payload"] for f in map(json.loads, open(sys.argv[2])) if f}
rows = int(sys.argv[3])
last, snap_keys, bad = {}, set(), []
for m in msgs:
    h = m.get("headers") or []
    hd = dict(zip(h[0::2], h[1::2]))
    p = json.loads(m["payload"]) if m["payload"] is not None else None
    if hd.get("event-type") == "SnapItemSnapshot":
        snap_keys.add(m["key"])
        if hd.get("snapshot") != "true":
            bad.append("snapshot message without header snapshot=true: %s" % m["key"])
    last[m["key"]] = p  # kcat prints each partition in offset order; a key lives in one partition
print("messages %d, keys with a snapshot event %d, rows %d" % (len(msgs), len(snap_keys), len(final)))
if len(final) != rows:
    bad.append("expected %d rows in the table, found %d" % (rows, len(final)))
missing = [k for k in final if k not in snap_keys]
if missing:
    bad.append("%d rows have no snapshot event, e.g. %s" % (len(missing), missing[:5]))
wrong = [k for k, f in final.items() if last.get(k) != f]
for k in wrong[:10]:
    bad.append("key %s: last message %s, latest row %s" % (k, json.dumps(last.get(k)), json.dumps(final[k])))
if wrong:
    bad.append("%d keys end with a stale state" % len(wrong))
for b in bad[:20]:
    print("  problem:", b)
sys.exit(1 if bad else 0)
PY
