#!/usr/bin/env bash
# Outbox trigger overhead: single-row INSERTs into a copy of the sample `posts`
# table (identity key, FK to users, two secondary indexes) with
#   plain    no trigger
#   nova     nova.enable_outbox() — the C++ row trigger
# and, to justify the write path, with one extra statement per transaction that
# picks it (pgbench cannot run a statement once per connection):
#   nova_fast_sel  SELECT nova._outbox_fast_path(true);  + INSERT (direct partition insert)
#   nova_spi_sel   SELECT nova._outbox_fast_path(false); + INSERT (SPI INSERT into nova.outbox)
#   plpgsql  a hand-written PL/pgSQL outbox trigger (bench/plpgsql_outbox.sql)
#   cte      no trigger: the application writes the row and its event in one statement
#            (a data-modifying CTE inserting into nova.outbox), the least a hand-written
#            transactional outbox can cost
# Same cluster, same run, interleaved rounds; prints TPS and ratios vs plain.
# On a shared machine TPS swings with other load, so the script also reports
# the server's CPU time per transaction (all cluster processes, from /proc:
# the postmaster's own and reaped children's times plus live children's) and the
# ratio plain/variant of it — the throughput ratio a CPU-bound server would see.
# The relay stays idle (nova.kafka_brokers is empty), so the outbox only grows;
# it is truncated before every measurement.
# Then (RELAY=1, the default) the same plain / nova / plpgsql rounds with the relay
# configured and delivering to the embedded Kafka (1 broker): each measurement runs
# until the outbox is drained again, so its server CPU per transaction is the
# whole cost of an event — trigger, storage, the relay's claim, delivery and
# release — next to the same figure for the PL/pgSQL trigger (whose events the relay
# delivers too). Kafka's own CPU (a separate process) is not counted.
#
#   bash bench/outbox_insert.sh                     3 rounds x 20 s per variant, 2 clients
#   ROUNDS=5 SECONDS_PER_RUN=30 CLIENTS=2 bash bench/outbox_insert.sh
#   RELAY=0 bash bench/outbox_insert.sh               without the relay phase
set -euo pipefail
source "$(dirname "$0")/../tools/lib.sh"
cd "$NOVA_REPO"
ROUNDS="${ROUNDS:-3}"
SECONDS_PER_RUN="${SECONDS_PER_RUN:-20}"
CLIENTS="${CLIENTS:-2}"
RELAY="${RELAY:-1}"

nova_ensure_deps
nova_build
nova_install
nova_test_cluster bench_outbox "synchronous_commit = off" "shared_buffers = 256MB" "max_wal_size = 4GB" \
  "checkpoint_timeout = 30min" "log_min_messages = warning"
nova_psql -f examples/nova_schema.sql >/dev/null
nova_psql -f bench/plpgsql_outbox.sql >/dev/null
nova_psql >/dev/null <<'SQL'
INSERT INTO users (username, display_name, email)
SELECT 'user' || g, 'User ' || g, 'user' || g || '@example.com' FROM generate_series(1, 1000) g;
DO $$
DECLARE v text;
BEGIN
  FOREACH v IN ARRAY ARRAY['plain', 'nova', 'plpgsql', 'cte'] LOOP
    EXECUTE format('CREATE TABLE posts_%s (LIKE posts INCLUDING ALL)', v);
    EXECUTE format('ALTER TABLE posts_%s ADD FOREIGN KEY (author_id) REFERENCES users (id) ON DELETE CASCADE', v);
  END LOOP;
END $$;
SELECT nova.enable_outbox('posts_nova', topic => 'nova.posts', entity => 'Post');
CREATE TRIGGER outbox AFTER INSERT OR UPDATE OR DELETE ON posts_plpgsql
  FOR EACH ROW EXECUTE FUNCTION bench_plpgsql_outbox('nova.posts', 'Post', 'id');
SQL

WORK="$(nova_tmpdir bench-outbox)"; NOVA_CLEANUP_DIRS+=("$WORK")
for v in plain nova plpgsql; do
  cat >"$WORK/$v.sql" <<EOF
\set aid random(1, 1000)
INSERT INTO posts_$v (author_id, body) VALUES (:aid, 'hello from the outbox benchmark, a post of typical length #' || :aid);
EOF
done
cat >"$WORK/cte.sql" <<'EOF'
\set aid random(1, 1000)
WITH p AS (INSERT INTO posts_cte (author_id, body) VALUES (:aid, 'hello from the outbox benchmark, a post of typical length #' || :aid) RETURNING *) INSERT INTO nova.outbox (topic, key, event_type, payload, correlation_id, actor, source) SELECT 'nova.posts', p.id::text, 'PostCreated', to_jsonb(p), nova.correlation_id(), session_user, 'bench.public.posts_cte' FROM p;
EOF
{ echo 'SELECT nova._outbox_fast_path(true);'; cat "$WORK/nova.sql"; } >"$WORK/nova_fast_sel.sql"
{ echo 'SELECT nova._outbox_fast_path(false);'; cat "$WORK/nova.sql"; } >"$WORK/nova_spi_sel.sql"
VARIANTS=(plain nova plpgsql cte nova_fast_sel nova_spi_sel)

