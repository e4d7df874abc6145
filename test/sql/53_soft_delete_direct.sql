-- Soft delete's direct row update (docs/soft-delete.md, "Performance"): on a table
-- without other UPDATE triggers nova updates the row without SPI. The heap and
-- every index must end up as an executor UPDATE would leave them (amcheck), HOT
-- or not, partial indexes included; a table with a user UPDATE trigger keeps
-- the plan path and the trigger fires.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS nova;
CREATE EXTENSION IF NOT EXISTS amcheck;
RESET client_min_messages;
\set VERBOSITY terse

CREATE SCHEMA sdd;
-- not HOT: deleted_at is indexed, and a partial unique index depends on it
CREATE TABLE sdd.users (id bigint PRIMARY KEY, email text NOT NULL, bio text);
CREATE TABLE sdd.posts (id bigint PRIMARY KEY, author_id bigint NOT NULL REFERENCES sdd.users ON DELETE CASCADE);
SET client_min_messages = warning;
SELECT nova.enable_soft_delete('sdd.posts');
SELECT nova.enable_soft_delete('sdd.users');
RESET client_min_messages;
CREATE INDEX users_deleted_at ON sdd.users (deleted_at);
CREATE UNIQUE INDEX users_email_live ON sdd.users (email) WHERE deleted_at IS NULL;
-- HOT: no index covers nova's columns
CREATE TABLE sdd.notes (id bigint PRIMARY KEY, body text);
SELECT nova.enable_soft_delete('sdd.notes');
INSERT INTO sdd.users SELECT g, 'u' || g || '@example.com', pg_catalog.repeat('x', 3000 + g) FROM generate_series(1, 50) g;
INSERT INTO sdd.posts SELECT g, 1 + g % 50 FROM generate_series(1, 200) g;
INSERT INTO sdd.notes SELECT g, 'n' || g FROM generate_series(1, 50) g;

DELETE FROM sdd.users WHERE id % 3 = 0;
DELETE FROM sdd.notes WHERE id % 2 = 0;
SELECT count(*) FILTER (WHERE deleted_at IS NOT NULL) AS deleted, count(*) FILTER (WHERE deleted_by = current_user) AS by_me,
       count(DISTINCT deleted_op) AS ops FROM sdd.users;
SELECT count(*) AS posts_cascaded FROM sdd.posts WHERE deleted_at IS NOT NULL;
SELECT count(*) AS audited FROM nova.audit_log WHERE table_name IN ('sdd.users', 'sdd.posts', 'sdd.notes');
-- every index holds exactly the live row versions it should
SELECT c.relname, bt_index_parent_check(c.oid, true) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
 WHERE i.indrelid IN ('sdd.users'::regclass, 'sdd.notes'::regclass) ORDER BY 1;
SET enable_seqscan = off;
SELECT count(*) AS by_index FROM sdd.users WHERE deleted_at IS NOT NULL;
SELECT count(*) AS live_by_email FROM sdd.users WHERE email LIKE 'u%' AND deleted_at IS NULL;
RESET enable_seqscan;
-- the partial unique index lets a deleted user's email be used again (u3), a live one's not (u4)
INSERT INTO sdd.users VALUES (1000, 'u3@example.com', NULL);
INSERT INTO sdd.users VALUES (1001, 'u4@example.com', NULL);
-- restore, delete again: still consistent
SELECT nova.restore('sdd.users', '{"id": 6}');
DELETE FROM sdd.users WHERE id = 6;
SELECT c.relname, bt_index_parent_check(c.oid, true) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
 WHERE i.indrelid = 'sdd.users'::regclass ORDER BY 1;

-- a user's UPDATE trigger still sees nova's UPDATE (the plan path)
CREATE TABLE sdd.seen (id bigint, deleted_by text);
CREATE FUNCTION sdd.seen_trg() RETURNS trigger LANGUAGE plpgsql AS
  $$ BEGIN INSERT INTO sdd.seen VALUES (NEW.id, NEW.deleted_by); RETURN NEW; END $$;
CREATE TRIGGER seen AFTER UPDATE ON sdd.notes FOR EACH ROW EXECUTE FUNCTION sdd.seen_trg();
DELETE FROM sdd.notes WHERE id = 1;
SELECT id, deleted_by = current_user AS by_me FROM sdd.seen;
SELECT id, deleted_at IS NOT NULL AS deleted FROM sdd.notes WHERE id = 1;

SET client_min_messages = warning;
SELECT nova.disable_soft_delete(tbl) FROM nova.soft_delete_tables WHERE tbl::text LIKE 'sdd.%';
DROP SCHEMA sdd CASCADE;
DELETE FROM nova.audit_log;
