// The key/value cache's partition storage: hash table, LRU, chunk chains, TTL, incr.
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "core/kv_arena.h"

using nova::kv::Partition;
using nova::kv::Status;

namespace {

// The caller supplies the hash (src/pg/kv_cache.cpp: seeded hash_bytes_extended).
uint64_t test_hash(uint32_t db, const char *k, size_t n) {
  return std::hash<std::string>()(std::string(k, n)) * 31 + db;
}

struct Block {
  explicit Block(size_t n) : mem(n / 8 + 1) { p = Partition::create(mem.data(), n); }
  std::vector<uint64_t> mem;
  Partition *p;

  Status set(const std::string &k, const std::string &v, int64_t expires = 0, uint32_t db = 1) {
    return p->set(test_hash(db, k.data(), k.size()), db, k.data(), k.size(), v.data(), v.size(), expires);
  }
  bool get(const std::string &k, std::string *v, int64_t now = 1, uint32_t db = 1) {
    size_t len = 0;
    uint32_t h = p->find(test_hash(db, k.data(), k.size()), db, k.data(), k.size(), now, &len);
    if (h == nova::kv::kNil) return false;
    v->assign(len, '\0');
    p->read_value(h, v->data());
    return true;
  }
  bool del(const std::string &k, int64_t now = 1, uint32_t db = 1) {
    return p->remove(test_hash(db, k.data(), k.size()), db, k.data(), k.size(), now);
  }
  Status incr(const std::string &k, int64_t d, int64_t *out, int64_t exp = 0, int64_t now = 1, uint32_t db = 1) {
    return p->incr(test_hash(db, k.data(), k.size()), db, k.data(), k.size(), d, exp, now, out);
  }
  nova::kv::Stats stats() const {
    nova::kv::Stats s;
    p->add_stats(&s);
    return s;
  }
};

}  // namespace

TEST(KvArena, SetGetDeleteRoundTrip) {
  Block b(64 * 1024);
  ASSERT_NE(b.p, nullptr);
  std::string v;
  EXPECT_FALSE(b.get("a", &v));
  EXPECT_EQ(b.set("a", "1"), Status::kOk);
  ASSERT_TRUE(b.get("a", &v));
  EXPECT_EQ(v, "1");
  EXPECT_EQ(b.set("a", "two"), Status::kOk);  // overwrite
  ASSERT_TRUE(b.get("a", &v));
  EXPECT_EQ(v, "two");
  EXPECT_TRUE(b.del("a"));
  EXPECT_FALSE(b.del("a"));
  EXPECT_FALSE(b.get("a", &v));
  EXPECT_EQ(b.stats().entries, 0u);
  EXPECT_EQ(b.stats().used_bytes, 0u);
}

TEST(KvArena, EmptyKeyAndValueAndLongChains) {
  Block b(256 * 1024);
  std::string v;
  EXPECT_EQ(b.set("", ""), Status::kOk);
  ASSERT_TRUE(b.get("", &v));
  EXPECT_EQ(v, "");
  std::string longk(300, 'k'), longv(5000, '\0');
  for (size_t i = 0; i < longv.size(); i++) longv[i] = char(i * 7);
  EXPECT_EQ(b.set(longk, longv), Status::kOk);
  ASSERT_TRUE(b.get(longk, &v));
  EXPECT_EQ(v, longv);
  // Keys differing only in the last byte of a chained key.
  std::string k2 = longk;
  k2.back() = 'x';
  EXPECT_FALSE(b.get(k2, &v));
}

TEST(KvArena, DatabasesAreSeparate) {
  Block b(64 * 1024);
  std::string v;
  b.set("k", "db1", 0, 1);
  b.set("k", "db2", 0, 2);
  ASSERT_TRUE(b.get("k", &v, 1, 1));
  EXPECT_EQ(v, "db1");
  ASSERT_TRUE(b.get("k", &v, 1, 2));
  EXPECT_EQ(v, "db2");
  b.p->flush(1);
  EXPECT_FALSE(b.get("k", &v, 1, 1));
  EXPECT_TRUE(b.get("k", &v, 1, 2));
}

