#!/usr/bin/env bash
# Cost of event-schema validation on the outbox write path (not a test; never asserts on time).
# Same run, same payload; each figure is the best of three loops of N calls in one statement:
#   publish, no schema registered for the type      (the "costs ~nothing" path)
#   publish, nova.validate_events = off
#   publish, validated against the 9-property closed PostCreated schema
#   nova.validate_event alone (validation without the INSERT), with and without a schema
#   a hand-written PL/pgSQL check of the same rules (what a user would otherwise write)
#   NOVA_BENCH_CALLS=20000 bash bench/schemas.sh
set -euo pipefail
source "$(dirname "$0")/../tools/lib.sh"
nova_test_cluster bench_schemas
W="$(mktemp -d)"; NOVA_CLEANUP_CMDS+=("rm -rf '$W'")

nova_psql -c "SELECT nova.register_schema('PostCreated', pg_read_file('$NOVA_REPO/examples/schemas/PostCreated.json')::jsonb)" >/dev/null 2>&1 \
  || nova_psql -v s="$(cat "$NOVA_REPO/examples/schemas/PostCreated.json")" <<'SQL' >/dev/null
SELECT nova.register_schema('PostCreated', :'s'::jsonb);
SQL
nova_psql <<'SQL' >/dev/null
CREATE FUNCTION bench_plpgsql_check(p jsonb) RETURNS int LANGUAGE plpgsql AS $$
DECLARE k text;
BEGIN
  IF jsonb_typeof(p) <> 'object' THEN RAISE EXCEPTION 'expected object'; END IF;
  FOREACH k IN ARRAY ARRAY['id', 'author_id', 'body', 'visibility', 'created_at', 'updated_at'] LOOP
    IF NOT p ? k THEN RAISE EXCEPTION 'missing %', k; END IF;
  END LOOP;
  FOR k IN SELECT jsonb_object_keys(p) LOOP
    IF k NOT IN ('id','author_id','body','visibility','reply_to_id','created_at','updated_at','deleted_at','deleted_by') THEN
      RAISE EXCEPTION 'additional %', k; END IF;
  END LOOP;
  IF jsonb_typeof(p->'id') <> 'number' OR (p->>'id')::numeric < 1 OR (p->>'id')::numeric <> trunc((p->>'id')::numeric) THEN RAISE EXCEPTION 'id'; END IF;
  IF jsonb_typeof(p->'author_id') <> 'number' OR (p->>'author_id')::numeric < 1 THEN RAISE EXCEPTION 'author_id'; END IF;
  IF jsonb_typeof(p->'body') <> 'string' OR length(p->>'body') NOT BETWEEN 1 AND 10000 THEN RAISE EXCEPTION 'body'; END IF;
  IF p ? 'visibility' AND p->>'visibility' NOT IN ('public','followers','private') THEN RAISE EXCEPTION 'visibility'; END IF;
  IF jsonb_typeof(p->'created_at') <> 'string' THEN RAISE EXCEPTION 'created_at'; END IF;
  IF jsonb_typeof(p->'updated_at') <> 'string' THEN RAISE EXCEPTION 'updated_at'; END IF;
  IF jsonb_typeof(coalesce(p->'reply_to_id', 'null')) NOT IN ('number', 'null') THEN RAISE EXCEPTION 'reply_to_id'; END IF;
  PERFORM (p->>'created_at')::timestamptz, (p->>'updated_at')::timestamptz;
  RETURN 1;
END $$;
SQL

PAYLOAD='{"id": 42, "author_id": 7, "body": "hello, nova", "visibility": "public", "reply_to_id": null, "created_at": "2026-11-27T05:00:00.123456+00:00", "updated_at": "2026-11-27T05:00:00.123456+00:00", "deleted_at": null, "deleted_by": null}'
nova_psql <<'SQL' >/dev/null
CREATE FUNCTION bench_us(q text, n int) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz; best float8 := 'Infinity'; i int;
BEGIN
  FOR i IN 1..3 LOOP  -- best of three
    t0 := clock_timestamp();
    EXECUTE q USING n;
    best := least(best, extract(epoch FROM clock_timestamp() - t0) * 1e6 / n);
  END LOOP;
  RETURN best;
END $$;
SQL
N="${NOVA_BENCH_CALLS:-20000}"
us() {  # sql using $1 = n; [pgoptions]. Rolled back; the outbox is vacuumed first so runs start equal.
  nova_psql -c "VACUUM nova.outbox" >/dev/null
  PGOPTIONS="${2:-}" nova_psql -v p="$PAYLOAD" -v q="$1" -v n="$N" <<'SQL'
BEGIN;
SELECT round(bench_us(:'q', :n)::numeric, 2);
ROLLBACK;
SQL
}
pub() { echo "SELECT count(nova.publish('bench', '1', '$1', '$PAYLOAD'::jsonb)) FROM generate_series(1, \$1)"; }
val() { echo "SELECT count(nova.validate_event('$1', '$PAYLOAD'::jsonb)) FROM generate_series(1, \$1)"; }
base=$(us "SELECT count(*) FROM generate_series(1, \$1)")
p_none=$(us "$(pub NoSchema)")
p_off=$(us "$(pub PostCreated)" "-c nova.validate_events=off")
p_with=$(us "$(pub PostCreated)")
p_none2=$(us "$(pub NoSchema)")   # again, to show the run-to-run noise
v_none=$(us "$(val NoSchema)")
v_with=$(us "$(val PostCreated)")
v_plpgsql=$(us "SELECT count(bench_plpgsql_check('$PAYLOAD'::jsonb)) FROM generate_series(1, \$1)")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "microseconds per call (best of 3 x $N calls in one statement; loop overhead $base us)"
printf '%-55s %8s\n' "nova.publish, no schema for the type" "$p_none"
printf '%-55s %8s  (%sx)\n' "nova.publish, no schema (measured again)" "$p_none2" "$(ratio "$p_none2" "$p_none")"
printf '%-55s %8s  (%sx)\n' "nova.publish, nova.validate_events = off" "$p_off" "$(ratio "$p_off" "$p_none")"
printf '%-55s %8s  (%sx)\n' "nova.publish, validated against PostCreated" "$p_with" "$(ratio "$p_with" "$p_none")"
printf '%-55s %8s\n' "nova.validate_event, no schema" "$v_none"
printf '%-55s %8s\n' "nova.validate_event, PostCreated (9 props, closed)" "$v_with"
printf '%-55s %8s  (nova %sx faster)\n' "hand-written PL/pgSQL check of the same rules" "$v_plpgsql" "$(ratio "$v_plpgsql" "$v_with")"
