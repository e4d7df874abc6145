// The shared key/value cache (docs/cache.md): nova.cache_* in src/pg/kv_cache.cpp.
#pragma once

namespace nova::pg::kv_cache {
// True when the cache lives in shared memory (nova preloaded and nova.cache_memory > 0).
bool enabled();
}  // namespace nova::pg::kv_cache
