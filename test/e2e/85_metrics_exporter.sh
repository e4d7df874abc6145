#!/usr/bin/env bash
# The real prometheus-postgres-exporter, fed examples/monitoring/queries.yaml and
# connected as a pg_monitor login (not a superuser), exposes nova's counters with the
# values known traffic must give: events delivered to the embedded Kafka and their
# bytes, failures while Kafka is down, one dead letter, cache hits and misses, a forced-open breaker's refused calls,
# events written per topic, backlog gauges. promtool accepts and unit-tests the alert
# rules. Without shared_preload_libraries the view still answers (gauges only).
set -euo pipefail
source "$(dirname "$0")/../../tools/lib.sh"
source "$NOVA_REPO/tools/kafka.sh"
nova_ensure_deps  # prometheus, prometheus-postgres-exporter are in NOVA_PACKAGES

# promtool: the alert rules are valid and fire as their tests say.
rc=0
promtool check rules "$NOVA_REPO/examples/monitoring/alerts.yml" || { echo "FAIL: promtool check rules"; rc=1; }
promtool test rules "$NOVA_REPO/examples/monitoring/alerts_test.yml" || { echo "FAIL: promtool test rules"; rc=1; }

# Small caches (1 MB key/value, 64 JWT slots) so known traffic below makes them evict.
nova_test_cluster metrics_exporter "nova.cache_memory = 1024" "nova.jwt_cache_entries = 64"
nova_kafka_start --brokers 1 --topic nova.metrics:2 --topic nova.snap:1
# Producer limit 1000 bytes: one big event below is dead-lettered at its first attempt.
nova_psql -c "ALTER SYSTEM SET nova.kafka_config = 'message.max.bytes=1000; message.timeout.ms=2000; reconnect.backoff.max.ms=500'" >/dev/null
nova_kafka_configure_relay
nova_relay_wait_ready 30 || nova_die "relay did not start: $(nova_psql -c 'SELECT nova.status()')"
nova_psql -c "CREATE ROLE nova_monitor LOGIN IN ROLE pg_monitor" -c "SELECT nova.reset_metrics()" >/dev/null

# Known traffic: 40 small events and 1 too big for Kafka, 7 cache hits and 2 misses,
# 3 calls refused by a forced-open breaker.
N=40
nova_psql >/dev/null <<SQL
SELECT count(nova.publish('nova.metrics', 'k' || g, 'Counted', jsonb_build_object('n', g))) FROM generate_series(1, $N) g;
SELECT nova.publish('nova.metrics', 'big', 'TooBig', jsonb_build_object('blob', repeat('x', 5000)));
SELECT nova.cache_set('metrics:hit', 'v');
SELECT count(nova.cache_get('metrics:hit')) FROM generate_series(1, 7);
SELECT count(nova.cache_get('metrics:miss' || g)) FROM generate_series(1, 2) g;
SELECT nova.breaker_force('payments', 'open');
SELECT count(*) FROM generate_series(1, 3) WHERE NOT nova.breaker_allow('payments');
SQL
nova_relay_wait_drained 60 || nova_die "outbox not drained: $(nova_psql -c 'SELECT nova.status()')"

# Evictions and entries: 3,000 distinct 1 kB values into 1 MB, 300 distinct tokens
# into 64 JWT slots (each verified once: a miss that inserts). Nothing expires and
# nothing is deleted, so what is left = what was inserted - what was evicted.
JWT_SECRET='metrics-evict-secret-0123456789abcdef-0123'
nova_psql >/dev/null <<SQL
SELECT count(nova.cache_set('fill:' || g, repeat('v', 1000))) FROM generate_series(1, 3000) g;
INSERT INTO nova.jwt_keys (kid, algorithm, key) VALUES ('metrics', 'HS256', '$JWT_SECRET');
SELECT count(nova.authenticate(nova.jwt_sign(
         jsonb_build_object('sub', 'u' || g, 'exp', extract(epoch FROM now())::bigint + 3600),
         '$JWT_SECRET', 'HS256', '{"kid": "metrics"}'))) FROM generate_series(1, 300) g;
