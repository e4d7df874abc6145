# Shared shell functions for tools/test.sh, tools/demo.sh, test/e2e/*.sh and bench/*.sh.
# Source it; it does nothing by itself.
#
# Environment:
#   NOVA_PGROOT   install PostgreSQL + nova into this private root instead of the
#                 system (lets several checkouts build and test side by side).
#   NOVA_KEEP=1   keep temporary clusters and logs after the run.

NOVA_REPO="${NOVA_REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
NOVA_PG_MAJOR=15

nova_log() { printf '\033[1m[nova]\033[0m %s\n' "$*" >&2; }
nova_die() { printf '\033[1;31m[nova] error:\033[0m %s\n' "$*" >&2; exit 1; }

# sudo when not root.
nova_sudo() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# The packages everything here needs (runtime, build, tests).
NOVA_PACKAGES=(
  postgresql-15 postgresql-server-dev-15 postgresql-contrib
  librdkafka-dev libssl-dev nlohmann-json3-dev libsimdjson-dev
  g++ make clang libclang-rt-14-dev libgtest-dev
  kcat python3-kafka valgrind json-schema-test-suite libipc-run-perl
  prometheus prometheus-postgres-exporter
  libboost-dev libpq-dev curl wrk
)

nova_ensure_deps() {
  local missing=() p
  for p in "${NOVA_PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    nova_log "installing: ${missing[*]}"
    nova_sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    # Debian's postgresql-common would create and start a default cluster; we never use it.
    if [ ! -e /etc/postgresql-common/createcluster.conf ] || ! grep -q '^create_main_cluster = false' /etc/postgresql-common/createcluster.conf; then
      nova_sudo mkdir -p /etc/postgresql-common
      echo 'create_main_cluster = false' | nova_sudo tee -a /etc/postgresql-common/createcluster.conf >/dev/null
    fi
    nova_sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
      || nova_die "apt-get install failed"
  fi
}

# pg_config of the PostgreSQL we build against and run.
nova_pg_config() {
  if [ -n "${NOVA_PGROOT:-}" ]; then echo "$NOVA_PGROOT/usr/lib/postgresql/$NOVA_PG_MAJOR/bin/pg_config"
  else echo "/usr/lib/postgresql/$NOVA_PG_MAJOR/bin/pg_config"; fi
}
nova_pg_bindir() { "$(nova_pg_config)" --bindir; }

# A private, relocatable copy of the server (PostgreSQL finds share/ and lib/ relative to its binaries).
nova_prepare_pgroot() {
  [ -n "${NOVA_PGROOT:-}" ] || return 0
  if [ ! -x "$NOVA_PGROOT/usr/lib/postgresql/$NOVA_PG_MAJOR/bin/postgres" ]; then
    nova_log "creating private PostgreSQL root $NOVA_PGROOT"
    mkdir -p "$NOVA_PGROOT/usr/lib/postgresql" "$NOVA_PGROOT/usr/share/postgresql" "$NOVA_PGROOT/usr/include"
    cp -a "/usr/lib/postgresql/$NOVA_PG_MAJOR" "$NOVA_PGROOT/usr/lib/postgresql/"
    cp -a "/usr/share/postgresql/$NOVA_PG_MAJOR" "$NOVA_PGROOT/usr/share/postgresql/"
    cp -a /usr/include/postgresql "$NOVA_PGROOT/usr/include/"
    chmod 755 "$NOVA_PGROOT"
  fi
}

nova_build() {
  nova_prepare_pgroot
  nova_log "building (-Werror)"
  make -C "$NOVA_REPO" -s -j"$(nproc)" NOVA_WERROR=1 PG_CONFIG="$(nova_pg_config)" "$@" >/dev/null \
    || make -C "$NOVA_REPO" NOVA_WERROR=1 PG_CONFIG="$(nova_pg_config)" "$@" || nova_die "build failed"
}

nova_install() {
  nova_prepare_pgroot
  nova_log "installing the extension"
  if [ -n "${NOVA_PGROOT:-}" ]; then
    make -C "$NOVA_REPO" -s PG_CONFIG="$(nova_pg_config)" install >/dev/null || nova_die "install failed"
  else
    nova_sudo make -C "$NOVA_REPO" -s PG_CONFIG="$(nova_pg_config)" install >/dev/null || nova_die "install failed"
  fi
}

