REVOKE ALL ON nova.soft_delete_tables FROM PUBLIC;
-- Readable by everyone: the triggers (running as the deleting user) read it; it holds no data.
GRANT SELECT ON nova.soft_delete_tables TO PUBLIC;
REVOKE ALL ON SEQUENCE nova.soft_delete_op_seq FROM PUBLIC;
REVOKE ALL ON nova.audit_log FROM PUBLIC;
REVOKE ALL ON SEQUENCE nova.audit_log_id_seq FROM PUBLIC;

-- Triggers (C++, src/pg/soft_delete_triggers.cpp).
CREATE OR REPLACE FUNCTION nova._soft_delete_trigger() RETURNS trigger
  LANGUAGE c AS 'MODULE_PATHNAME', 'nova_soft_delete_trigger';
CREATE OR REPLACE FUNCTION nova._soft_delete_update_trigger() RETURNS trigger
  LANGUAGE c AS 'MODULE_PATHNAME', 'nova_soft_delete_update_trigger';
CREATE OR REPLACE FUNCTION nova._soft_delete_cascade_trigger() RETURNS trigger
  LANGUAGE c AS 'MODULE_PATHNAME', 'nova_soft_delete_cascade_trigger';
CREATE OR REPLACE FUNCTION nova._soft_delete_truncate_trigger() RETURNS trigger
  LANGUAGE c AS 'MODULE_PATHNAME', 'nova_soft_delete_truncate_trigger';
CREATE OR REPLACE FUNCTION nova._soft_delete_view_trigger() RETURNS trigger
  LANGUAGE c AS 'MODULE_PATHNAME', 'nova_soft_delete_view_trigger';
CREATE OR REPLACE FUNCTION nova._soft_delete_invalidate(tbl regclass) RETURNS void
  LANGUAGE c STRICT AS 'MODULE_PATHNAME', 'nova_soft_delete_invalidate';
REVOKE ALL ON FUNCTION nova._soft_delete_trigger(), nova._soft_delete_update_trigger(),
  nova._soft_delete_cascade_trigger(), nova._soft_delete_truncate_trigger(),
  nova._soft_delete_view_trigger(), nova._soft_delete_invalidate(regclass) FROM PUBLIC;

-- Unique indexes that would block re-inserting a soft-deleted row, with the fix.
CREATE OR REPLACE VIEW nova.soft_delete_unique_conflicts AS
SELECT s.tbl,
       i.indexrelid::regclass AS index_name,
       con.conname AS constraint_name,
       k.columns,
       pg_catalog.format('CREATE UNIQUE INDEX %I ON %s (%s) WHERE deleted_at IS NULL; %s',
              left(ic.relname, 56) || '_active', s.tbl, k.columns,
              CASE WHEN con.conname IS NOT NULL
                   THEN pg_catalog.format('ALTER TABLE %s DROP CONSTRAINT %I;', s.tbl, con.conname)
                   ELSE pg_catalog.format('DROP INDEX %s;', i.indexrelid::regclass) END) AS fix
FROM nova.soft_delete_tables s
JOIN pg_catalog.pg_index i ON i.indrelid = s.tbl::oid
JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
LEFT JOIN pg_catalog.pg_constraint con ON con.conindid = i.indexrelid AND con.contype = 'u'
CROSS JOIN LATERAL (
  SELECT string_agg(pg_catalog.pg_get_indexdef(i.indexrelid, n, true), ', ' ORDER BY n) AS columns
  FROM generate_series(1, i.indnkeyatts) n) k
WHERE i.indisunique AND NOT i.indisprimary AND i.indpred IS NULL
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                  WHERE a.attrelid = s.tbl::oid AND a.attname = 'deleted_at' AND a.attnum = ANY (i.indkey));
REVOKE ALL ON nova.soft_delete_unique_conflicts FROM PUBLIC;