SQL
KV_EVICTED="$(nova_psql -c "SELECT value FROM nova.metrics WHERE name = 'nova_cache_evictions_total' AND labels->>'cache' = 'kv'")"
KV_ENTRIES="$(nova_psql -c "SELECT value FROM nova.metrics WHERE name = 'nova_cache_entries' AND labels->>'cache' = 'kv'")"
JWT_EVICTED="$(nova_psql -c "SELECT value FROM nova.metrics WHERE name = 'nova_cache_evictions_total' AND labels->>'cache' = 'jwt'")"
JWT_ENTRIES="$(nova_psql -c "SELECT value FROM nova.metrics WHERE name = 'nova_cache_entries' AND labels->>'cache' = 'jwt'")"
echo "kv: evicted $KV_EVICTED, entries $KV_ENTRIES; jwt: evicted $JWT_EVICTED, entries $JWT_ENTRIES"
[ "$KV_EVICTED" -gt 0 ] && [ $((KV_EVICTED + KV_ENTRIES)) -eq 3001 ] \
  || { echo "FAIL: kv cache: evicted + entries must be the 3001 keys set, with evictions"; rc=1; }
[ "$JWT_EVICTED" -gt 0 ] && [ "$JWT_ENTRIES" -le 64 ] && [ $((JWT_EVICTED + JWT_ENTRIES)) -eq 300 ] \
  || { echo "FAIL: jwt cache: evicted + entries must be the 300 tokens verified, at most 64 kept"; rc=1; }

# A snapshot of a 250-row table: nova_snapshot_rows_total counts its rows.
nova_psql >/dev/null <<'SQL'
CREATE TABLE snap (id int PRIMARY KEY, v text);
INSERT INTO snap SELECT g, 'v' || g FROM generate_series(1, 250) g;
SELECT nova.enable_outbox('snap', topic => 'nova.snap');
SELECT nova.snapshot('snap', batch_size => 100);
SQL
nova_wait_for 60 "the snapshot" bash -c \
  "[ \"\$(psql -X -At -c \"SELECT state FROM nova.snapshots WHERE tbl = 'snap'::regclass\")\" = done ]" \
  || nova_die "snapshot not done: $(nova_psql -c 'SELECT * FROM nova.snapshots')"
nova_relay_wait_drained 60 || nova_die "snapshot events not drained: $(nova_psql -c 'SELECT nova.status()')"

# Kafka down: the relay reports the outage (a delivery it tried meanwhile counts as
# failed, with no attempt spent: docs/relay.md); the 3 events arrive once Kafka is back.
nova_kafka_cmd down_all
nova_psql -c "SELECT count(nova.publish('nova.metrics', 'r' || g, 'Retried', '{}')) FROM generate_series(1, 3) g" >/dev/null
nova_wait_for 60 "the relay sees the outage" bash -c \
  "[ \"\$(psql -X -At -c \"SELECT nova.status()->>'state' IN ('broker_down', 'breaker_open')\")\" = t ]" \
  || nova_die "outage not seen: $(nova_psql -c 'SELECT nova.status()')"
nova_kafka_cmd up_all
nova_relay_wait_drained 90 || nova_die "outbox not drained after the outage: $(nova_psql -c 'SELECT nova.status()')"
FAILED="$(nova_psql -c "SELECT value FROM nova.metrics WHERE name = 'nova_relay_events_total' AND labels->>'outcome' = 'failed'")"
RETRIED="$(nova_psql -c "SELECT value FROM nova.metrics WHERE name = 'nova_relay_events_total' AND labels->>'outcome' = 'retried'")"
# Failed calls of the relay's breaker: one per failed batch or unanswered metadata probe
# while it was CLOSED (how many depends on when librdkafka noticed the outage); the
# exporter must show exactly what the view says.
KAFKA_FAILURES="$(nova_psql -c "SELECT coalesce(max(value), 0) FROM nova.metrics WHERE name = 'nova_breaker_calls_total' AND labels->>'breaker' = 'kafka' AND labels->>'outcome' = 'failure'")"
# Key + compact value bytes of what Kafka acknowledged ({"n":7} is 7 bytes; r1 + {} is 4;
# snapshot row 7 is key 7 + {"v":"v7","id":7}).
BYTES="$(nova_psql -c "SELECT sum(length('k' || g) + length('{\"n\":' || g || '}')) + 3 * 4
                        + (SELECT sum(length(s::text) + length('{\"v\":\"v' || s || '\",\"id\":' || s || '}'))
                             FROM generate_series(1, 250) s) FROM generate_series(1, $N) g")"

