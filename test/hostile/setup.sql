-- The hostile database (tools/test.sh hostile; docs/security.md, "The hostile-database stage").
--
-- Schema `hostile`, put first in every role's search_path by the stage, holds
-- shadows of the operators and pg_catalog functions nova's SQL uses. A shadow
-- behaves exactly like the original (so the test suite still works), but when
-- it is reached from nova's own code — a statement nova's C++ runs through SPI,
-- or a nova.* PL/pgSQL or SQL function — it writes a line
--     nova-hostile-shadow: <shadow> | caller: <context> | statement: <top-level statement>
-- to the server log. A LOG line survives the rollback of the statement that
-- caused it, which a row in a table would not. Calls written by the tests
-- themselves (top-level statements, the tests' own functions) are not
-- reported: that is the tests' own search_path, not nova's.
--
-- psql variable :names is a comma-separated list of function names to shadow
-- (the stage greps them from src/); shadows are made for every pg_catalog
-- overload PL/pgSQL can wrap (not VARIADIC "any", not OUT parameters, not
-- internal/cstring/record arguments). count(*), array_agg, string_agg, min and
-- max are shadowed as aggregates.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE SCHEMA hostile;
GRANT USAGE ON SCHEMA hostile TO PUBLIC;

-- Is the shadow `shadow` ('function f(args)' / 'operator op(l, r)') used by a stored
-- expression of a test's own table named in nova's statement `stmt` (a CHECK
-- constraint, column default, index, policy, trigger condition or view the test
-- created under this search_path)? nova's UPDATE of such a table evaluates the
-- test's constraint, which is not nova's SQL. A function nova's statement itself
-- calls by its bare name is still nova's.
CREATE FUNCTION hostile._stored_use(shadow text, stmt text) RETURNS boolean
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  obj oid;
  cls oid;
  fn text;
BEGIN
  IF shadow LIKE 'function %' THEN
    obj := to_regprocedure('hostile.' || substr(shadow, 10));
    cls := 'pg_proc'::regclass;
    fn := regexp_replace(substr(shadow, 10), '\(.*$', '');
    IF stmt ~* ('(^|[^.a-z0-9_"])' || fn || '\s*\(') THEN
      RETURN false;
    END IF;
  ELSIF shadow LIKE 'operator %' THEN
    obj := to_regoperator('hostile.' || substr(shadow, 10));
    cls := 'pg_operator'::regclass;
  END IF;
  IF obj IS NULL THEN
    RETURN false;
  END IF;
  RETURN EXISTS (
    SELECT 1
      FROM pg_depend d
      LEFT JOIN pg_constraint c ON d.classid = 'pg_constraint'::regclass AND c.oid = d.objid
      LEFT JOIN pg_attrdef a ON d.classid = 'pg_attrdef'::regclass AND a.oid = d.objid
      LEFT JOIN pg_policy p ON d.classid = 'pg_policy'::regclass AND p.oid = d.objid
      LEFT JOIN pg_trigger t ON d.classid = 'pg_trigger'::regclass AND t.oid = d.objid
      LEFT JOIN pg_rewrite r ON d.classid = 'pg_rewrite'::regclass AND r.oid = d.objid
      LEFT JOIN pg_index i ON d.classid = 'pg_class'::regclass AND i.indexrelid = d.objid
      JOIN pg_class rel ON rel.oid = coalesce(c.conrelid, a.adrelid, p.polrelid, t.tgrelid, r.ev_class, i.indrelid)
     WHERE d.refclassid = cls AND d.refobjid = obj
       AND rel.relnamespace NOT IN ('nova'::regnamespace, 'hostile'::regnamespace)
       AND position(rel.relname in stmt) > 0);
END
$fn$;

-- Is the caller nova? `ctx` is PG_CONTEXT below the shadow's own frames.
CREATE FUNCTION hostile._caller_is_nova(ctx text, shadow text) RETURNS boolean
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  rest text;
  p int;
  best int;
  kind text;
  m text[];
BEGIN
  IF ctx IS NULL OR ctx = '' THEN
    RETURN false;                       -- a top-level statement of the test itself
  END IF;
  IF ctx ~ '^(SQL statement|SQL expression|PL/pgSQL assignment) "' THEN
    -- A statement run through SPI. By a PL/pgSQL function when the next frame
    -- is that function; otherwise by C code (nova's C++: PostgreSQL's own SPI
    -- users, e.g. foreign keys, qualify everything).
    rest := substr(ctx, position('"' in ctx) + 1);
    best := NULL; kind := 'c';
    FOREACH m SLICE 1 IN ARRAY ARRAY[ARRAY[E'"\nPL/pgSQL function ', 'plpgsql'], ARRAY[E'"\nSQL function "', 'sql'],
                             ARRAY[E'"\nSQL statement "', 'c'], ARRAY[E'"\nSQL expression "', 'c'],
                             ARRAY[E'"\nPL/pgSQL assignment "', 'c']] LOOP
      p := position(m[1] in rest);
      IF p > 0 AND (best IS NULL OR p < best) THEN best := p; kind := m[2]; END IF;
    END LOOP;
    IF kind = 'c' THEN
      IF hostile._stored_use(shadow, substr(rest, 1, coalesce(best - 1, length(rest) - 1))) THEN
        -- Counted by the stage, not failed: the test's own constraint, default, view, ...
        RAISE LOG 'nova-hostile-stored: % | caller: %', shadow, left(replace(ctx, E'\n', ' <- '), 300);
        RETURN false;
      END IF;
      RETURN true;
    END IF;
    ctx := substr(rest, best + 2);
  END IF;
  -- The SQL and PL/pgSQL functions of the frozen 1.0 catalog (src/sql/versions/,
  -- CREATE EXTENSION nova VERSION '1.0' in the dump/restore and upgrade tests) are
  -- the release this stage was written against and are replaced by ALTER EXTENSION
  -- UPDATE: not reported. Statements the current library runs (kind 'c') still are.
  IF EXISTS (SELECT 1 FROM pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) 'nova'
                                            AND e.extversion OPERATOR(pg_catalog.=) '1.0') THEN
    RETURN false;
  END IF;
  IF ctx LIKE 'PL/pgSQL function %' THEN
    RETURN ctx LIKE 'PL/pgSQL function nova.%';
  END IF;
  IF ctx LIKE 'SQL function "%' THEN
    m := regexp_match(ctx, '^SQL function "([^"]*)"');
    RETURN EXISTS (SELECT 1 FROM pg_proc f WHERE f.pronamespace = 'nova'::regnamespace AND f.proname = m[1]);
  END IF;
  RETURN false;                         -- DO blocks, COPY, ... of the tests
