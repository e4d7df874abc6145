// The shared key/value cache (docs/cache.md): nova.cache_set/get/delete/incr/stats/flush.
//
// Shared memory holds kPartitions independent partitions (src/core/kv_arena.h),
// each guarded by one LWLock of the "nova_kv_cache" tranche; a key's hash
// (over MyDatabaseId and the key) picks its partition. The hash is PostgreSQL's
// hash_bytes_extended keyed with a seed drawn from pg_strong_random when the
// server starts, so nobody can compute keys that collide; and a bucket chain
// never exceeds kv::kMaxChain entries, so even colliding keys only shorten
// their own lifetime, never another caller's lookup (docs/cache.md). Every operation takes
// exactly one partition lock exclusively (a read moves the entry to the front
// of the LRU list) and calls noexcept core code, so no C++ exception and no
// PostgreSQL error is raised while a lock is held.
//
// Without shared_preload_libraries there is no shared memory: cache_set and
// cache_delete do nothing, cache_get returns NULL (a cache may always miss),
// but cache_incr raises 55000 — a counter that silently restarted from zero
// in every call would be a wrong answer, not a cache miss.
#include "pg/kv_cache.h"

extern "C" {
#include "postgres.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "storage/lwlock.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"
}

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <string>

#include "core/kv_arena.h"
#include "pg/boundary.h"
#include "pg/guc.h"
#include "pg/module.h"
#include "pg/test_hooks.h"

namespace nova::pg::kv_cache {

namespace {

constexpr int kPartitions = 16;
constexpr size_t kMaxKeyBytes = 1024;
constexpr size_t kMaxValueBytes = 1024 * 1024;

struct Shared {
  uint64_t seed;  // secret hash seed, drawn at server start
  uint32_t nparts;
  uint64_t part_bytes;
  uint64_t part_offset[kPartitions];
};

Shared *g_shared = nullptr;
LWLockPadded *g_locks = nullptr;

size_t header_bytes() { return MAXALIGN(sizeof(Shared)); }

Size shmem_size() {
  if (nova_guc_cache_memory <= 0) return header_bytes();
  return header_bytes() + size_t(nova_guc_cache_memory) * 1024 + kPartitions * 8;
}

void shmem_startup(void *mem, bool found) {
  g_shared = static_cast<Shared *>(mem);
  g_locks = GetNamedLWLockTranche("nova_kv_cache");
  if (found) return;
  g_shared->nparts = 0;
  uint64_t seed = 0;
  if (!pg_strong_random(&seed, sizeof seed))
    ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("could not generate a random seed for the nova cache")));
  g_shared->seed = seed;
  if (nova_guc_cache_memory <= 0) return;
  uint64_t per = (uint64_t(nova_guc_cache_memory) * 1024 / kPartitions) & ~uint64_t(7);
  char *base = static_cast<char *>(mem) + header_bytes();
  for (int i = 0; i < kPartitions; i++) {
    g_shared->part_offset[i] = header_bytes() + uint64_t(i) * per;
    if (nova::kv::Partition::create(base + uint64_t(i) * per, per) == nullptr) return;  // too small: disabled
  }
  g_shared->part_bytes = per;
  g_shared->nparts = kPartitions;
}

NOVA_SHMEM_REGISTER(kv_cache, shmem_size, shmem_startup, "nova_kv_cache", kPartitions);

nova::kv::Partition *partition(int i) {
  return nova::kv::Partition::attach(reinterpret_cast<char *>(g_shared) + g_shared->part_offset[i]);
}

// Largest value accepted: 1 MiB, or a third of a partition when that is smaller.
size_t max_value_bytes(size_t key_len) {
  size_t cap = partition(0)->max_payload() / 3;
  size_t lim = cap > key_len ? cap - key_len : 0;
  return lim < kMaxValueBytes ? lim : kMaxValueBytes;
}

struct Key {
  const char *data;
  size_t len;
  uint64_t hash;
  int part;
};

// Keyed with the server's secret seed and the database (entries also store and
// compare the database, so a collision across databases is harmless).
uint64_t key_hash(const char *data, size_t len) {
  uint64_t seed = g_shared ? g_shared->seed : 0;
  seed ^= uint64_t(MyDatabaseId) * 0x9E3779B97F4A7C15ull;
  return hash_bytes_extended(reinterpret_cast<const unsigned char *>(data), int(len), seed);
}

