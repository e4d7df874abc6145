#!/usr/bin/env bash
# Print a normalised description of nova's catalog in one database, for diffing a
# fresh install against an upgraded one (test/upgrade/run.sh, docs/operations.md).
#
#   bash test/upgrade/catalog.sh DBNAME > file      (PGHOST/PGPORT/PGUSER from the environment)
#
# Sections: pg_dump --schema-only --schema=nova (plain: objects in schema nova
# that are not extension members; and --binary-upgrade --extension=nova, the
# pg_dump mode that prints the extension's member objects with their ACLs),
# then catalog queries: extension row, members, owners, ACLs, comments,
# function definitions and attributes, columns in order with defaults,
# constraints, indexes, triggers, views, policies, sequences, and the roles
# (all but pg_*; run it in a cluster of its own) with attributes and memberships. Object ids,
# pg_dump's random \restrict keys and dropped-column placeholders are
# normalised away; everything else must match byte for byte.
set -euo pipefail
db="$1"

normalise_dump() {
  # comments and SET lines carry nothing; OIDs differ between databases;
  # \restrict keys are random; a dropped column (ALTER TABLE … DROP COLUMN in an
  # upgrade) is physical layout, not catalog content.
  # Sequence positions (setval of config sequences) are data, not catalog. The order of
  # items in an ACL carries no meaning (a REVOKE and GRANT again moves an entry to the
  # end), so runs of GRANT/REVOKE lines are sorted.
  sed -E -e '/^--/d' -e '/^SET /d' -e '/^SELECT pg_catalog\.set_config/d' -e '/^\\(un)?restrict /d' \
         -e '/binary_upgrade_set_next_/d' -e '/^SELECT pg_catalog\.setval\(/d' -e '/^$/d' \
         -e 's/[0-9]+::pg_catalog\.oid/<oid>::pg_catalog.oid/g' \
         -e "s/relfrozenxid = '[0-9]+', relminmxid = '[0-9]+'/relfrozenxid = <xid>, relminmxid = <mxid>/" \
         -e "s/^WHERE oid = '[0-9]+';/WHERE oid = <oid>;/" \
         -e "s/(binary_upgrade_create_empty_extension\('nova', 'nova', [a-z]+, '[^']*'), '\{[0-9,]*\}', '[^']*'/\1, <config tables: see below>/" \
    | awk '/\.\.\.\.\.\.\.\.pg\.dropped\./ {next} /binary_upgrade_set_type_oids_by_rel|binary_upgrade_set_missing_value|DROP COLUMN "?\.\.\.\.\.\.\.\.pg\.dropped/ {next} {print}' \
    | awk 'function flush() { if (n) { cmd = "sort"; for (i = 1; i <= n; i++) print run[i] | cmd; close(cmd); n = 0 } }
           /^(GRANT|REVOKE) / { run[++n] = $0; next } { flush(); print } END { flush() }'
}

echo "==== pg_dump --schema-only --schema=nova"
pg_dump --schema-only --schema=nova "$db" | normalise_dump
echo "==== pg_dump --schema-only --binary-upgrade --schema=nova --extension=nova (extension members)"
pg_dump --schema-only --binary-upgrade --schema=nova --extension=nova "$db" | normalise_dump

psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" <<'SQL'
\pset footer off
-- an ACL as text with its items sorted (their order carries no meaning)
CREATE FUNCTION pg_temp.acl(a aclitem[]) RETURNS text LANGUAGE sql IMMUTABLE
  AS $$ SELECT pg_catalog.string_agg(i::text, ',' ORDER BY i::text) FROM pg_catalog.unnest(a) i $$;
\echo ==== extension
SELECT e.extname, e.extversion, e.extrelocatable, n.nspname, pg_catalog.pg_get_userbyid(e.extowner)
  FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
 WHERE e.extname = 'nova';
\echo ==== configuration tables (pg_extension_config_dump), sorted
SELECT c.oid::pg_catalog.regclass::text, coalesce(cond, '')
  FROM pg_catalog.pg_extension e,
       LATERAL ROWS FROM (pg_catalog.unnest(e.extconfig), pg_catalog.unnest(e.extcondition)) AS x(rel, cond)
       JOIN pg_catalog.pg_class c ON c.oid = x.rel
 WHERE e.extname = 'nova' ORDER BY 1;

CREATE TEMP VIEW members AS
SELECT d.classid, d.objid, d.objsubid, pg_catalog.pg_describe_object(d.classid, d.objid, d.objsubid) AS descr
  FROM pg_catalog.pg_depend d
 WHERE d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass
   AND d.refobjid = (SELECT oid FROM pg_catalog.pg_extension WHERE extname = 'nova')
   AND d.deptype = 'e';

\echo ==== extension members
SELECT descr FROM members ORDER BY 1;

