#!/usr/bin/env bash
# Per-call cost of nova.authenticate (shared JWT cache) and nova.cache_get, against
# the alternatives a user would pick, measured in the same run on the same cluster.
#
# In SQL (server-side per-call cost, no client round trips):
#   SELECT count(f(x)) FROM generate_series(1, N)   timed in PL/pgSQL, best of ROUNDS
#   floor             md5(g::text)                    — a cheap built-in function call
#   authenticate hit  nova.authenticate(token)        — the same token, served from the cache
#   authenticate hit* nova.authenticate(t) over N distinct cached tokens (a table scan)
#   authenticate miss nova.authenticate(t) over N distinct tokens after a cache flush
#                     (key row lookup as owner + revocation lookup + verify)
#   jwt_verify        nova.jwt_verify(token, secret)  — stateless verification, no cache
#   cache_get         nova.cache_get(key)             — a hit on a small value
#   cache_get miss    nova.cache_get(missing key)
#   cache_set         nova.cache_set(key, value)
# Round trips (one client, one request per round trip, both over Unix sockets):
#   pgbench -M prepared -c 1: SELECT nova.cache_get('k')  vs  redis-benchmark -c 1 -P 1 GET
#   (Debian's redis-server on a private socket, no persistence). Redis is an in-memory
#   server built for this; the comparison says what a service pays per cache read
#   either way, not which server is faster.
#
#   bash bench/auth_cache.sh                 N=100000, ROUNDS=5, 10 s per round-trip run
#   N=200000 ROUNDS=7 RT_SECONDS=20 bash bench/auth_cache.sh
set -euo pipefail
source "$(dirname "$0")/../tools/lib.sh"
cd "$NOVA_REPO"
N="${N:-100000}"
ROUNDS="${ROUNDS:-5}"
RT_SECONDS="${RT_SECONDS:-10}"

command -v redis-server >/dev/null || nova_ensure_deps redis-server
nova_ensure_deps
nova_build
nova_install
nova_test_cluster bench_auth "log_min_messages = warning"

secret="bench-secret-0123456789abcdef-0123456789abcdef"
nova_psql >/dev/null <<SQL
INSERT INTO nova.jwt_keys (kid, algorithm, key, issuer, audience)
VALUES ('bench', 'HS256', '$secret', 'https://auth.example', 'api');
CREATE TABLE bench_tok AS
  SELECT g, nova.jwt_sign(jsonb_build_object('sub', 'user' || g, 'iss', 'https://auth.example', 'aud', 'api',
           'jti', 'j' || g, 'iat', extract(epoch FROM now())::bigint,
           'exp', extract(epoch FROM now())::bigint + 86400, 'scope', 'read write', 'roles', '["member"]'::jsonb),
         '$secret', 'HS256', '{"kid": "bench"}') AS t
    FROM generate_series(1, LEAST($N, 50000)) g;
SELECT nova.cache_set('bench_k', 'a small cached value, like a session or a feature flag');
CREATE FUNCTION bench_ms(q text, rounds int) RETURNS float8 LANGUAGE plpgsql AS \$\$
DECLARE best float8 := 'infinity'; t0 timestamptz; i int;
BEGIN
  FOR i IN 1..rounds LOOP
    t0 := clock_timestamp();
    EXECUTE q;
    best := least(best, extract(epoch FROM clock_timestamp() - t0) * 1000);
  END LOOP;
  RETURN best;
END \$\$;
SQL
tok="$(nova_psql -c "SELECT t FROM bench_tok WHERE g = 1")"
ntok="$(nova_psql -c "SELECT count(*) FROM bench_tok")"

per_call_us() {  # per_call_us SQL CALLS [ROUNDS] → microseconds per call
  local ms; ms="$(nova_psql -c "SELECT bench_ms(\$q\$$1\$q\$, ${3:-$ROUNDS})")"
  awk -v ms="$ms" -v n="$2" 'BEGIN { printf "%.3f", ms * 1000 / n }'
}
# Uncached authenticate: every round starts from a flushed cache (a key-table change bumps the generation).
miss_us() {
  local best=""
  for _ in $(seq 1 "$ROUNDS"); do
    nova_psql -c "UPDATE nova.jwt_keys SET issuer = issuer WHERE kid = 'bench'" >/dev/null
    local v; v="$(per_call_us "SELECT count(nova.authenticate(t)) FROM bench_tok" "$ntok" 1)"
    best="$(awk -v a="$best" -v b="$v" 'BEGIN { print (a == "" || b < a) ? b : a }')"
  done
  echo "$best"
}

