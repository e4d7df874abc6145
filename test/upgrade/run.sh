#!/usr/bin/env bash
# The upgrade stage (tools/test.sh upgrade; docs/operations.md, "Upgrading").
#
#  1. Cluster "old": CREATE EXTENSION nova VERSION '1.0' and fill it: pending
#     outbox events, a dead letter, soft-deleted rows with audit rows, JWT keys
#     and revocations, registered schemas, breaker configuration, cache entries.
#     Also: views named active_<t> that another role created before 1.0's
#     enable_soft_delete adopted them (1.0 kept that role as their owner), one
#     redefined and given a rule, a trigger and a column default, one with a
#     renamed column; and a view a superuser's 1.0 enable_soft_delete created.
#  2. With the new library and the catalog still at 1.0: the 1.0 SQL surface
#     works (outbox trigger, publish by the extension owner, soft delete,
#     authenticate, the relay delivers), and what needs the 1.1 catalog refuses
#     with 55000 naming ALTER EXTENSION nova UPDATE: nova.publish by a
#     nova_service role (publish grants), nothing written.
#  3. ALTER EXTENSION nova UPDATE, then:
#     (a) the catalog (test/upgrade/catalog.sh) equals a fresh install in
#         cluster "fresh" (roles are per cluster, so each gets its own);
#     (b) every row of every table survives (compared over the 1.0 columns);
#     (c) the relay delivers the events that were pending under 1.0;
#     (d) every active_<t> view is nova's again: owned by the table's owner,
#         nova's definition and trigger, the previous owner's rules, triggers and
#         defaults gone, grants kept; and in a second database, an adopted view
#         that cannot be re-created (other objects depend on it) makes the
#         update refuse with 55000 listing it, until it is dropped.
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

# active_<t> views adopted by 1.0's enable_soft_delete (docs/soft-delete.md, "Upgrading from 1.0").
ADOPTED_VIEWS_SQL="$(cat <<'SQL'
DO $r$ BEGIN  -- roles are cluster-wide: a second database reuses them
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'upg_owner') THEN
    CREATE ROLE upg_owner; CREATE ROLE upg_attacker; CREATE ROLE upg_reader;
  END IF;
END $r$;
CREATE SCHEMA shop AUTHORIZATION upg_owner;
GRANT USAGE, CREATE ON SCHEMA shop TO upg_attacker;
GRANT USAGE ON SCHEMA shop TO upg_reader;
SET ROLE upg_owner;
CREATE TABLE shop.comments (id bigint PRIMARY KEY, body text);
CREATE TABLE shop.likes (id bigint PRIMARY KEY, n int);
CREATE TABLE shop.tags (id bigint PRIMARY KEY, tag text);
INSERT INTO shop.comments VALUES (1, 'public'), (2, 'deleted');
INSERT INTO shop.likes VALUES (1, 1), (2, 2);
INSERT INTO shop.tags VALUES (1, 't'), (2, 'u');
GRANT SELECT ON shop.comments, shop.likes TO upg_reader;
RESET ROLE;
-- the attacker names views after the tables before they are soft-delete enabled
SET ROLE upg_attacker;
CREATE TABLE shop.loot (body text);
CREATE FUNCTION shop.noop() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN RETURN NEW; END $f$;
CREATE VIEW shop.active_comments AS
  SELECT NULL::bigint AS id, NULL::text AS body, NULL::timestamptz AS deleted_at, NULL::text AS deleted_by, NULL::bigint AS deleted_op;
CREATE VIEW shop.active_likes AS
  SELECT NULL::bigint AS id, NULL::int AS n, NULL::timestamptz AS deleted_at, NULL::text AS deleted_by, NULL::bigint AS deleted_op;
