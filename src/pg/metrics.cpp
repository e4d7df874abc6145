// Counters a monitoring stack can feed to rate() (docs/operations.md, "What to watch").
//
// Shared memory holds plain atomic counters, a histogram of relay produce latency,
// and a bounded table of named slots (outbox topics). A slot's name is written once
// under the tranche's lock before the slot count is published, and never changes,
// so readers and incrementers look names up without a lock; each backend also
// remembers the slot of every topic it has seen. Circuit-breaker counters live in
// the breakers' own slots (src/pg/breaker.cpp), which are reclaimed with them.
//
// Counters other features already keep (relay status, JWT and key/value cache
// statistics) are read from them, not duplicated: nova.reset_metrics() stores
// their current values as a baseline that the view subtracts.
#include "pg/metrics.h"

extern "C" {
#include "postgres.h"
#include "fmgr.h"
#include "funcapi.h"
#include "access/xlog.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/lwlock.h"
#include "storage/spin.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"
}

#include <cstring>

// The relay's shared state (status counters, state): read here, never written.
#include "pg/relay_state.h"
#include "pg/boundary.h"
#include "pg/breaker_api.h"
#include "pg/guc.h"
#include "pg/jwt_cache.h"
#include "pg/module.h"

// nova.cache_stats(): the key/value cache's own counters (src/pg/kv_cache.cpp).
extern "C" Datum nova_cache_stats(PG_FUNCTION_ARGS);