-- What a soft delete does to each foreign key referencing an enabled table.
CREATE OR REPLACE VIEW nova.soft_delete_foreign_keys AS
SELECT s.tbl AS parent,
       c.conrelid::regclass AS child,
       c.conname AS constraint_name,
       CASE c.confdeltype WHEN 'c' THEN 'CASCADE' WHEN 'n' THEN 'SET NULL' WHEN 'd' THEN 'SET DEFAULT'
                          WHEN 'r' THEN 'RESTRICT' ELSE 'NO ACTION' END AS on_delete,
       CASE WHEN c.confdeltype = 'c' AND ch.tbl IS NOT NULL THEN 'soft-deleted with the parent'
            WHEN c.confdeltype = 'c' THEN 'kept (child table not soft-delete enabled)'
            ELSE 'kept (the parent row stays)' END AS on_soft_delete
FROM nova.soft_delete_tables s
JOIN pg_catalog.pg_constraint c ON c.confrelid = s.tbl::oid AND c.contype = 'f'
LEFT JOIN nova.soft_delete_tables ch ON ch.tbl = c.conrelid;
REVOKE ALL ON nova.soft_delete_foreign_keys FROM PUBLIC;

CREATE OR REPLACE FUNCTION nova.enable_soft_delete(tbl regclass, owner_column name DEFAULT NULL,
                                                   audit boolean DEFAULT true) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  v_kind   "char";
  v_nsp    name;
  v_rel    name;
  v_view   text;
  v_type   oid;
  v_add    text := '';
  v_owner  oid;
  v_vowner oid;
  r        record;
