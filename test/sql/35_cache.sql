-- The shared key/value cache: set/get/delete/incr, TTL, limits, errors, privileges.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS nova;
RESET client_min_messages;
\set VERBOSITY default

SELECT nova.cache_flush();
SELECT (nova.cache_stats()->>'enabled')::boolean AS enabled;
SELECT nova.cache_get('regress:a') IS NULL AS missing;
SELECT nova.cache_set('regress:a', 'hello');
SELECT nova.cache_get('regress:a');
SELECT nova.cache_set('regress:a', 'again');   -- overwrite
SELECT nova.cache_get('regress:a');
SELECT nova.cache_set('regress:empty', '');    -- empty value is not NULL
SELECT nova.cache_get('regress:empty') = '' AS empty_kept;
SELECT nova.cache_set('', 'empty key works');
SELECT nova.cache_get('');
SELECT nova.cache_delete('');
SELECT nova.cache_delete('regress:a'), nova.cache_delete('regress:a');
SELECT nova.cache_get('regress:a') IS NULL AS deleted;
-- large values span many chunks and come back byte for byte
SELECT nova.cache_set('regress:big', repeat('0123456789', 10000));
SELECT md5(nova.cache_get('regress:big')) = md5(repeat('0123456789', 10000)) AS big_roundtrip;
-- multibyte text
SELECT nova.cache_set('regress:ü', 'grüße 🌍');
SELECT nova.cache_get('regress:ü');

-- TTL: expired entries read as missing (lazy expiry). Set and read in one
-- statement, so that a slow backend (valgrind, a loaded CI machine) cannot let
-- the TTL run out between them.
SELECT nova.cache_set('regress:ttl', 'short', '1 second') AS set, nova.cache_get('regress:ttl') AS got;
SELECT pg_sleep(1.1);
SELECT nova.cache_get('regress:ttl') IS NULL AS expired;
SELECT nova.cache_set('regress:ttl', 'long', '1 hour');
SELECT nova.cache_get('regress:ttl');

-- incr: atomic counter, created with delta, ttl applies when created
SELECT nova.cache_incr('regress:n');
SELECT nova.cache_incr('regress:n');
SELECT nova.cache_incr('regress:n', 40);
SELECT nova.cache_incr('regress:n', -50);
SELECT nova.cache_get('regress:n');
-- the second call keeps the creating ttl (both in one statement, as above)
SELECT nova.cache_incr('regress:win', 1, '1 second') AS created, nova.cache_incr('regress:win', 1, '1 hour') AS kept;
SELECT pg_sleep(1.1);
SELECT nova.cache_incr('regress:win', 1, '1 hour') AS restarted_window;
SELECT nova.cache_set('regress:n', '9223372036854775807');
SELECT nova.cache_incr('regress:n');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.cache_set('regress:n', 'abc');
SELECT nova.cache_incr('regress:n');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.cache_set('regress:n', ' 12');
SELECT nova.cache_incr('regress:n');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.cache_get('regress:n');   -- a failed incr changes nothing