TEST(KvArena, TtlExpiresLazily) {
  Block b(64 * 1024);
  std::string v;
  b.set("t", "x", 100);
  EXPECT_TRUE(b.get("t", &v, 99));
  EXPECT_FALSE(b.get("t", &v, 100));
  EXPECT_EQ(b.stats().expired, 1u);
  EXPECT_EQ(b.stats().entries, 0u);
  b.set("t", "x", 100);
  EXPECT_FALSE(b.del("t", 150));  // an expired key counts as missing
}

TEST(KvArena, EvictsLeastRecentlyUsed) {
  Block b(16 * 1024);
  std::string v;
  size_t cap = b.stats().capacity_bytes / nova::kv::kChunkSize;  // one chunk per small entry
  for (size_t i = 0; i < cap; i++) ASSERT_EQ(b.set("k" + std::to_string(i), "v"), Status::kOk);
  EXPECT_EQ(b.stats().evictions, 0u);
  ASSERT_TRUE(b.get("k0", &v));  // k0 becomes most recently used
  ASSERT_EQ(b.set("new", "v"), Status::kOk);
  EXPECT_EQ(b.stats().evictions, 1u);
  EXPECT_TRUE(b.get("k0", &v));
  EXPECT_FALSE(b.get("k1", &v));  // the least recently used went
  EXPECT_TRUE(b.get("new", &v));
  // A big entry evicts as many as it needs.
  ASSERT_EQ(b.set("big", std::string(2000, 'b')), Status::kOk);
  EXPECT_TRUE(b.get("big", &v));
  EXPECT_EQ(v.size(), 2000u);
}

TEST(KvArena, TooLargeIsRefusedWithoutDamage) {
  Block b(8 * 1024);
  std::string v;
  b.set("keep", "1");
  EXPECT_EQ(b.set("huge", std::string(b.p->max_payload() + 1, 'x')), Status::kTooLarge);
  EXPECT_TRUE(b.get("keep", &v));
  EXPECT_EQ(b.set("max", std::string(b.p->max_payload() - 3, 'x')), Status::kOk);
}

TEST(KvArena, IncrCreatesAddsAndKeepsTtl) {
  Block b(64 * 1024);
  int64_t r = 0;
  std::string v;
  EXPECT_EQ(b.incr("c", 5, &r, 1000), Status::kOk);
  EXPECT_EQ(r, 5);
  EXPECT_EQ(b.incr("c", -7, &r, 5000), Status::kOk);
  EXPECT_EQ(r, -2);
  ASSERT_TRUE(b.get("c", &v, 999));
  EXPECT_EQ(v, "-2");
  EXPECT_FALSE(b.get("c", &v, 1000));  // the ttl of the creating call applies
  EXPECT_EQ(b.incr("c", 1, &r, 0, 1000), Status::kOk);
  EXPECT_EQ(r, 1);
  b.set("s", "abc");
  EXPECT_EQ(b.incr("s", 1, &r), Status::kNotInteger);
  b.set("s", " 1");
  EXPECT_EQ(b.incr("s", 1, &r), Status::kNotInteger);
  b.set("s", std::string(30, '1'));
  EXPECT_EQ(b.incr("s", 1, &r), Status::kNotInteger);
  b.set("m", "9223372036854775807");
  EXPECT_EQ(b.incr("m", 1, &r), Status::kOverflow);
  EXPECT_EQ(b.incr("m", -1, &r), Status::kOk);
  EXPECT_EQ(r, 9223372036854775806);
  b.set("n", "-9223372036854775808");
  EXPECT_EQ(b.incr("n", 0, &r), Status::kOk);
  EXPECT_EQ(r, INT64_MIN);
  EXPECT_EQ(b.incr("n", -1, &r), Status::kOverflow);
}

