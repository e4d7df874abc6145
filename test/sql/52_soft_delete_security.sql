-- Soft delete security (docs/soft-delete.md, "Security"): every refusal is made
-- as a non-superuser role, and each case checks that its side effect did not
-- happen (no role became superuser, no privilege was granted, no row changed).
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS nova;
RESET client_min_messages;
\set VERBOSITY terse

CREATE ROLE sds_owner;        -- owns the tables
CREATE ROLE sds_child_owner;  -- owns a cascade child
CREATE ROLE sds_user;         -- may DELETE / UPDATE
CREATE ROLE sds_admin;        -- may call enable_soft_delete, is no superuser
CREATE SCHEMA sds AUTHORIZATION sds_owner;
GRANT USAGE, CREATE ON SCHEMA sds TO sds_child_owner, sds_user;
GRANT EXECUTE ON FUNCTION nova.enable_soft_delete(regclass, name, boolean) TO sds_admin;
GRANT USAGE ON SCHEMA nova TO sds_admin;

-- ---- 1a. audit key of a non-plain primary key: no user SQL runs as the extension owner
SET ROLE sds_owner;
CREATE TABLE sds.hosts (id inet PRIMARY KEY, name text);
INSERT INTO sds.hosts VALUES ('10.0.0.1', 'a'), ('10.0.0.2', 'b');
GRANT SELECT (id), DELETE ON sds.hosts TO sds_user;
RESET ROLE;
SELECT nova.enable_soft_delete('sds.hosts');
SET ROLE sds_user;
CREATE FUNCTION pg_temp.f(v pg_catalog.text) RETURNS boolean LANGUAGE plpgsql AS
  $$ BEGIN ALTER ROLE sds_user SUPERUSER; RETURN true; END $$;
CREATE DOMAIN pg_temp.text AS pg_catalog.text CHECK (pg_temp.f(VALUE));
DELETE FROM sds.hosts WHERE id OPERATOR(pg_catalog.=) '10.0.0.1';
DROP DOMAIN pg_temp.text;
RESET ROLE;
SELECT rolsuper FROM pg_roles WHERE rolname = 'sds_user';
SELECT pk, actor FROM nova.audit_log WHERE table_name = 'sds.hosts';
SELECT id, deleted_by FROM sds.hosts ORDER BY id;

-- ---- 1b. a cast the table owner defines is not used for the audit key
SET ROLE sds_owner;
CREATE TYPE sds.mood AS ENUM ('happy', 'sad');
CREATE FUNCTION sds.mood_json(m sds.mood) RETURNS json LANGUAGE plpgsql AS
  $$ BEGIN ALTER ROLE sds_owner SUPERUSER; RETURN pg_catalog.to_json(m::pg_catalog.text); END $$;
CREATE CAST (sds.mood AS json) WITH FUNCTION sds.mood_json(sds.mood);
CREATE TABLE sds.moods (id sds.mood PRIMARY KEY, tags text[], pair int[]);
INSERT INTO sds.moods VALUES ('happy', '{a,"b c"}', '{1,2}');
RESET ROLE;
SELECT nova.enable_soft_delete('sds.moods');
SET ROLE sds_owner;
DELETE FROM sds.moods WHERE id OPERATOR(pg_catalog.=) 'happy';
RESET ROLE;
SELECT rolsuper FROM pg_roles WHERE rolname = 'sds_owner';
SELECT pk, actor FROM nova.audit_log WHERE table_name = 'sds.moods';
-- the same with a cast from the enum to text: no soft delete, restore or purge runs
-- it, so it never runs as the extension owner (it records every call with the role
-- and whether that role is a superuser, and tries to promote the table owner)
SET ROLE sds_owner;
CREATE TYPE sds.level AS ENUM ('low', 'high');
CREATE TABLE sds.cast_calls (by name, super boolean);
GRANT INSERT ON sds.cast_calls TO PUBLIC;
CREATE FUNCTION sds.level_text(l sds.level) RETURNS text LANGUAGE plpgsql AS $$
DECLARE su boolean;
BEGIN
  SELECT r.rolsuper INTO su FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) current_user;
  INSERT INTO sds.cast_calls VALUES (current_user, su);
  IF su THEN
    ALTER ROLE sds_owner SUPERUSER;
  END IF;
  RETURN pg_catalog.format('%s', l);