RESET ROLE;
SET client_min_messages = warning;
SELECT nova.enable_soft_delete('shop.comments');
SELECT nova.enable_soft_delete('shop.likes');
SELECT nova.enable_soft_delete('shop.tags');   -- the view is the superuser's (1.0)
RESET client_min_messages;
DELETE FROM shop.comments WHERE id = 2;
-- still the attacker's views: redefined to show every row with the owner's rights, a
-- rule (runs as the view's owner), a trigger and a default (run for whoever writes)
SET ROLE upg_attacker;
CREATE OR REPLACE VIEW shop.active_comments WITH (security_invoker = false) AS
  SELECT id, body, deleted_at, deleted_by, deleted_op FROM ONLY shop.comments;
CREATE RULE steal AS ON UPDATE TO shop.active_comments DO ALSO INSERT INTO shop.loot SELECT body FROM shop.comments;
CREATE TRIGGER spy INSTEAD OF INSERT ON shop.active_comments FOR EACH ROW EXECUTE FUNCTION shop.noop();
ALTER VIEW shop.active_comments ALTER COLUMN body SET DEFAULT 'x';
GRANT SELECT ON shop.active_comments, shop.active_likes TO upg_reader;
ALTER VIEW shop.active_likes RENAME COLUMN n TO how_many;
RESET ROLE;
SQL
)"
nova_psql >/dev/null <<<"$ADOPTED_VIEWS_SQL"
[ "$(nova_psql -c "SELECT string_agg(relname || ':' || pg_get_userbyid(relowner), ' ' ORDER BY relname) FROM pg_class
                   WHERE relnamespace = 'shop'::regnamespace AND relkind = 'v'")" \
  = "active_comments:upg_attacker active_likes:upg_attacker active_tags:postgres" ] || fail "1.0 adopted views: unexpected owners"

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
# nova.publish by a service needs the publish grants of the 1.1 catalog: 55000 naming the
# command, nothing written (the extension owner's publish above works)
nova_psql -c "CREATE ROLE upg_svc LOGIN IN ROLE nova_service" >/dev/null
before="$(nova_psql -c "SELECT count(*) FROM nova.outbox")"
msg="$(PGUSER=upg_svc psql -X -q -At -c "SELECT nova.publish('nova.explicit', 'svc', 'ThingHappened', '{\"n\": 1}')" 2>&1 || true)"
echo "$msg" | grep -q "nova's catalog is at version 1.0; run ALTER EXTENSION nova UPDATE" \
  || fail "publish by a service on a 1.0 catalog: $msg"
[ "$(PGUSER=upg_svc sqlstate_of "SELECT nova.publish('nova.explicit', 'svc', 'ThingHappened', '{\"n\": 1}')")" = 55000 ] \
  || fail "publish by a service on a 1.0 catalog: sqlstate"
[ "$(nova_psql -c "SELECT count(*) FROM nova.outbox")" = "$before" ] || fail "publish by a service on a 1.0 catalog wrote an event"
[ "$(nova_psql -c "SELECT rolsuper FROM pg_roles WHERE rolname = 'upg_svc'")" = f ] || fail "upg_svc is a superuser"
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
[ "$out" = "$(printf 'ERROR:  55000\nWARNING:  01000\nWARNING:  01000\n1.1\n101')" ] \
  || fail "upgrade (one WARNING per repaired attacker's view), or the same session seeing the new catalog version: $out"

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
# the test's own roles (the catalog description lists every role of the cluster)
nova_psql -c "CREATE ROLE upg_owner" -c "CREATE ROLE upg_attacker" -c "CREATE ROLE upg_reader" \
          -c "CREATE ROLE upg_svc LOGIN IN ROLE nova_service" >/dev/null
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
# (d) the adopted active_<t> views are nova's again
views="$(nova_psql <<'SQL'
SELECT string_agg(format('%s:%s:%s:%s', v.relname, pg_get_userbyid(v.relowner), v.reloptions,
         (SELECT string_agg(a.attname, ',' ORDER BY a.attnum) FROM pg_attribute a WHERE a.attrelid = v.oid AND a.attnum > 0)
           = (SELECT string_agg(a.attname, ',' ORDER BY a.attnum) FROM pg_attribute a WHERE a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped)),
       ' ' ORDER BY v.relname)
  FROM pg_class v JOIN pg_class t ON t.relnamespace = v.relnamespace AND 'active_' || t.relname = v.relname
 WHERE v.relnamespace = 'shop'::regnamespace AND v.relkind = 'v';
SQL
)"
[ "$views" = "active_comments:upg_owner:{security_invoker=true}:t active_likes:upg_owner:{security_invoker=true}:t active_tags:upg_owner:{security_invoker=true}:t" ] \
  || fail "repaired views (name:owner:options:columns as the table's): $views"
