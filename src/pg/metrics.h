// Monotonic counters for monitoring (docs/operations.md, "What to watch").
//
// Counters live in shared memory (registered with NOVA_SHMEM_REGISTER) as
// pg_atomic_uint64, so an increment never takes a lock; they count since the
// postmaster started, or since the last nova.reset_metrics(). View nova.metrics
// (src/sql/80_metrics.sql) reads them together with counters other features
// already keep (relay status, cache statistics) and a few cheap gauges.
//
// Every call here is noexcept and cheap: an atomic add, plus, the first time a
// backend sees a topic or breaker name, a look-up in shared memory (and a short
// LWLock to add a new name). Instrumented code adds ONE line, e.g.
//     nova::metrics::add(nova::metrics::kSnapshotRows, n);
// Without shared_preload_libraries every call is a no-op.
#pragma once

#include <cstdint>

namespace nova::metrics {

// Plain counters without labels.
enum Counter : int {
  kRelayRetried = 0,   // failed deliveries rescheduled for another attempt
  kRelayBatches,       // batches handed to Kafka
  kRelayBytes,         // key + value bytes of delivered events
  kJwtCacheExpired,    // JWT cache entries found stale (key set changed, key revoked)
  kSnapshotRows,       // rows written as snapshot events
  kCounterCount
};

void add(Counter c, uint64_t n) noexcept;

// One relay batch sent to Kafka: `retried` events rescheduled, `bytes` delivered,
// `produce_us` from handing the batch to the producer until its last delivery report.
void relay_batch(uint64_t retried, uint64_t bytes, int64_t produce_us) noexcept;

// Key + value bytes of the delivered messages of a batch (any message type with
// key_len / value_len members; keeps bgworker types out of this header).
template <typename Msg>
uint64_t delivered_bytes(const Msg *msgs, int n, const bool *delivered) noexcept {
  uint64_t sum = 0;
  for (int i = 0; i < n; i++)
    if (delivered[i]) sum += static_cast<uint64_t>(msgs[i].key_len) + static_cast<uint64_t>(msgs[i].value_len);
  return sum;
}

// One event written to the outbox (every business write: cheap, cached per backend).
void outbox_written(const char *topic) noexcept;


}  // namespace nova::metrics
