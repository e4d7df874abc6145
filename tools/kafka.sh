# Shell helpers for the embedded Kafka (build/kafka_mock) in tests, demo and benchmarks.
# Source after tools/lib.sh. Needs `make tools`.
#
#   nova_kafka_start [--brokers N] [--topic T[:P]]...   start it; sets NOVA_KAFKA_BOOTSTRAP,
#                                                       NOVA_KAFKA_DIR; stopped on exit
#   nova_kafka_cmd "down_all"                           send a command, wait for its answer
#   nova_kafka_stop                                     stop it
#   nova_kafka_consume TOPIC [SECONDS]                  every message of TOPIC as kcat JSON lines
#   nova_kafka_configure_relay                          ALTER SYSTEM nova.kafka_brokers + reload
#   nova_relay_state                                    nova.status()->>'state'
#   nova_relay_wait_state SECONDS STATE...              wait until the relay is in one of the states
#   nova_relay_wait_drained SECONDS                     wait until nova.outbox is empty

NOVA_KAFKA_PID=""
NOVA_KAFKA_DIR=""
NOVA_KAFKA_BOOTSTRAP=""

nova_kafka_start() {
  local bin="$NOVA_REPO/build/kafka_mock"
  [ -x "$bin" ] || make -C "$NOVA_REPO" -s tools >/dev/null || nova_die "cannot build tools"
  NOVA_KAFKA_DIR="$(mktemp -d /tmp/nova-kafka.XXXXXX)"
  mkfifo "$NOVA_KAFKA_DIR/cmd"
  "$bin" --bootstrap-file "$NOVA_KAFKA_DIR/bootstrap" --commands "$NOVA_KAFKA_DIR/cmd" "$@" \
    >"$NOVA_KAFKA_DIR/out" 2>"$NOVA_KAFKA_DIR/err" </dev/null &
  NOVA_KAFKA_PID=$!
  NOVA_CLEANUP_CMDS+=("nova_kafka_stop")
  trap nova_test_cleanup EXIT
  local deadline=$(( $(date +%s) + 20 ))
  while [ ! -s "$NOVA_KAFKA_DIR/bootstrap" ]; do
    kill -0 "$NOVA_KAFKA_PID" 2>/dev/null || { cat "$NOVA_KAFKA_DIR/err" >&2; nova_die "kafka_mock exited"; }
    [ "$(date +%s)" -ge "$deadline" ] && nova_die "kafka_mock did not start"
    sleep 0.05
  done
  NOVA_KAFKA_BOOTSTRAP="$(cat "$NOVA_KAFKA_DIR/bootstrap")"
  export NOVA_KAFKA_BOOTSTRAP NOVA_KAFKA_DIR
}

# nova_kafka_cmd "COMMAND ARGS": returns non-zero when the mock answers with an error.
nova_kafka_cmd() {
  [ -n "$NOVA_KAFKA_PID" ] || nova_die "kafka_mock is not running"
  local before after deadline=$(( $(date +%s) + 10 ))
  before=$(grep -cE '^(ok|error) ' "$NOVA_KAFKA_DIR/out" || true)
  echo "$*" >"$NOVA_KAFKA_DIR/cmd"
  while :; do
    after=$(grep -cE '^(ok|error) ' "$NOVA_KAFKA_DIR/out" || true)
    [ "$after" -gt "$before" ] && break
    [ "$(date +%s)" -ge "$deadline" ] && { nova_log "kafka_mock did not answer: $*"; return 1; }
    sleep 0.02
  done
  grep -E '^(ok|error) ' "$NOVA_KAFKA_DIR/out" | sed -n "$((before + 1))p" | grep -q '^ok '
}

nova_kafka_stop() {
  [ -n "$NOVA_KAFKA_PID" ] || return 0
  kill -TERM "$NOVA_KAFKA_PID" 2>/dev/null || true
  local i
  for i in $(seq 1 50); do kill -0 "$NOVA_KAFKA_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$NOVA_KAFKA_PID" 2>/dev/null || true
  wait "$NOVA_KAFKA_PID" 2>/dev/null || true
  NOVA_KAFKA_PID=""
  [ "${NOVA_KEEP:-0}" = 1 ] || rm -rf "$NOVA_KAFKA_DIR"
}

# All messages of a topic from the beginning (kcat JSON lines: topic, partition, offset,
# tstype, ts, key, payload, headers [k, v, k, v, …]). Exits at the end of every partition.
nova_kafka_consume() {
  local topic="$1" secs="${2:-30}"
  timeout "$secs" kcat -C -J -q -e -b "$NOVA_KAFKA_BOOTSTRAP" -t "$topic" -o beginning 2>/dev/null
}

nova_kafka_configure_relay() {
  nova_psql -c "ALTER SYSTEM SET nova.kafka_brokers = '$NOVA_KAFKA_BOOTSTRAP'" -c "SELECT pg_reload_conf()" >/dev/null
}

nova_relay_state() { nova_psql -c "SELECT nova.status()->>'state'"; }

nova_relay_in_state() {
  local s; s="$(nova_relay_state 2>/dev/null)" || return 1
  local want; for want in "$@"; do [ "$s" = "$want" ] && return 0; done
  return 1
}
nova_relay_wait_state() { local secs="$1"; shift; nova_wait_for "$secs" "relay state $*" nova_relay_in_state "$@"; }

nova_relay_drained() { [ "$(nova_psql -c 'SELECT count(*) FROM nova.outbox')" = 0 ]; }
nova_relay_wait_drained() { nova_wait_for "${1:-60}" "outbox drained" nova_relay_drained; }

# nova_kafka_check TOPIC EXPECTED_SQL [FINAL_SQL] [kafka_check.py options…]
#   EXPECTED_SQL returns one json per committed event ({event_id, key, payload, …});
#   FINAL_SQL (or '') one {key, payload} per key: the key's latest state. Consumes the topic,
#   prints "produced / delivered / duplicates / lost", fails on loss or wrong content.
nova_kafka_check() {
  local topic="$1" expected_sql="$2" final_sql="${3:-}"; shift 3 || shift $#
  local dir; dir="$(mktemp -d /tmp/nova-check.XXXXXX)"
  nova_kafka_consume "$topic" 60 >"$dir/messages.jsonl" || true
  nova_psql -c "$expected_sql" >"$dir/expected.jsonl"
  local final=()
  if [ -n "$final_sql" ]; then nova_psql -c "$final_sql" >"$dir/final.jsonl"; final=(--final "$dir/final.jsonl"); fi
  local rc=0
  /usr/bin/python3 "$NOVA_REPO/tools/kafka_check.py" --messages "$dir/messages.jsonl" \
    --expected "$dir/expected.jsonl" "${final[@]}" "$@" || rc=$?
  if [ "${NOVA_KEEP:-0}" = 1 ] || [ $rc -ne 0 ]; then nova_log "consumer output kept in $dir"; else rm -rf "$dir"; fi
  return $rc
}

# The relay's worker pid (empty when not running).
nova_relay_pid() { nova_psql -c "SELECT coalesce(nova.status()->>'worker_pid', '')"; }

# Wait until the relay runs with the current configuration (state idle or running).
nova_relay_wait_ready() { nova_relay_wait_state "${1:-30}" idle running; }
