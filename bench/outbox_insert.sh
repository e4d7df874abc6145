#!/usr/bin/env bash
# Outbox trigger overhead: single-row INSERTs into a copy of the sample `posts`
# table (identity key, FK to users, two secondary indexes) with
#   plain    no trigger
#   nova     nova.enable_outbox() — the C++ row trigger
#   nova_spi the same trigger forced onto its fallback write path (SPI INSERT
#            into nova.outbox instead of the direct partition insert)
#   plpgsql  a hand-written PL/pgSQL outbox trigger (bench/plpgsql_outbox.sql)
# Same cluster, same run, interleaved rounds; prints TPS and ratios vs plain.
# The relay stays idle (nova.kafka_brokers is empty), so the outbox only grows;
# it is truncated before every measurement.
#
#   bash bench/outbox_insert.sh                     3 rounds x 20 s per variant, 2 clients
#   ROUNDS=5 SECONDS_PER_RUN=30 CLIENTS=2 bash bench/outbox_insert.sh
set -euo pipefail
source "$(dirname "$0")/../tools/lib.sh"
cd "$NOVA_REPO"
ROUNDS="${ROUNDS:-3}"
SECONDS_PER_RUN="${SECONDS_PER_RUN:-20}"
CLIENTS="${CLIENTS:-2}"

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
  FOREACH v IN ARRAY ARRAY['plain', 'nova', 'plpgsql'] LOOP
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
# pgbench client variables persist across transactions: switch each connection once.
{ echo '\if :{?spi}'; echo '\else'; echo 'SELECT nova._outbox_fast_path(false);'; echo '\set spi 1'; echo '\endif'
  cat "$WORK/nova.sql"; } >"$WORK/nova_spi.sql"
VARIANTS=(plain nova nova_spi plpgsql)

declare -A SUM
for v in "${VARIANTS[@]}"; do SUM[$v]=0; done
nova_log "outbox insert benchmark: $ROUNDS rounds x ${SECONDS_PER_RUN}s per variant, $CLIENTS clients"
for r in $(seq 1 "$ROUNDS"); do
  for v in "${VARIANTS[@]}"; do
    nova_psql -c "TRUNCATE nova.outbox" -c "CHECKPOINT" >/dev/null
    tps=$(pgbench -n -M prepared -c "$CLIENTS" -j "$CLIENTS" -T "$SECONDS_PER_RUN" -f "$WORK/$v.sql" 2>&1 \
          | grep -oP 'tps = \K[0-9.]+(?= \(without)')
    printf 'round %d  %-9s %10.1f tps\n' "$r" "$v" "$tps"
    SUM[$v]=$(awk -v a="${SUM[$v]}" -v b="$tps" 'BEGIN { print a + b }')
  done
done
n_events=$(nova_psql -c "SELECT count(*) FROM nova.outbox")
[ "$n_events" -gt 0 ] || nova_die "the last run wrote no outbox events"
plain=$(awk -v s="${SUM[plain]}" -v n="$ROUNDS" 'BEGIN { print s / n }')
echo
printf '%-9s %10s %8s\n' variant "mean tps" "vs plain"
for v in "${VARIANTS[@]}"; do
  awk -v s="${SUM[$v]}" -v n="$ROUNDS" -v p="$plain" -v v="$v" 'BEGIN { m = s / n; printf "%-9s %10.1f %8.3f\n", v, m, m / p }'
done