namespace nova::metrics {

namespace {

constexpr int kTopics = 256;       // distinct topics counted; the rest go to topic "other"
constexpr int kTopicLen = 256;     // bytes incl. NUL (Kafka allows 249)
constexpr int kLocalCache = 256;   // per-backend name -> slot cache entries (direct-mapped)
const char *const kTranche = "nova_metrics";

// Breaker states (core::state_name); transitions to anything else count as "UNKNOWN".
const char *const kBreakerStates[] = {"CLOSED", "OPEN", "HALF_OPEN", "FORCED_OPEN", "DISABLED", "METRICS_ONLY"};

// Relay produce latency buckets (upper bounds, seconds); one more bucket for +Inf.
const double kLatencyBuckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
constexpr int kNLatency = sizeof(kLatencyBuckets) / sizeof(kLatencyBuckets[0]);

struct TopicSlot {
  char name[kTopicLen];
  pg_atomic_uint64 written;
};

enum BreakerOutcome { kSuccess = 0, kFailure, kNotPermitted, kNOutcomes };
const char *const kOutcomeNames[] = {"success", "failure", "not_permitted"};


// Values of other features' counters at the last reset.
struct Baseline {
  uint64 relay_delivered, relay_failed, relay_dead;
  uint64 jwt_hits, jwt_misses, jwt_evictions;
  uint64 kv_hits, kv_misses, kv_evictions, kv_expired;
};

struct Shared {
  pg_atomic_uint64 counters[kCounterCount];
  pg_atomic_uint64 latency[kNLatency + 1];  // per bucket (not cumulative); the last is +Inf
  pg_atomic_uint64 latency_sum_us;
  pg_atomic_uint64 latency_count;
  slock_t mutex;          // protects `base` (a few field copies, nothing else)
  Baseline base;
  pg_atomic_uint32 ntopics;    // published after the slot's name is written; slots never freed
  TopicSlot topics[kTopics + 1];  // [kTopics] = "other"
};

Shared *g_shared = nullptr;
LWLock *g_lock = nullptr;  // serialises slot creation only

Size shmem_size() { return sizeof(Shared); }

void shmem_startup(void *mem, bool found) {
  g_shared = static_cast<Shared *>(mem);
  g_lock = &GetNamedLWLockTranche(kTranche)[0].lock;
  if (found) return;
  memset(mem, 0, sizeof(Shared));
  for (auto &c : g_shared->counters) pg_atomic_init_u64(&c, 0);
  for (auto &c : g_shared->latency) pg_atomic_init_u64(&c, 0);
  pg_atomic_init_u64(&g_shared->latency_sum_us, 0);
  pg_atomic_init_u64(&g_shared->latency_count, 0);
  SpinLockInit(&g_shared->mutex);
  pg_atomic_init_u32(&g_shared->ntopics, 0);
  for (auto &t : g_shared->topics) pg_atomic_init_u64(&t.written, 0);
  strlcpy(g_shared->topics[kTopics].name, "other", kTopicLen);
}

NOVA_SHMEM_REGISTER(metrics, shmem_size, shmem_startup, kTranche, 1);

bool on() { return g_shared != nullptr && nova::pg::shmem_available(); }

uint32 hash_name(const char *s, size_t len) {
  uint32 h = 2166136261u;
  for (size_t i = 0; i < len; i++) h = (h ^ static_cast<unsigned char>(s[i])) * 16777619u;
  return h;
}

// A backend's memory of name -> slot, for one table. Slots never move, so entries
// stay valid for the life of the shared memory segment.
template <int kLen>
struct LocalEntry {
  bool used;
  int slot;  // -1: the table was full (it never shrinks, so the name stays without a slot)
  char name[kLen];
};
LocalEntry<kTopicLen> g_local_topics[kLocalCache];


// Find `name` in slots[0..n) (names published before n), or add it under the lock.
// Returns -1 when the table is full.
template <typename Slot, int kLen, int kCap>
int find_or_add(Slot *slots, pg_atomic_uint32 *count, const char *name, size_t len) {
  uint32 n = pg_atomic_read_u32(count);
  pg_read_barrier();
  for (uint32 i = 0; i < n; i++)
    if (strcmp(slots[i].name, name) == 0) return static_cast<int>(i);
  LWLockAcquire(g_lock, LW_EXCLUSIVE);
  uint32 m = pg_atomic_read_u32(count);
  int found = -1;
  for (uint32 i = n; i < m; i++)
    if (strcmp(slots[i].name, name) == 0) found = static_cast<int>(i);
  if (found < 0 && m < static_cast<uint32>(kCap)) {
    memcpy(slots[m].name, name, len);
    slots[m].name[len] = '\0';
    pg_write_barrier();
    pg_atomic_write_u32(count, m + 1);
    found = static_cast<int>(m);
  }
  LWLockRelease(g_lock);
  return found;
}

// Slot of a name through the backend's cache; -1 when the name is too long or the table full.
template <typename Slot, int kLen, int kCap>
int slot_of(LocalEntry<kLen> *cache, Slot *slots, pg_atomic_uint32 *count, const char *name) {
  if (name == nullptr) return -1;
  size_t len = strlen(name);
  if (len >= static_cast<size_t>(kLen)) return -1;
  LocalEntry<kLen> &e = cache[hash_name(name, len) % kLocalCache];
  if (e.used && strcmp(e.name, name) == 0) return e.slot;
  int slot = find_or_add<Slot, kLen, kCap>(slots, count, name, len);
  e.used = true;
  e.slot = slot;
  memcpy(e.name, name, len + 1);
  return slot;
}

}  // namespace

// ---- increments (instrumented code calls these) ---------------------------------------------

void add(Counter c, uint64_t n) noexcept {
  if (!on() || c < 0 || c >= kCounterCount || n == 0) return;
  pg_atomic_fetch_add_u64(&g_shared->counters[c], n);
}

void relay_batch(uint64_t retried, uint64_t bytes, int64_t produce_us) noexcept {
  if (!on()) return;
  pg_atomic_fetch_add_u64(&g_shared->counters[kRelayBatches], 1);
  if (retried) pg_atomic_fetch_add_u64(&g_shared->counters[kRelayRetried], retried);
  if (bytes) pg_atomic_fetch_add_u64(&g_shared->counters[kRelayBytes], bytes);
  if (produce_us < 0) produce_us = 0;
  double sec = static_cast<double>(produce_us) / 1e6;
  int b = 0;
  while (b < kNLatency && sec > kLatencyBuckets[b]) b++;
  pg_atomic_fetch_add_u64(&g_shared->latency[b], 1);
  pg_atomic_fetch_add_u64(&g_shared->latency_sum_us, static_cast<uint64>(produce_us));
  pg_atomic_fetch_add_u64(&g_shared->latency_count, 1);
}

void outbox_written(const char *topic) noexcept {
  if (!on()) return;
  int i = slot_of<TopicSlot, kTopicLen, kTopics>(g_local_topics, g_shared->topics, &g_shared->ntopics, topic);
  pg_atomic_fetch_add_u64(&g_shared->topics[i < 0 ? kTopics : i].written, 1);
}


}  // namespace nova::metrics