\echo ==== owners, ACLs and comments of members
SELECT m.descr,
       coalesce(pg_catalog.pg_get_userbyid(coalesce(c.relowner, p.proowner, t.typowner, n.nspowner, o.oprowner, et.evtowner)), '-'),
       pg_temp.acl(coalesce(c.relacl, p.proacl, t.typacl, n.nspacl)),
       pg_catalog.obj_description(m.objid, (SELECT relname FROM pg_catalog.pg_class WHERE oid = m.classid))
  FROM members m
  LEFT JOIN pg_catalog.pg_class c ON m.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND c.oid = m.objid
  LEFT JOIN pg_catalog.pg_proc p ON m.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND p.oid = m.objid
  LEFT JOIN pg_catalog.pg_type t ON m.classid = 'pg_catalog.pg_type'::pg_catalog.regclass AND t.oid = m.objid
  LEFT JOIN pg_catalog.pg_namespace n ON m.classid = 'pg_catalog.pg_namespace'::pg_catalog.regclass AND n.oid = m.objid
  LEFT JOIN pg_catalog.pg_operator o ON m.classid = 'pg_catalog.pg_operator'::pg_catalog.regclass AND o.oid = m.objid
  LEFT JOIN pg_catalog.pg_event_trigger et ON m.classid = 'pg_catalog.pg_event_trigger'::pg_catalog.regclass AND et.oid = m.objid
 ORDER BY 1;

\echo ==== schema nova: owner, ACL, comment
SELECT n.nspname, pg_catalog.pg_get_userbyid(n.nspowner), pg_temp.acl(n.nspacl), pg_catalog.obj_description(n.oid, 'pg_namespace')
  FROM pg_catalog.pg_namespace n WHERE n.nspname = 'nova';

\echo ==== objects in schema nova that are not extension members (should be none)
SELECT pg_catalog.pg_describe_object('pg_catalog.pg_class'::pg_catalog.regclass, c.oid, 0)
  FROM pg_catalog.pg_class c
 WHERE c.relnamespace = 'nova'::pg_catalog.regnamespace AND c.relkind NOT IN ('i', 'I', 't')
   AND NOT EXISTS (SELECT 1 FROM members m WHERE m.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND m.objid = c.oid)
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
                     AND d.objid = c.oid AND d.deptype IN ('a', 'i'))
UNION ALL
SELECT p.oid::pg_catalog.regprocedure::text FROM pg_catalog.pg_proc p
 WHERE p.pronamespace = 'nova'::pg_catalog.regnamespace
   AND NOT EXISTS (SELECT 1 FROM members m WHERE m.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND m.objid = p.oid)
ORDER BY 1;

\echo ==== functions: attributes and definitions
SELECT p.oid::pg_catalog.regprocedure::text, p.prokind, p.prosecdef, p.proleakproof, p.proisstrict, p.provolatile,
       p.proparallel, p.procost, p.prorows, p.proconfig::text, pg_catalog.pg_get_function_result(p.oid),
       pg_catalog.pg_get_function_arguments(p.oid), pg_catalog.pg_get_functiondef(p.oid)
  FROM pg_catalog.pg_proc p
 WHERE p.pronamespace = 'nova'::pg_catalog.regnamespace AND p.prokind <> 'a'
 ORDER BY 1;

\echo ==== relations
SELECT c.relname, c.relkind, c.relpersistence, c.relrowsecurity, c.relforcerowsecurity, c.reloptions::text,
       c.relispartition, coalesce(pg_catalog.pg_get_expr(c.relpartbound, c.oid), ''),
       coalesce(pg_catalog.pg_get_partkeydef(c.oid), ''), c.relreplident
  FROM pg_catalog.pg_class c WHERE c.relnamespace = 'nova'::pg_catalog.regnamespace ORDER BY 1;

\echo ==== columns in order (dropped columns skipped), defaults, ACLs, comments
SELECT c.relname,
       pg_catalog.row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum),
       a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attidentity, a.attgenerated,
       coalesce(pg_catalog.pg_get_expr(d.adbin, d.adrelid), ''), coalesce(co.collname, ''),
       pg_temp.acl(a.attacl), pg_catalog.col_description(c.oid, a.attnum), a.attstattarget, a.attstorage, a.attcompression
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
  LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation AND a.attcollation <> 0
       AND co.collname <> 'default'
 WHERE c.relnamespace = 'nova'::pg_catalog.regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'c')
 ORDER BY c.relname, a.attnum;

\echo ==== constraints
SELECT r.conrelid::pg_catalog.regclass::text, r.conname, r.contype, pg_catalog.pg_get_constraintdef(r.oid),
       r.condeferrable, r.condeferred, r.convalidated, pg_catalog.obj_description(r.oid, 'pg_constraint')
  FROM pg_catalog.pg_constraint r
 WHERE r.connamespace = 'nova'::pg_catalog.regnamespace ORDER BY 1, 2;

