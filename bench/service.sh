#!/usr/bin/env bash
# Load benchmark of the reference service (docs/service.md): wrk drives two
# nova-service processes with a mixed workload (bench/service/mixed.lua: 70% reads,
# 25% posts and comments, 5% delete/restore; 1,000 users with pre-signed tokens;
# a unique correlation id per request), in --mode nova and --mode plain
# (same tables, no nova) interleaved in the same run: ROUNDS × (nova SECONDS,
# plain SECONDS). Then every successful nova write's correlation id must be in
# Kafka (0 missing), and no 401/429 may have written anything.
# Prints requests/s and p50/p99 latency per mode, the nova/plain ratio, and the
# HTTP request → Kafka append latency p50/p99, and the CPU per request (cluster + that
# mode's two service processes) per mode.
#   NOVA_PGROOT=… bash bench/service.sh        (SERVICE_BENCH_ROUNDS=3 SERVICE_BENCH_SECONDS=10
#                                               SERVICE_BENCH_CONNECTIONS=8 per process)
set -euo pipefail
source "$(dirname "$0")/../tools/lib.sh"
source "$NOVA_REPO/tools/kafka.sh"
source "$NOVA_REPO/examples/service/service.sh"
ROUNDS="${SERVICE_BENCH_ROUNDS:-3}"; SECS="${SERVICE_BENCH_SECONDS:-10}"; CONNS="${SERVICE_BENCH_CONNECTIONS:-8}"
USERS=1000; POSTS=5000
command -v wrk >/dev/null || nova_die "wrk is not installed (apt-get install wrk)"

cd "$NOVA_REPO"
nova_ensure_deps
nova_build; nova_install; make -s tools >/dev/null; svc_build
nova_test_cluster svcbench "max_connections = 60" "log_min_messages = warning"
nova_kafka_start --brokers 1 --topic nova.posts:4 --topic nova.comments:4
nova_kafka_configure_relay
nova_relay_wait_ready 30 || nova_die "relay did not start"
svc_setup_nova nova_svc
svc_setup_plain plain nova_svc
W="$NOVA_CLUSTER"

SECRET="$(head -c 48 /dev/urandom | base64 | tr -d '\n/+=' | head -c 48)"
seed="
INSERT INTO users (username, display_name, email) SELECT 'user' || lpad(g::text, 4, '0'), 'User ' || g, 'u' || g || '@example.com'
  FROM generate_series(1, $USERS) g ORDER BY g;
INSERT INTO follows (follower_id, followee_id) SELECT DISTINCT u, 1 + (u + k * 97) % $USERS FROM generate_series(1, $USERS) u, generate_series(1, 10) k
  WHERE 1 + (u + k * 97) % $USERS <> u;
INSERT INTO posts (author_id, body) SELECT 1 + (g - 1) % $USERS, 'seed post ' || g FROM generate_series(1, $POSTS) g ORDER BY g;
ANALYZE;"
nova_psql -d nova -c "$seed"
nova_psql -d plain -c "$seed"
nova_psql -d nova -c "INSERT INTO nova.jwt_keys (kid, algorithm, key, issuer, audience) VALUES ('bench', 'HS256', '$SECRET', 'https://auth.example', 'nova-api')"
nova_psql -d nova -F ' ' -c "SELECT username, nova.jwt_sign(jsonb_build_object('sub', username, 'iss', 'https://auth.example', 'aud', 'nova-api',
  'exp', extract(epoch FROM now())::bigint + 7200), '$SECRET', 'HS256', '{\"kid\": \"bench\"}') FROM users ORDER BY id" >"$W/users.txt"
nova_relay_wait_drained 120 || nova_die "seed events not drained"
nova_psql -c "CHECKPOINT" >/dev/null

P=(); for i in 1 2 3 4; do p="$(nova_free_port)"; while [[ " ${P[*]} " == *" $p "* ]]; do p="$(nova_free_port)"; done; P+=("$p"); done
svc_start nova1 "${P[0]}" --db "$(svc_conninfo nova)" --mode nova --pool 6 --rate-limit 5
svc_start nova2 "${P[1]}" --db "$(svc_conninfo nova)" --mode nova --pool 6 --rate-limit 5
svc_start plain1 "${P[2]}" --db "$(svc_conninfo plain)" --mode plain --pool 6
svc_start plain2 "${P[3]}" --db "$(svc_conninfo plain)" --mode plain --pool 6

# CPU clock ticks used so far by the cluster (postmaster, backends, relay) and by the
# named service processes: what a request costs the machine, which moves far less
# with other load than requests/s does.
cpu_ticks() {  # cpu_ticks SERVICE_NAME...
  local pm; pm=$(head -1 "$NOVA_CLUSTER/data/postmaster.pid")
  { sed 's/^.*) //' "/proc/$pm/stat" | awk '{ print $12 + $13 + $14 + $15 }'
    for c in $(pgrep -P "$pm"); do sed 's/^.*) //' "/proc/$c/stat" 2>/dev/null | awk '{ print $12 + $13 }'; done
    for n in "$@"; do sed 's/^.*) //' "/proc/${SVC_PIDS[$n]}/stat" | awk '{ print $12 + $13 }'; done
  } | awk '{ s += $1 } END { print s }'
}
HZ=$(getconf CLK_TCK)