// ---- the view's rows ---------------------------------------------------------------------------
// Plain C-style code below: the calls into other features and into PostgreSQL may
// ERROR, so no C++ object with a destructor lives in these frames.

namespace {

using namespace nova::metrics;

// Current values of the counters other features keep.
struct External {
  bool relay;
  nova::relay::State relay_state;
  uint64 relay_delivered, relay_failed, relay_dead;
  bool jwt;
  uint64 jwt_hits, jwt_misses, jwt_evictions, jwt_entries;
  bool kv;
  uint64 kv_hits, kv_misses, kv_evictions, kv_expired, kv_entries;
};

uint64 jsonb_u64(Jsonb *jb, const char *key) {
  JsonbValue v;
  if (getKeyJsonValueFromContainer(&jb->root, key, static_cast<int>(strlen(key)), &v) == nullptr ||
      v.type != jbvNumeric)
    return 0;
  int64 n = DatumGetInt64(DirectFunctionCall1(numeric_int8, NumericGetDatum(v.val.numeric)));
  return n < 0 ? 0 : static_cast<uint64>(n);
}

void read_external(External *x) {
  memset(x, 0, sizeof *x);
  nova::relay::Shared *rs = nova::relay::shared();
  if (rs) {
    // Counters are under status_lock, the state under the spinlock (pg/relay_state.h).
    LWLockAcquire(rs->status_lock, LW_SHARED);
    x->relay_delivered = rs->delivered;
    x->relay_failed = rs->failed;
    x->relay_dead = rs->dead;
    LWLockRelease(rs->status_lock);
    SpinLockAcquire(&rs->mutex);
    x->relay_state = rs->state;
    SpinLockRelease(&rs->mutex);
    x->relay = true;
  }
  nova::pg::jwt_cache::Stats js = nova::pg::jwt_cache::stats();
  if (js.enabled) {
    x->jwt = true;
    x->jwt_hits = js.hits;
    x->jwt_misses = js.misses;
    x->jwt_evictions = js.evictions;
    x->jwt_entries = js.entries;
  }
  LOCAL_FCINFO(fc, 0);
  InitFunctionCallInfoData(*fc, nullptr, 0, InvalidOid, nullptr, nullptr);
  Datum d = nova_cache_stats(fc);
  if (!fc->isnull) {
    Jsonb *jb = DatumGetJsonbP(d);
    JsonbValue v;
    if (getKeyJsonValueFromContainer(&jb->root, "enabled", 7, &v) != nullptr && v.type == jbvBool && v.val.boolean) {
      x->kv = true;
      x->kv_hits = jsonb_u64(jb, "hits");
      x->kv_misses = jsonb_u64(jb, "misses");
      x->kv_evictions = jsonb_u64(jb, "evictions");
      x->kv_expired = jsonb_u64(jb, "expired");
      x->kv_entries = jsonb_u64(jb, "entries");
    }
  }
}

uint64 since(uint64 now, uint64 base) { return now >= base ? now - base : now; }

struct Out {
  ReturnSetInfo *rsinfo;
};

// labels: a JSON object text; values are escaped by the caller through label().
void emit(Out *o, const char *name, const char *labels, double value, const char *kind) {
  Datum values[4];
  bool nulls[4] = {false, false, false, false};
  values[0] = CStringGetTextDatum(name);
  values[1] = DirectFunctionCall1(jsonb_in, CStringGetDatum(labels ? labels : "{}"));
  values[2] = Float8GetDatum(value);
  values[3] = CStringGetTextDatum(kind);
  tuplestore_putvalues(o->rsinfo->setResult, o->rsinfo->setDesc, values, nulls);
}

// {"k1": "v1", "k2": "v2"} with JSON escaping; k2 may be null.
char *labels(const char *k1, const char *v1, const char *k2 = nullptr, const char *v2 = nullptr) {
  StringInfoData s;
  initStringInfo(&s);
  appendStringInfoChar(&s, '{');
  escape_json(&s, k1);
  appendStringInfoString(&s, ": ");
  escape_json(&s, v1);
  if (k2) {
    appendStringInfoString(&s, ", ");
    escape_json(&s, k2);
    appendStringInfoString(&s, ": ");
    escape_json(&s, v2);
  }
  appendStringInfoChar(&s, '}');
  return s.data;
}

double u(uint64 v) { return static_cast<double>(v); }
double rd(pg_atomic_uint64 *a) { return static_cast<double>(pg_atomic_read_u64(a)); }

const char *relay_state_now(const External &x) {
  if (RecoveryInProgress()) return "standby";
  // As nova.status(): an empty nova.kafka_brokers means unconfigured (docs/relay.md).
  if ((nova_guc_kafka_brokers == nullptr || nova_guc_kafka_brokers[0] == '\0') &&
      x.relay_state != nova::relay::State::kStopping)
    return "unconfigured";
  return nova::relay::state_name(x.relay_state);
}

void emit_all(Out *o, Shared *sh) {
  External x;
  read_external(&x);
  Baseline b;
  SpinLockAcquire(&sh->mutex);
  b = sh->base;
  SpinLockRelease(&sh->mutex);

  // Relay.
  if (x.relay) {
    emit(o, "nova_relay_events_total", labels("outcome", "delivered"), u(since(x.relay_delivered, b.relay_delivered)),
         "counter");
    emit(o, "nova_relay_events_total", labels("outcome", "failed"), u(since(x.relay_failed, b.relay_failed)), "counter");
    emit(o, "nova_relay_events_total", labels("outcome", "dead_lettered"), u(since(x.relay_dead, b.relay_dead)),
         "counter");
  }
  emit(o, "nova_relay_events_total", labels("outcome", "retried"), rd(&sh->counters[kRelayRetried]), "counter");
  emit(o, "nova_relay_batches_total", "{}", rd(&sh->counters[kRelayBatches]), "counter");
  emit(o, "nova_relay_bytes_total", "{}", rd(&sh->counters[kRelayBytes]), "counter");
  uint64 cum = 0;
  for (int i = 0; i <= kNLatency; i++) {
    cum += pg_atomic_read_u64(&sh->latency[i]);
    char le[32];
    if (i < kNLatency) snprintf(le, sizeof le, "%g", kLatencyBuckets[i]);
    else strlcpy(le, "+Inf", sizeof le);
    emit(o, "nova_relay_produce_latency_seconds_bucket", labels("le", le), u(cum), "histogram");
  }
  emit(o, "nova_relay_produce_latency_seconds_sum", "{}", rd(&sh->latency_sum_us) / 1e6, "counter");
  emit(o, "nova_relay_produce_latency_seconds_count", "{}", rd(&sh->latency_count), "counter");
  if (x.relay) {
    // One series per state, 1 for the current one ("stopped": no worker process).
    const char *st = relay_state_now(x);
    for (int s = static_cast<int>(nova::relay::State::kStopped); s <= static_cast<int>(nova::relay::State::kStopping);
         s++) {
      const char *name = nova::relay::state_name(static_cast<nova::relay::State>(s));
      emit(o, "nova_relay_status", labels("state", name), strcmp(name, st) == 0 ? 1 : 0, "gauge");
    }
    emit(o, "nova_relay_status", labels("state", "standby"), strcmp(st, "standby") == 0 ? 1 : 0, "gauge");
  }

  // Outbox writes per topic, snapshot rows.
  uint32 nt = pg_atomic_read_u32(&sh->ntopics);
  pg_read_barrier();
  for (uint32 i = 0; i < nt; i++)
    emit(o, "nova_outbox_events_written_total", labels("topic", sh->topics[i].name), rd(&sh->topics[i].written),
         "counter");
  if (pg_atomic_read_u64(&sh->topics[kTopics].written) > 0)
    emit(o, "nova_outbox_events_written_total", labels("topic", sh->topics[kTopics].name),
         rd(&sh->topics[kTopics].written), "counter");
  emit(o, "nova_snapshot_rows_total", "{}", rd(&sh->counters[kSnapshotRows]), "counter");

  // Circuit breakers of this database (their counters live in src/pg/breaker.cpp).
  {
    using nova::pg::breaker::CounterRow;
    constexpr int kMaxRows = 256;  // src/pg/breaker.cpp's slot count
    auto *rows = static_cast<CounterRow *>(palloc(sizeof(CounterRow) * kMaxRows));
    int nb = nova::pg::breaker::counters(rows, kMaxRows);
    for (int i = 0; i < nb; i++) {
      const CounterRow &r = rows[i];
      for (int k = 0; k < kNOutcomes; k++)
        emit(o, "nova_breaker_calls_total", labels("breaker", r.name, "outcome", kOutcomeNames[k]),
             static_cast<double>(r.calls[k]), "counter");
      for (int k = 0; k < nova::pg::breaker::kCounterStates; k++)
        emit(o, "nova_breaker_transitions_total", labels("breaker", r.name, "to", kBreakerStates[k]),
             static_cast<double>(r.entered[k]), "counter");
      for (int k = 0; k < nova::pg::breaker::kCounterStates; k++)
        emit(o, "nova_breaker_status", labels("breaker", r.name, "state", kBreakerStates[k]),
             r.state && strcmp(r.state, kBreakerStates[k]) == 0 ? 1 : 0, "gauge");
    }
  }

  // Caches.
  if (x.jwt) {
    emit(o, "nova_cache_requests_total", labels("cache", "jwt", "result", "hit"), u(since(x.jwt_hits, b.jwt_hits)),
         "counter");
    emit(o, "nova_cache_requests_total", labels("cache", "jwt", "result", "miss"),
         u(since(x.jwt_misses, b.jwt_misses)), "counter");
    emit(o, "nova_cache_evictions_total", labels("cache", "jwt"), u(since(x.jwt_evictions, b.jwt_evictions)),
         "counter");
    emit(o, "nova_cache_expirations_total", labels("cache", "jwt"), rd(&sh->counters[kJwtCacheExpired]), "counter");
    emit(o, "nova_cache_entries", labels("cache", "jwt"), u(x.jwt_entries), "gauge");
  }
  if (x.kv) {
    emit(o, "nova_cache_requests_total", labels("cache", "kv", "result", "hit"), u(since(x.kv_hits, b.kv_hits)),
         "counter");
    emit(o, "nova_cache_requests_total", labels("cache", "kv", "result", "miss"), u(since(x.kv_misses, b.kv_misses)),
         "counter");
    emit(o, "nova_cache_evictions_total", labels("cache", "kv"), u(since(x.kv_evictions, b.kv_evictions)), "counter");
    emit(o, "nova_cache_expirations_total", labels("cache", "kv"), u(since(x.kv_expired, b.kv_expired)), "counter");
    emit(o, "nova_cache_entries", labels("cache", "kv"), u(x.kv_entries), "gauge");
  }
}

}  // namespace

