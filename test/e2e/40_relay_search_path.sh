#!/usr/bin/env bash
# The relay is not a superuser and cannot be steered by the database's search_path
# (docs/security.md, "The relay's role"). A non-superuser database owner plants
# operators in a schema `evil` that shadow the ones the relay's SQL uses, and puts
# `evil` first in the database's search_path; after a restart the relay delivers every
# event and runs a snapshot of the database owner's table to the end, the shadows
# were never called (they record every call), every write to nova.snapshot_jobs was
# made by nova_relay (a trigger records current_user), nobody became superuser, and
# nova.status() names the relay's role.
# Then nova_relay is given more rights than it needs (CREATEDB, membership of another
# role): the relay refuses to run as it (state role_refused, last_error and a WARNING
# say why, nothing is delivered) and resumes once the extra rights are gone.
set -euo pipefail
source "$(dirname "$0")/../../tools/lib.sh"
source "$NOVA_REPO/tools/kafka.sh"
nova_test_cluster relay_search_path
nova_kafka_start --brokers 1 --topic nova.hostile:2 --topic nova.snap_src:2
rc=0
nova_psql >/dev/null <<'SQL'
CREATE ROLE dbowner LOGIN;
ALTER DATABASE nova OWNER TO dbowner;
CREATE TABLE public.expected (event_id uuid, key text, payload jsonb);
INSERT INTO public.expected
SELECT nova.publish('nova.hostile', 'k' || (g % 5), 'Hostile', jsonb_build_object('n', g)), 'k' || (g % 5),
       jsonb_build_object('n', g)
FROM generate_series(1, 40) g;
-- Who writes nova.snapshot_jobs: every UPDATE records current_user (run_as pins the
-- relay's search_path, so the names are qualified).
CREATE TABLE public.job_writers (who text, op text);
GRANT INSERT ON public.job_writers TO PUBLIC;
CREATE FUNCTION public.record_job_writer() RETURNS trigger LANGUAGE plpgsql AS
  $$ BEGIN INSERT INTO public.job_writers VALUES (current_user, TG_OP); RETURN NEW; END $$;
CREATE TRIGGER record_job_writer BEFORE UPDATE ON nova.snapshot_jobs
  FOR EACH ROW EXECUTE FUNCTION public.record_job_writer();
SQL
# A table of the database owner's, with rows from before enable_outbox (for a snapshot).
psql -X -q -v ON_ERROR_STOP=1 -U dbowner >/dev/null <<'SQL'
CREATE TABLE public.snap_src (id int PRIMARY KEY, v text NOT NULL);
INSERT INTO public.snap_src SELECT g, 'row ' || g FROM generate_series(1, 30) g;
SQL
nova_psql -c "SELECT nova.enable_outbox('public.snap_src', topic => 'nova.snap_src')" >/dev/null

# The database owner's trap: every shadow records its call and tries to make dbowner
# a superuser (which works only when the caller is one).
psql -X -q -v ON_ERROR_STOP=1 -U dbowner >/dev/null <<'SQL'
CREATE SCHEMA evil;
CREATE TABLE evil.calls (who text, op text, at timestamptz DEFAULT pg_catalog.now());
GRANT USAGE ON SCHEMA evil TO PUBLIC;
GRANT INSERT ON evil.calls TO PUBLIC;
CREATE FUNCTION evil.trap(op text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO evil.calls (who, op) VALUES (current_user, op);
  BEGIN
    EXECUTE 'ALTER ROLE dbowner SUPERUSER';
  EXCEPTION WHEN OTHERS THEN NULL;
  END;
END $$;
CREATE FUNCTION evil.le_tstz(a timestamptz, b timestamptz) RETURNS boolean LANGUAGE plpgsql AS
  $$ BEGIN PERFORM evil.trap('<= timestamptz'); RETURN a OPERATOR(pg_catalog.<=) b; END $$;
CREATE FUNCTION evil.gt_tstz(a timestamptz, b timestamptz) RETURNS boolean LANGUAGE plpgsql AS
  $$ BEGIN PERFORM evil.trap('> timestamptz'); RETURN a OPERATOR(pg_catalog.>) b; END $$;
CREATE FUNCTION evil.eq_int8(a bigint, b bigint) RETURNS boolean LANGUAGE plpgsql AS
  $$ BEGIN PERFORM evil.trap('= bigint'); RETURN a OPERATOR(pg_catalog.=) b; END $$;
CREATE FUNCTION evil.lt_int8(a bigint, b bigint) RETURNS boolean LANGUAGE plpgsql AS
  $$ BEGIN PERFORM evil.trap('< bigint'); RETURN a OPERATOR(pg_catalog.<) b; END $$;
CREATE FUNCTION evil.gt_int4(a int, b int) RETURNS boolean LANGUAGE plpgsql AS
  $$ BEGIN PERFORM evil.trap('> int'); RETURN a OPERATOR(pg_catalog.>) b; END $$;
CREATE FUNCTION evil.eq_text(a text, b text) RETURNS boolean LANGUAGE plpgsql AS
  $$ BEGIN PERFORM evil.trap('= text'); RETURN a OPERATOR(pg_catalog.=) b; END $$;
CREATE OPERATOR evil.<= (LEFTARG = timestamptz, RIGHTARG = timestamptz, FUNCTION = evil.le_tstz);
CREATE OPERATOR evil.> (LEFTARG = timestamptz, RIGHTARG = timestamptz, FUNCTION = evil.gt_tstz);
CREATE OPERATOR evil.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = evil.eq_int8);
CREATE OPERATOR evil.< (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = evil.lt_int8);
CREATE OPERATOR evil.> (LEFTARG = int, RIGHTARG = int, FUNCTION = evil.gt_int4);
CREATE OPERATOR evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = evil.eq_text);
ALTER DATABASE nova SET search_path = evil, pg_catalog, public;
SQL

