#!/usr/bin/env bash
# The upgrade stage (tools/test.sh upgrade; docs/operations.md, "Upgrading").
#
#  1. Cluster "old": CREATE EXTENSION nova VERSION '1.0' and fill it: pending
#     outbox events, a dead letter, soft-deleted rows with audit rows, JWT keys
#     and revocations, registered schemas, breaker configuration, cache entries.
#  2. With the new library and the catalog still at 1.0: the 1.0 SQL surface
#     works (outbox trigger, publish, soft delete, authenticate, the relay
#     delivers), and a path that needs the 1.1 catalog refuses with 55000 naming
#     ALTER EXTENSION nova UPDATE.
#  3. ALTER EXTENSION nova UPDATE, then:
#     (a) the catalog (test/upgrade/catalog.sh) equals a fresh install in
#         cluster "fresh" (roles are per cluster, so each gets its own);
#     (b) every row of every table survives (compared over the 1.0 columns);
#     (c) the relay delivers the events that were pending under 1.0.
# Exits non-zero with the reason (and the catalog diff) on failure.
set -euo pipefail
source "$(dirname "$0")/../../tools/lib.sh"
source "$NOVA_REPO/tools/kafka.sh"
HERE="$NOVA_REPO/test/upgrade"

fail() { echo "FAIL: $*"; exit 1; }
# psql that returns the SQLSTATE of an expected error (empty when the statement succeeded).
sqlstate_of() { psql -X -q -At -v VERBOSITY=sqlstate -c "$1" 2>&1 >/dev/null | sed -n 's/^ERROR: *//p' | head -1; }

start_cluster() {  # $1 name -> sets NOVA_CLUSTER and the PG* environment
  NOVA_CLUSTER="$(nova_tmpdir "$1")"
  NOVA_CLEANUP_DIRS+=("$NOVA_CLUSTER")
  trap nova_test_cleanup EXIT
  nova_cluster_init "$NOVA_CLUSTER" "max_prepared_transactions = 10"
  nova_cluster_start "$NOVA_CLUSTER" || nova_die "cluster $1 did not start"
  nova_cluster_env "$NOVA_CLUSTER" nova
  createdb nova
}

# ---- 1. a 1.0 install with data ---------------------------------------------------------
start_cluster upgrade_old
OLD="$NOVA_CLUSTER"
nova_psql -c "CREATE EXTENSION nova VERSION '1.0'"
[ "$(nova_psql -c "SELECT extversion FROM pg_extension WHERE extname = 'nova'")" = 1.0 ] || fail "not at 1.0"

nova_psql >/dev/null <<'SQL'
CREATE TABLE public.authors (id bigint PRIMARY KEY, name text NOT NULL);
CREATE TABLE public.posts (id bigint PRIMARY KEY, author_id bigint NOT NULL REFERENCES public.authors ON DELETE CASCADE,
                           body text NOT NULL, secret text);
SELECT nova.enable_outbox('public.authors');
SELECT nova.enable_outbox('public.posts', exclude_columns => '{secret}');
SET client_min_messages = warning;
SELECT nova.enable_soft_delete('public.posts', owner_column => 'author_id');
SELECT nova.enable_soft_delete('public.authors');

BEGIN;
SET LOCAL nova.correlation_id = 'fill-1.0';
INSERT INTO public.authors SELECT g, 'author ' || g FROM generate_series(1, 10) g;
INSERT INTO public.posts SELECT g, 1 + g % 10, 'post ' || g, 'x' FROM generate_series(1, 100) g;
UPDATE public.posts SET body = 'edited' WHERE id <= 5;
COMMIT;
-- soft deletes with audit rows: a cascade from an author to its posts, and one post
DELETE FROM public.authors WHERE id = 3;
DELETE FROM public.posts WHERE id = 1;
SELECT nova.publish('nova.explicit', 'k' || g, 'ThingHappened', jsonb_build_object('n', g), '{"tenant": "acme"}')
  FROM generate_series(1, 20) g;