END $$;
CREATE CAST (sds.level AS text) WITH FUNCTION sds.level_text(sds.level);
CREATE TABLE sds.levels (id sds.level PRIMARY KEY, note text);
INSERT INTO sds.levels VALUES ('low', 'l'), ('high', 'h');
GRANT SELECT (id), DELETE ON sds.levels TO sds_user;
SELECT 'high'::sds.level::text AS cast_works;   -- the cast is live: one call, as sds_owner
RESET ROLE;
SELECT nova.enable_soft_delete('sds.levels');
GRANT EXECUTE ON FUNCTION nova.restore(regclass, jsonb) TO sds_owner;
SET ROLE sds_owner;
DELETE FROM sds.levels WHERE id OPERATOR(pg_catalog.=) 'low';
SELECT nova.restore('sds.levels', '{"id": "low"}');
RESET ROLE;
SET ROLE sds_user;
DELETE FROM sds.levels WHERE id OPERATOR(pg_catalog.=) 'high';
RESET ROLE;
REVOKE EXECUTE ON FUNCTION nova.restore(regclass, jsonb) FROM sds_owner;
SELECT nova.purge('sds.levels', '0 seconds');  -- as the superuser: audit rows for the purged key
SELECT rolsuper FROM pg_roles WHERE rolname = 'sds_owner';
SELECT by, super, count(*) FROM sds.cast_calls GROUP BY 1, 2;
SELECT action, pk, actor FROM nova.audit_log WHERE table_name = 'sds.levels' ORDER BY id;
SELECT id, deleted_at IS NULL AS live FROM sds.levels ORDER BY id;
-- composite and array keys come out as jsonb_build_object would write them
CREATE TYPE sds.pt AS (x int, y text);
CREATE TABLE sds.shapes (id sds.pt PRIMARY KEY, arr int[] NOT NULL, UNIQUE (arr));
ALTER TABLE sds.shapes DROP CONSTRAINT shapes_pkey, ADD PRIMARY KEY (id, arr);
INSERT INTO sds.shapes VALUES (ROW(1, 'a"b'), '{{1,2},{3,4}}');
SELECT nova.enable_soft_delete('sds.shapes');
DELETE FROM sds.shapes;
SELECT a.pk = pg_catalog.jsonb_build_object('id', s.id, 'arr', s.arr) AS same_as_sql, a.pk
  FROM nova.audit_log a, sds.shapes s WHERE a.table_name = 'sds.shapes';

-- ---- 3. cascade: the parent owner's operators are not used, nothing runs as the child's owner
CREATE SCHEMA sds_mine AUTHORIZATION sds_owner;
SET ROLE sds_owner;
CREATE FUNCTION sds_mine.eq(a bigint, b bigint) RETURNS boolean LANGUAGE plpgsql AS
  $$ BEGIN GRANT SELECT ON sds.kids TO sds_owner; RETURN a OPERATOR(pg_catalog.=) b; END $$;
CREATE OPERATOR sds_mine.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = sds_mine.eq);
CREATE TABLE sds.parents (id bigint PRIMARY KEY);
INSERT INTO sds.parents VALUES (1), (2);
GRANT REFERENCES ON sds.parents TO sds_child_owner;
RESET ROLE;
SET ROLE sds_child_owner;
CREATE TABLE sds.kids (id bigint PRIMARY KEY, parent_id bigint REFERENCES sds.parents ON DELETE CASCADE);
INSERT INTO sds.kids VALUES (10, 1), (20, 2);
RESET ROLE;
SELECT nova.enable_soft_delete('sds.parents');
SELECT nova.enable_soft_delete('sds.kids');
SET ROLE sds_owner;
SET search_path = sds_mine, pg_catalog;
DELETE FROM sds.parents WHERE id OPERATOR(pg_catalog.=) 1;
RESET search_path;
RESET ROLE;
SELECT has_table_privilege('sds_owner', 'sds.kids', 'SELECT') AS granted;
SELECT id, deleted_at IS NOT NULL AS deleted, deleted_by FROM sds.kids ORDER BY id;

-- ---- 4. an active_<table> view someone else made first is refused
SET ROLE sds_owner;
CREATE TABLE sds.things (id bigint PRIMARY KEY, body text);
INSERT INTO sds.things VALUES (1, 'secret');
RESET ROLE;
SET ROLE sds_user;
CREATE VIEW sds.active_things AS
  SELECT NULL::bigint AS id, NULL::text AS body, NULL::timestamptz AS deleted_at, NULL::text AS deleted_by,
         NULL::bigint AS deleted_op;