Key get_key(FunctionCallInfo fcinfo, int argno) {
  if (PG_ARGISNULL(argno))
    throw nova::Error("22004", "cache key must not be null");
  text *t = PG_GETARG_TEXT_PP(argno);
  Key k{VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), 0, 0};
  if (k.len > kMaxKeyBytes)
    throw nova::Error(nova::sqlstate::kProgramLimitExceeded, "cache key too long",
                      "key is " + std::to_string(k.len) + " bytes, the limit is " + std::to_string(kMaxKeyBytes) +
                          " bytes");
  k.hash = key_hash(k.data, k.len);
  k.part = int(k.hash % kPartitions);
  return k;
}

// Expiry for an optional ttl argument; 0 = never.
nova::kv::Clock expiry(FunctionCallInfo fcinfo, int argno, TimestampTz now) {
  if (PG_NARGS() <= argno || PG_ARGISNULL(argno)) return 0;
  Interval *iv = PG_GETARG_INTERVAL_P(argno);
  // Months count as 30 days, as interval arithmetic on epochs does.
  __int128 us = (__int128)iv->time + (__int128)iv->day * USECS_PER_DAY +
                (__int128)iv->month * (DAYS_PER_MONTH * USECS_PER_DAY);
  if (us <= 0) throw nova::Error(nova::sqlstate::kInvalidParameterValue, "cache ttl must be positive");
  __int128 exp = (__int128)now + us;
  if (exp > (__int128)INT64_MAX / 2) throw nova::Error(nova::sqlstate::kInvalidParameterValue, "cache ttl out of range");
  return nova::kv::Clock(exp);
}

}  // namespace

bool enabled() { return g_shared != nullptr && g_shared->nparts == kPartitions && shmem_available(); }

}  // namespace nova::pg::kv_cache

using namespace nova::pg::kv_cache;

NOVA_FUNCTION(nova_cache_get) {
  Key k = get_key(fcinfo, 0);
  if (!enabled()) PG_RETURN_NULL();
  TimestampTz now = GetCurrentTimestamp();
  nova::kv::Partition *p = partition(k.part);
  LWLock *lock = &g_locks[k.part].lock;
  LWLockAcquire(lock, LW_EXCLUSIVE);
  size_t len = 0;
  uint32_t h = p->find(k.hash, MyDatabaseId, k.data, k.len, now, &len);
  text *out = nullptr;
  if (h != nova::kv::kNil) {
    out = static_cast<text *>(palloc_extended(len + VARHDRSZ, MCXT_ALLOC_NO_OOM));
    if (out) {
      SET_VARSIZE(out, len + VARHDRSZ);
      p->read_value(h, VARDATA(out));
    }
  }
  LWLockRelease(lock);
  if (h == nova::kv::kNil) PG_RETURN_NULL();
  if (!out) throw std::bad_alloc();
  PG_RETURN_TEXT_P(out);
}

NOVA_FUNCTION(nova_cache_set) {
  Key k = get_key(fcinfo, 0);
  if (PG_ARGISNULL(1)) throw nova::Error("22004", "cache value must not be null", "", "use nova.cache_delete(key)");
  text *v = PG_GETARG_TEXT_PP(1);
  TimestampTz now = GetCurrentTimestamp();
  nova::kv::Clock exp = expiry(fcinfo, 2, now);
  if (!enabled()) PG_RETURN_VOID();
  size_t vlen = VARSIZE_ANY_EXHDR(v);
  size_t lim = max_value_bytes(k.len);
  if (vlen > lim)
    throw nova::Error(nova::sqlstate::kProgramLimitExceeded, "cache value too large",
                      "value is " + std::to_string(vlen) + " bytes, the limit is " + std::to_string(lim) + " bytes");
  LWLock *lock = &g_locks[k.part].lock;
  LWLockAcquire(lock, LW_EXCLUSIVE);
  nova::kv::Status st = partition(k.part)->set(k.hash, MyDatabaseId, k.data, k.len, VARDATA_ANY(v), vlen, exp);
  LWLockRelease(lock);
  if (st != nova::kv::Status::kOk)
    throw nova::Error(nova::sqlstate::kProgramLimitExceeded, "cache value too large");
  PG_RETURN_VOID();
}

