// Storage for one partition of the shared key/value cache (see kv_arena.h).
#define NOVA_CORE_TRANSLATION_UNIT 1
#include "core/kv_arena.h"

#include <cstring>
#include <new>

namespace nova::kv {

namespace {
constexpr uint64_t kMagic = 0x6e6f76616b763031ull;  // "novakv01"
constexpr size_t kHeadData = 80;
constexpr size_t kChunkData = 124;
}  // namespace

struct Partition::Chunk {
  uint32_t next;  // next chunk of the same entry, or of the free list
  char data[kChunkData];
};

struct Partition::Head {
  uint32_t next_chunk;  // must stay first: shares the slot of Chunk::next
  uint32_t bucket_next;
  uint32_t lru_prev;
  uint32_t lru_next;
  uint64_t hash;
  int64_t expires;
  uint32_t database;
  uint32_t key_len;
  uint32_t value_len;
  uint32_t nchunks;
  char data[kHeadData];
};

size_t entry_bytes(size_t key_len, size_t value_len) noexcept {
  size_t total = key_len + value_len;
  if (total <= kHeadData) return kChunkSize;
  return kChunkSize * (1 + (total - kHeadData + kChunkData - 1) / kChunkData);
}

Partition *Partition::create(void *mem, size_t block_bytes) noexcept {
  static_assert(sizeof(Head) == kChunkSize, "entry head must be one chunk");
  static_assert(sizeof(Chunk) == kChunkSize, "chunk size");
  size_t header = (sizeof(Partition) + 7) & ~size_t(7);
  if (block_bytes < header + 4 * (kChunkSize + 4)) return nullptr;
  size_t avail = block_bytes - header;
  // One bucket (4 bytes) per two chunks.
  size_t nchunks = avail / (kChunkSize + 2);
  size_t nbuckets = nchunks / 2;
  if (nbuckets == 0) nbuckets = 1;
  while (header + nbuckets * 4 + 8 + nchunks * kChunkSize > block_bytes && nchunks > 1) nchunks--;
  if (nchunks >= kNil) nchunks = kNil - 1;
  auto *p = new (mem) Partition();
  p->magic_ = kMagic;
  p->nbuckets_ = static_cast<uint32_t>(nbuckets);
  p->nchunks_ = static_cast<uint32_t>(nchunks);
  p->chunks_offset_ = (header + nbuckets * 4 + 7) & ~uint64_t(7);
  uint32_t *b = p->buckets();
  for (size_t i = 0; i < nbuckets; i++) b[i] = kNil;
  for (uint32_t i = 0; i < p->nchunks_; i++) p->chunk(i)->next = (i + 1 < p->nchunks_) ? i + 1 : kNil;
  p->free_head_ = 0;
  p->free_count_ = p->nchunks_;
  p->lru_head_ = p->lru_tail_ = kNil;
  p->stats_ = Stats{};
  p->stats_.capacity_bytes = uint64_t(p->nchunks_) * kChunkSize;
  return p;
}

size_t Partition::max_payload() const noexcept { return kHeadData + size_t(nchunks_ - 1) * kChunkData; }

Partition::Chunk *Partition::chunk(uint32_t i) noexcept {
  return reinterpret_cast<Chunk *>(reinterpret_cast<char *>(this) + chunks_offset_) + i;
}
const Partition::Chunk *Partition::chunk(uint32_t i) const noexcept {
  return reinterpret_cast<const Chunk *>(reinterpret_cast<const char *>(this) + chunks_offset_) + i;
}
Partition::Head *Partition::head(uint32_t i) noexcept { return reinterpret_cast<Head *>(chunk(i)); }
const Partition::Head *Partition::head(uint32_t i) const noexcept {
  return reinterpret_cast<const Head *>(chunk(i));
}
uint32_t *Partition::buckets() noexcept {
  return reinterpret_cast<uint32_t *>(reinterpret_cast<char *>(this) + ((sizeof(Partition) + 7) & ~size_t(7)));
}

uint32_t Partition::chunks_for(size_t key_len, size_t value_len) const noexcept {
  size_t n = entry_bytes(key_len, value_len) / kChunkSize;
  return n > nchunks_ ? kNil : static_cast<uint32_t>(n);
}

void Partition::copy_payload(uint32_t e, size_t offset, char *dst, size_t len) const noexcept {
  const Head *h = head(e);
  if (offset < kHeadData) {
    size_t n = kHeadData - offset < len ? kHeadData - offset : len;
    memcpy(dst, h->data + offset, n);
    dst += n;
    len -= n;
    offset = 0;
  } else {
    offset -= kHeadData;
  }
  uint32_t c = h->next_chunk;
  while (offset >= kChunkData && c != kNil) {
    offset -= kChunkData;
    c = chunk(c)->next;
  }
  while (len > 0 && c != kNil) {
    const Chunk *ch = chunk(c);
    size_t n = kChunkData - offset < len ? kChunkData - offset : len;
    memcpy(dst, ch->data + offset, n);
    dst += n;
    len -= n;
    offset = 0;
    c = ch->next;
  }
}

bool Partition::key_equals(uint32_t e, const char *key, size_t key_len) const noexcept {
  const Head *h = head(e);
  if (h->key_len != key_len) return false;
  size_t first = key_len < kHeadData ? key_len : kHeadData;
  if (memcmp(h->data, key, first) != 0) return false;
  size_t off = first;
  uint32_t c = h->next_chunk;
  while (off < key_len && c != kNil) {
    const Chunk *ch = chunk(c);
    size_t n = key_len - off < kChunkData ? key_len - off : kChunkData;
    if (memcmp(ch->data, key + off, n) != 0) return false;
    off += n;
    c = ch->next;
  }
  return off == key_len;
}

uint32_t Partition::lookup(uint64_t hash, uint32_t database, const char *key, size_t key_len,
                           uint32_t *prev) noexcept {
  uint32_t p = kNil;
  uint32_t e = buckets()[bucket_of(hash)];
  // insert() keeps every chain at most kMaxChain long; the walk is bounded here too.
  for (uint32_t walked = 0; e != kNil; walked++) {
    if (walked == kMaxChain) {
      e = kNil;
      break;
    }
    const Head *h = head(e);
    if (h->hash == hash && h->database == database && key_equals(e, key, key_len)) break;
    p = e;
    e = h->bucket_next;
  }
  if (prev) *prev = p;
  return e;
}

void Partition::lru_unlink(uint32_t e) noexcept {
  Head *h = head(e);
  if (h->lru_prev != kNil) head(h->lru_prev)->lru_next = h->lru_next; else lru_head_ = h->lru_next;
  if (h->lru_next != kNil) head(h->lru_next)->lru_prev = h->lru_prev; else lru_tail_ = h->lru_prev;
  h->lru_prev = h->lru_next = kNil;
}

void Partition::lru_push_front(uint32_t e) noexcept {
  Head *h = head(e);
  h->lru_prev = kNil;
  h->lru_next = lru_head_;
  if (lru_head_ != kNil) head(lru_head_)->lru_prev = e;
  lru_head_ = e;
  if (lru_tail_ == kNil) lru_tail_ = e;
}

void Partition::unlink_and_free(uint32_t e, uint32_t prev_in_bucket) noexcept {
  Head *h = head(e);
  if (prev_in_bucket == kNil) buckets()[bucket_of(h->hash)] = h->bucket_next;
  else head(prev_in_bucket)->bucket_next = h->bucket_next;
  lru_unlink(e);
  uint32_t n = h->nchunks;
  // Return the chain to the free list: walk to its last chunk, splice.
  uint32_t last = e;
  while (chunk(last)->next != kNil) last = chunk(last)->next;
  chunk(last)->next = free_head_;
  free_head_ = e;
  free_count_ += n;
  stats_.entries--;
  stats_.used_bytes -= uint64_t(n) * kChunkSize;
}

void Partition::unlink_entry(uint32_t e) noexcept {
  uint32_t p = kNil;
  uint32_t x = buckets()[bucket_of(head(e)->hash)];
  while (x != kNil && x != e) {
    p = x;
    x = head(x)->bucket_next;
  }
  unlink_and_free(e, p);
}

bool Partition::make_room(uint32_t nchunks) noexcept {
  if (nchunks > nchunks_) return false;
  while (free_count_ < nchunks && lru_tail_ != kNil) {
    unlink_entry(lru_tail_);
    stats_.evictions++;
  }
  return free_count_ >= nchunks;
}

uint32_t Partition::insert(uint64_t hash, uint32_t database, const char *key, size_t key_len, const char *value,
                           size_t value_len, Clock expires) noexcept {
  uint32_t n = chunks_for(key_len, value_len);
  if (n == kNil || !make_room(n)) return kNil;
  // Take n chunks off the free list.
  uint32_t first = free_head_;
  uint32_t last = first;
  for (uint32_t i = 1; i < n; i++) last = chunk(last)->next;
  free_head_ = chunk(last)->next;
  chunk(last)->next = kNil;
  free_count_ -= n;
  Head *h = head(first);
  h->hash = hash;
  h->expires = expires;
  h->database = database;
  h->key_len = static_cast<uint32_t>(key_len);
  h->value_len = static_cast<uint32_t>(value_len);
  h->nchunks = n;
  // Payload: key then value, across the chain.
  const char *parts[2] = {key, value};
  size_t lens[2] = {key_len, value_len};
  char *dst = h->data;
  size_t room = kHeadData;
  uint32_t cur = first;
  for (int p = 0; p < 2; p++) {
    const char *src = parts[p];
    size_t left = lens[p];
    while (left > 0) {
      if (room == 0) {
        cur = (cur == first) ? h->next_chunk : chunk(cur)->next;
        dst = chunk(cur)->data;
        room = kChunkData;
      }
      size_t k = left < room ? left : room;
      memcpy(dst, src, k);
      dst += k;
      src += k;
      left -= k;
      room -= k;
    }
  }
  uint32_t *bucket = &buckets()[bucket_of(hash)];
  // A full chain gives up its last (longest-unchanged) entry: crafted colliding
  // keys cannot make any walk longer than kMaxChain (kv_arena.h).
  uint32_t chain = 0, tail = kNil, before_tail = kNil;
  for (uint32_t x = *bucket; x != kNil; x = head(x)->bucket_next) {
    before_tail = tail;
    tail = x;
    chain++;
  }
  if (chain >= kMaxChain) {
    unlink_and_free(tail, before_tail);
    stats_.evictions++;
  }
  h->bucket_next = *bucket;
  *bucket = first;
  h->lru_prev = h->lru_next = kNil;
  lru_push_front(first);
  stats_.entries++;
  stats_.used_bytes += uint64_t(n) * kChunkSize;
  return first;
}

uint32_t Partition::find(uint64_t hash, uint32_t database, const char *key, size_t key_len, Clock now,
                         size_t *value_len) noexcept {
  uint32_t prev;
  uint32_t e = lookup(hash, database, key, key_len, &prev);
  if (e != kNil && head(e)->expires != 0 && head(e)->expires <= now) {
    unlink_and_free(e, prev);
    stats_.expired++;
    e = kNil;
  }
  if (e == kNil) {
    stats_.misses++;
    return kNil;
  }
  stats_.hits++;
  if (lru_head_ != e) {
    lru_unlink(e);
    lru_push_front(e);
  }
  *value_len = head(e)->value_len;
  return e;
}

void Partition::read_value(uint32_t handle, char *dst) const noexcept {
  const Head *h = head(handle);
  copy_payload(handle, h->key_len, dst, h->value_len);
}

Status Partition::set(uint64_t hash, uint32_t database, const char *key, size_t key_len, const char *value,
                      size_t value_len, Clock expires) noexcept {
  if (chunks_for(key_len, value_len) == kNil) return Status::kTooLarge;
  uint32_t prev;
  uint32_t e = lookup(hash, database, key, key_len, &prev);
  if (e != kNil) unlink_and_free(e, prev);
  if (insert(hash, database, key, key_len, value, value_len, expires) == kNil) return Status::kTooLarge;
  stats_.sets++;
  return Status::kOk;
}

bool Partition::remove(uint64_t hash, uint32_t database, const char *key, size_t key_len, Clock now) noexcept {
  uint32_t prev;
  uint32_t e = lookup(hash, database, key, key_len, &prev);
  if (e == kNil) return false;
  bool live = head(e)->expires == 0 || head(e)->expires > now;
  unlink_and_free(e, prev);
  if (live) stats_.deletes++; else stats_.expired++;
  return live;
}

bool parse_int64(const char *s, size_t len, int64_t *out) noexcept {
  size_t i = 0;
  bool neg = false;
  if (i < len && (s[i] == '-' || s[i] == '+')) {
    neg = s[i] == '-';
    i++;
  }
  if (i == len) return false;
  uint64_t limit = neg ? uint64_t(INT64_MAX) + 1 : uint64_t(INT64_MAX);
  uint64_t v = 0;
  for (; i < len; i++) {
    char c = s[i];
    if (c < '0' || c > '9') return false;
    unsigned d = unsigned(c - '0');
    if (v > (limit - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = neg ? static_cast<int64_t>(0 - v) : static_cast<int64_t>(v);
  return true;
}

Status Partition::incr(uint64_t hash, uint32_t database, const char *key, size_t key_len, int64_t delta,
                       Clock expires_if_created, Clock now, int64_t *result) noexcept {
  uint32_t prev;
  uint32_t e = lookup(hash, database, key, key_len, &prev);
  if (e != kNil && head(e)->expires != 0 && head(e)->expires <= now) {
    unlink_and_free(e, prev);
    stats_.expired++;
    e = kNil;
  }
  int64_t value = delta;
  Clock expires = expires_if_created;
  if (e != kNil) {
    const Head *h = head(e);
    if (h->value_len > 20) return Status::kNotInteger;
    char buf[21];
    copy_payload(e, h->key_len, buf, h->value_len);
    int64_t old;
    if (!parse_int64(buf, h->value_len, &old)) return Status::kNotInteger;
    if (__builtin_add_overflow(old, delta, &value)) return Status::kOverflow;
    expires = h->expires;
  }
  char text[24];
  // Format without snprintf locale concerns.
  char tmp[24];
  int n = 0;
  uint64_t mag = value < 0 ? 0 - static_cast<uint64_t>(value) : static_cast<uint64_t>(value);
  do {
    tmp[n++] = static_cast<char>('0' + mag % 10);
    mag /= 10;
  } while (mag);
  int len = 0;
  if (value < 0) text[len++] = '-';
  while (n) text[len++] = tmp[--n];
  if (chunks_for(key_len, size_t(len)) == kNil) return Status::kTooLarge;
  if (e != kNil) unlink_and_free(e, prev);
  if (insert(hash, database, key, key_len, text, size_t(len), expires) == kNil) return Status::kTooLarge;
  *result = value;
  return Status::kOk;
}

void Partition::flush(uint32_t database) noexcept {
  for (uint32_t b = 0; b < nbuckets_; b++) {
    uint32_t prev = kNil;
    uint32_t e = buckets()[b];
    while (e != kNil) {
      uint32_t next = head(e)->bucket_next;
      if (database == 0 || head(e)->database == database) {
        unlink_and_free(e, prev);
      } else {
        prev = e;
      }
      e = next;
    }
  }
}

uint32_t Partition::chain_length(uint64_t hash) const noexcept {
  uint32_t n = 0;
  const uint32_t *b = reinterpret_cast<const uint32_t *>(reinterpret_cast<const char *>(this) +
                                                         ((sizeof(Partition) + 7) & ~size_t(7)));
  for (uint32_t x = b[bucket_of(hash)]; x != kNil; x = head(x)->bucket_next) n++;
  return n;
}

void Partition::add_stats(Stats *out) const noexcept {
  out->hits += stats_.hits;
  out->misses += stats_.misses;
  out->sets += stats_.sets;
  out->deletes += stats_.deletes;
  out->evictions += stats_.evictions;
  out->expired += stats_.expired;
  out->entries += stats_.entries;
  out->used_bytes += stats_.used_bytes;
  out->capacity_bytes += stats_.capacity_bytes;
}

}  // namespace nova::kv