END
$fn$;

CREATE FUNCTION hostile._hit(shadow text) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  ctx text;
  p int;
BEGIN
  GET DIAGNOSTICS ctx = PG_CONTEXT;
  -- Drop this function's frame, the PERFORM that called it and the shadow's frame.
  p := position(E'\nPL/pgSQL function hostile.' in ctx);
  IF p = 0 THEN RETURN; END IF;
  ctx := substr(ctx, p + 1);
  p := position(E'\n' in ctx);
  ctx := CASE WHEN p = 0 THEN '' ELSE substr(ctx, p + 1) END;
  IF hostile._caller_is_nova(ctx, shadow) THEN
    RAISE LOG 'nova-hostile-shadow: % | caller: % | statement: %', shadow,
      left(replace(ctx, E'\n', ' <- '), 600), left(replace(current_query(), E'\n', ' '), 300);
  END IF;
END
$fn$;

-- Operators: every pg_catalog comparison and concatenation on the types nova's SQL handles.
DO $do$
DECLARE
  r record;
  fn text;
  n int := 0;
BEGIN
  FOR r IN
    SELECT o.oid, o.oprname, o.oprleft::regtype AS l, o.oprright::regtype AS rt, o.oprresult::regtype AS res,
           p.proisstrict, p.provolatile
      FROM pg_operator o JOIN pg_proc p ON p.oid = o.oprcode
     WHERE o.oprnamespace = 'pg_catalog'::regnamespace
       AND o.oprname IN ('=', '<', '<=', '>', '>=', '<>', '||', '~~', '!~~', '~', '->', '->>', '?', '@>')
       AND o.oprleft <> 0 AND o.oprright <> 0
       AND o.oprleft::regtype::text IN ('smallint', 'integer', 'bigint', 'text', 'name', 'oid', 'boolean', 'uuid',
                                        'timestamp with time zone', 'jsonb', 'numeric', 'double precision',
                                        '"char"', 'character varying', 'bytea', 'interval', 'regclass', 'regrole',
                                        'anyarray', 'anycompatiblearray')
       AND o.oprright::regtype::text IN ('smallint', 'integer', 'bigint', 'text', 'name', 'oid', 'boolean', 'uuid',
                                         'timestamp with time zone', 'jsonb', 'numeric', 'double precision',
                                         '"char"', 'character varying', 'bytea', 'interval', 'regclass', 'regrole',
                                         'anyarray', 'anycompatiblearray', 'text[]')
       AND NOT (o.oprleft::regtype::text LIKE 'any%' AND o.oprright::regtype::text NOT LIKE 'any%')
  LOOP
    IF r.l::text = 'anycompatiblearray' THEN CONTINUE; END IF;   -- PL/pgSQL wraps anyarray only
    fn := format('hostile.op%s', r.oid);
    EXECUTE format('CREATE FUNCTION %s(%s, %s) RETURNS %s LANGUAGE plpgsql %s %s SET search_path = pg_catalog, pg_temp AS %L',
                   fn, r.l, r.rt, r.res, CASE WHEN r.proisstrict THEN 'STRICT' ELSE '' END,
                   CASE r.provolatile WHEN 'i' THEN 'IMMUTABLE' WHEN 's' THEN 'STABLE' ELSE 'VOLATILE' END,
                   format('BEGIN PERFORM hostile._hit(%L); RETURN $1 OPERATOR(pg_catalog.%s) $2; END',
                          format('operator %s(%s, %s)', r.oprname, r.l, r.rt), r.oprname));
    EXECUTE format('CREATE OPERATOR hostile.%s (LEFTARG = %s, RIGHTARG = %s, FUNCTION = %s)', r.oprname, r.l, r.rt, fn);
    n := n + 1;
  END LOOP;
  RAISE NOTICE 'hostile: % shadow operators', n;
