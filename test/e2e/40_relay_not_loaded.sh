#!/usr/bin/env bash
# Without shared_preload_libraries the relay does not run and nova.status() says
# not_loaded (no crash, no error); retry_dead and the outbox still work.
set -euo pipefail
source "$(dirname "$0")/../../tools/lib.sh"
nova_test_cluster relay_not_loaded "shared_preload_libraries = ''"
export PGOPTIONS="-c client_min_messages=error"   # nova.database is dropped with a WARNING
rc=0
state="$(nova_psql -c "SELECT nova.status()->>'state'")"
echo "state: $state"
[ "$state" = not_loaded ] || { echo "FAIL: state $state"; rc=1; }
row="$(nova_psql -c "SELECT pending, delivered IS NULL, breaker IS NULL FROM nova.relay")"
[ "$row" = "0|t|t" ] || { echo "FAIL: nova.relay row $row"; rc=1; }
nova_psql -c "SELECT nova.publish('nova.x', 'k', 'X', '{}')" >/dev/null
[ "$(nova_psql -c "SELECT nova.status()->>'pending'")" = 1 ] || { echo "FAIL: pending"; rc=1; }
[ "$(nova_psql -c "SELECT nova.retry_dead()")" = 0 ] || { echo "FAIL: retry_dead"; rc=1; }
[ "$(nova_psql -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'nova relay'")" = 0 ] || { echo "FAIL: relay runs"; rc=1; }
exit $rc
