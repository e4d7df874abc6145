// The shared JWT verification cache (docs/jwt.md), used by nova.authenticate.
//
// Entries are keyed by SHA-256 of the whole token (raw tokens are never stored),
// the database and the key-set generation. The generation is a shared counter
// bumped on every change to nova.jwt_keys or the revocation tables (statement
// trigger, and again when that transaction ends), so a change makes every
// existing entry stale in every backend at once.
#pragma once

extern "C" {
#include "postgres.h"
#include "utils/jsonb.h"
}

#include <cstdint>

namespace nova::pg::jwt_cache {

inline constexpr size_t kDigestBytes = 32;
// Subject + claims (jsonb) stored per entry; bigger results are not cached.
inline constexpr size_t kEntryDataBytes = 1024;

struct Entry {
  double valid_until;  // seconds since the epoch; entry unusable from then on (a key's revoked_at)
  bool has_exp, has_nbf, has_iat;
  double exp, nbf, iat;
  const char *sub;  // palloc'd by lookup (not NUL-terminated)
  size_t sub_len;
  Jsonb *claims;  // palloc'd by lookup
};

bool enabled();
// 0 when the cache is disabled.
uint64_t generation();
// Invalidate every entry (called on key or revocation changes).
void bump_generation();

void digest(const char *token, size_t len, uint8_t out[kDigestBytes]);
// scope: (database << 32) | OID of nova.jwt_keys, so entries never cross databases
// or survive DROP/CREATE EXTENSION (which drops the tables without firing triggers).
// A live entry for this digest, scope and the current generation, usable at `now`;
// on success *out holds palloc'd copies. Counts a hit or a miss.
bool lookup(const uint8_t digest[kDigestBytes], uint64_t scope, double now, Entry *out);
// Store a verified result computed under generation `gen`; skipped (returns false)
// when the generation moved on meanwhile or the data does not fit.
bool insert(const uint8_t digest[kDigestBytes], uint64_t scope, uint64_t gen, const Entry &e);

struct Stats {
  bool enabled;
  uint64_t hits, misses, evictions, inserts, entries, capacity, generation;
};
Stats stats();

}  // namespace nova::pg::jwt_cache