END
$do$;

-- Functions named in :names, every overload PL/pgSQL can wrap.
SELECT pg_catalog.set_config('hostile.names', '{' || :'names' || '}', false) IS NOT NULL AS names_set \gset
DO $do$
DECLARE
  r record;
  args text;
  call text;
  body text;
  n int := 0;
BEGIN
  FOR r IN
    SELECT p.oid, p.proname, p.pronargs, p.proargtypes::oid[] AS argtypes, p.prorettype, p.proretset,
           p.proisstrict, p.provolatile
      FROM pg_proc p
     WHERE p.pronamespace = 'pg_catalog'::regnamespace
       AND p.prokind = 'f'
       AND p.proname = ANY (current_setting('hostile.names')::text[])
       AND p.provariadic = 0
       AND p.proallargtypes IS NULL
       AND p.prorettype NOT IN ('record'::regtype, 'internal'::regtype, 'cstring'::regtype, 'trigger'::regtype,
                                'event_trigger'::regtype, 'anycompatible'::regtype, 'anycompatiblearray'::regtype)
       AND NOT EXISTS (SELECT 1 FROM unnest(p.proargtypes::oid[]) t
                        WHERE t IN ('"any"'::regtype, 'internal'::regtype, 'cstring'::regtype, 'record'::regtype,
                                    'anycompatible'::regtype, 'anycompatiblearray'::regtype,
                                    'anycompatiblenonarray'::regtype))
       AND NOT (p.prorettype IN ('anyelement'::regtype, 'anyarray'::regtype)
                AND NOT EXISTS (SELECT 1 FROM unnest(p.proargtypes::oid[]) t
                                 WHERE t IN ('anyelement'::regtype, 'anyarray'::regtype, 'anynonarray'::regtype)))
  LOOP
    SELECT string_agg(format_type(t, NULL), ', ' ORDER BY i), string_agg('$' || i, ', ' ORDER BY i)
      INTO args, call
      FROM unnest(r.argtypes) WITH ORDINALITY AS u(t, i);
    IF r.proretset THEN
      body := format('BEGIN PERFORM hostile._hit(%L); RETURN QUERY SELECT * FROM pg_catalog.%I(%s); END',
                     format('function %s(%s)', r.proname, coalesce(args, '')), r.proname, coalesce(call, ''));
    ELSE
      body := format('BEGIN PERFORM hostile._hit(%L); RETURN pg_catalog.%I(%s); END',
                     format('function %s(%s)', r.proname, coalesce(args, '')), r.proname, coalesce(call, ''));
    END IF;
    EXECUTE format('CREATE FUNCTION hostile.%I(%s) RETURNS %s%s LANGUAGE plpgsql %s %s SET search_path = pg_catalog, pg_temp AS %L',
                   r.proname, coalesce(args, ''), CASE WHEN r.proretset THEN 'SETOF ' ELSE '' END,
                   format_type(r.prorettype, NULL), CASE WHEN r.proisstrict THEN 'STRICT' ELSE '' END,
                   CASE r.provolatile WHEN 'i' THEN 'IMMUTABLE' WHEN 's' THEN 'STABLE' ELSE 'VOLATILE' END, body);
    n := n + 1;
  END LOOP;
  RAISE NOTICE 'hostile: % shadow functions', n;
