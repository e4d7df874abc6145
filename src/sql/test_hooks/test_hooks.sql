-- Test-only functions, appended to the install and upgrade scripts only by a test
-- build (make NOVA_TEST_HOOKS=1; tools/test.sh does). A release build has none of
-- them (src/sql/README.md, "Test hooks"). Replaceable, like src/sql/*.sql.

-- The C++/PostgreSQL error boundary and catalog-version checks (test/sql/00_boundary.sql).
CREATE OR REPLACE FUNCTION nova._selftest_boundary(kind text) RETURNS int
  LANGUAGE c STRICT AS 'MODULE_PATHNAME', 'nova_selftest_boundary';
REVOKE ALL ON FUNCTION nova._selftest_boundary(text) FROM PUBLIC;

-- Moves the breakers' clock forward (superusers only; test/sql/60_breakers.sql).
CREATE OR REPLACE FUNCTION nova._breaker_clock_advance(by interval) RETURNS void
  LANGUAGE c STRICT VOLATILE AS 'MODULE_PATHNAME', 'nova_breaker_clock_advance';
REVOKE ALL ON FUNCTION nova._breaker_clock_advance(interval) FROM PUBLIC;

-- The key/value cache's seeded hash (superusers only; test/sql/35_cache.sql,
-- test/e2e/35_cache_seed.sh; docs/cache.md, "Memory and eviction").
CREATE OR REPLACE FUNCTION nova._cache_key_hash(key text) RETURNS bigint
  LANGUAGE c STRICT VOLATILE AS 'MODULE_PATHNAME', 'nova_cache_key_hash';
CREATE OR REPLACE FUNCTION nova._cache_chain_length(key text) RETURNS int
  LANGUAGE c STRICT VOLATILE AS 'MODULE_PATHNAME', 'nova_cache_chain_length';
CREATE OR REPLACE FUNCTION nova._cache_colliding_keys(key text, n int) RETURNS text[]
  LANGUAGE c STRICT VOLATILE AS 'MODULE_PATHNAME', 'nova_cache_colliding_keys';
REVOKE ALL ON FUNCTION nova._cache_key_hash(text), nova._cache_chain_length(text),
  nova._cache_colliding_keys(text, int) FROM PUBLIC;