TEST(KvArena, ParseInt64) {
  int64_t v;
  EXPECT_TRUE(nova::kv::parse_int64("0", 1, &v));
  EXPECT_TRUE(nova::kv::parse_int64("+12", 3, &v));
  EXPECT_EQ(v, 12);
  EXPECT_FALSE(nova::kv::parse_int64("", 0, &v));
  EXPECT_FALSE(nova::kv::parse_int64("-", 1, &v));
  EXPECT_FALSE(nova::kv::parse_int64("1.0", 3, &v));
  EXPECT_FALSE(nova::kv::parse_int64("9223372036854775808", 19, &v));
  EXPECT_TRUE(nova::kv::parse_int64("-9223372036854775808", 20, &v));
}

// Random operations against a std::map model (with eviction the cache may forget, never invent).
TEST(KvArena, RandomOpsNeverReturnWrongValues) {
  Block b(32 * 1024);
  std::map<std::string, std::string> model;
  std::mt19937 rng(42);
  std::string v;
  for (int i = 0; i < 200000; i++) {
    std::string k = "k" + std::to_string(rng() % 300);
    int op = rng() % 4;
    if (op == 0) {
      std::string val(rng() % 700, char('a' + rng() % 26));
      ASSERT_EQ(b.set(k, val), Status::kOk);
      model[k] = val;
    } else if (op == 1) {
      if (b.get(k, &v)) {
        ASSERT_TRUE(model.count(k));
        ASSERT_EQ(model[k], v);
      }
    } else if (op == 2) {
      bool had = b.del(k);
      if (had) {
        ASSERT_TRUE(model.count(k));
      }
      model.erase(k);
    } else {
      b.p->flush(rng() % 50 == 0 ? 0 : 7);
    }
    auto s = b.stats();
    ASSERT_LE(s.used_bytes, s.capacity_bytes);
  }
  b.p->flush(0);
  EXPECT_EQ(b.stats().entries, 0u);
  EXPECT_EQ(b.stats().used_bytes, 0u);
}

// Keys that all land in one bucket (what an attacker would craft against an
// unseeded hash) never make a chain longer than kMaxChain: a full chain gives up
// its oldest entry, so every lookup walks a bounded number of entries.
TEST(KvArena, CollidingKeysKeepChainWalksBounded) {
  Block b(1024 * 1024);
  const uint64_t same = 0x1234500000ull;  // one hash for every key: one bucket
  const uint32_t db = 1;
  for (int i = 0; i < 1000; i++) {
    std::string k = "collide-" + std::to_string(i);
    ASSERT_EQ(b.p->set(same, db, k.data(), k.size(), "v", 1, 0), Status::kOk);
    ASSERT_LE(b.p->chain_length(same), nova::kv::kMaxChain);
  }
  EXPECT_EQ(b.p->chain_length(same), nova::kv::kMaxChain);
  EXPECT_EQ(b.stats().entries, uint64_t(nova::kv::kMaxChain));
  EXPECT_EQ(b.stats().evictions, uint64_t(1000 - nova::kv::kMaxChain));
  // The newest kMaxChain keys are all there; older ones were evicted, never confused.
  size_t len = 0;
  for (int i = 0; i < 1000; i++) {
    std::string k = "collide-" + std::to_string(i);
    bool want = i >= 1000 - int(nova::kv::kMaxChain);
    EXPECT_EQ(b.p->find(same, db, k.data(), k.size(), 1, &len) != nova::kv::kNil, want) << k;
  }
  // incr on a colliding key works and keeps the bound too.
  int64_t out = 0;
  std::string c = "counter";
  ASSERT_EQ(b.p->incr(same, db, c.data(), c.size(), 5, 0, 1, &out), Status::kOk);
  EXPECT_EQ(out, 5);
  EXPECT_LE(b.p->chain_length(same), nova::kv::kMaxChain);
  // Other buckets are untouched.
  std::string v;
  EXPECT_EQ(b.set("plain", "ok"), Status::kOk);
  ASSERT_TRUE(b.get("plain", &v));
  EXPECT_EQ(v, "ok");
}