-- a dead letter (as the relay leaves one after nova.relay_max_attempts failures)
WITH d AS (DELETE FROM nova.outbox WHERE id = (SELECT min(id) FROM nova.outbox WHERE topic = 'nova.explicit') RETURNING *)
INSERT INTO nova.outbox_dead (id, event_id, topic, key, event_type, payload, headers, correlation_id, traceparent,
                              actor, created_at, attempts, last_error, source, schema_version)
SELECT id, event_id, topic, key, event_type, payload, headers, correlation_id, traceparent, actor, created_at,
       10, 'Broker: simulated failure', source, schema_version FROM d;
-- JWT keys and revocations
INSERT INTO nova.jwt_keys (kid, algorithm, key, issuer) VALUES
  ('k1', 'HS256', 'upgrade-secret-0123456789abcdef-0123456789', 'https://issuer.example'),
  ('k0', 'HS256', 'retired-secret-0123456789abcdef-0123456789', NULL);
UPDATE nova.jwt_keys SET revoked_at = now() WHERE kid = 'k0';
SELECT nova.jwt_revoke('jti-revoked', now() + interval '1 day');
SELECT nova.jwt_revoke_subject('mallory');
-- registered schemas, breaker configuration, cache entries
SELECT nova.register_schema('ThingHappened', '{"type": "object", "additionalProperties": false, "properties": {"n": {"type": "integer"}}}');
SELECT nova.register_schema('ThingHappened', '{"type": "object", "additionalProperties": false, "properties": {"n": {"type": "integer"}, "m": {"type": "string"}}}');
SELECT nova.breaker_configure('payments', '{"failure_rate_threshold": 50, "wait_duration_in_open_state": "30s"}');
SELECT nova.cache_set('upgrade:greeting', 'hello from 1.0');
SQL

# ---- 2. the new library on the 1.0 catalog ------------------------------------------------
echo "library on a 1.0 catalog"
TOKEN="$(nova_psql -c "SELECT nova.jwt_sign(jsonb_build_object('sub', 'alice', 'iss', 'https://issuer.example',
           'exp', extract(epoch FROM now())::bigint + 3600), 'upgrade-secret-0123456789abcdef-0123456789',
           'HS256', '{\"kid\": \"k1\"}')")"
before="$(nova_psql -c "SELECT count(*) FROM nova.outbox")"
out="$(nova_psql <<SQL
BEGIN;
SELECT nova.authenticate('$TOKEN') ->> 'sub';
INSERT INTO public.posts VALUES (1001, 2, 'written under the 1.0 catalog', 's');
DELETE FROM public.posts WHERE id = 4;
SELECT deleted_by FROM public.posts WHERE id = 4;
COMMIT;
SELECT count(*) FROM nova.audit_log WHERE pk = '{"id": 4}' AND actor = 'alice';
SELECT nova.cache_get('upgrade:greeting');
SQL
)"
[ "$out" = "$(printf 'alice\nalice\n1\nhello from 1.0')" ] || fail "1.0 surface (authenticate, soft delete, audit, cache): got: $out"
after="$(nova_psql -c "SELECT count(*) FROM nova.outbox")"
# the insert and the soft delete each emitted one event
[ "$after" -eq $((before + 2)) ] || fail "outbox trigger on a 1.0 catalog: $before -> $after events"
# a revoked subject is still refused (28000) and nothing was written under its name
BAD="$(nova_psql -c "SELECT nova.jwt_sign(jsonb_build_object('sub', 'mallory', 'iss', 'https://issuer.example', 'iat', extract(epoch FROM now())::bigint - 60,
        'exp', extract(epoch FROM now())::bigint + 3600), 'upgrade-secret-0123456789abcdef-0123456789', 'HS256', '{\"kid\": \"k1\"}')")"
[ "$(sqlstate_of "SELECT nova.authenticate('$BAD')")" = 28000 ] || fail "revoked subject not refused on a 1.0 catalog: $(psql -X -At -c "SELECT nova.authenticate('$BAD')" 2>&1)"
# a path that needs the 1.1 catalog refuses with 55000 and names the command
msg="$(psql -X -q -At -c "SELECT nova._selftest_boundary('require_catalog:1.1')" 2>&1 || true)"
echo "$msg" | grep -q "nova's catalog is at version 1.0; run ALTER EXTENSION nova UPDATE" \
  || fail "require_catalog on a 1.0 catalog: $msg"