NOVA_FUNCTION(nova_cache_delete) {
  Key k = get_key(fcinfo, 0);
  if (!enabled()) PG_RETURN_BOOL(false);
  TimestampTz now = GetCurrentTimestamp();
  LWLock *lock = &g_locks[k.part].lock;
  LWLockAcquire(lock, LW_EXCLUSIVE);
  bool found = partition(k.part)->remove(k.hash, MyDatabaseId, k.data, k.len, now);
  LWLockRelease(lock);
  PG_RETURN_BOOL(found);
}

NOVA_FUNCTION(nova_cache_incr) {
  Key k = get_key(fcinfo, 0);
  if (PG_ARGISNULL(1)) throw nova::Error("22004", "cache_incr delta must not be null");
  int64 delta = PG_GETARG_INT64(1);
  TimestampTz now = GetCurrentTimestamp();
  nova::kv::Clock exp = expiry(fcinfo, 2, now);
  if (!enabled())
    throw nova::Error(nova::sqlstate::kObjectNotInPrerequisiteState,
                      "nova.cache_incr requires shared_preload_libraries = 'nova'",
                      "without the shared cache there is no counter shared between sessions",
                      "add nova to shared_preload_libraries and restart the server");
  LWLock *lock = &g_locks[k.part].lock;
  LWLockAcquire(lock, LW_EXCLUSIVE);
  int64_t result = 0;
  nova::kv::Status st = partition(k.part)->incr(k.hash, MyDatabaseId, k.data, k.len, delta, exp, now, &result);
  LWLockRelease(lock);
  switch (st) {
    case nova::kv::Status::kOk:
      PG_RETURN_INT64(result);
    case nova::kv::Status::kNotInteger:
      throw nova::Error(nova::sqlstate::kInvalidTextRepresentation, "cache value is not an integer",
                        "nova.cache_incr needs a value that is a base-10 bigint");
    case nova::kv::Status::kOverflow:
      throw nova::Error("22003", "cache_incr result out of range for bigint");
    default:
      throw nova::Error(nova::sqlstate::kProgramLimitExceeded, "cache key too long for cache_incr");
  }
}

NOVA_FUNCTION(nova_cache_flush) {
  if (enabled()) {
    for (int i = 0; i < kPartitions; i++) {
      LWLockAcquire(&g_locks[i].lock, LW_EXCLUSIVE);
      partition(i)->flush(MyDatabaseId);
      LWLockRelease(&g_locks[i].lock);
    }
  }
  PG_RETURN_VOID();
}

NOVA_FUNCTION(nova_cache_stats) {
  nova::kv::Stats s;
  bool on = enabled();
  if (on) {
    for (int i = 0; i < kPartitions; i++) {
      LWLockAcquire(&g_locks[i].lock, LW_SHARED);
      partition(i)->add_stats(&s);
      LWLockRelease(&g_locks[i].lock);
    }
  }
  char buf[512];
  snprintf(buf, sizeof buf,
           "{\"enabled\": %s, \"hits\": %" PRIu64 ", \"misses\": %" PRIu64 ", \"sets\": %" PRIu64
           ", \"deletes\": %" PRIu64 ", \"evictions\": %" PRIu64 ", \"expired\": %" PRIu64
           ", \"entries\": %" PRIu64 ", \"used_bytes\": %" PRIu64 ", \"capacity_bytes\": %" PRIu64
           ", \"partitions\": %d, \"max_key_bytes\": %zu, \"max_value_bytes\": %zu}",
           on ? "true" : "false", s.hits, s.misses, s.sets, s.deletes, s.evictions, s.expired, s.entries,
           s.used_bytes, s.capacity_bytes, on ? kPartitions : 0, kMaxKeyBytes, on ? max_value_bytes(0) : size_t(0));
  Datum d = 0;
  nova::pg::guard([&] { d = DirectFunctionCall1(jsonb_in, CStringGetDatum(buf)); });
  PG_RETURN_DATUM(d);
}

