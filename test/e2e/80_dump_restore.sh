#!/usr/bin/env bash
# pg_dump -Fc / pg_restore round trip of a database using nova (docs/operations.md,
# "Dumps and restores"): the sample schema with outbox and soft delete enabled, JWT
# keys and revocations, registered schemas, breaker configuration, soft-deleted rows
# with audit rows. Restored (1) into an empty database through the dump's own
# CREATE EXTENSION and (2) into a database where nova is already installed; and
# (3) a dump of a 1.0 catalog restored with the current library.
# In both: nova's configuration and audit rows are identical, nova's triggers and
# views work (a DELETE soft-deletes, an INSERT emits an event, authenticate accepts
# a token signed with a restored key), and sequences go on after the restored values.
# What a dump does not keep (pending outbox events, dead letters) is checked too.
set -euo pipefail
source "$(dirname "$0")/../../tools/lib.sh"
nova_test_cluster dump_restore
rc=0
problem() { echo "FAIL: $*"; rc=1; }
# SQLSTATE of the error a statement raises in database $1 (empty when it succeeds).
sqlstate_of() { psql -X -q -At -d "$1" -v VERBOSITY=sqlstate -c "$2" 2>&1 >/dev/null | sed -n 's/^ERROR: *//p' | head -1; }

nova_psql -f "$NOVA_REPO/examples/nova_schema.sql" >/dev/null   # includes nova_soft_delete.sql
nova_psql >/dev/null <<'SQL'
INSERT INTO users (username, display_name, email) SELECT 'user_' || g, 'User ' || g, g || '@example.com'
  FROM generate_series(1, 5) g;
INSERT INTO posts (author_id, body) SELECT 1 + g % 5, 'post ' || g FROM generate_series(1, 20) g;
INSERT INTO comments (post_id, author_id, body) SELECT 1 + g % 20, 1 + g % 5, 'comment ' || g FROM generate_series(1, 40) g;
DELETE FROM posts WHERE id = 1;            -- soft delete, cascading to its comments, audited
DELETE FROM users WHERE id = 5;
INSERT INTO nova.jwt_keys (kid, algorithm, key, issuer) VALUES
  ('k1', 'HS256', 'dump-restore-secret-0123456789abcdef-0123', 'https://issuer.example');
SELECT nova.jwt_revoke('jti-revoked', now() + interval '1 day');
SELECT nova.jwt_revoke_subject('mallory');
SELECT nova.register_schema('ThingHappened', '{"type": "object", "required": ["n"], "properties": {"n": {"type": "integer"}}}');
SELECT nova.breaker_configure('payments', '{"failure_rate_threshold": 50, "wait_duration_in_open_state": "30s"}');
SELECT nova.publish('nova.explicit', 'k', 'ThingHappened', '{"n": 1}');  -- pending: not in a dump
SQL

# nova's configuration, audit rows and the business tables' nova columns, as text.
CONFIG_SQL="
SELECT 'outbox_tables', tbl::text, topic, key_columns::text, entity, exclude_columns::text FROM nova.outbox_tables
UNION ALL SELECT 'soft_delete_tables', tbl::text, owner_column, NULL, NULL, NULL FROM nova.soft_delete_tables
UNION ALL SELECT 'jwt_keys', kid, algorithm, key, issuer, (revoked_at IS NULL)::text FROM nova.jwt_keys
UNION ALL SELECT 'jwt_revoked_jti', jti, expires_at::text, NULL, NULL, NULL FROM nova.jwt_revoked_jti
UNION ALL SELECT 'jwt_revoked_subjects', subject, issued_before::text, NULL, NULL, NULL FROM nova.jwt_revoked_subjects
UNION ALL SELECT 'event_schemas', event_type, version::text, schema::text, compatibility, created_by FROM nova.event_schemas
UNION ALL SELECT 'breaker_config', name, options::text, NULL, NULL, NULL FROM nova.breaker_config
UNION ALL SELECT 'audit_log', id::text, action, table_name, pk::text, operation_id::text FROM nova.audit_log
UNION ALL SELECT 'posts', id::text, deleted_at::text, deleted_by, deleted_op::text, NULL FROM posts
UNION ALL SELECT 'comments', id::text, deleted_at::text, deleted_by, deleted_op::text, NULL FROM comments
UNION ALL SELECT 'triggers', tgrelid::regclass::text, tgname, NULL, NULL, NULL FROM pg_trigger WHERE NOT tgisinternal
UNION ALL SELECT 'views', oid::regclass::text, NULL, NULL, NULL, NULL FROM pg_class WHERE relname LIKE 'active\_%' AND relkind = 'v'
ORDER BY 1, 2, 3"
nova_psql -d nova -c "$CONFIG_SQL" > "$NOVA_CLUSTER/config-source.txt"
grep -c '' "$NOVA_CLUSTER/config-source.txt" | xargs echo "source: config/audit/trigger lines:"
for t in outbox_tables soft_delete_tables jwt_keys jwt_revoked_jti jwt_revoked_subjects event_schemas breaker_config audit_log triggers views; do
  grep -q "^$t|" "$NOVA_CLUSTER/config-source.txt" || problem "the source has no $t rows: the test would prove nothing"