BEGIN
  IF tbl IS NULL THEN
    RAISE EXCEPTION 'table must not be null' USING ERRCODE = '22004';
  END IF;
  SELECT c.relkind, n.nspname, c.relname, c.relowner INTO v_kind, v_nsp, v_rel, v_owner
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = tbl;
  IF audit IS NULL THEN
    RAISE EXCEPTION 'audit must not be null' USING ERRCODE = '22004';
  END IF;
  IF v_nsp IN ('nova', 'information_schema') OR v_nsp LIKE 'pg\_%' THEN
    RAISE EXCEPTION 'cannot enable soft delete on %', tbl USING ERRCODE = '0A000',
      DETAIL = 'Tables in schema nova and in system schemas cannot be soft-delete enabled.';
  END IF;
  IF v_kind = 'p' THEN
    RAISE EXCEPTION 'soft delete is not supported on partitioned table %', tbl
      USING ERRCODE = '0A000', HINT = 'Enable it on each partition.';
  ELSIF v_kind IS DISTINCT FROM 'r' THEN
    RAISE EXCEPTION '% is not a table', tbl USING ERRCODE = '42809';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_index WHERE indrelid = tbl AND indisprimary) THEN
    RAISE EXCEPTION 'table % has no primary key', tbl
      USING ERRCODE = '55000',
            DETAIL = 'Soft delete identifies rows (for restore and the audit trail) by their primary key.',
            HINT = format('Add one: ALTER TABLE %s ADD PRIMARY KEY (…);', tbl);
  END IF;
  IF owner_column IS NOT NULL AND NOT EXISTS (
       SELECT 1 FROM pg_attribute WHERE attrelid = tbl AND attname = owner_column AND attnum > 0 AND NOT attisdropped) THEN
    RAISE EXCEPTION 'column "%" of table % does not exist', owner_column, tbl USING ERRCODE = '42703';
  END IF;
  IF length('active_' || v_rel) > 63 THEN
    RAISE EXCEPTION 'view name "active_%" would be longer than 63 bytes', v_rel USING ERRCODE = '42622';
  END IF;

  -- Columns (added when missing; existing ones must have the right type).
  FOR r IN SELECT * FROM (VALUES ('deleted_at', 'timestamptz'::regtype), ('deleted_by', 'text'::regtype),
                                 ('deleted_op', 'bigint'::regtype)) AS m(col, typ) LOOP
    SELECT atttypid INTO v_type FROM pg_attribute
      WHERE attrelid = tbl AND attname = r.col AND attnum > 0 AND NOT attisdropped;
    IF NOT FOUND THEN
      v_add := v_add || CASE WHEN v_add = '' THEN '' ELSE ', ' END || format('ADD COLUMN %I %s', r.col, r.typ);
    ELSIF v_type <> r.typ THEN
      RAISE EXCEPTION 'column "%" of table % has type %, expected %', r.col, tbl, v_type::regtype, r.typ
        USING ERRCODE = '42804';
    END IF;
  END LOOP;
  IF v_add <> '' THEN
    EXECUTE format('ALTER TABLE %s %s', tbl, v_add);
  END IF;

  -- The view of live rows: an existing active_<table> must be the one nova made for
  -- this table (its INSTEAD OF trigger runs nova's function, which only nova can
  -- attach); another role's view of that name would stay that role's to redefine.
  v_view := 'active_' || v_rel;
  SELECT c.relkind, c.relowner INTO v_kind, v_vowner FROM pg_class c
    WHERE c.relname = v_view AND c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = v_nsp);
  IF FOUND AND v_kind <> 'v' THEN
    RAISE EXCEPTION 'relation %.% exists and is not a view', quote_ident(v_nsp), quote_ident(v_view) USING ERRCODE = '42P07';
  ELSIF FOUND AND NOT EXISTS (
      SELECT 1 FROM pg_trigger t
       WHERE t.tgrelid = format('%I.%I', v_nsp, v_view)::regclass AND t.tgname = 'nova_soft_delete'
         AND t.tgfoid = 'nova._soft_delete_view_trigger()'::regprocedure AND t.tgnargs = 1
         AND t.tgargs = convert_to(tbl::oid::text, 'UTF8') || '\x00'::bytea) THEN
    RAISE EXCEPTION 'view %.% exists and was not created by nova for %', quote_ident(v_nsp), quote_ident(v_view), tbl
      USING ERRCODE = '42P07',
            DETAIL = format('It is owned by %s.', pg_get_userbyid(v_vowner)),
            HINT = 'Drop or rename it; nova.enable_soft_delete() creates the view of live rows itself.';
  END IF;

  INSERT INTO nova.soft_delete_tables AS s (tbl, owner_column, audit) VALUES (tbl, owner_column, audit)
    ON CONFLICT ON CONSTRAINT soft_delete_tables_pkey
    DO UPDATE SET owner_column = EXCLUDED.owner_column, audit = EXCLUDED.audit;

  EXECUTE format('CREATE OR REPLACE TRIGGER nova_soft_delete BEFORE DELETE ON %s '
                 'FOR EACH ROW EXECUTE FUNCTION nova._soft_delete_trigger()', tbl);
  -- No WHEN clauses: PostgreSQL parses a trigger's WHEN for every new executor, i.e. for every
  -- nested UPDATE nova runs; the C++ triggers test the same conditions for free.
  EXECUTE format('CREATE OR REPLACE TRIGGER nova_soft_delete_update BEFORE UPDATE OF deleted_at, deleted_by, deleted_op ON %s '
                 'FOR EACH ROW EXECUTE FUNCTION nova._soft_delete_update_trigger()', tbl);
  EXECUTE format('CREATE OR REPLACE TRIGGER nova_soft_delete_cascade AFTER UPDATE OF deleted_at ON %s '
                 'FOR EACH ROW EXECUTE FUNCTION nova._soft_delete_cascade_trigger()', tbl);
  EXECUTE format('CREATE OR REPLACE TRIGGER nova_soft_delete_truncate BEFORE TRUNCATE ON %s '
                 'FOR EACH STATEMENT EXECUTE FUNCTION nova._soft_delete_truncate_trigger()', tbl);

  -- The view of live rows. DELETE through it soft-deletes (INSTEAD OF trigger, so the
  -- row count is right); INSERT and UPDATE go to the table (auto-updatable view).
  EXECUTE format('CREATE OR REPLACE VIEW %I.%I WITH (security_invoker = true) AS SELECT * FROM ONLY %s WHERE deleted_at IS NULL',
                 v_nsp, v_view, tbl);
  -- Owned by the table's owner (who alone may then redefine it).
  EXECUTE format('ALTER VIEW %I.%I OWNER TO %I', v_nsp, v_view, pg_get_userbyid(v_owner));
  EXECUTE format('CREATE OR REPLACE TRIGGER nova_soft_delete INSTEAD OF DELETE ON %I.%I '
                 'FOR EACH ROW EXECUTE FUNCTION nova._soft_delete_view_trigger(%L)', v_nsp, v_view, tbl::oid::text);

  -- Parents' cached plans must learn about this new cascade child.
  PERFORM nova._soft_delete_invalidate(c.confrelid) FROM pg_constraint c WHERE c.conrelid = tbl AND c.contype = 'f';
  PERFORM nova._soft_delete_invalidate(tbl);

  -- Reports.
  FOR r IN SELECT * FROM nova.soft_delete_unique_conflicts u WHERE u.tbl = enable_soft_delete.tbl LOOP
    RAISE WARNING 'unique index % on % would block re-inserting a soft-deleted row', r.index_name, tbl
      USING DETAIL = format('Columns: %s. Soft-deleted rows keep their values.', r.columns),
            HINT = 'Make it a partial unique index over live rows: ' || r.fix;
  END LOOP;
  FOR r IN SELECT * FROM nova.soft_delete_foreign_keys f
           WHERE (f.parent = enable_soft_delete.tbl OR f.child = enable_soft_delete.tbl)
             AND f.on_soft_delete <> 'soft-deleted with the parent' LOOP
    RAISE NOTICE 'foreign key % of % (ON DELETE %): % when a row of % is soft-deleted',
      r.constraint_name, r.child, r.on_delete, r.on_soft_delete, r.parent;
  END LOOP;
