// The shared key/value cache's storage (docs/cache.md): one partition of a fixed
// memory block, holding a hash table, an LRU list and entries made of chained
// fixed-size chunks. Plain C++ over a caller-provided block (no malloc, no
// pointers inside the block: everything is an index, so the block may live in
// PostgreSQL shared memory). Not thread-safe: the caller serialises access to
// one partition (src/pg/kv_cache.cpp takes the partition's LWLock).
//
// Why chunk chains: any freed chunk can serve any entry, so the cache never
// fragments; evicting least recently used entries until enough chunks are free
// always makes room for an entry no larger than the partition.
//
// Every operation is noexcept and reports through a status code, so it can run
// under a lock without any C++ exception crossing PostgreSQL frames.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/error.h"

namespace nova::kv {

inline constexpr uint32_t kNil = 0xFFFFFFFFu;
inline constexpr size_t kChunkSize = 128;

// Opaque "now" and expiry: any monotonic-enough integer clock (the PostgreSQL layer
// uses microseconds since 2000-01-01). expires == 0 means "never".
using Clock = int64_t;

struct Stats {
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t sets = 0;
  uint64_t deletes = 0;
  uint64_t evictions = 0;
  uint64_t expired = 0;
  uint64_t entries = 0;
  uint64_t used_bytes = 0;  // chunks in use * chunk size
  uint64_t capacity_bytes = 0;
};

enum class Status { kOk, kMissing, kNotInteger, kOverflow, kTooLarge };

// Every operation takes the key's 64-bit hash from the caller. It must be keyed
// with a secret seed (src/pg/kv_cache.cpp uses PostgreSQL's hash_bytes_extended
// with a seed drawn at server start), or anyone could craft keys that share one
// bucket. Even so a bucket's chain never holds more than kMaxChain entries:
// inserting into a full chain evicts that chain's oldest entry, so every lookup
// walks at most kMaxChain entries whatever the keys are.
inline constexpr uint32_t kMaxChain = 16;

// Bytes one entry occupies (whole chunks), and the largest key+value a partition of
// `block_bytes` can hold.
size_t entry_bytes(size_t key_len, size_t value_len) noexcept;

class Partition {
 public:
  // Lay out a partition in `mem` (block_bytes long, 8-byte aligned). Returns nullptr
  // when the block is too small to hold anything useful.
  static Partition *create(void *mem, size_t block_bytes) noexcept;
  // A block already created (e.g. attached by another process).
  static Partition *attach(void *mem) noexcept { return static_cast<Partition *>(mem); }

  // Largest key_len + value_len that fits (whole partition, minus nothing else).
  size_t max_payload() const noexcept;

  // Look up; on a hit the value's length is stored in *value_len and the entry becomes
  // most recently used. The returned handle is valid until the next mutating call.
  uint32_t find(uint64_t hash, uint32_t database, const char *key, size_t key_len, Clock now,
                size_t *value_len) noexcept;
  // Copy the value of the entry `find` returned into dst (value_len bytes).
  void read_value(uint32_t handle, char *dst) const noexcept;

  Status set(uint64_t hash, uint32_t database, const char *key, size_t key_len, const char *value,
             size_t value_len, Clock expires) noexcept;
  bool remove(uint64_t hash, uint32_t database, const char *key, size_t key_len, Clock now) noexcept;
  // Atomic add: a missing (or expired) key is created holding `delta` with expiry
  // `expires_if_created`; an existing key keeps its expiry.
  Status incr(uint64_t hash, uint32_t database, const char *key, size_t key_len, int64_t delta,
              Clock expires_if_created, Clock now, int64_t *result) noexcept;
  // Drop every entry of `database` (or all when database == 0).
  void flush(uint32_t database) noexcept;

  void add_stats(Stats *out) const noexcept;

  // Entries in the bucket chain that `hash` maps to (tests: at most kMaxChain).
  uint32_t chain_length(uint64_t hash) const noexcept;
  // The bucket `hash` maps to (the one place the bucket is derived from the hash;
  // also used by src/pg/kv_cache.cpp's colliding-key test hook).
  uint32_t bucket_of(uint64_t hash) const noexcept { return static_cast<uint32_t>((hash >> 20) % nbuckets_); }

 private:
  Partition() = default;
  struct Head;   // first chunk of an entry
  struct Chunk;  // any chunk
  Chunk *chunk(uint32_t i) noexcept;
  const Chunk *chunk(uint32_t i) const noexcept;
  Head *head(uint32_t i) noexcept;
  const Head *head(uint32_t i) const noexcept;
  uint32_t *buckets() noexcept;
  uint32_t lookup(uint64_t hash, uint32_t database, const char *key, size_t key_len, uint32_t *prev) noexcept;
  void unlink_and_free(uint32_t e, uint32_t prev_in_bucket) noexcept;
  void unlink_entry(uint32_t e) noexcept;  // finds its bucket predecessor itself
  uint32_t chunks_for(size_t key_len, size_t value_len) const noexcept;
  bool make_room(uint32_t nchunks) noexcept;
  uint32_t insert(uint64_t hash, uint32_t database, const char *key, size_t key_len, const char *value,
                  size_t value_len, Clock expires) noexcept;
  void lru_unlink(uint32_t e) noexcept;
  void lru_push_front(uint32_t e) noexcept;
  bool key_equals(uint32_t e, const char *key, size_t key_len) const noexcept;
  void copy_payload(uint32_t e, size_t offset, char *dst, size_t len) const noexcept;

  uint64_t magic_;
  uint32_t nbuckets_;
  uint32_t nchunks_;
  uint64_t chunks_offset_;  // from `this`
  uint32_t free_head_;
  uint32_t free_count_;
  uint32_t lru_head_;  // most recently used
  uint32_t lru_tail_;
  Stats stats_;
};

// Parse a whole string as a signed 64-bit decimal integer (optional sign, digits only).
bool parse_int64(const char *s, size_t len, int64_t *out) noexcept;

}  // namespace nova::kv