# One round of one mode: two wrk processes (one per service process) at the same time.
run() {  # run MODE ROUND PORT1 PORT2
  local mode="$1" r="$2" t0
  t0=$(cpu_ticks "${mode}1" "${mode}2")
  wrk -t1 -c"$CONNS" -d"${SECS}s" --timeout 10s -s bench/service/mixed.lua "http://127.0.0.1:$3" -- "$mode" "$W/users.txt" "b$r$mode-1" "$POSTS" \
    | grep '^{' >"$W/wrk-$mode-$r-1.json" &
  local w1=$!
  wrk -t1 -c"$CONNS" -d"${SECS}s" --timeout 10s -s bench/service/mixed.lua "http://127.0.0.1:$4" -- "$mode" "$W/users.txt" "b$r$mode-2" "$POSTS" \
    | grep '^{' >"$W/wrk-$mode-$r-2.json"
  wait "$w1"
  echo $(( $(cpu_ticks "${mode}1" "${mode}2") - t0 )) >"$W/cpu-$mode-$r.ticks"
}
nova_log "load: $ROUNDS rounds × (nova ${SECS}s, plain ${SECS}s), 2 processes × $CONNS connections each; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$ROUNDS"); do
  run nova "$r" "${P[0]}" "${P[1]}"
  run plain "$r" "${P[2]}" "${P[3]}"
done
LOAD="$(cut -d' ' -f1-3 /proc/loadavg)"

nova_relay_wait_drained 300 || nova_die "outbox not drained after the run"
for t in nova.posts nova.comments; do nova_kafka_consume "$t" 120; done >"$W/kafka.jsonl"
rc=0
/usr/bin/python3 - "$W" "$SVC_DIR" "$ROUNDS" "$LOAD" "$HZ" <<'PY' || rc=1
import glob, json, sys, datetime, statistics
w, svcdir, rounds, load, hz = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
def pct(xs, p):
    xs = sorted(xs); return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))] if xs else float("nan")
res = {}
for mode in ("nova", "plain"):
    runs = [json.loads(open(f).read()) for f in sorted(glob.glob(f"{w}/wrk-{mode}-*.json"))]
    rps = sum(r["requests"] / (r["duration_us"] / 1e6) for r in runs) / rounds   # two processes per round
    ticks = sum(int(open(f).read()) for f in glob.glob(f"{w}/cpu-{mode}-*.ticks"))
    nreq = sum(r["requests"] for r in runs)
    res[mode] = dict(rps=rps, cpu_us=ticks * 1e6 / hz / nreq, p50=statistics.mean(r["p50_us"] for r in runs) / 1000,
                     p99=statistics.mean(r["p99_us"] for r in runs) / 1000,
                     socket_errors=sum(r["socket_errors"] for r in runs))
# Access logs: what each nova request answered.
log = []
for f in glob.glob(f"{svcdir}/nova*.log"):
    for line in open(f):
        j = json.loads(line)
        if "status" in j and j.get("correlation_id", "").startswith("b"): log.append(j)
status = {}
for j in log: status[j["status"]] = status.get(j["status"], 0) + 1
writes = {j["correlation_id"]: j for j in log if j["method"] in ("POST", "DELETE") and j["status"] in (200, 201, 204)}
refused = {j["correlation_id"] for j in log if j["status"] in (401, 429)}
hdr = lambda m: {m["headers"][i]: m["headers"][i + 1] for i in range(0, len(m["headers"]), 2)}
first = {}
for line in open(f"{w}/kafka.jsonl"):
    m = json.loads(line); c = hdr(m).get("correlation-id", "")
    if c.startswith("b"): first[c] = min(first.get(c, 1e18), m["ts"])
missing = [c for c in writes if c not in first]
leaked = [c for c in refused if c in first]
def t_start(j):  # the access log's ts is when the response was sent; ms is the time in the service
    t = datetime.datetime.strptime(j["ts"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
    return t.timestamp() * 1000 - j["ms"]
lat = [first[c] - t_start(j) for c, j in writes.items() if c in first]
n, p = res["nova"], res["plain"]
print(f"load average after the run: {load}")
print(f"{'mode':6} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'CPU us/req':>11}")
for mode in ("nova", "plain"):
    r = res[mode]; print(f"{mode:6} {r['rps']:8.0f} {r['p50']:8.1f} {r['p99']:8.1f} {r['cpu_us']:11.1f}")
print(f"nova / plain requests/s: {n['rps'] / p['rps']:.2f}")
print(f"plain / nova CPU per request (server + service processes): {p['cpu_us'] / n['cpu_us']:.2f}")
print(f"nova statuses: {dict(sorted(status.items()))}")
print(f"nova writes: {len(writes)} succeeded, {len(missing)} missing in Kafka; "
      f"{len(refused)} refused (401/429), {len(leaked)} of them wrote something")
if missing:
    from collections import Counter
    print("  missing by request:", dict(Counter((writes[c]["method"], writes[c]["path"].rsplit("/", 1)[-1], writes[c]["status"]) for c in missing)))
print(f"HTTP request -> Kafka append: p50 {pct(lat, 50):.0f} ms, p99 {pct(lat, 99):.0f} ms (n={len(lat)})")
sys.exit(1 if missing or leaked or not writes or not refused else 0)
PY
exit $rc