done

SRC_AUDIT="$(nova_psql -c "SELECT max(id) FROM nova.audit_log")"
SRC_OP="$(nova_psql -c "SELECT max(operation_id) FROM nova.audit_log")"
pg_dump -Fc -f "$NOVA_CLUSTER/nova.dump" nova

TOKEN="$(nova_psql -c "SELECT nova.jwt_sign(jsonb_build_object('sub', 'alice', 'iss', 'https://issuer.example',
           'exp', extract(epoch FROM now())::bigint + 3600), 'dump-restore-secret-0123456789abcdef-0123', 'HS256', '{\"kid\": \"k1\"}')")"

check_restored() {  # $1 database
  local db="$1"
  nova_psql -d "$db" -c "$CONFIG_SQL" > "$NOVA_CLUSTER/config-$db.txt"
  diff -u --label source --label "$db" "$NOVA_CLUSTER/config-source.txt" "$NOVA_CLUSTER/config-$db.txt" \
    || problem "$db: configuration, audit rows, triggers or views differ from the source"
  # not kept: the outbox and dead letters are extension data, not configuration
  [ "$(nova_psql -d "$db" -c "SELECT count(*) FROM nova.outbox")" = 0 ] || problem "$db: outbox rows restored?"
  local out
  out="$(nova_psql -d "$db" <<SQL
BEGIN;
SELECT nova.authenticate('$TOKEN') ->> 'sub';
DELETE FROM posts WHERE id = 2;
SELECT deleted_by, (SELECT count(*) FROM comments WHERE post_id = 2 AND deleted_at IS NOT NULL) > 0 FROM posts WHERE id = 2;
INSERT INTO posts (author_id, body) VALUES (2, 'after restore');
COMMIT;
SELECT string_agg(event_type, ',' ORDER BY id) FROM nova.outbox WHERE topic = 'nova.posts';
-- the audit row of this delete continues the restored sequences (ids and operation ids)
SELECT count(*) FROM nova.audit_log WHERE table_name = 'public.posts' AND pk = '{"id": 2}' AND action = 'soft_delete'
   AND actor = 'alice' AND id > $SRC_AUDIT AND operation_id > $SRC_OP;
SELECT count(*) FROM nova.jwt_revoked_subjects WHERE subject = 'mallory';
SQL
)" || { problem "$db: the checks failed to run: $out"; return; }
  [ "$out" = "$(printf 'alice\nalice|t\nPostDeleted,PostCreated\n1\n1')" ] \
    || problem "$db: soft delete, outbox, authenticate, sequences after restore; got:"$'\n'"$out"
  # a revoked subject stays revoked
  local bad
  bad="$(nova_psql -d "$db" -c "SELECT nova.jwt_sign(jsonb_build_object('sub', 'mallory', 'iss', 'https://issuer.example',
        'iat', extract(epoch FROM now())::bigint - 3600, 'exp', extract(epoch FROM now())::bigint + 3600),
        'dump-restore-secret-0123456789abcdef-0123', 'HS256', '{\"kid\": \"k1\"}')")"
  [ "$(sqlstate_of "$db" "SELECT nova.authenticate('$bad')")" = 28000 ] || problem "$db: revoked subject accepted after restore"
  # a registered schema is enforced again
  [ "$(sqlstate_of "$db" "SELECT nova.publish('nova.explicit', 'k', 'ThingHappened', '{\"n\": \"x\"}')")" = 23514 ] \
    || problem "$db: registered schema not enforced after restore"
}