[ "$(sqlstate_of "SELECT nova._selftest_boundary('require_catalog:1.1')")" = 55000 ] || fail "require_catalog sqlstate"
[ "$(nova_psql -c "SELECT nova._selftest_boundary('require_catalog:1.0')")" = 100 ] || fail "require_catalog:1.0 on 1.0"
[ "$(nova_psql -c "SELECT nova._selftest_boundary('compare_versions')")" = 0 ] || fail "version comparison"

# The relay delivers on the 1.0 catalog: everything pending so far.
nova_kafka_start --brokers 1 --topic nova.posts:2 --topic nova.authors:1 --topic nova.explicit:1
nova_psql -c "SELECT event_id FROM nova.outbox ORDER BY 1" > "$OLD/pending-before-relay.txt"
nova_kafka_configure_relay
nova_relay_wait_ready 60 || fail "relay did not start on a 1.0 catalog: $(nova_psql -c 'SELECT nova.status()')"
nova_relay_wait_drained 120 || fail "relay did not drain on a 1.0 catalog: $(nova_psql -c 'SELECT nova.status()')"
consume_ids() { local t; for t in nova.posts nova.authors nova.explicit; do nova_kafka_consume "$t" 30; done \
  | /usr/bin/python3 -c '
import json, sys
for l in sys.stdin:
    if l.strip():
        m = json.loads(l); h = m["headers"]
        print(dict(zip(h[0::2], h[1::2]))["event-id"])' | sort -u; }
consume_ids > "$OLD/delivered-1.txt"
missing="$(comm -23 "$OLD/pending-before-relay.txt" "$OLD/delivered-1.txt" | wc -l)"
echo "relay on the 1.0 catalog: $(wc -l < "$OLD/pending-before-relay.txt") pending, $missing missing"
[ "$missing" -eq 0 ] || fail "events pending under 1.0 not delivered by the relay on the 1.0 catalog"

# Stop the relay sending (no brokers) and leave events pending for after the upgrade.
nova_psql -c "ALTER SYSTEM SET nova.kafka_brokers = ''" -c "SELECT pg_reload_conf()" >/dev/null
nova_relay_wait_state 60 unconfigured || fail "relay did not go unconfigured"
nova_psql >/dev/null <<'SQL'
INSERT INTO public.posts SELECT g, 1 + g % 10, 'pending post ' || g, 'x' FROM generate_series(2001, 2050) g;
UPDATE public.posts SET body = 'edited while pending' WHERE id = 2001;
DELETE FROM public.posts WHERE id = 2002;
SELECT nova.publish('nova.explicit', 'p' || g, 'ThingHappened', jsonb_build_object('n', g)) FROM generate_series(1, 10) g;
SQL
nova_psql -c "SELECT event_id FROM nova.outbox ORDER BY 1" > "$OLD/pending-at-upgrade.txt"
[ "$(wc -l < "$OLD/pending-at-upgrade.txt")" -eq 62 ] || fail "expected 62 events pending at the upgrade, got $(wc -l < "$OLD/pending-at-upgrade.txt")"

# Row snapshot over the 1.0 columns of every table in nova and public.
nova_psql > "$OLD/columns.txt" <<'SQL'
SELECT c.oid::regclass, string_agg(quote_ident(a.attname), ',' ORDER BY a.attnum)
  FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
 WHERE c.relnamespace IN ('nova'::regnamespace, 'public'::regnamespace) AND c.relkind = 'r'
 GROUP BY c.oid ORDER BY 1;
SQL
snapshot() {
  local rel cols
  while IFS='|' read -r rel cols; do
    printf '%s|%s\n' "$rel" "$(nova_psql -c "SELECT count(*) || ' rows, md5 ' || md5(coalesce(string_agg(r, E'\n' ORDER BY r), ''))
                                             FROM (SELECT ($cols)::text AS r FROM ONLY $rel t) s")"
  done < "$OLD/columns.txt"
}
snapshot > "$OLD/rows-before.txt"
# sequences go on from where they were
nova_psql -c "SELECT last_value FROM nova.outbox_id_seq" > "$OLD/seq-before.txt"

# ---- 3. ALTER EXTENSION nova UPDATE -------------------------------------------------------
echo "ALTER EXTENSION nova UPDATE"
out="$(psql -X -q -At <<'SQL' 2>&1
\set VERBOSITY sqlstate
SELECT nova._selftest_boundary('require_catalog:1.1');
ALTER EXTENSION nova UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'nova';
SELECT nova._selftest_boundary('require_catalog:1.1');
SQL
)"
[ "$out" = "$(printf 'ERROR:  55000\n1.1\n101')" ] \
  || fail "upgrade, or the same session seeing the new catalog version: $out"

