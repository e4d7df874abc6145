-- Catalog changes from 1.0 to 1.1: what src/sql/pre/ creates differently now, and
-- functions or views whose signature changed (dropped here, recreated by the
-- replaceable files that make appends to this one). See src/sql/README.md.

-- relay: its own role, status names it (issues 9, 10, 11)
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'nova_relay') THEN
    CREATE ROLE nova_relay NOLOGIN;
  END IF;
END
$$;
-- nova._relay_status() gains an OUT column (role): drop it and the view built on it;
-- src/sql/40_relay.sql creates both again, with their grants.
DROP VIEW nova.relay;
DROP FUNCTION nova._relay_status();

-- outbox write path security (issue 9): publish grants (src/sql/pre/22_publish_grants.sql).
CREATE TABLE nova.publish_grants (
  grantee       regrole     NOT NULL,
  topic_pattern text        NOT NULL CHECK (topic_pattern OPERATOR(pg_catalog.<>) ''),  -- LIKE pattern
  granted_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
  PRIMARY KEY (grantee, topic_pattern)
);
SELECT pg_catalog.pg_extension_config_dump('nova.publish_grants', '');
-- soft delete: audit => false (issue 12)
ALTER TABLE nova.soft_delete_tables ADD COLUMN audit boolean NOT NULL DEFAULT true;
DROP FUNCTION nova.enable_soft_delete(regclass, name);
-- event contract (issue 10)
-- Tables enabled under 1.0 keep their 1.0 behaviour (no tombstones, no fixed
-- headers; their triggers carry format-1 arguments) until enable_outbox runs
-- again; new rows get the 1.1 default. Their stored topics are kept.
ALTER TABLE nova.outbox_tables ADD COLUMN tombstones boolean NOT NULL DEFAULT false;
ALTER TABLE nova.outbox_tables ALTER COLUMN tombstones SET DEFAULT true;
ALTER TABLE nova.outbox_tables ADD COLUMN headers jsonb NOT NULL DEFAULT '{}';
DROP FUNCTION nova.enable_outbox(regclass, text, name, text, name[]);
CREATE TABLE nova.snapshot_jobs (
  id             bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tbl            regclass    NOT NULL,
  batch_size     int         NOT NULL CHECK (batch_size BETWEEN 1 AND 1000000),
  state          text        NOT NULL DEFAULT 'pending'
                             CHECK (state IN ('pending', 'running', 'done', 'failed', 'cancelled')),
  key_columns    name[]      NOT NULL,
  cursor         text[],
  rows_done      bigint      NOT NULL DEFAULT 0,
  rows_estimated bigint,
  started_at     timestamptz NOT NULL DEFAULT now(),
  finished_at    timestamptz,
  last_error     text
);
CREATE UNIQUE INDEX snapshot_jobs_active_idx ON nova.snapshot_jobs (tbl) WHERE state IN ('pending', 'running');
-- register_schema gains force => (refuse a schema that rejects current data unless true).
DROP FUNCTION nova.register_schema(text, jsonb, text);
-- operations: test hooks only in test builds (issue 11)
-- 1.0 created these for everyone; from 1.1 only a test build has them (its
-- src/sql/test_hooks/*.sql, appended after this file, creates them again).
DROP FUNCTION IF EXISTS nova._selftest_boundary(text);
DROP FUNCTION IF EXISTS nova._breaker_clock_advance(interval);
-- soft delete: nova's active_<t> views (issues 9 and 11)
-- 1.0's enable_soft_delete ran CREATE OR REPLACE VIEW active_<t> over whatever view
-- of that name existed, so a view another role had created first kept that owner,
-- who could redefine it (e.g. without the deleted_at filter or security_invoker),
-- add rules (run as the view's owner), or triggers and column defaults (run for
-- whoever writes through it); and views enabled by a superuser were the
-- superuser's. 1.1 makes the view the table owner's. For every enabled table
-- whose active_<t> view is owned by anyone else, this update re-creates nova's
-- view: its definition and options, nova's INSTEAD OF trigger, owned by the
-- table's owner. Rules, triggers and column defaults a previous owner who is not
-- a superuser added are dropped; grants on the view are kept. A view whose columns
-- were changed so that CREATE OR REPLACE cannot restore nova's is dropped and
-- created again; if other objects depend on such a view the update stops and
-- lists them. One WARNING per repaired view that was not a superuser's (a NOTICE,
-- which extension scripts do not show by default, for a superuser's;
-- docs/soft-delete.md, "Upgrading from 1.0").
DO $$
DECLARE
  r        record;
  x        record;
  v_path   text := pg_catalog.current_setting('search_path');
  v_acl    pg_catalog.aclitem[];
  v_done   text;
  v_stuck  text := '';
BEGIN
  PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
  FOR r IN
    SELECT s.tbl::oid AS tbl, c.relowner AS towner, v.oid AS view, v.relowner AS vowner,
           format('%I.%I', n.nspname, v.relname) AS vname, format('%I.%I', n.nspname, c.relname) AS tname,
           NOT o.rolsuper AS untrusted
      FROM nova.soft_delete_tables s
      JOIN pg_class c ON c.oid = s.tbl::oid
      JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_class v ON v.relnamespace = c.relnamespace AND v.relname = 'active_' || c.relname AND v.relkind = 'v'
      JOIN pg_roles o ON o.oid = v.relowner
     WHERE v.relowner <> c.relowner
     ORDER BY 5
  LOOP
    v_done := '';
    IF r.untrusted THEN
      FOR x IN SELECT rulename FROM pg_rewrite WHERE ev_class = r.view AND rulename <> '_RETURN' LOOP
        EXECUTE format('DROP RULE %I ON %s', x.rulename, r.vname);
        v_done := v_done || format(', rule %I', x.rulename);
      END LOOP;
      FOR x IN SELECT tgname FROM pg_trigger WHERE tgrelid = r.view AND NOT tgisinternal AND tgname <> 'nova_soft_delete' LOOP
        EXECUTE format('DROP TRIGGER %I ON %s', x.tgname, r.vname);
        v_done := v_done || format(', trigger %I', x.tgname);
      END LOOP;
      FOR x IN SELECT a.attname FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
                WHERE d.adrelid = r.view LOOP
        EXECUTE format('ALTER VIEW %s ALTER COLUMN %I DROP DEFAULT', r.vname, x.attname);
        v_done := v_done || format(', default of %I', x.attname);
      END LOOP;
    END IF;
    -- An extension script may replace only its own members: the view is one for the
    -- length of the repair (ALTER EXTENSION ... ADD / DROP), never afterwards.
    EXECUTE format('ALTER EXTENSION nova ADD VIEW %s', r.vname);
    BEGIN
      EXECUTE format('CREATE OR REPLACE VIEW %s WITH (security_invoker = true) AS SELECT * FROM ONLY %s WHERE deleted_at IS NULL',
                     r.vname, r.tname);
    EXCEPTION WHEN invalid_table_definition THEN
      -- columns renamed, retyped or reordered: drop and create it again, keeping its grants
      SELECT relacl INTO v_acl FROM pg_class WHERE oid = r.view;
      BEGIN
        EXECUTE format('DROP VIEW %s', r.vname);
      EXCEPTION WHEN dependent_objects_still_exist THEN
        v_stuck := v_stuck || format(E'\n  %s (owned by %s)', r.vname, pg_get_userbyid(r.vowner));
        CONTINUE;
      END;
      EXECUTE format('CREATE VIEW %s WITH (security_invoker = true) AS SELECT * FROM ONLY %s WHERE deleted_at IS NULL',
                     r.vname, r.tname);
      FOR x IN SELECT a.grantee, a.privilege_type, a.is_grantable FROM aclexplode(v_acl) a WHERE a.grantee <> r.vowner LOOP
        EXECUTE format('GRANT %s ON %s TO %s%s', x.privilege_type, r.vname,
                       CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(x.grantee)) END,
                       CASE WHEN x.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
      END LOOP;
      v_done := v_done || ', columns (view re-created)';
    END;
    EXECUTE format('ALTER EXTENSION nova DROP VIEW %s', r.vname);
    EXECUTE format('ALTER VIEW %s OWNER TO %I', r.vname, pg_get_userbyid(r.towner));
    EXECUTE format('CREATE OR REPLACE TRIGGER nova_soft_delete INSTEAD OF DELETE ON %s '
                   'FOR EACH ROW EXECUTE FUNCTION nova._soft_delete_view_trigger(%L)', r.vname, r.tbl::text);
    v_done := CASE WHEN v_done = '' THEN 'Its definition, options and trigger are nova''s.'
                   ELSE 'Its definition, options and trigger are nova''s; removed: ' || substr(v_done, 3) || '.' END;
    IF r.untrusted THEN
      RAISE WARNING 'view % was owned by %: now nova''s view of %, owned by %', r.vname, pg_get_userbyid(r.vowner),
        r.tname, pg_get_userbyid(r.towner) USING DETAIL = v_done;
    ELSE
      RAISE NOTICE 'view % was owned by %: now nova''s view of %, owned by %', r.vname, pg_get_userbyid(r.vowner),
        r.tname, pg_get_userbyid(r.towner) USING DETAIL = v_done;
    END IF;
  END LOOP;
  IF v_stuck <> '' THEN
    RAISE EXCEPTION 'cannot update nova: these active_<table> views cannot be repaired:%', v_stuck
      USING ERRCODE = '55000',
            DETAIL = 'Their columns no longer match their tables and other objects depend on them; 1.1 must re-create '
                     'each one for the table''s owner (docs/soft-delete.md, "Upgrading from 1.0").',
            HINT = 'Drop each view (DROP VIEW ... CASCADE) or give it back the table''s columns, then run ALTER EXTENSION nova UPDATE again.';
  END IF;
  PERFORM pg_catalog.set_config('search_path', v_path, true);
END
$$;