# (1) into an empty database: the dump creates the extension itself
createdb restored_new
pg_restore --exit-on-error -d restored_new "$NOVA_CLUSTER/nova.dump" 2>"$NOVA_CLUSTER/restore-new.log" \
  || { cat "$NOVA_CLUSTER/restore-new.log"; problem "pg_restore into an empty database failed"; }
check_restored restored_new
echo "restore into an empty database: checked"

# (2) into a database where CREATE EXTENSION nova already ran (e.g. a template)
createdb restored_pre
nova_psql -d restored_pre -c "CREATE EXTENSION nova" >/dev/null
pg_restore -d restored_pre "$NOVA_CLUSTER/nova.dump" 2>"$NOVA_CLUSTER/restore-pre.log" || true
# the only error allowed is the schema that already exists (the dump says CREATE EXTENSION IF NOT EXISTS)
if grep -E '^pg_restore: error:' "$NOVA_CLUSTER/restore-pre.log" | grep -vE 'schema "nova" already exists' \
   | grep -v 'errors ignored on restore' | grep -q .; then
  cat "$NOVA_CLUSTER/restore-pre.log"; problem "pg_restore into a database with nova: unexpected errors"
fi
sed -n 's/^pg_restore: error: //p' "$NOVA_CLUSTER/restore-pre.log" | sort | uniq -c | sed 's/^/  restore-pre: /'
check_restored restored_pre
echo "restore into a database with nova preinstalled: checked"

# (3) a dump taken with the 1.0 catalog restores as the current version: the dump's
# CREATE EXTENSION makes the default version and its COPY names the columns it has.
createdb old10
nova_psql -d old10 >/dev/null <<'SQL'
CREATE EXTENSION nova VERSION '1.0';
CREATE TABLE public.notes (id int PRIMARY KEY, body text);
SELECT nova.enable_outbox('public.notes');
SELECT nova.enable_soft_delete('public.notes');
INSERT INTO nova.jwt_keys (kid, algorithm, key) VALUES ('old', 'HS256', 'old-release-secret-0123456789abcdef-0123');
SELECT nova.breaker_configure('legacy', '{"failure_rate_threshold": 25}');
INSERT INTO public.notes VALUES (1, 'one'), (2, 'two');
DELETE FROM public.notes WHERE id = 2;
SQL
pg_dump -Fc -f "$NOVA_CLUSTER/old10.dump" old10
createdb from10
pg_restore --exit-on-error -d from10 "$NOVA_CLUSTER/old10.dump" 2>"$NOVA_CLUSTER/restore-10.log" \
  || { cat "$NOVA_CLUSTER/restore-10.log"; problem "pg_restore of a 1.0 dump failed"; }
out="$(nova_psql -d from10 <<'SQL'
SELECT extversion = (SELECT default_version FROM pg_available_extensions WHERE name = 'nova') FROM pg_extension WHERE extname = 'nova';
SELECT string_agg(kid, ',') FROM nova.jwt_keys;
SELECT options->>'failure_rate_threshold' FROM nova.breaker_config WHERE name = 'legacy';
SELECT count(*) FROM nova.audit_log WHERE table_name = 'public.notes';
INSERT INTO public.notes VALUES (3, 'three');
DELETE FROM public.notes WHERE id = 3;
SELECT string_agg(id || ':' || (deleted_at IS NOT NULL), ',' ORDER BY id) FROM public.notes;
SELECT string_agg(event_type, ',' ORDER BY id) FROM nova.outbox;
SQL
)" || problem "a 1.0 dump restored: checks failed to run: $out"
[ "$out" = "$(printf 't\nold\n25\n1\n1:false,2:true,3:true\nNoteCreated,NoteDeleted')" ] \
  || problem "a 1.0 dump restored as the current version; got:"$'\n'"$out"
echo "restore of a 1.0 dump: checked"
exit $rc