# (b) every row survives
snapshot > "$OLD/rows-after.txt"
if ! diff -u "$OLD/rows-before.txt" "$OLD/rows-after.txt"; then fail "rows changed by the upgrade"; fi
echo "rows: $(wc -l < "$OLD/rows-after.txt") tables unchanged"
[ "$(nova_psql -c "SELECT nova.cache_get('upgrade:greeting')")" = "hello from 1.0" ] || fail "cache entry lost"
nova_psql -c "SELECT nova.breaker_allow('payments')" | grep -qx t || fail "breaker configuration lost"

# (a) the catalog equals a fresh install's
bash "$HERE/catalog.sh" nova > "$OLD/catalog-upgraded.txt"
OLD_ENV=("$PGHOST" "$PGPORT")
start_cluster upgrade_fresh
FRESH="$NOVA_CLUSTER"
nova_psql -c "CREATE EXTENSION nova"
bash "$HERE/catalog.sh" nova > "$FRESH/catalog-fresh.txt"
nova_cluster_stop "$FRESH" fast
export PGHOST="${OLD_ENV[0]}" PGPORT="${OLD_ENV[1]}"
NOVA_CLUSTER="$OLD"
if ! diff -u --label fresh-1.1 --label upgraded-from-1.0 "$FRESH/catalog-fresh.txt" "$OLD/catalog-upgraded.txt"; then
  fail "the upgraded catalog differs from a fresh install (diff above: - fresh, + upgraded)"
fi
echo "catalog: $(wc -l < "$OLD/catalog-upgraded.txt") lines identical to a fresh install"

# (c) the relay delivers what was pending under 1.0, and the upgraded surface works
nova_psql >/dev/null <<'SQL'
INSERT INTO public.posts VALUES (3001, 4, 'after the upgrade', 's');
DELETE FROM public.posts WHERE id = 3001;
SQL
[ "$(nova_psql -c "SELECT deleted_at IS NOT NULL FROM public.posts WHERE id = 3001")" = t ] || fail "soft delete after the upgrade"
nova_kafka_configure_relay
nova_relay_wait_ready 60 || fail "relay did not start after the upgrade: $(nova_psql -c 'SELECT nova.status()')"
nova_relay_wait_drained 120 || fail "relay did not drain after the upgrade: $(nova_psql -c 'SELECT nova.status()')"
consume_ids > "$OLD/delivered-2.txt"
missing="$(comm -23 "$OLD/pending-at-upgrade.txt" "$OLD/delivered-2.txt" | wc -l)"
echo "relay after the upgrade: $(wc -l < "$OLD/pending-at-upgrade.txt") events pending under 1.0, $missing missing"
[ "$missing" -eq 0 ] || fail "events pending under 1.0 were not delivered after the upgrade"
[ "$(nova_psql -c "SELECT count(*) FROM nova.outbox_dead")" = 1 ] || fail "dead letter lost"
[ "$(nova_psql -c "SELECT (SELECT last_value FROM nova.outbox_id_seq) > $(cat "$OLD/seq-before.txt")")" = t ] \
  || fail "outbox sequence went backwards"
echo "upgrade: ok"