# The exporter, on a free port, as the monitoring role.
PORT="$(nova_free_port)"
DATA_SOURCE_NAME="host=$NOVA_CLUSTER port=$PGPORT user=nova_monitor dbname=nova sslmode=disable" \
  prometheus-postgres-exporter --web.listen-address="127.0.0.1:$PORT" \
    --extend.query-path="$NOVA_REPO/examples/monitoring/queries.yaml" >"$NOVA_CLUSTER/exporter.log" 2>&1 &
EXPORTER_PID=$!
NOVA_CLEANUP_CMDS+=("kill $EXPORTER_PID")
scrape() { curl -sf "http://127.0.0.1:$PORT/metrics" >"$NOVA_CLUSTER/metrics.txt"; }
nova_wait_for 30 "exporter serves nova series" \
  bash -c "curl -sf http://127.0.0.1:$PORT/metrics | grep -q '^nova_relay_events_total'" \
  || { cat "$NOVA_CLUSTER/exporter.log"; nova_die "exporter did not expose nova metrics"; }

# check 'series{labels}' value ... : every series (the exporter's server label ignored)
# has exactly that value; '>=N' compares.
check() {
  /usr/bin/python3 - "$NOVA_CLUSTER/metrics.txt" "$@" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
got = {}
for line in text.splitlines():
    m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$', line)
    if not m: continue
    labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ''))
    labels.pop('server', None)
    got[(m.group(1), tuple(sorted(labels.items())))] = float(m.group(3))
bad = 0
args = sys.argv[2:]
for series, want in zip(args[::2], args[1::2]):
    m = re.match(r'^(\w+)(?:\{(.*)\})?$', series)
    labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ''))
    key = (m.group(1), tuple(sorted(labels.items())))
    have = got.get(key)
    ok = have is not None and (have >= float(want[2:]) if want.startswith('>=') else have == float(want))
    print("  %-4s %s = %s (want %s)" % ("ok" if ok else "FAIL", series, have, want))
    bad += not ok
sys.exit(1 if bad else 0)
PY
}

scrape
check 'nova_relay_events_total{outcome="delivered"}' "$((N + 3 + 250))" \
      'nova_relay_events_total{outcome="failed"}' "$FAILED" \
      'nova_relay_events_total{outcome="dead_lettered"}' 1 \
      'nova_relay_events_total{outcome="retried"}' "$RETRIED" \
      'nova_relay_bytes_total' "$BYTES" \
      'nova_relay_batches_total' '>=1' \
      'nova_relay_produce_latency_seconds_count' '>=1' \
      'nova_outbox_events_written_total{topic="nova.metrics"}' "$((N + 4))" \
      'nova_cache_requests_total{cache="kv",result="hit"}' 7 \
      'nova_cache_requests_total{cache="kv",result="miss"}' 2 \
      'nova_cache_evictions_total{cache="kv"}' "$KV_EVICTED" \
      'nova_cache_entries{cache="kv"}' "$KV_ENTRIES" \
      'nova_cache_requests_total{cache="jwt",result="miss"}' 300 \
      'nova_cache_evictions_total{cache="jwt"}' "$JWT_EVICTED" \
      'nova_cache_entries{cache="jwt"}' "$JWT_ENTRIES" \
      'nova_snapshot_rows_total' 250 \
      'nova_breaker_calls_total{breaker="payments",outcome="not_permitted"}' 3 \
      'nova_breaker_transitions_total{breaker="payments",to="FORCED_OPEN"}' 1 \
      'nova_breaker_status{breaker="payments",state="FORCED_OPEN"}' 1 \
      'nova_breaker_status{breaker="payments",state="CLOSED"}' 0 \
      'nova_breaker_calls_total{breaker="kafka",outcome="success"}' '>=1' \
      'nova_breaker_calls_total{breaker="kafka",outcome="failure"}' "$KAFKA_FAILURES" \
      'nova_relay_status{state="stopped"}' 0 \
      'nova_outbox_backlog_events' 0 \
      'nova_outbox_oldest_pending_seconds' 0 \
  || rc=1