\echo ==== indexes
SELECT i.indexrelid::pg_catalog.regclass::text, pg_catalog.pg_get_indexdef(i.indexrelid), i.indisprimary,
       i.indisunique, i.indisreplident, i.indisclustered
  FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
 WHERE c.relnamespace = 'nova'::pg_catalog.regnamespace ORDER BY 1;

\echo ==== triggers on the relations of schema nova
SELECT t.tgrelid::pg_catalog.regclass::text, t.tgname, t.tgenabled, pg_catalog.pg_get_triggerdef(t.oid)
  FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
 WHERE c.relnamespace = 'nova'::pg_catalog.regnamespace ORDER BY 1, 2;

\echo ==== views
SELECT c.oid::pg_catalog.regclass::text, pg_catalog.pg_get_viewdef(c.oid)
  FROM pg_catalog.pg_class c
 WHERE c.relnamespace = 'nova'::pg_catalog.regnamespace AND c.relkind IN ('v', 'm') ORDER BY 1;

\echo ==== sequences
SELECT s.seqrelid::pg_catalog.regclass::text, pg_catalog.format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement,
       s.seqmax, s.seqmin, s.seqcache, s.seqcycle
  FROM pg_catalog.pg_sequence s JOIN pg_catalog.pg_class c ON c.oid = s.seqrelid
 WHERE c.relnamespace = 'nova'::pg_catalog.regnamespace ORDER BY 1;

\echo ==== row-level security policies
SELECT p.polrelid::pg_catalog.regclass::text, p.polname, p.polcmd, p.polpermissive,
       (SELECT pg_catalog.string_agg(pg_catalog.pg_get_userbyid(r), ',' ORDER BY 1) FROM pg_catalog.unnest(p.polroles) r),
       pg_catalog.pg_get_expr(p.polqual, p.polrelid), pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid)
  FROM pg_catalog.pg_policy p JOIN pg_catalog.pg_class c ON c.oid = p.polrelid
 WHERE c.relnamespace = 'nova'::pg_catalog.regnamespace ORDER BY 1, 2;

\echo ==== types in schema nova
SELECT t.oid::pg_catalog.regtype::text, t.typtype, pg_catalog.pg_get_userbyid(t.typowner), pg_temp.acl(t.typacl)
  FROM pg_catalog.pg_type t
 WHERE t.typnamespace = 'nova'::pg_catalog.regnamespace AND t.typrelid = 0 AND t.typelem = 0 ORDER BY 1;

\echo ==== default privileges in schema nova
SELECT pg_catalog.pg_get_userbyid(d.defaclrole), d.defaclobjtype, pg_temp.acl(d.defaclacl)
  FROM pg_catalog.pg_default_acl d WHERE d.defaclnamespace = 'nova'::pg_catalog.regnamespace ORDER BY 1, 2;

\echo ==== event triggers
SELECT e.evtname, e.evtevent, e.evtfoid::pg_catalog.regprocedure::text, e.evtenabled, e.evttags::text
  FROM pg_catalog.pg_event_trigger e ORDER BY 1;

\echo ==== roles (all but pg_*: the cluster has only the bootstrap superuser and what nova creates)
SELECT r.rolname, r.rolsuper, r.rolinherit, r.rolcreaterole, r.rolcreatedb, r.rolcanlogin, r.rolreplication,
       r.rolbypassrls, r.rolconnlimit, r.rolconfig::text, pg_catalog.shobj_description(r.oid, 'pg_authid')
  FROM pg_catalog.pg_roles r WHERE r.rolname !~ '^pg_' ORDER BY 1;
SELECT pg_catalog.pg_get_userbyid(m.member) || ' member of ' || pg_catalog.pg_get_userbyid(m.roleid), m.admin_option,
       pg_catalog.pg_get_userbyid(m.grantor)
  FROM pg_catalog.pg_auth_members m
 WHERE pg_catalog.pg_get_userbyid(m.roleid) !~ '^pg_' OR pg_catalog.pg_get_userbyid(m.member) !~ '^pg_'
 ORDER BY 1;

\echo ==== privileges of the nova roles outside schema nova
SELECT c.oid::pg_catalog.regclass::text, pg_temp.acl(c.relacl) FROM pg_catalog.pg_class c
 WHERE c.relnamespace <> 'nova'::pg_catalog.regnamespace AND c.relacl::text ~ 'nova' ORDER BY 1;
SELECT p.oid::pg_catalog.regprocedure::text, pg_temp.acl(p.proacl) FROM pg_catalog.pg_proc p
 WHERE p.pronamespace <> 'nova'::pg_catalog.regnamespace AND p.proacl::text ~ 'nova' ORDER BY 1;
SELECT n.nspname, pg_temp.acl(n.nspacl) FROM pg_catalog.pg_namespace n
 WHERE n.nspname IN ('public', 'pg_catalog') ORDER BY 1;
SELECT a::text FROM pg_catalog.pg_database d, pg_catalog.unnest(d.datacl) a
 WHERE d.datname = pg_catalog.current_database() AND a::text ~ 'nova' ORDER BY 1;
SQL
