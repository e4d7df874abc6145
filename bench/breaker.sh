#!/usr/bin/env bash
# Per-call cost of a shared circuit breaker, measured against what a user would
# otherwise compare it with, in the same run:
#   floor  : SELECT md5('x')                        (a trivial SQL call round trip)
#   nova   : SELECT nova.breaker_allow(b), nova.breaker_record(b, true, '3 ms')
#   table  : the cheapest table-backed breaker: one UPDATE ... RETURNING per call
# Each with 1 client and with NOVA_BENCH_CLIENTS clients hammering ONE breaker.
#   bash bench/breaker.sh            (NOVA_BENCH_SECONDS=5 NOVA_BENCH_CLIENTS=2)
set -euo pipefail
source "$(dirname "$0")/../tools/lib.sh"
SECS="${NOVA_BENCH_SECONDS:-5}"
CLIENTS="${NOVA_BENCH_CLIENTS:-2}"
nova_test_cluster bench_breaker
W="$(nova_tmpdir bench_breaker_files)"
NOVA_CLEANUP_CMDS+=("rm -rf $W")

nova_psql -c "SELECT nova.breaker_configure('bench', '{\"sliding_window_size\": 100, \"minimum_number_of_calls\": 100}')"
nova_psql -c "CREATE UNLOGGED TABLE bench_breaker (name text PRIMARY KEY, calls bigint, failures bigint);
              INSERT INTO bench_breaker VALUES ('bench', 0, 0);"
echo "SELECT md5('x');" > "$W/floor.sql"
echo "SELECT nova.breaker_allow('bench'), nova.breaker_record('bench', true, '3 ms');" > "$W/nova.sql"
echo "UPDATE bench_breaker SET calls = calls + 1 WHERE name = 'bench' RETURNING calls, failures;" > "$W/table.sql"
chmod 644 "$W"/*.sql

tps() {  # tps FILE CLIENTS
  pgbench -n -M prepared -T "$SECS" -c "$2" -j "$2" -f "$1" 2>/dev/null |
    sed -nE 's/^tps = ([0-9.]+) .*without initial connection time.*/\1/p'
}
printf '%-8s %8s %12s %10s %14s\n' clients case "calls/s" "us/call" "vs floor"
for c in 1 "$CLIENTS"; do
  f=$(tps "$W/floor.sql" "$c"); n=$(tps "$W/nova.sql" "$c"); t=$(tps "$W/table.sql" "$c")
  for pair in "floor:$f" "nova:$n" "table:$t"; do
    name=${pair%%:*}; v=${pair#*:}
    awk -v c="$c" -v n="$name" -v v="$v" -v f="$f" 'BEGIN { printf "%-8s %8s %12.0f %10.1f %13.2fx\n", c, n, v, 1e6 * c / v, f / v }'
  done
  awk -v n="$n" -v t="$t" -v c="$c" 'BEGIN { printf "%-8s nova allow+record is %.2fx the throughput of the table-backed breaker\n", c, n / t }'
done