RESET ROLE;
GRANT sds_owner TO sds_admin;
SET ROLE sds_admin;
SELECT nova.enable_soft_delete('sds.things');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT pg_get_userbyid(relowner) AS view_owner FROM pg_class WHERE oid = 'sds.active_things'::regclass;
SELECT count(*) AS enabled FROM nova.soft_delete_tables WHERE tbl = 'sds.things'::regclass;
SELECT count(*) AS triggers FROM pg_trigger WHERE tgrelid IN ('sds.things'::regclass, 'sds.active_things'::regclass);
DROP VIEW sds.active_things;
-- nova's own view: created for the table's owner, and enabling again keeps it
SELECT nova.enable_soft_delete('sds.things');
SELECT nova.enable_soft_delete('sds.things');
SELECT pg_get_userbyid(relowner) AS view_owner FROM pg_class WHERE oid = 'sds.active_things'::regclass;
REVOKE sds_owner FROM sds_admin;

-- ---- 11. nova's own tables cannot be soft-delete enabled
SET ROLE sds_admin;
SELECT nova.enable_soft_delete('nova.audit_log');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT count(*) AS enabled FROM nova.soft_delete_tables WHERE tbl = 'nova.audit_log'::regclass;
SELECT count(*) AS triggers FROM pg_trigger WHERE tgrelid = 'nova.audit_log'::regclass;

-- ---- 5. an UPDATE a user trigger runs during nova's own UPDATE is no part of it
SET ROLE sds_owner;
CREATE TABLE sds.notes (id bigint PRIMARY KEY, body text);
INSERT INTO sds.notes VALUES (1, 'one'), (2, 'two'), (3, 'three');
GRANT SELECT, DELETE, UPDATE ON sds.notes TO sds_user;
CREATE TABLE sds.forge (by text);
CREATE FUNCTION sds.forge_trg() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.id OPERATOR(pg_catalog.=) 1 AND OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL THEN
    IF EXISTS (SELECT 1 FROM sds.forge WHERE by IS NOT NULL) THEN
      UPDATE sds.notes SET deleted_at = pg_catalog.now(), deleted_by = (SELECT by FROM sds.forge)
       WHERE id OPERATOR(pg_catalog.=) 2;
    ELSE
      UPDATE sds.notes SET deleted_at = pg_catalog.now() WHERE id OPERATOR(pg_catalog.=) 2;
    END IF;
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER a_forge BEFORE UPDATE ON sds.notes FOR EACH ROW EXECUTE FUNCTION sds.forge_trg();
INSERT INTO sds.forge VALUES ('admin@forged');
RESET ROLE;
SELECT nova.enable_soft_delete('sds.notes');
SET ROLE sds_user;
DELETE FROM sds.notes WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT id, deleted_at IS NOT NULL AS deleted, deleted_by FROM sds.notes ORDER BY id;
SELECT count(*) AS audited FROM nova.audit_log WHERE table_name = 'sds.notes';
-- without forging: the nested UPDATE is a soft delete like any other, audited, by the deleting role
UPDATE sds.forge SET by = NULL;
SET ROLE sds_user;
DELETE FROM sds.notes WHERE id = 1;
RESET ROLE;
SELECT id, deleted_at IS NOT NULL AS deleted, deleted_by FROM sds.notes ORDER BY id;
SELECT pk, actor FROM nova.audit_log WHERE table_name = 'sds.notes' ORDER BY id;

-- a nested soft delete (a user trigger deleting another row meanwhile) does not reset
-- the outer one: each row is soft-deleted and audited exactly once
SET ROLE sds_owner;
CREATE TABLE sds.pairs (id bigint PRIMARY KEY, partner bigint);
INSERT INTO sds.pairs VALUES (1, 2), (2, NULL);
GRANT SELECT, DELETE ON sds.pairs TO sds_user;
CREATE FUNCTION sds.pairs_trg() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL AND NEW.partner IS NOT NULL THEN
    DELETE FROM sds.pairs WHERE id OPERATOR(pg_catalog.=) NEW.partner;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER a_pairs AFTER UPDATE ON sds.pairs FOR EACH ROW EXECUTE FUNCTION sds.pairs_trg();