// ---- Test hooks (test builds only: src/sql/test_hooks/test_hooks.sql; docs/cache.md,
// "Memory and eviction"). A release build has no SQL function for them and refuses here, so
// nothing derived from the seed is observable there.

namespace {

void require_cache_hook(const char *function) {
  nova::pg::require_test_hooks(function);
  if (!superuser()) throw nova::Error("42501", std::string("only superusers may call ") + function);
}

void require_enabled(const char *function) {
  if (!enabled())
    throw nova::Error(nova::sqlstate::kObjectNotInPrerequisiteState,
                      std::string(function) + " needs the shared cache (shared_preload_libraries = 'nova')");
}

}  // namespace

// nova._cache_key_hash(key text) -> bigint: the seeded hash nova.cache_* use for
// the key in this database (NULL without shared memory).
NOVA_FUNCTION(nova_cache_key_hash) {
  require_cache_hook("nova._cache_key_hash");
  Key k = get_key(fcinfo, 0);
  if (g_shared == nullptr || !nova::pg::shmem_available()) PG_RETURN_NULL();
  PG_RETURN_INT64(static_cast<int64>(k.hash));
}

// nova._cache_chain_length(key text) -> int: entries in the bucket chain the key maps to.
NOVA_FUNCTION(nova_cache_chain_length) {
  require_cache_hook("nova._cache_chain_length");
  Key k = get_key(fcinfo, 0);
  require_enabled("nova._cache_chain_length");
  LWLock *lock = &g_locks[k.part].lock;
  LWLockAcquire(lock, LW_SHARED);
  uint32_t n = partition(k.part)->chain_length(k.hash);
  LWLockRelease(lock);
  PG_RETURN_INT32(static_cast<int32>(n));
}

// nova._cache_colliding_keys(key text, n int) -> text[]: the first n keys
// key || ':' || i (i = 0, 1, ...) whose seeded hash falls into the same partition
// and bucket chain as the key's. Only someone who knows the seed can compute
// them, which is what a test of the chain bound needs.
NOVA_FUNCTION(nova_cache_colliding_keys) {
  require_cache_hook("nova._cache_colliding_keys");
  Key k = get_key(fcinfo, 0);
  if (PG_ARGISNULL(1)) throw nova::Error("22004", "n must not be null");
  int32 n = PG_GETARG_INT32(1);
  if (n < 1 || n > 64) throw nova::Error(nova::sqlstate::kInvalidParameterValue, "n must be between 1 and 64");
  constexpr size_t kSuffix = 21;  // ':' and up to 20 digits
  if (k.len + kSuffix > kMaxKeyBytes)
    throw nova::Error(nova::sqlstate::kInvalidParameterValue, "key too long to derive colliding keys from");
  require_enabled("nova._cache_colliding_keys");
  const nova::kv::Partition *p = partition(k.part);
  uint32_t bucket = p->bucket_of(k.hash);
  char *buf = static_cast<char *>(palloc(k.len + kSuffix));
  memcpy(buf, k.data, k.len);
  buf[k.len] = ':';
  Datum *out = static_cast<Datum *>(palloc(sizeof(Datum) * n));
  int found = 0;
  // Expected tries per key: partitions x buckets (a few hundred thousand at the default size).
  constexpr uint64_t kMaxTries = uint64_t(1) << 34;
  for (uint64_t i = 0; found < n; i++) {
    if (i == kMaxTries)
      throw nova::Error(nova::sqlstate::kProgramLimitExceeded, "no colliding keys found");
    if ((i & 0xFFFFF) == 0) CHECK_FOR_INTERRUPTS();
    char digits[20];
    int nd = 0;
    uint64_t v = i;
    do {
      digits[nd++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
    size_t len = k.len + 1;
    while (nd > 0) buf[len++] = digits[--nd];
    uint64_t h = key_hash(buf, len);
    if (int(h % kPartitions) != k.part || p->bucket_of(h) != bucket) continue;
    out[found++] = PointerGetDatum(cstring_to_text_with_len(buf, int(len)));
  }
  PG_RETURN_ARRAYTYPE_P(construct_array(out, n, TEXTOID, -1, false, TYPALIGN_INT));
}