-- bad input
SELECT nova.cache_set(NULL, 'x');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.cache_set('regress:x', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT nova.cache_get(NULL) IS NULL AS null_key_reads_null, nova.cache_delete(NULL) IS NULL AS null_key_deletes_nothing;
SELECT nova.cache_incr('regress:x', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT nova.cache_set('regress:x', 'v', '0 seconds');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.cache_set('regress:x', 'v', '-1 hour');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.cache_set(repeat('k', 1025), 'v');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.cache_get(repeat('k', 1025));
\echo :LAST_ERROR_SQLSTATE
SELECT nova.cache_set('regress:x', repeat('v', 1024 * 1024 + 1));
\echo :LAST_ERROR_SQLSTATE
SELECT nova.cache_get('regress:x') IS NULL AS nothing_stored;

-- stats (counters are for the whole server; keys are per database) and flush
SELECT s ? 'hits' AND s ? 'misses' AND s ? 'entries' AND s ? 'evictions' AND s ? 'capacity_bytes' AS stats_keys
  FROM nova.cache_stats() s;
SELECT (nova.cache_stats()->>'entries')::int > 0 AS has_entries;
SELECT nova.cache_flush();
SELECT nova.cache_get('regress:ttl') IS NULL AS flushed;

-- privileges: services use the cache, only the owner flushes it
CREATE ROLE nova_regress_svc IN ROLE nova_service;
CREATE ROLE nova_regress_nobody;
SET ROLE nova_regress_svc;
SELECT nova.cache_set('regress:svc', 'v');
SELECT nova.cache_get('regress:svc');
SELECT nova.cache_incr('regress:svc:n');
SELECT nova.cache_delete('regress:svc');
-- keys are hashed with a per-server secret seed and chains are bounded
-- (docs/cache.md): thousands of keys still all come back
SELECT count(*) FROM (SELECT nova.cache_set('regress:many:' || i, i::text) FROM generate_series(1, 5000) i) s;
SELECT count(*) FILTER (WHERE nova.cache_get('regress:many:' || i) = i::text) AS found
  FROM generate_series(1, 5000) i;
SELECT count(*) FILTER (WHERE nova.cache_delete('regress:many:' || i)) AS deleted FROM generate_series(1, 5000) i;
SELECT (nova.cache_stats()->>'enabled')::boolean;
SELECT nova.cache_flush();
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SET ROLE nova_regress_nobody;
SELECT nova.cache_get('regress:svc');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- ---- the hash seed and the chain bound, seen through the test-build hooks
-- (superusers only; docs/cache.md, "Memory and eviction")
SET ROLE nova_regress_svc;
SELECT nova._cache_key_hash('regress:seed');
\echo :LAST_ERROR_SQLSTATE
SELECT nova._cache_colliding_keys('regress:chain', 2);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- even with EXECUTE granted, the hooks are for superusers only
GRANT EXECUTE ON FUNCTION nova._cache_key_hash(text) TO nova_regress_svc;
SET ROLE nova_regress_svc;
SELECT nova._cache_key_hash('regress:seed');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
REVOKE EXECUTE ON FUNCTION nova._cache_key_hash(text) FROM nova_regress_svc;
-- keyed: not hash_bytes_extended of the key with only the database mixed in (seed 0),
-- which is hashtextextended(key, database oid * 0x9E3779B97F4A7C15 mod 2^64)
SELECT nova._cache_key_hash('regress:seed') <> pg_catalog.hashtextextended('regress:seed',
         (CASE WHEN m >= 9223372036854775808 THEN m - 18446744073709551616 ELSE m END)::bigint) AS seeded
  FROM (SELECT (d.oid::text::numeric * 11400714819323198485) % 18446744073709551616 AS m
          FROM pg_database d WHERE d.datname = current_database()) s;
-- the same in every session of this server start (a restart draws a new seed:
-- test/e2e/35_cache_seed.sh)
SELECT nova._cache_key_hash('regress:seed') AS seeded_hash \gset
\c
SELECT nova._cache_key_hash('regress:seed') = :seeded_hash AS same_in_a_new_session;
-- 20 keys crafted to share one bucket chain (only a holder of the seed can make
-- them): the chain stops at 16 entries, each key beyond evicts the chain's oldest
SELECT nova.cache_flush();
CREATE TEMP TABLE chain AS
  SELECT k, i FROM unnest(nova._cache_colliding_keys('regress:chain', 20)) WITH ORDINALITY u(k, i);
SELECT count(DISTINCT k) AS crafted_keys FROM chain;
SELECT (nova.cache_stats()->>'evictions')::bigint AS evictions_before \gset
DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT k, i FROM chain ORDER BY i LOOP
    PERFORM nova.cache_set(r.k, r.i::text);
  END LOOP;
END $$;
SELECT nova._cache_chain_length('regress:chain') AS chain_length;
SELECT (nova.cache_stats()->>'evictions')::bigint - :evictions_before AS evicted;
SELECT array_agg(i ORDER BY i) FILTER (WHERE nova.cache_get(k) IS NULL) AS evicted_keys,
       count(*) FILTER (WHERE nova.cache_get(k) = i::text) AS kept
  FROM chain;
SELECT nova._cache_colliding_keys('regress:chain', 0);
\echo :LAST_ERROR_SQLSTATE
DROP TABLE chain;
DROP ROLE nova_regress_svc;
DROP ROLE nova_regress_nobody;
SELECT nova.cache_flush();