END
$fn$;

CREATE OR REPLACE FUNCTION nova.disable_soft_delete(tbl regclass) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  v_nsp  name;
  v_rel  name;
  r      record;
BEGIN
  IF tbl IS NULL THEN
    RAISE EXCEPTION 'table must not be null' USING ERRCODE = '22004';
  END IF;
  SELECT n.nspname, c.relname INTO v_nsp, v_rel FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.oid = tbl;
  FOR r IN SELECT tgname FROM pg_trigger WHERE tgrelid = tbl
           AND tgname IN ('nova_soft_delete', 'nova_soft_delete_update', 'nova_soft_delete_cascade', 'nova_soft_delete_truncate') LOOP
    EXECUTE format('DROP TRIGGER %I ON %s', r.tgname, tbl);
  END LOOP;
  -- Only the view nova made for this table (see enable_soft_delete).
  IF EXISTS (SELECT 1 FROM pg_class c JOIN pg_trigger t ON t.tgrelid = c.oid
              WHERE c.relname = 'active_' || v_rel AND c.relkind = 'v'
                AND c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = v_nsp)
                AND t.tgname = 'nova_soft_delete' AND t.tgfoid = 'nova._soft_delete_view_trigger()'::regprocedure
                AND t.tgnargs = 1 AND t.tgargs = convert_to(tbl::oid::text, 'UTF8') || '\x00'::bytea) THEN
    EXECUTE format('DROP VIEW %I.%I', v_nsp, 'active_' || v_rel);
  END IF;
  DELETE FROM nova.soft_delete_tables s WHERE s.tbl = disable_soft_delete.tbl;
  PERFORM nova._soft_delete_invalidate(c.confrelid) FROM pg_constraint c WHERE c.conrelid = tbl AND c.contype = 'f';
  PERFORM nova._soft_delete_invalidate(tbl);
END
$fn$;

CREATE OR REPLACE FUNCTION nova.restore(tbl regclass, pk jsonb) RETURNS bigint
  LANGUAGE c STRICT AS 'MODULE_PATHNAME', 'nova_soft_delete_restore';
CREATE OR REPLACE FUNCTION nova.purge(tbl regclass, older_than interval) RETURNS bigint
  LANGUAGE c STRICT AS 'MODULE_PATHNAME', 'nova_soft_delete_purge';
CREATE OR REPLACE FUNCTION nova.erase_subject(subject text) RETURNS jsonb
  LANGUAGE c STRICT AS 'MODULE_PATHNAME', 'nova_soft_delete_erase_subject';

REVOKE ALL ON FUNCTION nova.enable_soft_delete(regclass, name, boolean), nova.disable_soft_delete(regclass),
  nova.restore(regclass, jsonb), nova.purge(regclass, interval), nova.erase_subject(text) FROM PUBLIC;
-- Services may restore what their users deleted (runs with the caller's privileges on the table).
GRANT EXECUTE ON FUNCTION nova.restore(regclass, jsonb) TO nova_service;