// nova._metrics(): the shared-memory rows of view nova.metrics (none without preloading).
NOVA_FUNCTION(nova_metrics) {
  InitMaterializedSRF(fcinfo, 0);
  Out o{reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo)};
  if (nova::pg::shmem_available() && g_shared != nullptr) emit_all(&o, g_shared);
  return (Datum)0;
}

// nova.reset_metrics(): counters start again from zero (EXECUTE is the extension owner's).
NOVA_FUNCTION(nova_reset_metrics) {
  if (!nova::pg::shmem_available() || g_shared == nullptr) PG_RETURN_VOID();
  Shared *sh = g_shared;
  External x;
  read_external(&x);
  for (auto &c : sh->counters) pg_atomic_write_u64(&c, 0);
  for (auto &c : sh->latency) pg_atomic_write_u64(&c, 0);
  pg_atomic_write_u64(&sh->latency_sum_us, 0);
  pg_atomic_write_u64(&sh->latency_count, 0);
  for (auto &t : sh->topics) pg_atomic_write_u64(&t.written, 0);
  nova::pg::breaker::reset_counters();
  Baseline b{x.relay_delivered, x.relay_failed, x.relay_dead, x.jwt_hits, x.jwt_misses, x.jwt_evictions,
             x.kv_hits,        x.kv_misses,    x.kv_evictions, x.kv_expired};
  SpinLockAcquire(&sh->mutex);
  sh->base = b;
  SpinLockRelease(&sh->mutex);
  PG_RETURN_VOID();
}
