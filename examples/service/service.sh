# Shell helpers to run nova-service in the e2e test, the benchmark and the demo.
# Source after tools/lib.sh (a cluster from nova_test_cluster, PG* environment set).
#
#   svc_build                         make -C examples/service (nova-service, nova-ws-client)
#   svc_setup_nova [ROLE]             sample schema in database nova + a login ROLE (default
#                                     nova_svc) in nova_service with examples/service/grants.sql
#                                     and the request prelude examples/service/service.sql
#   svc_setup_role [ROLE]             only the role, grants and prelude (schema already loaded)
#   svc_setup_plain [DB]              the same tables without nova in database DB (default plain)
#   svc_start NAME PORT ARGS...       start a service in the background (log: $SVC_DIR/NAME.log),
#                                     wait for /healthz; stopped (SIGTERM) on exit
#   svc_stop NAME                     SIGTERM and wait; returns the service's exit code
#   svc_conninfo DB [ROLE]            conninfo for the cluster's socket
SVC_DIR="${SVC_DIR:-}"
SVC_BIN="$NOVA_REPO/examples/service/nova-service"
SVC_WS="$NOVA_REPO/examples/service/nova-ws-client"
declare -A SVC_PIDS=()

svc_build() {
  make -C "$NOVA_REPO/examples/service" -s -j2 >/dev/null || make -C "$NOVA_REPO/examples/service" || nova_die "service build failed"
}

svc_conninfo() { echo "host=$PGHOST port=$PGPORT dbname=$1 user=${2:-nova_svc} application_name=nova-service"; }

svc_setup_nova() {
  nova_psql -d nova -f "$NOVA_REPO/examples/nova_schema.sql" >/dev/null
  svc_setup_role "${1:-nova_svc}"
}

svc_setup_role() {  # on a database that already has the sample schema
  local role="${1:-nova_svc}"
  nova_psql -d nova -c "CREATE ROLE $role LOGIN IN ROLE nova_service" >/dev/null
  nova_psql -d nova -v role="$role" -f "$NOVA_REPO/examples/service/grants.sql" >/dev/null
  nova_psql -d nova -v role="$role" -f "$NOVA_REPO/examples/service/service.sql" >/dev/null
}

svc_setup_plain() {
  local db="${1:-plain}" role="${2:-nova_svc}"
  nova_psql -d nova -c "CREATE DATABASE $db" >/dev/null
  grep -v -E '^(SELECT nova\.|\\ir )' "$NOVA_REPO/examples/nova_schema.sql" | nova_psql -d "$db" >/dev/null
  nova_psql -d "$db" -f "$NOVA_REPO/examples/service/plain_views.sql" >/dev/null
  nova_psql -d "$db" -c "GRANT SELECT, INSERT, DELETE ON ALL TABLES IN SCHEMA public TO $role" >/dev/null
}

svc_start() {
  local name="$1" port="$2"; shift 2
  [ -n "$SVC_DIR" ] || { SVC_DIR="$(mktemp -d /tmp/nova-svc.XXXXXX)"; NOVA_CLEANUP_DIRS+=("$SVC_DIR"); }
  "$SVC_BIN" --listen "127.0.0.1:$port" --instance "$name" "$@" >"$SVC_DIR/$name.log" 2>"$SVC_DIR/$name.err" &
  SVC_PIDS[$name]=$!
  NOVA_CLEANUP_CMDS+=("svc_stop $name")
  trap nova_test_cleanup EXIT
  nova_wait_for 20 "service $name on port $port" curl -sf "http://127.0.0.1:$port/healthz" \
    || { cat "$SVC_DIR/$name.err" >&2; nova_die "service $name did not start"; }
}

svc_stop() {
  local name="$1" pid="${SVC_PIDS[$1]:-}" rc=0
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" || rc=$?
  SVC_PIDS[$name]=""
  return $rc
}