# The trap works: a new session that writes `<=` unqualified calls the shadow.
[ "$(psql -X -At -U dbowner -c "SELECT pg_catalog.now() <= pg_catalog.now()")" = t ] || nova_die "trap not callable"
calls="$(psql -X -At -U dbowner -c "SELECT pg_catalog.count(*) FROM evil.calls")"
[ "$calls" = 1 ] || nova_die "the trap did not record its call ($calls): test too weak"
psql -X -q -U dbowner -c "TRUNCATE evil.calls"

# Restart: the relay's new session gets the database's search_path.
nova_cluster_stop "$NOVA_CLUSTER"
nova_cluster_start "$NOVA_CLUSTER" || nova_die "restart failed"
nova_kafka_configure_relay
nova_relay_wait_ready 30 || nova_die "relay did not start: $(nova_psql -c 'SELECT nova.status()')"
nova_relay_wait_drained 60 || { echo "FAIL: not drained: $(nova_psql -c 'SELECT nova.status()')"; rc=1; }
# A rotation runs SQL too: wait for one (every 10 s) so its statements are covered.
nova_wait_for 30 "a rotation check" bash -c \
  "grep -q 'nova relay: outbox rotation postponed' '$NOVA_CLUSTER/server.log' || \
   [ \"\$(psql -X -At -c \"SELECT nova.status()->>'rotations'\")\" -gt 0 ]" || true

nova_kafka_check nova.hostile \
  "SELECT pg_catalog.json_build_object('event_id', event_id, 'key', key, 'payload', payload) FROM public.expected" "" \
  || rc=1
# A snapshot under the hostile search_path: bookkeeping as nova_relay, rows read as their owner.
snap="$(nova_psql -c "SELECT nova.snapshot('public.snap_src', batch_size => 7)")"
snap_done() { [ "$(nova_psql -c "SELECT state FROM nova.snapshots WHERE id OPERATOR(pg_catalog.=) $snap")" = done ]; }
nova_wait_for 60 "snapshot done" snap_done \
  || { echo "FAIL: snapshot not done: $(nova_psql -c "SELECT row_to_json(s) FROM nova.snapshots s WHERE id OPERATOR(pg_catalog.=) $snap")"; rc=1; }
nova_relay_wait_drained 60 || { echo "FAIL: snapshot events not drained"; rc=1; }
echo "snapshot: $(nova_psql -c "SELECT row_to_json(s) FROM nova.snapshots s WHERE id OPERATOR(pg_catalog.=) $snap")"
[ "$(nova_psql -c "SELECT rows_done FROM nova.snapshots WHERE id OPERATOR(pg_catalog.=) $snap")" = 30 ] || { echo "FAIL: snapshot rows_done"; rc=1; }
writers="$(nova_psql -c "SELECT pg_catalog.string_agg(DISTINCT who, ',') || ' x' || pg_catalog.count(*) FROM public.job_writers")"
echo "nova.snapshot_jobs written by: $writers"
[ "$(nova_psql -c "SELECT pg_catalog.count(*) FILTER (WHERE who OPERATOR(pg_catalog.=) 'nova_relay') OPERATOR(pg_catalog.>=) 5
                    AND pg_catalog.count(*) FILTER (WHERE who OPERATOR(pg_catalog.<>) 'nova_relay') OPERATOR(pg_catalog.=) 0
                   FROM public.job_writers")" = t ] \
  || { echo "FAIL: the snapshot bookkeeping did not run (only) as nova_relay: $writers"; rc=1; }
