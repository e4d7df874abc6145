-- Catalog changes from 1.0 to 1.1: what src/sql/pre/ creates differently now, and
-- functions or views whose signature changed (dropped here, recreated by the
-- replaceable files that make appends to this one). See src/sql/README.md.

-- operations: test hooks only in test builds (issue 11)
-- 1.0 created these for everyone; from 1.1 only a test build has them (its
-- src/sql/test_hooks/*.sql, appended after this file, creates them again).
DROP FUNCTION IF EXISTS nova._selftest_boundary(text);
DROP FUNCTION IF EXISTS nova._breaker_clock_advance(interval);