# The user that runs clusters: postgres when we are root (initdb refuses root), else ourselves.
nova_run_user() { if [ "$(id -u)" -eq 0 ]; then echo postgres; else id -un; fi; }
nova_as_run_user() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# A scratch directory the cluster user can write.
nova_tmpdir() {
  local d; d="$(mktemp -d "/tmp/nova-${1:-tmp}.XXXXXX")"
  chmod 755 "$d"
  [ "$(id -u)" -eq 0 ] && chown postgres "$d"
  echo "$d"
}

nova_free_port() {
  local p
  for p in $(shuf -i 20000-29999 -n 50); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && [ ! -e "/tmp/.s.PGSQL.$p" ]; then echo "$p"; return; fi
  done
  nova_die "no free port"
}

# nova_cluster_init DIR [extra postgresql.conf lines...]
#   DIR/data, socket in DIR, port in DIR/port, log in DIR/server.log.
nova_cluster_init() {
  local dir="$1"; shift
  local port; port="$(nova_free_port)"
  nova_as_run_user "$(nova_pg_bindir)/initdb" -D "$dir/data" -A trust -U postgres --no-sync -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; nova_die "initdb failed"; }
  {
    echo "port = $port"
    echo "unix_socket_directories = '$dir'"
    echo "listen_addresses = '127.0.0.1'"
    echo "shared_preload_libraries = 'nova'"
    echo "nova.database = 'nova'"
    echo "fsync = off"
    echo "max_connections = 50"
    echo "log_line_prefix = '%m [%p] %q%a '"
    echo "logging_collector = off"
    echo "max_wal_senders = 4"
    echo "wal_level = replica"
    for line in "$@"; do echo "$line"; done
  } | nova_as_run_user tee -a "$dir/data/postgresql.conf" >/dev/null
  echo "local replication all trust" | nova_as_run_user tee -a "$dir/data/pg_hba.conf" >/dev/null
  echo "$port" > "$dir/port"
}

nova_cluster_start() {
  local dir="$1"
  nova_as_run_user "$(nova_pg_bindir)/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null \
    || { tail -50 "$dir/server.log" >&2; return 1; }
}

# nova_cluster_stop DIR [fast|immediate]
nova_cluster_stop() {
  local dir="$1" mode="${2:-fast}"
  [ -f "$dir/data/postmaster.pid" ] || return 0
  nova_as_run_user "$(nova_pg_bindir)/pg_ctl" -D "$dir/data" -m "$mode" -w -t 60 stop >/dev/null 2>&1 || true
}

# Environment for psql & co. against the cluster in DIR.
nova_cluster_env() {
  local dir="$1"
  export PGHOST="$dir" PGPORT="$(cat "$dir/port")" PGUSER=postgres PGDATABASE="${2:-nova}"
  export PATH="$(nova_pg_bindir):$PATH"
}

# psql that stops at the first error, quiet, unaligned.
nova_psql() { psql -X -v ON_ERROR_STOP=1 -q -At "$@"; }

# wait_for DEADLINE_SECONDS DESCRIPTION COMMAND... : poll until COMMAND succeeds.
nova_wait_for() {
  local deadline=$(( $(date +%s) + $1 )) what="$2"; shift 2
  while ! "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -ge "$deadline" ] && { nova_log "timed out waiting for: $what"; return 1; }
    sleep 0.1
  done
}