[ "$(nova_psql -c "SELECT (SELECT count(*) FROM pg_rewrite r JOIN pg_class v ON v.oid = r.ev_class
                             WHERE v.relnamespace = 'shop'::regnamespace AND r.rulename <> '_RETURN')
                        || ',' || (SELECT count(*) FROM pg_trigger g JOIN pg_class v ON v.oid = g.tgrelid
                             WHERE v.relnamespace = 'shop'::regnamespace AND v.relkind = 'v' AND g.tgname <> 'nova_soft_delete')
                        || ',' || (SELECT count(*) FROM pg_attrdef d JOIN pg_class v ON v.oid = d.adrelid
                             WHERE v.relnamespace = 'shop'::regnamespace AND v.relkind = 'v')
                        || ',' || (SELECT count(*) FROM pg_depend d JOIN pg_class v ON v.oid = d.objid
                             WHERE v.relnamespace = 'shop'::regnamespace AND d.deptype = 'e')")" = 0,0,0,0 ] \
  || fail "repaired views keep a rule, trigger or default of the attacker, or are extension members"
# nova's definition: live rows only, with the reader's own rights; the reader's grants kept
[ "$(nova_psql -c "SET ROLE upg_reader" -c "SELECT string_agg(id::text, ',' ORDER BY id) FROM shop.active_comments")" = 1 ] \
  || fail "shop.active_comments does not show exactly the live rows to upg_reader"
[ "$(nova_psql -c "SELECT has_table_privilege('upg_reader', 'shop.active_likes', 'SELECT')")" = t ] || fail "grant on a re-created view lost"
# the attacker no longer owns them
[ "$(sqlstate_of "SET ROLE upg_attacker; CREATE OR REPLACE VIEW shop.active_comments AS SELECT id, body, deleted_at, deleted_by, deleted_op FROM ONLY shop.comments")" = 42501 ] \
  || fail "the attacker can still redefine shop.active_comments"
# 1.1 recognises them as its own: enabling again works, a DELETE through the view soft-deletes
nova_psql -c "SET client_min_messages = warning" -c "SELECT nova.enable_soft_delete('shop.tags')" >/dev/null || fail "1.1 enable_soft_delete refuses a repaired view"
nova_psql -c "SET ROLE upg_owner" -c "DELETE FROM shop.active_tags WHERE id = 1" >/dev/null
[ "$(nova_psql -c "SELECT string_agg(id || ':' || (deleted_at IS NOT NULL), ',' ORDER BY id) FROM shop.tags")" = "1:true,2:false" ] \
  || fail "DELETE through a repaired view"
[ "$(nova_psql -c "SELECT count(*) FROM shop.loot")" = 0 ] || fail "the attacker's rule ran"
echo "views: 3 active_ views nova's again (2 taken back from upg_attacker)"

# An adopted view that cannot be re-created in place (a renamed column) and that other
# objects depend on: the update refuses, names it, and works once it is dropped.
createdb stuck
PGDATABASE=stuck nova_psql -c "CREATE EXTENSION nova VERSION '1.0'" >/dev/null
PGDATABASE=stuck nova_psql >/dev/null <<<"$(printf '%s\n' "$ADOPTED_VIEWS_SQL" \
  "SET ROLE upg_attacker; CREATE VIEW shop.on_top AS SELECT * FROM shop.active_likes; RESET ROLE;")" \
  || fail "could not prepare database stuck"
msg="$(PGDATABASE=stuck psql -X -q -At -c "ALTER EXTENSION nova UPDATE" 2>&1 || true)"
echo "$msg" | grep -q 'cannot update nova: these active_<table> views cannot be repaired' && echo "$msg" | grep -q 'shop.active_likes (owned by upg_attacker)' \
  || fail "update over a view with dependents: $msg"
[ "$(PGDATABASE=stuck sqlstate_of "ALTER EXTENSION nova UPDATE")" = 55000 ] || fail "update over a view with dependents: sqlstate"
[ "$(PGDATABASE=stuck nova_psql -c "SELECT extversion || ':' || pg_get_userbyid((SELECT relowner FROM pg_class WHERE oid = 'shop.active_comments'::regclass)) FROM pg_extension WHERE extname = 'nova'")" = 1.0:upg_attacker ] \
  || fail "a refused update changed something"
PGDATABASE=stuck nova_psql -c "SET client_min_messages = error" -c "DROP VIEW shop.active_likes CASCADE" -c "ALTER EXTENSION nova UPDATE" >/dev/null \
  || fail "update after dropping the view"
[ "$(PGDATABASE=stuck nova_psql -c "SELECT extversion FROM pg_extension WHERE extname = 'nova'")" = 1.1 ] || fail "stuck not updated"
echo "views: an unrepairable adopted view refuses the update (55000) until dropped"

echo "upgrade: ok"