snap_keys="$(nova_kafka_consume nova.snap_src 30 | /usr/bin/python3 -c '
import json, sys
ks = set()
for l in sys.stdin:
    m = json.loads(l)
    h = m.get("headers") or []
    if dict(zip(h[0::2], h[1::2])).get("snapshot") == "true": ks.add(m["key"])
print(len(ks))')"
echo "snapshot keys in Kafka: $snap_keys"
[ "$snap_keys" = 30 ] || { echo "FAIL: $snap_keys of 30 rows reached Kafka as snapshot events"; rc=1; }

calls="$(nova_psql -c "SELECT pg_catalog.count(*) FROM evil.calls")"
supers="$(nova_psql -c "SELECT pg_catalog.string_agg(rolname, ',') FROM pg_catalog.pg_roles WHERE rolsuper")"
role="$(nova_psql -c "SELECT nova.status()->>'role'")"
echo "shadow calls: $calls; superusers: $supers; relay role: $role"
[ "$calls" = 0 ] || { echo "FAIL: the relay called the shadow operators:"; nova_psql -c "SELECT * FROM evil.calls"; rc=1; }
[ "$supers" = postgres ] || { echo "FAIL: a role became superuser: $supers"; rc=1; }
[ "$role" = nova_relay ] || { echo "FAIL: nova.status() role is '$role'"; rc=1; }
[ "$(nova_psql -c "SELECT rolsuper OR rolcanlogin FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) 'nova_relay'")" = f ] \
  || { echo "FAIL: nova_relay may log in or is a superuser"; rc=1; }

# An over-privileged nova_relay is refused: nothing runs as it, state and last_error say why.
nova_psql -c "ALTER ROLE nova_relay CREATEDB" -c "GRANT dbowner TO nova_relay" >/dev/null
nova_relay_wait_state 10 role_refused || { echo "FAIL: relay not refusing: $(nova_psql -c 'SELECT nova.status()')"; rc=1; }
nova_psql -c "SELECT nova.publish('nova.hostile', 'refused', 'Hostile', '{\"n\": 0}')" >/dev/null
sleep 3
echo "refused: $(nova_psql -c "SELECT nova.status() - 'snapshots'")"
[ "$(nova_psql -c "SELECT pg_catalog.count(*) FROM nova.outbox")" = 1 ] || { echo "FAIL: the relay delivered while its role was refused"; rc=1; }
[ "$(nova_relay_state)" = role_refused ] || { echo "FAIL: state $(nova_relay_state), expected role_refused"; rc=1; }
case "$(nova_psql -c "SELECT nova.status()->>'last_error'")" in
  *'"nova_relay" has more rights than the relay needs (CREATEDB, member of "dbowner")'*) ;;
  *) echo "FAIL: last_error does not say why"; rc=1 ;;
esac
[ -z "$(nova_psql -c "SELECT nova.status()->>'role'")" ] || { echo "FAIL: status names a role while refusing"; rc=1; }
grep -q 'WARNING:  nova relay: role "nova_relay" has more rights than the relay needs' "$NOVA_CLUSTER/server.log" \
  || { echo "FAIL: no WARNING logged"; rc=1; }
nova_psql -c "ALTER ROLE nova_relay NOCREATEDB" -c "REVOKE dbowner FROM nova_relay" >/dev/null
nova_relay_wait_drained 15 || { echo "FAIL: not delivered after the role was fixed: $(nova_psql -c 'SELECT nova.status()')"; rc=1; }
[ "$(nova_psql -c "SELECT nova.status()->>'role'")" = nova_relay ] || { echo "FAIL: role not back to nova_relay"; rc=1; }
echo "after the fix: $(nova_relay_state), role $(nova_psql -c "SELECT nova.status()->>'role'")"
exit $rc
