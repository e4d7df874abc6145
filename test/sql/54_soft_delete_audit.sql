-- Constraints an operator adds to nova.audit_log hold for nova's audit rows
-- (docs/soft-delete.md, "Audit trail"; docs/security.md, "Direct inserts"). A
-- soft delete (or restore) whose audit row violates a CHECK constraint or a NOT
-- NULL fails with that constraint's SQLSTATE and changes nothing (the row is not
-- deleted, no audit row is written), both when the audit row goes in by nova's
-- direct insert and when it goes in by the fallback INSERT (taken while
-- audit_log has a trigger or another column layout; its error carries that
-- INSERT as context), for tables soft-deleted by the direct row update and by
-- the plan path (a user UPDATE trigger). Once the constraint is dropped the same
-- statement works. Deletes run as a non-superuser role.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS nova;
RESET client_min_messages;
\set VERBOSITY terse

CREATE ROLE sdc_owner;
CREATE ROLE sdc_user;
CREATE SCHEMA sdc AUTHORIZATION sdc_owner;
GRANT USAGE ON SCHEMA sdc TO sdc_user;
SET ROLE sdc_owner;
CREATE TABLE sdc.notes (id bigint PRIMARY KEY, body text);    -- soft-deleted by the direct row update
CREATE TABLE sdc.logged (id bigint PRIMARY KEY, body text);   -- a user UPDATE trigger: the plan path
CREATE TABLE sdc.seen (id bigint);
CREATE FUNCTION sdc.seen_trg() RETURNS trigger LANGUAGE plpgsql AS
  $$ BEGIN INSERT INTO sdc.seen VALUES (NEW.id); RETURN NEW; END $$;
CREATE TRIGGER seen AFTER UPDATE ON sdc.logged FOR EACH ROW EXECUTE FUNCTION sdc.seen_trg();
-- rows soft-deleted before nova was enabled (a migration): no deleted_op
CREATE TABLE sdc.legacy (id bigint PRIMARY KEY, deleted_at timestamptz, deleted_by text, deleted_op bigint);
INSERT INTO sdc.notes SELECT g, 'n' || g FROM generate_series(1, 5) g;
INSERT INTO sdc.logged SELECT g, 'l' || g FROM generate_series(1, 5) g;
INSERT INTO sdc.legacy VALUES (1, '2020-01-01', 'migration', NULL);
GRANT SELECT, DELETE ON sdc.notes, sdc.logged TO sdc_user;
GRANT SELECT, UPDATE ON sdc.legacy TO sdc_user;
GRANT INSERT ON sdc.seen TO sdc_user;
RESET ROLE;
SELECT nova.enable_soft_delete('sdc.notes');
SELECT nova.enable_soft_delete('sdc.logged');
SELECT nova.enable_soft_delete('sdc.legacy');
DELETE FROM nova.audit_log;
-- what a failed statement must leave unchanged
CREATE TEMP VIEW sdc_state AS
  SELECT (SELECT pg_catalog.count(*) FROM sdc.notes WHERE deleted_at IS NOT NULL) AS notes_deleted,
         (SELECT pg_catalog.count(*) FROM sdc.logged WHERE deleted_at IS NOT NULL) AS logged_deleted,
         (SELECT pg_catalog.count(*) FROM sdc.legacy WHERE deleted_at IS NOT NULL) AS legacy_deleted,
         (SELECT pg_catalog.count(*) FROM sdc.seen) AS update_trigger_ran,
         (SELECT pg_catalog.count(*) FROM nova.audit_log) AS audit_rows;
-- runs a statement as the current role; on error: SQLSTATE, the constraint or
-- column, and which way the audit row went in
CREATE FUNCTION public.sdc_try(stmt text) RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
  st text; con text; col text; ctx text;
BEGIN
  EXECUTE stmt;
  RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, con = CONSTRAINT_NAME, col = COLUMN_NAME, ctx = PG_EXCEPTION_CONTEXT;
  RETURN format('%s %s, %s', st, CASE WHEN con <> '' THEN 'constraint ' || con ELSE 'column ' || col END,
                CASE WHEN ctx LIKE '%INSERT INTO nova.audit_log%' THEN 'fallback INSERT' ELSE 'direct insert' END);
END $$;
-- an operator's trigger on audit_log (forces the fallback INSERT; counts what it sees)
CREATE TABLE public.sdc_audit_trigger_rows (n int);
CREATE FUNCTION public.sdc_audit_trg() RETURNS trigger LANGUAGE plpgsql SET search_path = pg_catalog AS
  $$ BEGIN INSERT INTO public.sdc_audit_trigger_rows VALUES (1); RETURN NEW; END $$;