# The histogram is whole: +Inf bucket = count = batches.
b="$(grep -E '^nova_relay_batches_total' "$NOVA_CLUSTER/metrics.txt" | awk '{print $2}')"
check 'nova_relay_produce_latency_seconds_bucket{le="+Inf"}' "$b" 'nova_relay_produce_latency_seconds_count' "$b" || rc=1

# Relay without brokers: its state and the backlog show it.
nova_psql -c "ALTER SYSTEM SET nova.kafka_brokers = ''" -c "SELECT pg_reload_conf()" >/dev/null
nova_relay_wait_state 30 unconfigured || rc=1
nova_psql -c "SELECT count(nova.publish('nova.metrics', 'late' || g, 'Late', '{}')) FROM generate_series(1, 5) g" >/dev/null
scrape
check 'nova_relay_status{state="unconfigured"}' 1 'nova_relay_status{state="idle"}' 0 \
      'nova_outbox_backlog_events' 5 'nova_outbox_oldest_pending_seconds' '>=0' \
      'nova_outbox_events_written_total{topic="nova.metrics"}' "$((N + 9))" || rc=1

# Topics beyond the 256 counted separately go to topic="other"; none is lost.
overflow="$(nova_psql <<'SQL'
SELECT sum(value) AS before FROM nova.metrics WHERE name = 'nova_outbox_events_written_total' \gset
SELECT count(nova.publish('nova.many.' || g, 'k', 'Many', '{}')) FROM generate_series(1, 300) g \g /dev/null
SELECT count(*) FILTER (WHERE labels->>'topic' <> 'other') || ' ' ||
       sum(value) FILTER (WHERE labels->>'topic' = 'other') || ' ' || (sum(value) - :before)
  FROM nova.metrics WHERE name = 'nova_outbox_events_written_total';
SQL
)"
echo "topic series, other, written: $overflow"
[ "$overflow" = "256 46 300" ] || { echo "FAIL: topic overflow (want 256 topics: nova.metrics, nova.snap and 254 new ones, 46 in other, 300 counted)"; rc=1; }

# Without shared_preload_libraries: no error, only the outbox gauges.
kill "$EXPORTER_PID"; wait "$EXPORTER_PID" 2>/dev/null || true
nova_cluster_stop "$NOVA_CLUSTER" fast
echo "shared_preload_libraries = ''" | nova_as_run_user tee -a "$NOVA_CLUSTER/data/postgresql.conf" >/dev/null
nova_cluster_start "$NOVA_CLUSTER" || nova_die "restart without preload failed"
nova_psql -c "SELECT nova.reset_metrics()" >/dev/null 2>&1 || { echo "FAIL: reset_metrics without preload"; rc=1; }
rows="$(nova_psql 2>/dev/null \
  -c "SELECT string_agg(name || '=' || CASE WHEN name LIKE '%seconds' THEN (value >= 0)::text ELSE value::text END, ' ' ORDER BY name) FROM nova.metrics")"
echo "without preload: $rows"
[ "$rows" = "nova_outbox_backlog_events=305 nova_outbox_oldest_pending_seconds=true" ] \
  || { echo "FAIL: without preload the view should hold only the two outbox gauges"; rc=1; }
exit $rc
