// The shared JWT verification cache (see jwt_cache.h).
//
// Layout: a set-associative table of nova.jwt_cache_entries slots in sets of
// kWays; a digest has two candidate sets (lookups try both, inserts prefer the
// one with room), each set maps to one of kLocks LWLocks of the
// "nova_jwt_cache" tranche. Replacement is CLOCK within a set: a hit sets the
// slot's reference bit, an insert takes a free or stale slot, else sweeps the
// set's hand past referenced slots. Slot metadata and slot data are separate
// arrays so start-up only initialises the metadata.
//
// Nothing here can raise a PostgreSQL error while a lock is held: copies go to
// memory allocated with MCXT_ALLOC_NO_OOM and failures are reported after the
// lock is released.
#include "pg/jwt_cache.h"

extern "C" {
#include "port/atomics.h"
#include "storage/lwlock.h"
#include "utils/memutils.h"
}

#include <openssl/evp.h>

#include <cmath>
#include <cstring>
#include <new>

#include "core/error.h"
#include "pg/guc.h"
#include "pg/metrics.h"
#include "pg/module.h"

namespace nova::pg::jwt_cache {

namespace {

constexpr int kWays = 8;
constexpr int kLocks = 16;

struct Slot {
  uint8_t digest[kDigestBytes];
  uint64_t generation;  // 0 = empty
  uint64_t scope;  // database << 32 | nova.jwt_keys' OID: a re-created extension never sees old entries
  uint8_t has_exp, has_nbf, has_iat, ref;
  uint16_t sub_len;
  uint16_t claims_len;
  double valid_until, exp, nbf, iat;
};

struct Shared {
  pg_atomic_uint64 generation;
  pg_atomic_uint64 hits, misses, evictions, inserts;
  uint32_t nsets;
  uint8_t hands[FLEXIBLE_ARRAY_MEMBER];  // one CLOCK hand per set; slots and data follow
};

Shared *g_shared = nullptr;
LWLockPadded *g_locks = nullptr;
Slot *g_slots = nullptr;
char *g_data = nullptr;

uint32_t nsets_for(int entries) { return entries <= 0 ? 0 : uint32_t((entries + kWays - 1) / kWays); }

size_t hands_bytes(uint32_t nsets) { return MAXALIGN(offsetof(Shared, hands) + nsets); }

Size shmem_size() {
  uint32_t nsets = nsets_for(nova_guc_jwt_cache_entries);
  size_t nslots = size_t(nsets) * kWays;
  return hands_bytes(nsets) + MAXALIGN(nslots * sizeof(Slot)) + nslots * kEntryDataBytes;
}

void shmem_startup(void *mem, bool found) {
  g_shared = static_cast<Shared *>(mem);
  g_locks = GetNamedLWLockTranche("nova_jwt_cache");
  uint32_t nsets = nsets_for(nova_guc_jwt_cache_entries);
  size_t nslots = size_t(nsets) * kWays;
  g_slots = reinterpret_cast<Slot *>(static_cast<char *>(mem) + hands_bytes(nsets));
  g_data = reinterpret_cast<char *>(g_slots) + MAXALIGN(nslots * sizeof(Slot));
  if (found) return;
  pg_atomic_init_u64(&g_shared->generation, 1);
  pg_atomic_init_u64(&g_shared->hits, 0);
  pg_atomic_init_u64(&g_shared->misses, 0);
  pg_atomic_init_u64(&g_shared->evictions, 0);
  pg_atomic_init_u64(&g_shared->inserts, 0);
  g_shared->nsets = nsets;
  memset(g_shared->hands, 0, nsets);
  memset(g_slots, 0, nslots * sizeof(Slot));
}

NOVA_SHMEM_REGISTER(jwt_cache, shmem_size, shmem_startup, "nova_jwt_cache", kLocks);

// Two candidate sets per digest ("two choices"): an entry goes to whichever has
// room, which keeps sets balanced so the table fills far beyond what one fixed
// set per digest allows before anything is evicted.
void sets_of(const uint8_t d[kDigestBytes], uint32_t out[2]) {
  uint64_t a, b;
  memcpy(&a, d, sizeof a);
  memcpy(&b, d + 8, sizeof b);
  out[0] = uint32_t(a % g_shared->nsets);
  out[1] = uint32_t(b % g_shared->nsets);
}

LWLock *lock_of(uint32_t set) { return &g_locks[set % kLocks].lock; }

bool matches(const Slot &s, const uint8_t d[kDigestBytes], uint64_t db) {
  return s.generation != 0 && s.scope == db && memcmp(s.digest, d, kDigestBytes) == 0;
}

enum class Found { kNone, kHit, kOom };

// Under the set's lock: copy a live entry out (palloc'd, no ERROR possible).
Found lookup_in_set(uint32_t set, const uint8_t d[kDigestBytes], uint64_t db, uint64_t gen, double now, Entry *out) {
  Slot *slots = g_slots + size_t(set) * kWays;
  Found found = Found::kNone;
  LWLock *lock = lock_of(set);
  LWLockAcquire(lock, LW_EXCLUSIVE);
  for (int i = 0; i < kWays; i++) {
    Slot &s = slots[i];
    if (!matches(s, d, db)) continue;
    if (s.generation != gen || now >= s.valid_until) {
      s.generation = 0;  // stale: the key set changed, or its key was revoked meanwhile
      nova::metrics::add(nova::metrics::kJwtCacheExpired, 1);
      break;
    }
    const char *data = g_data + (size_t(set) * kWays + i) * kEntryDataBytes;
    char *sub = static_cast<char *>(MemoryContextAllocExtended(CurrentMemoryContext, s.sub_len + 1, MCXT_ALLOC_NO_OOM));
    Jsonb *claims = static_cast<Jsonb *>(MemoryContextAllocExtended(CurrentMemoryContext, s.claims_len, MCXT_ALLOC_NO_OOM));
    if (!sub || !claims) {
      found = Found::kOom;
      break;
    }
    memcpy(sub, data, s.sub_len);
    sub[s.sub_len] = '\0';
    memcpy(claims, data + s.sub_len, s.claims_len);
    out->valid_until = s.valid_until;
    out->has_exp = s.has_exp;
    out->has_nbf = s.has_nbf;
    out->has_iat = s.has_iat;
    out->exp = s.exp;
    out->nbf = s.nbf;
    out->iat = s.iat;
    out->sub = sub;
    out->sub_len = s.sub_len;
    out->claims = claims;
    s.ref = 1;
    found = Found::kHit;
    break;
  }
  LWLockRelease(lock);
  return found;
}

void fill(Slot &s, char *data, const uint8_t d[kDigestBytes], uint64_t db, uint64_t gen, const Entry &e, size_t claims_len) {
  memcpy(s.digest, d, kDigestBytes);
  s.generation = gen;
  s.scope = db;
  s.has_exp = e.has_exp;
  s.has_nbf = e.has_nbf;
  s.has_iat = e.has_iat;
  s.ref = 0;
  s.exp = e.exp;
  s.nbf = e.nbf;
  s.iat = e.iat;
  s.valid_until = e.valid_until;
  s.sub_len = uint16_t(e.sub_len);
  s.claims_len = uint16_t(claims_len);
  memcpy(data, e.sub, e.sub_len);
  memcpy(data + e.sub_len, e.claims, claims_len);
}

enum class Stored { kNo, kYes, kEvicted, kStale };

// Under the set's lock: store into a matching, free or stale slot; with `evict`,
// CLOCK out a victim when there is none.
Stored insert_in_set(uint32_t set, const uint8_t d[kDigestBytes], uint64_t db, uint64_t gen, const Entry &e,
                     size_t claims_len, bool evict) {
  Slot *slots = g_slots + size_t(set) * kWays;
  LWLock *lock = lock_of(set);
  Stored result = Stored::kNo;
  LWLockAcquire(lock, LW_EXCLUSIVE);
  uint64_t cur = pg_atomic_read_u64(&g_shared->generation);
  if (cur != gen) {
    result = Stored::kStale;
  } else {
    int victim = -1;
    for (int i = 0; i < kWays && victim < 0; i++)
      if (matches(slots[i], d, db)) victim = i;  // refresh in place
    for (int i = 0; i < kWays && victim < 0; i++)
      if (slots[i].generation != cur) victim = i;  // empty or stale
    bool evicted = false;
    while (victim < 0 && evict) {
      uint8_t &hand = g_shared->hands[set];
      Slot &s = slots[hand % kWays];
      if (s.ref) {
        s.ref = 0;
      } else {
        victim = hand % kWays;
        evicted = true;
      }
      hand = uint8_t((hand + 1) % kWays);
    }
    if (victim >= 0) {
      fill(slots[victim], g_data + (size_t(set) * kWays + victim) * kEntryDataBytes, d, db, gen, e, claims_len);
      result = evicted ? Stored::kEvicted : Stored::kYes;
    }
  }
  LWLockRelease(lock);
  return result;
}

}  // namespace

bool enabled() { return shmem_available() && g_shared != nullptr && g_shared->nsets > 0; }

uint64_t generation() { return enabled() ? pg_atomic_read_u64(&g_shared->generation) : 0; }

void bump_generation() {
  if (enabled()) pg_atomic_fetch_add_u64(&g_shared->generation, 1);
}

void digest(const char *token, size_t len, uint8_t out[kDigestBytes]) {
  // Fetched once per backend: implicit fetches on every call cost more than the hash.
  static EVP_MD *md = nullptr;
  static EVP_MD_CTX *ctx = nullptr;
  if (!md) md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  if (!ctx) ctx = EVP_MD_CTX_new();
  unsigned int n = 0;
  if (!md || !ctx || EVP_DigestInit_ex2(ctx, md, nullptr) != 1 || EVP_DigestUpdate(ctx, token, len) != 1 ||
      EVP_DigestFinal_ex(ctx, out, &n) != 1 || n != kDigestBytes)
    throw nova::Error(nova::sqlstate::kInternalError, "sha-256 failed");
}

bool lookup(const uint8_t d[kDigestBytes], uint64_t db, double now, Entry *out) {
  if (!enabled()) return false;
  uint64_t gen = pg_atomic_read_u64(&g_shared->generation);
  uint32_t sets[2];
  sets_of(d, sets);
  Found f = lookup_in_set(sets[0], d, db, gen, now, out);
  if (f == Found::kNone && sets[1] != sets[0]) f = lookup_in_set(sets[1], d, db, gen, now, out);
  if (f == Found::kOom) throw std::bad_alloc();
  pg_atomic_fetch_add_u64(f == Found::kHit ? &g_shared->hits : &g_shared->misses, 1);
  return f == Found::kHit;
}

bool insert(const uint8_t d[kDigestBytes], uint64_t db, uint64_t gen, const Entry &e) {
  if (!enabled() || gen == 0) return false;
  size_t claims_len = VARSIZE(e.claims);
  if (e.sub_len + claims_len > kEntryDataBytes) return false;
  uint32_t sets[2];
  sets_of(d, sets);
  Stored r = insert_in_set(sets[0], d, db, gen, e, claims_len, sets[1] == sets[0]);
  if (r == Stored::kNo) r = insert_in_set(sets[1], d, db, gen, e, claims_len, false);
  if (r == Stored::kNo) r = insert_in_set(sets[0], d, db, gen, e, claims_len, true);
  if (r == Stored::kEvicted) pg_atomic_fetch_add_u64(&g_shared->evictions, 1);
  if (r == Stored::kYes || r == Stored::kEvicted) {
    pg_atomic_fetch_add_u64(&g_shared->inserts, 1);
    return true;
  }
  return false;
}

Stats stats() {
  Stats st{};
  st.enabled = enabled();
  if (!st.enabled) return st;
  st.generation = pg_atomic_read_u64(&g_shared->generation);
  st.hits = pg_atomic_read_u64(&g_shared->hits);
  st.misses = pg_atomic_read_u64(&g_shared->misses);
  st.evictions = pg_atomic_read_u64(&g_shared->evictions);
  st.inserts = pg_atomic_read_u64(&g_shared->inserts);
  st.capacity = uint64_t(g_shared->nsets) * kWays;
  for (int l = 0; l < kLocks; l++) {
    LWLockAcquire(&g_locks[l].lock, LW_SHARED);
    for (uint32_t set = uint32_t(l); set < g_shared->nsets; set += kLocks)
      for (int i = 0; i < kWays; i++)
        if (g_slots[size_t(set) * kWays + i].generation == st.generation) st.entries++;
    LWLockRelease(&g_locks[l].lock);
  }
  return st;
}

}  // namespace nova::pg::jwt_cache