# For test/e2e and bench scripts: a fresh preloaded cluster with database `nova`
# and the extension created; stopped (and removed unless NOVA_KEEP=1) on exit.
#   nova_test_cluster NAME [extra postgresql.conf lines...]
#   sets NOVA_CLUSTER (its directory) and the PG* environment.
nova_test_cluster() {
  local name="$1"; shift
  NOVA_CLUSTER="$(nova_tmpdir "$name")"
  NOVA_CLEANUP_DIRS+=("$NOVA_CLUSTER")
  trap nova_test_cleanup EXIT
  nova_cluster_init "$NOVA_CLUSTER" "$@"
  nova_cluster_start "$NOVA_CLUSTER" || nova_die "cluster did not start"
  nova_cluster_env "$NOVA_CLUSTER" nova
  [ "${NOVA_HOSTILE:-0}" = 1 ] && nova_hostile_prepare
  createdb nova 2>/dev/null || true
  nova_psql -c "CREATE EXTENSION IF NOT EXISTS nova" >/dev/null
}
NOVA_CLEANUP_DIRS=()
NOVA_CLEANUP_CMDS=()
nova_test_cleanup() {
  local c d
  for c in "${NOVA_CLEANUP_CMDS[@]}"; do eval "$c" >/dev/null 2>&1 || true; done
  for d in "${NOVA_CLEANUP_DIRS[@]}"; do
    nova_cluster_stop "$d" immediate
    if [ -n "${NOVA_HOSTILE_REPORT:-}" ] && [ -f "$d/server.log" ]; then
      # A shadow reached from nova, or a crash (signal 9 is a test's own kill -9).
      grep -E 'LOG:  nova-hostile-(shadow|stored): |terminated by signal' "$d/server.log" | grep -v 'terminated by signal 9:' \
        >>"$NOVA_HOSTILE_REPORT" || true
    fi
    if [ "${NOVA_KEEP:-0}" = 1 ]; then nova_log "kept $d"; else rm -rf "$d"; fi
  done
}

# The hostile database (test/hostile/setup.sql, tools/test.sh hostile): shadow
# operators and functions in schema `hostile`, before pg_catalog in every role's
# search_path, in template1 so that every database created afterwards has them.
# `public` stays the first schema so that the tests' own CREATE TABLE / CREATE
# EXTENSION land where they do normally (public holds no pg_catalog shadows, so
# for nova's unqualified names `hostile` still comes before pg_catalog). Needs the
# PG* environment of a running cluster (superuser).
nova_hostile_names() {
  { grep -ohE '\b[a-z_][a-z0-9_]*[[:space:]]*\(' "$NOVA_REPO"/src/sql/*.sql "$NOVA_REPO"/src/pg/*.cpp "$NOVA_REPO"/bgworker/*.cpp \
      | sed 's/[[:space:](]//g'
    # functions nova's SQL is likely to grow into
    printf '%s\n' now clock_timestamp statement_timestamp transaction_timestamp octet_length length lower upper \
      gen_random_uuid jsonb_typeof to_jsonb jsonb_build_object format array_length string_to_array array_to_string \
      current_setting set_config pg_has_role has_table_privilege quote_ident quote_literal quote_nullable replace \
      split_part regexp_replace jsonb_set pg_column_size coalesce jsonb_array_length jsonb_object_keys
  } | sort -u | paste -sd, -
}
# A hostile test's databases all hold schema `hostile` (from template1): it is the
# environment, not the test's data, so a dump leaves it out (restoring it into a
# database created from template1 would collide with the copy already there).
if [ "${NOVA_HOSTILE:-0}" = 1 ]; then
  pg_dump() { command pg_dump --exclude-schema=hostile "$@"; }
fi
nova_hostile_prepare() {
  psql -X -q -v ON_ERROR_STOP=1 -d template1 -v names="$(nova_hostile_names)" -f "$NOVA_REPO/test/hostile/setup.sql" >/dev/null \
    || nova_die "hostile setup failed"
  psql -X -q -v ON_ERROR_STOP=1 -d template1 \
    -c "ALTER DATABASE template1 SET search_path = public, hostile, pg_catalog" \
    -c "ALTER ROLE ALL SET search_path = public, hostile, pg_catalog" >/dev/null || nova_die "hostile search_path failed"
}

# nova_check_key_order TOPIC: consume TOPIC and check it against public.items
# (tools/check_key_order.py): nothing lost, each key's values in order of first
# appearance (duplicates allowed), last message per key = latest row.
nova_check_key_order() {
  nova_kafka_consume "$1" 60 >"$NOVA_CLUSTER/items.jsonl"
  nova_psql -c "SELECT json_build_object('key', id::text, 'payload', to_jsonb(i)) FROM public.items i" >"$NOVA_CLUSTER/final.jsonl"
  /usr/bin/python3 "$NOVA_REPO/tools/check_key_order.py" "$NOVA_CLUSTER/items.jsonl" "$NOVA_CLUSTER/final.jsonl"
}
