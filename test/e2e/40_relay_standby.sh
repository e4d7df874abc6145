#!/usr/bin/env bash
# A streaming standby (same preload, brokers configured) reports state `standby` and
# sends nothing; after `pg_ctl promote` its relay starts and delivers what was pending.
set -euo pipefail
source "$(dirname "$0")/../../tools/lib.sh"
source "$NOVA_REPO/tools/kafka.sh"
nova_test_cluster relay_primary   # nova.kafka_brokers stays empty here: the primary's relay does not send
PRIMARY="$NOVA_CLUSTER"
nova_kafka_start --brokers 1 --topic nova.standby:2
nova_psql >/dev/null <<'SQL'
CREATE TABLE public.expected (event_id uuid, key text, payload jsonb);
SQL
[ "$(nova_relay_state)" = unconfigured ] || nova_die "primary relay state $(nova_relay_state)"

# The standby: base backup with recovery settings, its own port, brokers configured.
STANDBY="$(nova_tmpdir relay_standby)"
NOVA_CLEANUP_DIRS+=("$STANDBY")
nova_as_run_user "$(nova_pg_bindir)/pg_basebackup" -h "$PGHOST" -p "$PGPORT" -U postgres -D "$STANDBY/data" -R -X stream --checkpoint=fast \
  || nova_die "pg_basebackup failed"
sport="$(nova_free_port)"; echo "$sport" >"$STANDBY/port"
{
  echo "port = $sport"
  echo "unix_socket_directories = '$STANDBY'"
  echo "nova.kafka_brokers = '$NOVA_KAFKA_BOOTSTRAP'"
} | nova_as_run_user tee -a "$STANDBY/data/postgresql.auto.conf" >/dev/null
nova_cluster_start "$STANDBY" || nova_die "standby did not start"
sby() { PGHOST="$STANDBY" PGPORT="$sport" nova_psql "$@"; }
nova_wait_for 30 "standby accepts connections" sby -c "SELECT 1"

rc=0
state="$(sby -c "SELECT nova.status()->>'state'")"
echo "standby state: $state"
[ "$state" = standby ] || { echo "FAIL: standby state is $state"; rc=1; }
[ "$(sby -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'nova relay'")" = 0 ] \
  || { echo "FAIL: a relay worker runs on the standby"; rc=1; }

# Write on the primary; wait until the standby replayed it.
nova_psql >/dev/null <<'SQL'
INSERT INTO public.expected
SELECT nova.publish('nova.standby', 'k' || (g % 7), 'StandbyEvent', jsonb_build_object('n', g)), 'k' || (g % 7), jsonb_build_object('n', g)
FROM generate_series(1, 200) g;
SQL
lsn="$(nova_psql -c "SELECT pg_current_wal_lsn()")"
nova_wait_for 30 "standby replay" bash -c "[ \"\$(PGHOST='$STANDBY' PGPORT='$sport' psql -X -At -c \"SELECT pg_last_wal_replay_lsn() >= '$lsn'\")\" = t ]" \
  || nova_die "standby did not catch up"
[ "$(sby -c "SELECT nova.status()->>'pending'")" = 200 ] || { echo "FAIL: standby does not see the backlog"; rc=1; }
sleep 2  # give a (wrong) relay time to send something
n="$(nova_kafka_consume nova.standby 20 | wc -l)"
echo "messages in Kafka before the promotion: $n"
[ "$n" = 0 ] || { echo "FAIL: something was sent before the promotion"; rc=1; }

# Fail over: stop the old primary, promote the standby.
nova_cluster_stop "$PRIMARY" fast
nova_as_run_user "$(nova_pg_bindir)/pg_ctl" -D "$STANDBY/data" -w promote >/dev/null || nova_die "promote failed"
export PGHOST="$STANDBY" PGPORT="$sport"
nova_relay_wait_state 60 idle running || { echo "FAIL: relay did not start after promotion: $(nova_psql -c 'SELECT nova.status()')"; rc=1; }
nova_relay_wait_drained 60 || nova_die "outbox not drained after promotion: $(nova_psql -c 'SELECT nova.status()')"
nova_kafka_check nova.standby \
  "SELECT json_build_object('event_id', event_id, 'key', key, 'topic', 'nova.standby', 'payload', payload) FROM public.expected" \
  "" || rc=1
echo "status after promotion: $(nova_psql -c 'SELECT nova.status()')"
exit $rc
