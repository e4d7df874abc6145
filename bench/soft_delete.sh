#!/usr/bin/env bash
# Soft delete: DELETE through nova's C++ trigger vs the floor (a plain
# `UPDATE … SET deleted_at = now(), deleted_by = current_user`, no trigger, no audit)
# vs a hand-written PL/pgSQL BEFORE DELETE trigger doing nova's work
# (bench/plpgsql_soft_delete.sql). Also a "floor + audit" row: the plain UPDATE
# plus a keys-only audit INSERT in one statement (a data-modifying CTE), i.e. the
# least work a client could do that still writes the audit trail
# (docs/soft-delete.md), and nova on a table enabled with `audit => false`
# (compare with the floor).
#
# pgbench, 2 clients, synchronous_commit = off, prepared statements; each
# transaction soft-deletes one row never deleted before (per-client counters over
# disjoint id ranges); rounds of every variant interleaved, in one cluster.
#
#   bash bench/soft_delete.sh                 # 5 rounds × 10 s per variant
#   ROUNDS=3 SECONDS_PER_RUN=5 bash bench/soft_delete.sh
set -euo pipefail
source "$(dirname "$0")/../tools/lib.sh"
cd "$NOVA_REPO"

ROUNDS="${ROUNDS:-5}"
SECS="${SECONDS_PER_RUN:-10}"
SPAN="${SPAN:-400000}"          # ids reserved per run (must exceed transactions per run)
ROWS=$(( ROUNDS * SPAN ))

nova_ensure_deps
nova_build
nova_install
nova_test_cluster bench_sd "synchronous_commit = off" "shared_buffers = 256MB" "max_wal_size = 4GB" "checkpoint_timeout = 30min" \
  "log_min_messages = warning"

nova_log "loading $ROWS rows into each of 5 tables"
nova_psql >/dev/null <<SQL
SET client_min_messages = warning;
CREATE TABLE sd_nova   (id bigint PRIMARY KEY, author_id bigint NOT NULL, body text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE sd_floor  (LIKE sd_nova INCLUDING ALL);
CREATE TABLE sd_floor_audit (LIKE sd_nova INCLUDING ALL);
CREATE TABLE sd_plpgsql (LIKE sd_nova INCLUDING ALL);
CREATE TABLE sd_nova_noaudit (LIKE sd_nova INCLUDING ALL);
SELECT nova.enable_soft_delete('sd_nova', 'author_id');
SELECT nova.enable_soft_delete('sd_nova_noaudit', 'author_id', audit => false);
ALTER TABLE sd_floor   ADD deleted_at timestamptz, ADD deleted_by text, ADD deleted_op bigint;
ALTER TABLE sd_floor_audit ADD deleted_at timestamptz, ADD deleted_by text, ADD deleted_op bigint;
ALTER TABLE sd_plpgsql ADD deleted_at timestamptz, ADD deleted_by text, ADD deleted_op bigint;
\i bench/plpgsql_soft_delete.sql
CREATE TRIGGER soft_delete BEFORE DELETE ON sd_plpgsql FOR EACH ROW EXECUTE FUNCTION bench_plpgsql_soft_delete();
INSERT INTO sd_nova (id, author_id, body) SELECT g, g % 10000, 'post body number ' || g FROM generate_series(1, $ROWS) g;
INSERT INTO sd_floor SELECT * FROM sd_nova;
INSERT INTO sd_floor_audit SELECT * FROM sd_nova;
INSERT INTO sd_plpgsql SELECT * FROM sd_nova;
INSERT INTO sd_nova_noaudit SELECT * FROM sd_nova;
VACUUM ANALYZE;
CHECKPOINT;
SQL

W="$NOVA_CLUSTER/bench"; mkdir -p "$W"
# Per-client counter n (pgbench variables persist across a client's transactions):
# client c deletes ids base+1+c, base+3+c, … — each row once, no collisions.
HEAD='\set n :n + 1
\set id :base + 1 + :client_id + 2 * (:n - 1)'
printf '%s\nDELETE FROM sd_nova WHERE id = :id;\n' "$HEAD" >"$W/nova.sql"
printf '%s\nUPDATE sd_floor SET deleted_at = now(), deleted_by = current_user WHERE id = :id AND deleted_at IS NULL;\n' "$HEAD" >"$W/floor.sql"
cat >"$W/floor_audit.sql" <<PGB
$HEAD
WITH d AS (UPDATE sd_floor_audit SET deleted_at = now(), deleted_by = current_user WHERE id = :id AND deleted_at IS NULL RETURNING id)
INSERT INTO bench_audit_log (action, table_name, pk, actor) SELECT 'soft_delete', 'public.sd_floor_audit', jsonb_build_object('id', id), current_user FROM d;
PGB
printf '%s\nDELETE FROM sd_plpgsql WHERE id = :id;\n' "$HEAD" >"$W/plpgsql.sql"
printf '%s\nDELETE FROM sd_nova_noaudit WHERE id = :id;\n' "$HEAD" >"$W/nova_noaudit.sql"

VARIANTS=(floor nova_noaudit nova floor_audit plpgsql)
declare -A SUM
for v in "${VARIANTS[@]}"; do SUM[$v]=0; done
for r in $(seq 1 "$ROUNDS"); do
  base=$(( (r - 1) * SPAN ))
  for v in "${VARIANTS[@]}"; do
    tps=$(pgbench -n -M prepared -c 2 -j 2 -T "$SECS" -D n=0 -D base="$base" -f "$W/$v.sql" nova 2>"$W/$v.err" \
          | grep -oP 'tps = \K[0-9.]+(?= \(without)' ) || { cat "$W/$v.err"; exit 1; }
    SUM[$v]=$(echo "${SUM[$v]} + $tps" | bc -l)
    printf 'round %d  %-12s %10.0f tps\n' "$r" "$v" "$tps"
  done
done

# Every transaction must have soft-deleted a row (ids never ran past the table).
nova_psql -c "SELECT format('rows soft-deleted: floor %s, nova_noaudit %s, nova %s, plpgsql %s, floor_audit %s; nova audit rows %s',
  (SELECT count(*) FROM sd_floor WHERE deleted_at IS NOT NULL), (SELECT count(*) FROM sd_nova_noaudit WHERE deleted_at IS NOT NULL),
  (SELECT count(*) FROM sd_nova WHERE deleted_at IS NOT NULL),
  (SELECT count(*) FROM sd_plpgsql WHERE deleted_at IS NOT NULL), (SELECT count(*) FROM sd_floor_audit WHERE deleted_at IS NOT NULL),
  (SELECT count(*) FROM nova.audit_log))"

echo
echo "mean of $ROUNDS interleaved rounds × ${SECS}s, 2 clients, synchronous_commit = off:"
floor=$(echo "${SUM[floor]} / $ROUNDS" | bc -l)
floor_audit=$(echo "${SUM[floor_audit]} / $ROUNDS" | bc -l)
for v in "${VARIANTS[@]}"; do
  mean=$(echo "${SUM[$v]} / $ROUNDS" | bc -l)
  printf '  %-12s %10.0f tps   %.3f× floor   %.3f× floor_audit\n' "$v" "$mean" "$(echo "$mean / $floor" | bc -l)" \
    "$(echo "$mean / $floor_audit" | bc -l)"
done
echo "targets: nova_noaudit ≥ 0.97× floor, nova ≥ 0.97× floor_audit"
