-- The C++/PostgreSQL error boundary: every kind of C++ failure inside a nova
-- function becomes a clean SQL error with an errcode, and the session goes on.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS nova;
RESET client_min_messages;
\set VERBOSITY default

SELECT nova._selftest_boundary('ok');
-- nova::Error keeps its SQLSTATE, detail and hint
SELECT nova._selftest_boundary('nova_error');
\echo :LAST_ERROR_SQLSTATE
SELECT nova._selftest_boundary('std_exception');
\echo :LAST_ERROR_SQLSTATE
SELECT nova._selftest_boundary('bad_alloc');
\echo :LAST_ERROR_SQLSTATE
SELECT nova._selftest_boundary('unknown');
\echo :LAST_ERROR_SQLSTATE
-- a PostgreSQL error raised under guard() crosses C++ frames unchanged
SELECT nova._selftest_boundary('pg_error');
\echo :LAST_ERROR_SQLSTATE
SELECT nova._selftest_boundary('no such kind');
\echo :LAST_ERROR_SQLSTATE
-- a C++ exception thrown inside guard() leaves PG_TRY cleanly: the error is its own,
-- and the session (its error handler stack) is intact afterwards
SELECT nova._selftest_boundary('cpp_in_guard');
\echo :LAST_ERROR_SQLSTATE
SELECT nova._selftest_boundary('pg_error');
\echo :LAST_ERROR_SQLSTATE
-- a C++ exception that leaves a PG_TRY block (a bug the wrapper defends against) is
-- caught at the boundary: PostgreSQL's error handler stack is put back, the session
-- goes on and later errors are raised cleanly instead of jumping into a dead frame
SELECT nova._selftest_boundary('cpp_through_pg_try');
\echo :LAST_ERROR_SQLSTATE
SELECT 1 / 0;
\echo :LAST_ERROR_SQLSTATE
SELECT nova._selftest_boundary('pg_error');
\echo :LAST_ERROR_SQLSTATE
-- destructors ran on every path above: only this call's guard is alive
SELECT nova._selftest_boundary('live_guards');
-- the session is still usable, inside a transaction too
BEGIN;
SELECT nova._selftest_boundary('ok');
SAVEPOINT s;
SELECT nova._selftest_boundary('std_exception');
ROLLBACK TO SAVEPOINT s;
SELECT nova._selftest_boundary('ok');
COMMIT;
-- the catalog version helper (src/pg/catalog_version.h): this catalog is the current one
SELECT nova._selftest_boundary('compare_versions');
SELECT nova._selftest_boundary('require_catalog:1.0') = nova._selftest_boundary('require_catalog:' || extversion),
       extversion = (SELECT default_version FROM pg_available_extensions WHERE name = 'nova')
  FROM pg_extension WHERE extname = 'nova';
-- a newer catalog than installed: 55000, naming the command to run
SELECT nova._selftest_boundary('require_catalog:99.0');
\echo :LAST_ERROR_SQLSTATE
-- not callable by PUBLIC
CREATE ROLE nova_regress_nobody;
SET ROLE nova_regress_nobody;
SELECT nova._selftest_boundary('ok');
RESET ROLE;
DROP ROLE nova_regress_nobody;
-- a full callback table is an error, not a silently dropped callback (in a fresh
-- session: this backend's table stays full)
\c
SELECT nova._selftest_boundary('callback_overflow');
\echo :LAST_ERROR_SQLSTATE