# CPU clock ticks used so far by the whole cluster.
cluster_ticks() {
  local pm; pm=$(head -1 "$NOVA_CLUSTER/data/postmaster.pid")
  { sed 's/^.*) //' "/proc/$pm/stat" | awk '{ print $12 + $13 + $14 + $15 }'
    for c in $(pgrep -P "$pm"); do sed 's/^.*) //' "/proc/$c/stat" 2>/dev/null | awk '{ print $12 + $13 }'; done
  } | awk '{ s += $1 } END { print s }'
}
HZ=$(getconf CLK_TCK)

# One phase: ROUNDS interleaved rounds of the variants, then the table of means.
#   phase LABEL RELAYED VARIANT...   (RELAYED=1: each run lasts until the relay has
#   drained the outbox, and the table adds the CPU per event against plain's)
phase() {
  local label="$1" relayed="$2"; shift 2
  local -a vs=("$@")
  local -A sum cpu txn
  local v r t0 t1 out tps n us
  for v in "${vs[@]}"; do sum[$v]=0; cpu[$v]=0; txn[$v]=0; done
  for r in $(seq 1 "$ROUNDS"); do
    for v in "${vs[@]}"; do
      if [ "$relayed" = 1 ]; then nova_psql -c "CHECKPOINT" >/dev/null
      else nova_psql -c "TRUNCATE nova.outbox" -c "CHECKPOINT" >/dev/null; fi
      t0=$(cluster_ticks)
      out=$(pgbench -n -M prepared -c "$CLIENTS" -j "$CLIENTS" -T "$SECONDS_PER_RUN" -f "$WORK/$v.sql" 2>&1) \
        || { echo "$out"; nova_die "pgbench failed for $v"; }
      [ "$relayed" = 1 ] && { nova_relay_wait_drained 300 || nova_die "outbox not drained after $v"; }
      sleep 0.5  # let the postmaster reap the benchmark's backends (their CPU moves to cutime)
      t1=$(cluster_ticks)
      tps=$(grep -oP 'tps = \K[0-9.]+(?= \(without)' <<<"$out")
      n=$(grep -oP 'number of transactions actually processed: \K[0-9]+' <<<"$out")
      us=$(awk -v d=$((t1 - t0)) -v hz="$HZ" -v n="$n" 'BEGIN { printf "%.1f", d * 1e6 / hz / n }')
      printf 'round %d  %-13s %10.1f tps  %7.1f us server CPU/txn%s\n' "$r" "$v" "$tps" "$us" \
        "$([ "$relayed" = 1 ] && echo ' (relay included)')"
      sum[$v]=$(awk -v a="${sum[$v]}" -v b="$tps" 'BEGIN { print a + b }')
      cpu[$v]=$((cpu[$v] + t1 - t0)); txn[$v]=$((txn[$v] + n))
    done
  done
  local plain plain_cpu
  plain=$(awk -v s="${sum[plain]}" -v n="$ROUNDS" 'BEGIN { print s / n }')
  plain_cpu=$(awk -v c="${cpu[plain]}" -v n="${txn[plain]}" -v hz="$HZ" 'BEGIN { print c * 1e6 / hz / n }')
  echo
  echo "$label:"
  printf '%-13s %10s %8s %12s %13s%s\n' variant "mean tps" "vs plain" "CPU us/txn" "CPU vs plain" \
    "$([ "$relayed" = 1 ] && printf ' %15s' 'CPU us/event')"
  for v in "${vs[@]}"; do
    awk -v s="${sum[$v]}" -v n="$ROUNDS" -v p="$plain" -v v="$v" -v c="${cpu[$v]}" -v t="${txn[$v]}" -v hz="$HZ" \
        -v pc="$plain_cpu" -v relayed="$relayed" 'BEGIN { m = s / n; u = c * 1e6 / hz / t;
          printf "%-13s %10.1f %8.3f %12.1f %13.3f", v, m, m / p, u, pc / u;
          if (relayed == 1) printf " %15s", (v == "plain") ? "-" : sprintf("%.1f", u - pc);
          printf "\n" }'
  done
}

nova_log "outbox insert benchmark: $ROUNDS rounds x ${SECONDS_PER_RUN}s per variant, $CLIENTS clients"
phase "relay idle (nova.kafka_brokers empty)" 0 "${VARIANTS[@]}"
n_events=$(nova_psql -c "SELECT count(*) FROM nova.outbox")
[ "$n_events" -gt 0 ] || nova_die "the last run wrote no outbox events"

[ "$RELAY" = 1 ] || exit 0

# ---- with the relay delivering ------------------------------------------------------
make -s tools >/dev/null
source "$NOVA_REPO/tools/kafka.sh"
nova_psql -c "TRUNCATE nova.outbox" >/dev/null
nova_kafka_start --brokers 1 --topic nova.posts:4
nova_kafka_configure_relay
nova_relay_wait_ready 30 || nova_die "relay did not start"
echo
nova_log "with the relay delivering: $ROUNDS rounds x ${SECONDS_PER_RUN}s per variant, each until the outbox is drained"
phase "with the relay delivering" 1 plain nova plpgsql cte
delivered=$(nova_psql -c "SELECT nova.status()->>'delivered'")
[ "$delivered" -gt 0 ] || nova_die "the relay delivered nothing"
echo "($delivered events delivered in all; CPU us/event = the variant's CPU per transaction minus plain's: what publishing one event costs in all)"