-- ---- CHECK: the operator's policy is that every audited request id looks like req-…
ALTER TABLE nova.audit_log ADD CONSTRAINT audit_log_correlation_format CHECK (pg_catalog.starts_with(correlation_id, 'req-'));
SET ROLE sdc_user;
SET nova.correlation_id = 'job-1';
SELECT public.sdc_try('DELETE FROM sdc.notes WHERE id = 1') AS notes, public.sdc_try('DELETE FROM sdc.logged WHERE id = 1') AS logged;
RESET ROLE;
SELECT * FROM sdc_state;
CREATE TRIGGER sdc_audit BEFORE INSERT ON nova.audit_log FOR EACH ROW EXECUTE FUNCTION public.sdc_audit_trg();
SET ROLE sdc_user;
SELECT public.sdc_try('DELETE FROM sdc.notes WHERE id = 1') AS notes, public.sdc_try('DELETE FROM sdc.logged WHERE id = 1') AS logged;
-- a plain failing statement: the SQLSTATE reaches the client
DELETE FROM sdc.notes WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT * FROM sdc_state;
SELECT pg_catalog.count(*) AS audit_trigger_rows FROM public.sdc_audit_trigger_rows;
-- dropped: the same deletes work (fallback INSERT: the trigger sees both rows)
ALTER TABLE nova.audit_log DROP CONSTRAINT audit_log_correlation_format;
SET ROLE sdc_user;
SELECT public.sdc_try('DELETE FROM sdc.notes WHERE id = 1') AS notes, public.sdc_try('DELETE FROM sdc.logged WHERE id = 1') AS logged;
RESET ROLE;
SELECT * FROM sdc_state;
SELECT pg_catalog.count(*) AS audit_trigger_rows FROM public.sdc_audit_trigger_rows;
-- and by the direct insert (no trigger): refused with the CHECK, works without it
DROP TRIGGER sdc_audit ON nova.audit_log;
ALTER TABLE nova.audit_log ADD CONSTRAINT audit_log_correlation_format CHECK (pg_catalog.starts_with(correlation_id, 'req-')) NOT VALID;
SET ROLE sdc_user;
SELECT public.sdc_try('DELETE FROM sdc.notes WHERE id = 2') AS notes, public.sdc_try('DELETE FROM sdc.logged WHERE id = 2') AS logged;
RESET ROLE;
SELECT * FROM sdc_state;
ALTER TABLE nova.audit_log DROP CONSTRAINT audit_log_correlation_format;
SET ROLE sdc_user;
SELECT public.sdc_try('DELETE FROM sdc.notes WHERE id = 2') AS notes, public.sdc_try('DELETE FROM sdc.logged WHERE id = 2') AS logged;
RESET nova.correlation_id;
RESET ROLE;
SELECT * FROM sdc_state;
SELECT pg_catalog.count(*) AS audit_trigger_rows FROM public.sdc_audit_trigger_rows;

-- ---- NOT NULL on a column nova may leave NULL: operation_id of a restore of a row
-- deleted before nova (deleted_op NULL); restoring (clearing deleted_at) is allowed
ALTER TABLE nova.audit_log ALTER COLUMN operation_id SET NOT NULL;
SET ROLE sdc_user;
SELECT public.sdc_try('UPDATE sdc.legacy SET deleted_at = NULL WHERE id = 1') AS legacy;
RESET ROLE;
CREATE TRIGGER sdc_audit BEFORE INSERT ON nova.audit_log FOR EACH ROW EXECUTE FUNCTION public.sdc_audit_trg();
SET ROLE sdc_user;
SELECT public.sdc_try('UPDATE sdc.legacy SET deleted_at = NULL WHERE id = 1') AS legacy;
RESET ROLE;
DROP TRIGGER sdc_audit ON nova.audit_log;
SELECT * FROM sdc_state;
ALTER TABLE nova.audit_log ALTER COLUMN operation_id DROP NOT NULL;
SET ROLE sdc_user;
SELECT public.sdc_try('UPDATE sdc.legacy SET deleted_at = NULL WHERE id = 1') AS legacy;
RESET ROLE;
SELECT * FROM sdc_state;

-- ---- NOT NULL on a column the operator adds without a default (another column
-- layout: always the fallback INSERT). In a transaction rolled back at the end, so
-- that audit_log keeps its layout (a dropped column would stay in it).
\set ON_ERROR_ROLLBACK on
BEGIN;
ALTER TABLE nova.audit_log ADD COLUMN ticket text NOT NULL DEFAULT 'legacy';
ALTER TABLE nova.audit_log ALTER COLUMN ticket DROP DEFAULT;
SET ROLE sdc_user;
SELECT public.sdc_try('DELETE FROM sdc.notes WHERE id = 3') AS notes, public.sdc_try('DELETE FROM sdc.logged WHERE id = 3') AS logged;
DELETE FROM sdc.notes WHERE id = 3;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT * FROM sdc_state;
ALTER TABLE nova.audit_log ALTER COLUMN ticket DROP NOT NULL;
SET ROLE sdc_user;
SELECT public.sdc_try('DELETE FROM sdc.notes WHERE id = 3') AS notes, public.sdc_try('DELETE FROM sdc.logged WHERE id = 3') AS logged;
RESET ROLE;
SELECT * FROM sdc_state;
ROLLBACK;
\set ON_ERROR_ROLLBACK off
SELECT pg_catalog.count(*) AS columns FROM pg_attribute WHERE attrelid = 'nova.audit_log'::regclass AND attnum > 0;

SELECT action, table_name, pk, actor, CASE WHEN correlation_id LIKE 'job-%' THEN correlation_id ELSE '(generated)' END AS correlation_id,
       operation_id IS NULL AS no_op FROM nova.audit_log ORDER BY id;
SELECT id, deleted_by FROM sdc.notes WHERE deleted_at IS NOT NULL ORDER BY id;
SELECT id, deleted_by FROM sdc.logged WHERE deleted_at IS NOT NULL ORDER BY id;

-- clean up
SET client_min_messages = warning;
SELECT nova.disable_soft_delete(tbl) FROM nova.soft_delete_tables WHERE tbl::text LIKE 'sdc.%';
DROP VIEW sdc_state;
DROP SCHEMA sdc CASCADE;
DROP TABLE public.sdc_audit_trigger_rows;
DROP FUNCTION public.sdc_audit_trg(), public.sdc_try(text);
DELETE FROM nova.audit_log;
DROP OWNED BY sdc_owner, sdc_user;
DROP ROLE sdc_owner, sdc_user;
