#!/usr/bin/env bash
# What reading and feeding nova.metrics costs, against what a user would do
# without it, measured interleaved in the same run on the same cluster.
#
# Read (the scrape), with a backlog of B undelivered events (relay unconfigured):
#   nova.metrics         SELECT count(*) FROM nova.metrics: every series, outbox gauges
#                        by primary key (no scan)
#   nova.relay           SELECT pending, oldest_pending_seconds FROM nova.relay: exact
#                        backlog by scanning the outbox (what an exporter query used before)
# Write (every outbox write bumps a per-topic counter in shared memory):
#   publish              nova.publish(...)              — includes nova's counter
#   publish + counter    nova.publish(...) plus INSERT … ON CONFLICT DO UPDATE on a
#                        per-topic count table — the counter a user would keep in SQL
#
#   bash bench/metrics.sh                    B=100000 N=20000 READS=200 ROUNDS=5
set -euo pipefail
source "$(dirname "$0")/../tools/lib.sh"
cd "$NOVA_REPO"
B="${B:-100000}"
N="${N:-20000}"
READS="${READS:-200}"
ROUNDS="${ROUNDS:-5}"

nova_ensure_deps
nova_build
nova_install
nova_test_cluster bench_metrics "log_min_messages = warning"

nova_psql >/dev/null <<SQL
SELECT count(nova.publish('bench.backlog', 'k' || (g % 1000), 'Queued', jsonb_build_object('n', g)))
  FROM generate_series(1, $B) g;
VACUUM ANALYZE nova.outbox;
CREATE TABLE topic_counts (topic text PRIMARY KEY, n bigint NOT NULL);
CREATE FUNCTION bump(t text) RETURNS int LANGUAGE sql VOLATILE AS \$\$
  INSERT INTO topic_counts VALUES (t, 1) ON CONFLICT (topic) DO UPDATE SET n = topic_counts.n + 1 RETURNING 1
\$\$;
-- ms for one execution of q repeated reps times.
CREATE FUNCTION bench_ms(q text, reps int) RETURNS float8 LANGUAGE plpgsql AS \$\$
DECLARE t0 timestamptz; i int;
BEGIN
  t0 := clock_timestamp();
  FOR i IN 1..reps LOOP EXECUTE q; END LOOP;
  RETURN extract(epoch FROM clock_timestamp() - t0) * 1000;
END \$\$;
SQL

best() { sort -g | head -1; }
run() { nova_psql -c "SELECT bench_ms(\$q\$$1\$q\$, $2)"; }
m_read=(); r_read=(); p_write=(); c_write=()
for r in $(seq 1 "$ROUNDS"); do
  m_read+=("$(run "SELECT count(*) FROM nova.metrics" "$READS")")
  r_read+=("$(run "SELECT pending, oldest_pending_seconds FROM nova.relay" "$READS")")
  p_write+=("$(run "SELECT count(nova.publish('bench.w', 'k' || g, 'W', '{}')) FROM generate_series(1, $N) g" 1)")
  c_write+=("$(run "SELECT count(nova.publish('bench.w', 'k' || g, 'W', '{}')) + count(bump('bench.w'))
                     FROM generate_series(1, $N) g" 1)")
  nova_psql -c "TRUNCATE topic_counts" >/dev/null
done
mr=$(printf '%s\n' "${m_read[@]}" | best); rr=$(printf '%s\n' "${r_read[@]}" | best)
pw=$(printf '%s\n' "${p_write[@]}" | best); cw=$(printf '%s\n' "${c_write[@]}" | best)
per() { awk -v ms="$1" -v n="$2" 'BEGIN { printf "%.1f", ms * 1000 / n }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
series=$(nova_psql -c "SELECT count(*) FROM nova.metrics")
echo
echo "nova metrics benchmark: backlog $B events, $series series, best of $ROUNDS; $(nproc) cores; $(date -u '+%Y-%m-%d %H:%M UTC')"
printf "%-52s %12s\n" "read (one scrape)" "µs/read"
printf "%-52s %12s\n" "SELECT count(*) FROM nova.metrics" "$(per "$mr" "$READS")"
printf "%-52s %12s\n" "SELECT pending, oldest_pending_seconds FROM nova.relay" "$(per "$rr" "$READS")"
echo "nova.relay / nova.metrics: $(ratio "$rr" "$mr")×"
printf "%-52s %12s\n" "write (per event)" "µs/event"
printf "%-52s %12s\n" "nova.publish (nova's per-topic counter included)" "$(per "$pw" "$N")"
printf "%-52s %12s\n" "nova.publish + per-topic count table upsert" "$(per "$cw" "$N")"
echo "with SQL counter / nova.publish alone: $(ratio "$cw" "$pw")×"