RESET ROLE;
SELECT nova.enable_soft_delete('sds.pairs');
SET ROLE sds_user;
DELETE FROM sds.pairs WHERE id = 1;
RESET ROLE;
SELECT id, deleted_at IS NOT NULL AS deleted, deleted_by FROM sds.pairs ORDER BY id;
SELECT pk, actor, count(*) FROM nova.audit_log WHERE table_name = 'sds.pairs' GROUP BY 1, 2 ORDER BY 1::text;

-- ---- 12. deleted_at / deleted_by / deleted_op cannot be set to other values by clients
SET ROLE sds_user;
UPDATE sds.notes SET deleted_at = '2000-01-01' WHERE id = 3;                 -- live row
\echo :LAST_ERROR_SQLSTATE
UPDATE sds.notes SET deleted_at = '2000-01-01' WHERE id = 1;                 -- deleted row
\echo :LAST_ERROR_SQLSTATE
UPDATE sds.notes SET deleted_by = 'someone' WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
UPDATE sds.notes SET deleted_op = 1 WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT id, deleted_at IS NULL OR deleted_at > '2001-01-01' AS at_ok, deleted_by FROM sds.notes ORDER BY id;
-- restoring stays allowed
SET ROLE sds_user;
UPDATE sds.notes SET deleted_at = NULL WHERE id = 2;
RESET ROLE;
SELECT id, deleted_at IS NULL AS live, deleted_by, deleted_op FROM sds.notes WHERE id = 2;

-- ---- 10. outbox events of a soft delete name the deleting role
SET ROLE sds_owner;
CREATE TABLE sds.posts (id bigint PRIMARY KEY, body text);
INSERT INTO sds.posts VALUES (1, 'p');
GRANT SELECT, DELETE ON sds.posts TO sds_user;
RESET ROLE;
SELECT nova.enable_soft_delete('sds.posts');
SELECT nova.enable_outbox('sds.posts');
SET ROLE sds_user;
DELETE FROM sds.posts WHERE id = 1;
RESET ROLE;
SELECT event_type, actor FROM nova.outbox WHERE source LIKE '%.sds.posts' ORDER BY id;

-- ---- B. audit => false
SET ROLE sds_owner;
CREATE TABLE sds.quiet (id bigint PRIMARY KEY);
INSERT INTO sds.quiet VALUES (1), (2);
RESET ROLE;
SELECT nova.enable_soft_delete('sds.quiet', audit => false);
SELECT audit FROM nova.soft_delete_tables WHERE tbl = 'sds.quiet'::regclass;
DELETE FROM sds.quiet WHERE id = 1;
SELECT nova.restore('sds.quiet', '{"id": 1}');
SELECT count(*) AS audited FROM nova.audit_log WHERE table_name = 'sds.quiet';
SELECT id, deleted_at IS NULL AS live FROM sds.quiet ORDER BY id;
-- switched back on
SELECT nova.enable_soft_delete('sds.quiet');
DELETE FROM sds.quiet WHERE id = 2;
SELECT action, pk FROM nova.audit_log WHERE table_name = 'sds.quiet';
SELECT nova.enable_soft_delete('sds.quiet', audit => NULL);
\echo :LAST_ERROR_SQLSTATE

-- ---- hostile search_path: shadow operators and functions are never called
CREATE SCHEMA sds_hostile AUTHORIZATION sds_owner;
SET ROLE sds_owner;
GRANT USAGE ON SCHEMA sds_hostile TO PUBLIC;
DO $$
DECLARE
  t text;
  op text;
BEGIN
  FOREACH t IN ARRAY ARRAY['bigint', 'integer', 'text', 'timestamptz', 'oid', 'name', '"char"', 'jsonb',
                           'tid', 'regclass', 'interval', 'boolean'] LOOP
    EXECUTE pg_catalog.format('CREATE FUNCTION sds_hostile.boom(a %1$s, b %1$s) RETURNS boolean LANGUAGE plpgsql AS '
                              '$b$ BEGIN RAISE EXCEPTION ''shadow operator called''; END $b$', t);
    FOREACH op IN ARRAY ARRAY['=', '<>', '<', '<=', '>', '>='] LOOP
      EXECUTE pg_catalog.format('CREATE OPERATOR sds_hostile.%s (LEFTARG = %s, RIGHTARG = %s, FUNCTION = sds_hostile.boom)',
                                op, t, t);
    END LOOP;
  END LOOP;
