#!/usr/bin/env bash
# The relay is not a superuser and cannot be steered by the database's search_path
# (docs/security.md). A non-superuser database owner plants operators in a schema
# `evil` that shadow the ones the relay's SQL uses, and puts `evil` first in the
# database's search_path; after a restart the relay delivers every event, the shadows
# were never called (they record every call), nobody became superuser, and
# nova.status() names the relay's role.
set -euo pipefail
source "$(dirname "$0")/../../tools/lib.sh"
source "$NOVA_REPO/tools/kafka.sh"
nova_test_cluster relay_search_path
nova_kafka_start --brokers 1 --topic nova.hostile:2
rc=0
nova_psql >/dev/null <<'SQL'
CREATE ROLE dbowner LOGIN;
ALTER DATABASE nova OWNER TO dbowner;
CREATE TABLE public.expected (event_id uuid, key text, payload jsonb);
INSERT INTO public.expected
SELECT nova.publish('nova.hostile', 'k' || (g % 5), 'Hostile', jsonb_build_object('n', g)), 'k' || (g % 5),
       jsonb_build_object('n', g)
FROM generate_series(1, 40) g;
SQL

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
calls="$(nova_psql -c "SELECT pg_catalog.count(*) FROM evil.calls")"
supers="$(nova_psql -c "SELECT pg_catalog.string_agg(rolname, ',') FROM pg_catalog.pg_roles WHERE rolsuper")"
role="$(nova_psql -c "SELECT nova.status()->>'role'")"
echo "shadow calls: $calls; superusers: $supers; relay role: $role"
[ "$calls" = 0 ] || { echo "FAIL: the relay called the shadow operators:"; nova_psql -c "SELECT * FROM evil.calls"; rc=1; }
[ "$supers" = postgres ] || { echo "FAIL: a role became superuser: $supers"; rc=1; }
[ "$role" = nova_relay ] || { echo "FAIL: nova.status() role is '$role'"; rc=1; }
[ "$(nova_psql -c "SELECT rolsuper OR rolcanlogin FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) 'nova_relay'")" = f ] \
  || { echo "FAIL: nova_relay may log in or is a superuser"; rc=1; }
exit $rc