floor=$(per_call_us "SELECT count(md5(g::text)) FROM generate_series(1, $N) g" "$N")
auth_hit=$(per_call_us "SELECT count(nova.authenticate('$tok')) FROM generate_series(1, $N)" "$N")
auth_miss=$(miss_us)
auth_hit_many=$(per_call_us "SELECT count(nova.authenticate(t)) FROM bench_tok" "$ntok")
scan_floor=$(per_call_us "SELECT count(md5(t)) FROM bench_tok" "$ntok")
verify=$(per_call_us "SELECT count(nova.jwt_verify('$tok', '$secret')) FROM generate_series(1, $N)" "$N")
get_hit=$(per_call_us "SELECT count(nova.cache_get('bench_k')) FROM generate_series(1, $N)" "$N")
get_miss=$(per_call_us "SELECT count(nova.cache_get('bench_missing')) FROM generate_series(1, $N)" "$N")
set_us=$(per_call_us "SELECT count(nova.cache_set('bench_s' || (g % 1000), 'value')) FROM generate_series(1, $N) g" "$N")
stats="$(nova_psql -c "SELECT nova.jwt_cache_stats() - 'max_entry_bytes'")"

# ---- round trips: pgbench vs redis-benchmark, one client each -------------------------
echo "SELECT nova.cache_get('bench_k');" > "$NOVA_CLUSTER/get.sql"
pgb() {  # pgb SCRIPT → tps
  pgbench -n -M prepared -c 1 -T "$RT_SECONDS" -f "$1" nova >"$1.log" 2>&1 || { cat "$1.log" >&2; return 1; }
  awk '/^tps/ { print $3 }' "$1.log"
}
pg_tps=$(pgb "$NOVA_CLUSTER/get.sql")
echo "SELECT 1;" > "$NOVA_CLUSTER/one.sql"
pg_tps_floor=$(pgb "$NOVA_CLUSTER/one.sql")
rsock="$NOVA_CLUSTER/redis.sock"
redis-server --port 0 --unixsocket "$rsock" --save '' --appendonly no --daemonize yes \
  --pidfile "$NOVA_CLUSTER/redis.pid" --logfile "$NOVA_CLUSTER/redis.log" >/dev/null
NOVA_CLEANUP_CMDS+=("kill \$(cat '$NOVA_CLUSTER/redis.pid')")
nova_wait_for 10 "redis" redis-cli -s "$rsock" ping
redis-cli -s "$rsock" set bench_k 'a small cached value, like a session or a feature flag' >/dev/null
rn=$(awk -v s="$RT_SECONDS" -v t="$pg_tps" 'BEGIN { n = int(s * t); print (n < 10000 ? 10000 : n) }')
redis_rps=$(redis-benchmark -s "$rsock" -c 1 -P 1 -n "$rn" -q GET bench_k 2>/dev/null | tr '\r' '\n' \
            | awk '/requests per second/ { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9.]+$/) { print $i; exit } }' | tail -1)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
us_rt() { awk -v t="$1" 'BEGIN { printf "%.1f", 1e6 / t }'; }
echo
echo "nova auth/cache benchmark: N=$N, best of $ROUNDS; $ntok distinct tokens; $(nproc) cores; $(date -u +%Y-%m-%d)"
echo
printf "%-44s %10s %10s\n" "per call, in SQL" "µs/call" "× floor"
printf "%-44s %10s %10s\n" "md5(g::text)  [floor]" "$floor" "1.00"
printf "%-44s %10s %10s\n" "nova.authenticate, cached (same token)" "$auth_hit" "$(ratio "$auth_hit" "$floor")"
printf "%-44s %10s %10s\n" "nova.authenticate, cached ($ntok tokens)" "$auth_hit_many" "$(ratio "$auth_hit_many" "$scan_floor") (vs md5(t) scan $scan_floor)"
printf "%-44s %10s %10s\n" "nova.authenticate, uncached (cache flushed)" "$auth_miss" "$(ratio "$auth_miss" "$floor")"
printf "%-44s %10s %10s\n" "nova.jwt_verify (HS256, no cache)" "$verify" "$(ratio "$verify" "$floor")"
printf "%-44s %10s %10s\n" "nova.cache_get, hit" "$get_hit" "$(ratio "$get_hit" "$floor")"
printf "%-44s %10s %10s\n" "nova.cache_get, miss" "$get_miss" "$(ratio "$get_miss" "$floor")"
printf "%-44s %10s %10s\n" "nova.cache_set" "$set_us" "$(ratio "$set_us" "$floor")"
echo
echo "cached authenticate vs jwt_verify: $(ratio "$verify" "$auth_hit")× faster; vs uncached authenticate: $(ratio "$auth_miss" "$auth_hit")× faster"
echo "jwt cache after the run: $stats"
echo
printf "%-52s %10s %12s\n" "round trip, 1 client, Unix socket" "req/s" "µs/request"
printf "%-52s %10s %12s\n" "pgbench -M prepared: SELECT 1" "$pg_tps_floor" "$(us_rt "$pg_tps_floor")"
printf "%-52s %10s %12s\n" "pgbench -M prepared: SELECT nova.cache_get('bench_k')" "$pg_tps" "$(us_rt "$pg_tps")"
printf "%-52s %10s %12s\n" "redis-benchmark -P 1: GET bench_k" "${redis_rps:-n/a}" "$( [ -n "${redis_rps:-}" ] && us_rt "$redis_rps" || echo n/a)"
[ -n "${redis_rps:-}" ] && echo "round-trip time, nova.cache_get / Redis GET: $(ratio "$redis_rps" "$pg_tps")× (below 1 = nova faster)"
