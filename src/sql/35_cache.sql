-- ---------------------------------------------------------------------------
-- Shared key/value cache (docs/cache.md). Shared memory, per database,
-- LRU-bounded by nova.cache_memory, lazy TTL expiry. Not durable by design.
-- ---------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION nova.cache_get(key text) RETURNS text STRICT
  LANGUAGE c VOLATILE PARALLEL SAFE AS 'MODULE_PATHNAME', 'nova_cache_get';
CREATE OR REPLACE FUNCTION nova.cache_set(key text, value text, ttl interval DEFAULT NULL) RETURNS void
  LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'nova_cache_set';
CREATE OR REPLACE FUNCTION nova.cache_delete(key text) RETURNS boolean STRICT
  LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'nova_cache_delete';
CREATE OR REPLACE FUNCTION nova.cache_incr(key text, delta bigint DEFAULT 1, ttl interval DEFAULT NULL) RETURNS bigint
  LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'nova_cache_incr';
CREATE OR REPLACE FUNCTION nova.cache_stats() RETURNS jsonb
  LANGUAGE c VOLATILE PARALLEL SAFE AS 'MODULE_PATHNAME', 'nova_cache_stats';
CREATE OR REPLACE FUNCTION nova.cache_flush() RETURNS void
  LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'nova_cache_flush';

REVOKE ALL ON FUNCTION nova.cache_get(text), nova.cache_set(text, text, interval), nova.cache_delete(text),
  nova.cache_incr(text, bigint, interval), nova.cache_stats(), nova.cache_flush() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION nova.cache_get(text), nova.cache_set(text, text, interval), nova.cache_delete(text),
  nova.cache_incr(text, bigint, interval), nova.cache_stats() TO nova_service;