END $$;
CREATE FUNCTION sds_hostile.cat(a text, b text) RETURNS text LANGUAGE plpgsql AS
  $$ BEGIN RAISE EXCEPTION 'shadow || called'; END $$;
CREATE OPERATOR sds_hostile.|| (LEFTARG = text, RIGHTARG = text, FUNCTION = sds_hostile.cat);
CREATE FUNCTION sds_hostile.minus(a timestamptz, b interval) RETURNS timestamptz LANGUAGE plpgsql AS
  $$ BEGIN RAISE EXCEPTION 'shadow - called'; END $$;
CREATE OPERATOR sds_hostile.- (LEFTARG = timestamptz, RIGHTARG = interval, FUNCTION = sds_hostile.minus);
CREATE FUNCTION sds_hostile.now() RETURNS timestamptz LANGUAGE plpgsql AS
  $$ BEGIN RAISE EXCEPTION 'shadow now() called'; END $$;
CREATE FUNCTION sds_hostile.jsonb_populate_record(a anyelement, b jsonb) RETURNS anyelement LANGUAGE plpgsql AS
  $$ BEGIN RAISE EXCEPTION 'shadow jsonb_populate_record called'; END $$;
CREATE FUNCTION sds_hostile.jsonb_build_object(a text, b text) RETURNS jsonb LANGUAGE plpgsql AS
  $$ BEGIN RAISE EXCEPTION 'shadow jsonb_build_object called'; END $$;
CREATE TABLE sds.h_users (id bigint PRIMARY KEY, name text);
CREATE TABLE sds.h_posts (id bigint PRIMARY KEY, author_id bigint REFERENCES sds.h_users ON DELETE CASCADE);
INSERT INTO sds.h_users VALUES (1, 'a'), (2, 'b'), (3, 'c');
INSERT INTO sds.h_posts VALUES (10, 1), (11, 1), (20, 2), (30, 3);
GRANT SELECT, DELETE, UPDATE ON sds.h_users, sds.h_posts TO sds_user;
RESET ROLE;
SELECT nova.enable_soft_delete('sds.h_posts', 'author_id');
SELECT nova.enable_soft_delete('sds.h_users', 'id');
GRANT SELECT, DELETE ON sds.active_h_users TO sds_user;
GRANT EXECUTE ON FUNCTION nova.restore(regclass, jsonb) TO sds_user;
SET ROLE sds_user;
SET search_path = sds_hostile, pg_catalog;
DELETE FROM sds.h_users WHERE id OPERATOR(pg_catalog.=) 1;                              -- soft delete + cascade
DELETE FROM sds.active_h_users WHERE id OPERATOR(pg_catalog.=) 2;                       -- through the view
UPDATE sds.h_users SET deleted_at = pg_catalog.now() WHERE id OPERATOR(pg_catalog.=) 3; -- by UPDATE
SELECT nova.restore('sds.h_users', '{"id": 1}');                                        -- restore + cascade
UPDATE sds.h_users SET deleted_at = NULL WHERE id OPERATOR(pg_catalog.=) 3;
RESET ROLE;
SET search_path = sds_hostile, pg_catalog;
SELECT nova.purge('sds.h_users', '0 seconds');                                          -- purge (row 2 and post 20)
SELECT nova.erase_subject('3');                                                         -- erase
RESET search_path;
SELECT id, deleted_at IS NULL AS live FROM sds.h_users ORDER BY id;
SELECT id, deleted_at IS NULL AS live FROM sds.h_posts ORDER BY id;
SELECT action, pk, actor FROM nova.audit_log WHERE table_name LIKE 'sds.h\_%' ORDER BY id;

-- clean up
SET client_min_messages = warning;
SELECT nova.disable_outbox('sds.posts');
DELETE FROM nova.outbox;
SELECT nova.disable_soft_delete(tbl) FROM nova.soft_delete_tables WHERE tbl::text LIKE 'sds.%';
DROP SCHEMA sds, sds_mine, sds_hostile CASCADE;
DELETE FROM nova.audit_log;
REVOKE ALL ON FUNCTION nova.enable_soft_delete(regclass, name, boolean) FROM sds_admin;
REVOKE ALL ON FUNCTION nova.restore(regclass, jsonb) FROM sds_user;
REVOKE USAGE ON SCHEMA nova FROM sds_admin;
DROP OWNED BY sds_owner, sds_child_owner, sds_user, sds_admin;
DROP ROLE sds_owner, sds_child_owner, sds_user, sds_admin;
