// Relay state shared between backends and the relay worker (shared memory), and the
// backend-side functions that reach it: the commit-time wake-up, the active outbox
// partition, and the status row behind nova.status() / view nova.relay.
// The worker (bgworker/relay_worker.cpp) writes it; backends only read it, except
// wake(). bgworker/ depends on this file, never the other way round.
#pragma once

extern "C" {
#include "postgres.h"
#include "datatype/timestamp.h"
#include "port/atomics.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/spin.h"
}

namespace nova::relay {

// What the worker is doing; nova.status() shows the name (state_name).
enum class State : int {
  kStopped = 0,         // no worker process (not started yet, or exited)
  kStarting,            // connecting
  kWaitingDatabase,     // nova.database does not exist (yet)
  kWaitingExtension,    // the database has no nova extension (yet)
  kUnconfigured,        // nova.kafka_brokers is empty (or nova.kafka_config is invalid)
  kIdle,                // nothing to send
  kRunning,             // sending
  kBrokerDown,          // Kafka unreachable (broker-level failures); probing with one event
  kBreakerOpen,         // the `kafka` breaker refuses calls; waiting for the probe
  kRoleRefused,         // nova_relay has more rights than the relay needs: runs nothing (last_error says why)
  kStopping,            // SIGTERM: bounded flush, then exit
};
const char *state_name(State s);

constexpr int kRateSeconds = 60;  // events-per-second ring
constexpr int kErrorLen = 256;
constexpr int kBrokersLen = 512;
constexpr int kRoleLen = 64;

// Fields under `mutex` (a spinlock: a few words, never anything that can ERROR or
// allocate) are the ones backends need at commit; the rest of the status is under
// `status_lock` (an LWLock), so nova.status() copies it without holding a spinlock.
struct Shared {
  slock_t mutex;
  Latch *worker_latch;  // the relay's latch while it runs, else nullptr
  int active_slot;      // outbox partition new events go to (0 or 1)
  int worker_pid;
  State state;
  bool database_seen;   // the worker connected to nova.database before (see relay_worker.cpp)
  // 1 while a configured worker is about to look for work or waits for it: the only
  // time a commit's wake-up is useful. Set by the worker before the claim's snapshot,
  // taken back (exchange to 0) by the first committing backend that wakes it.
  pg_atomic_uint32 sleeping;

  LWLock *status_lock;  // protects everything below
  TimestampTz started_at;
  TimestampTz last_delivery_at;
  TimestampTz last_rotation_at;
  uint64 delivered;     // acknowledged by Kafka and deleted from the outbox
  uint64 failed;        // failed delivery attempts (retried, dead-lettered or left for the outage's end)
  uint64 dead;          // moved to nova.outbox_dead
  uint64 rotations;     // partition truncations
  char last_error[kErrorLen];
  char brokers[kBrokersLen];
  char role[kRoleLen];  // the role the relay's SQL runs as (docs/security.md)
  int64 rate_second[kRateSeconds];   // unix second each bucket counts
  uint64 rate_count[kRateSeconds];   // events delivered in that second
};

// nullptr when nova is not in shared_preload_libraries.
Shared *shared();

// Wake the relay if it is configured and sleeping (see `sleeping`); otherwise an
// atomic read and nothing else. Safe to call at commit, once per transaction.
void wake();

// Worker side: about to take the snapshot it claims with (true), or busy (false).
void set_sleeping(bool sleeping);

// The outbox partition that new rows go to; 0 when not preloaded.
int current_slot();

}  // namespace nova::relay
