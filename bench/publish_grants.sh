#!/usr/bin/env bash
# What a publish grant costs: single-statement transactions
#   SELECT nova.publish('bench.orders', <key>, 'OrderPlaced', <payload>)
# run by
#   owner    the extension owner (a superuser): needs no grant, no lookup
#   service  a login role in nova_service with a grant on 'bench.%' among 20
#            others: one lookup in nova.publish_grants (as the extension owner,
#            through run_as) per statement
# Same cluster, interleaved rounds; prints TPS, the server's CPU time per
# transaction (all cluster processes, from /proc; steadier than TPS on a shared
# machine) and the ratios service/owner. The relay stays idle.
#
#   bash bench/publish_grants.sh                   3 rounds x 15 s per variant, 2 clients
#   ROUNDS=5 SECONDS_PER_RUN=30 CLIENTS=2 bash bench/publish_grants.sh
set -euo pipefail
source "$(dirname "$0")/../tools/lib.sh"
cd "$NOVA_REPO"
ROUNDS="${ROUNDS:-3}"
SECONDS_PER_RUN="${SECONDS_PER_RUN:-15}"
CLIENTS="${CLIENTS:-2}"

nova_ensure_deps
nova_build
nova_install
nova_test_cluster bench_publish "synchronous_commit = off" "shared_buffers = 256MB" "max_wal_size = 4GB" \
  "checkpoint_timeout = 30min" "log_min_messages = warning"
nova_psql >/dev/null <<'SQL'
CREATE ROLE bench_svc LOGIN IN ROLE nova_service;
SELECT nova.grant_publish('bench_svc', 'other' || g || '.%') FROM generate_series(1, 10) g;
SELECT nova.grant_publish('bench_svc', 'bench.%');
SELECT nova.grant_publish('nova_service', 'shared' || g || '.%') FROM generate_series(1, 10) g;
SQL

WORK="$(nova_tmpdir bench-publish)"; NOVA_CLEANUP_DIRS+=("$WORK")
cat >"$WORK/publish.sql" <<'EOF2'
\set k random(1, 100000)
SELECT nova.publish('bench.orders', 'order-' || :k, 'OrderPlaced', '{"amount": 42, "currency": "EUR", "items": 3}');
EOF2
declare -A USER_OF=([owner]=postgres [service]=bench_svc)
VARIANTS=(owner service)

cluster_ticks() {
  local pm; pm=$(head -1 "$NOVA_CLUSTER/data/postmaster.pid")
  { sed 's/^.*) //' "/proc/$pm/stat" | awk '{ print $12 + $13 + $14 + $15 }'
    for c in $(pgrep -P "$pm"); do sed 's/^.*) //' "/proc/$c/stat" 2>/dev/null | awk '{ print $12 + $13 }'; done
  } | awk '{ s += $1 } END { print s }'
}
HZ=$(getconf CLK_TCK)

declare -A SUM CPU TXN
for v in "${VARIANTS[@]}"; do SUM[$v]=0; CPU[$v]=0; TXN[$v]=0; done
nova_log "publish grant benchmark: $ROUNDS rounds x ${SECONDS_PER_RUN}s per variant, $CLIENTS clients; load: $(uptime | sed 's/.*load average: //')"
for r in $(seq 1 "$ROUNDS"); do
  for v in "${VARIANTS[@]}"; do
    nova_psql -c "TRUNCATE nova.outbox" -c "CHECKPOINT" >/dev/null
    t0=$(cluster_ticks)
    out=$(pgbench -n -M prepared -U "${USER_OF[$v]}" -c "$CLIENTS" -j "$CLIENTS" -T "$SECONDS_PER_RUN" \
            -f "$WORK/publish.sql" 2>&1) || { echo "$out"; nova_die "pgbench failed for $v"; }
    sleep 0.5
    t1=$(cluster_ticks)
    tps=$(grep -oP 'tps = \K[0-9.]+(?= \(without)' <<<"$out") || { echo "$out"; nova_die "no tps for $v"; }
    n=$(grep -oP 'number of transactions actually processed: \K[0-9]+' <<<"$out") || { echo "$out"; nova_die "no count for $v"; }
    us=$(awk -v d=$((t1 - t0)) -v hz="$HZ" -v n="$n" 'BEGIN { printf "%.1f", d * 1e6 / hz / n }')
    printf 'round %d  %-8s %10.1f tps  %7.1f us server CPU/txn\n' "$r" "$v" "$tps" "$us"
    SUM[$v]=$(awk -v a="${SUM[$v]}" -v b="$tps" 'BEGIN { print a + b }')
    CPU[$v]=$((CPU[$v] + t1 - t0)); TXN[$v]=$((TXN[$v] + n))
  done
done
n_events=$(nova_psql -c "SELECT count(*) FROM nova.outbox WHERE actor = 'bench_svc'")
[ "$n_events" -gt 0 ] || nova_die "the service wrote no events"
owner=$(awk -v s="${SUM[owner]}" -v n="$ROUNDS" 'BEGIN { print s / n }')
owner_cpu=$(awk -v c="${CPU[owner]}" -v n="${TXN[owner]}" -v hz="$HZ" 'BEGIN { print c * 1e6 / hz / n }')
echo
printf '%-8s %10s %8s %12s %13s\n' variant "mean tps" "vs owner" "CPU us/txn" "CPU vs owner"
for v in "${VARIANTS[@]}"; do
  awk -v s="${SUM[$v]}" -v n="$ROUNDS" -v p="$owner" -v v="$v" -v c="${CPU[$v]}" -v t="${TXN[$v]}" -v hz="$HZ" \
      -v pc="$owner_cpu" 'BEGIN { m = s / n; u = c * 1e6 / hz / t;
        printf "%-8s %10.1f %8.3f %12.1f %13.3f\n", v, m, m / p, u, u / pc }'
done
echo "load after: $(uptime | sed 's/.*load average: //')"
