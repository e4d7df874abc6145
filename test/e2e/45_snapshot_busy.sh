#!/usr/bin/env bash
# A snapshot progresses while the relay never catches up (docs/outbox.md,
# "Snapshots"): with nova.relay_batch_size = 1 and a backlog of 20,000 events every
# claim is full, so the relay is never "caught up"; the snapshot (requested before
# the relay is given its brokers) must still publish batches (one per
# nova.relay_idle_timeout) while the backlog is being delivered, not only after it
# is gone. Everything is consumed from Kafka at the end.
set -euo pipefail
source "$(dirname "$0")/../../tools/lib.sh"
source "$NOVA_REPO/tools/kafka.sh"
BACKLOG=20000
nova_test_cluster snapshot_busy
nova_kafka_start --brokers 1 --topic nova.busy:2
nova_psql >/dev/null <<'SQL'
ALTER SYSTEM SET nova.relay_batch_size = 1;
ALTER SYSTEM SET nova.relay_idle_timeout = 100;
CREATE TABLE public.busy_rows (id int PRIMARY KEY, v text NOT NULL);
INSERT INTO public.busy_rows SELECT g, 'row ' || g FROM generate_series(1, 300) g;
SELECT nova.enable_outbox('public.busy_rows', topic => 'nova.busy');
SQL
nova_psql -c "SELECT count(nova.publish('nova.busy', 'b' || g, 'Backlog', jsonb_build_object('n', g)))
                FROM generate_series(1, $BACKLOG) g" >/dev/null
id="$(nova_psql -c "SELECT nova.snapshot('public.busy_rows', batch_size => 50)")"
nova_kafka_configure_relay

# Wait for the snapshot to finish; note how much of the backlog was still pending
# each time its rows_done grew.
rc=0
seen=0; pending_when_progress=(); t0=$(date +%s.%N)
for _ in $(seq 1 600); do
  read -r done state pending < <(nova_psql -F ' ' -c "SELECT s.rows_done, s.state,
      (SELECT count(*) FROM nova.outbox WHERE event_type = 'Backlog') FROM nova.snapshots s WHERE s.id = $id")
  if [ "$done" -gt "$seen" ]; then
    pending_when_progress+=("$done:$pending")
    echo "  $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }') s: rows_done $done, backlog $pending"
    seen="$done"
  fi
  [ "$state" = done ] && break
  sleep 0.1
done
echo "snapshot $id: $state; rows_done:backlog events still pending = ${pending_when_progress[*]}"
[ "$state" = done ] || { echo "FAIL: snapshot did not finish: $(nova_psql -c "SELECT * FROM nova.snapshots WHERE id = $id")"; rc=1; }
# At least three batches made progress while Backlog events were still waiting.
busy_steps=0
for p in "${pending_when_progress[@]}"; do [ "${p#*:}" -gt 0 ] && busy_steps=$((busy_steps + 1)); done
[ "$busy_steps" -ge 3 ] || { echo "FAIL: the snapshot progressed only after the backlog (steps while busy: $busy_steps)"; rc=1; }

nova_relay_wait_drained 300 || nova_die "not drained: $(nova_psql -c 'SELECT nova.status()')"
nova_kafka_consume nova.busy 60 >"$NOVA_CLUSTER/busy.jsonl"
got="$(/usr/bin/python3 - "$NOVA_CLUSTER/busy.jsonl" <<'PY'
import json, sys
backlog, snap = set(), set()
for m in map(json.loads, filter(str.strip, open(sys.argv[1]))):
    h = m.get("headers") or []
    h = dict(zip(h[0::2], h[1::2]))
    if h.get("event-type") == "Backlog": backlog.add(m["key"])
    elif h.get("snapshot") == "true": snap.add(m["key"])
print(len(backlog), len(snap))
PY
)"
echo "consumed: backlog events (distinct keys), snapshot rows: $got"
[ "$got" = "$BACKLOG 300" ] || { echo "FAIL: want $BACKLOG backlog keys and 300 snapshot rows"; rc=1; }
exit "$rc"