END
$do$;

-- Aggregates: the report comes from the final function (once per group).
CREATE FUNCTION hostile._count_final(bigint) RETURNS bigint LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
  AS $$ BEGIN PERFORM hostile._hit('aggregate count(*)'); RETURN $1; END $$;
CREATE AGGREGATE hostile.count(*) (SFUNC = pg_catalog.int8inc, STYPE = bigint, INITCOND = '0',
                                   FINALFUNC = hostile._count_final);
CREATE FUNCTION hostile._array_agg_step(anyarray, anynonarray) RETURNS anyarray LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp AS $$ BEGIN RETURN pg_catalog.array_append($1, $2); END $$;
CREATE FUNCTION hostile._array_agg_final(anyarray) RETURNS anyarray LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
  AS $$ BEGIN PERFORM hostile._hit('aggregate array_agg(anynonarray)'); RETURN $1; END $$;
CREATE AGGREGATE hostile.array_agg(anynonarray) (SFUNC = hostile._array_agg_step, STYPE = anyarray,
                                                 FINALFUNC = hostile._array_agg_final);
CREATE FUNCTION hostile._string_agg_step(text, text, text) RETURNS text LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp AS $$
  BEGIN
    IF $2 IS NULL THEN RETURN $1; END IF;
    IF $1 IS NULL THEN RETURN $2; END IF;
    RETURN $1 || coalesce($3, '') || $2;
  END $$;
CREATE FUNCTION hostile._string_agg_final(text) RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
  AS $$ BEGIN PERFORM hostile._hit('aggregate string_agg(text, text)'); RETURN $1; END $$;
CREATE AGGREGATE hostile.string_agg(text, text) (SFUNC = hostile._string_agg_step, STYPE = text,
                                                 FINALFUNC = hostile._string_agg_final);
DO $do$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['int4', 'int8', 'text', 'timestamptz'] LOOP
    EXECUTE format('CREATE FUNCTION hostile._minmax_final_%s(%s) RETURNS %s LANGUAGE plpgsql '
                   'SET search_path = pg_catalog, pg_temp AS %L', t, t, t,
                   format('BEGIN PERFORM hostile._hit(%L); RETURN $1; END', 'aggregate min/max(' || t || ')'));
    EXECUTE format('CREATE AGGREGATE hostile.min(%s) (SFUNC = pg_catalog.%s, STYPE = %s, FINALFUNC = hostile._minmax_final_%s)',
                   t, CASE t WHEN 'text' THEN 'text_smaller' WHEN 'timestamptz' THEN 'timestamptz_smaller' ELSE t || 'smaller' END, t, t);
    EXECUTE format('CREATE AGGREGATE hostile.max(%s) (SFUNC = pg_catalog.%s, STYPE = %s, FINALFUNC = hostile._minmax_final_%s)',
                   t, CASE t WHEN 'text' THEN 'text_larger' WHEN 'timestamptz' THEN 'timestamptz_larger' ELSE t || 'larger' END, t, t);
  END LOOP;
END
$do$;
