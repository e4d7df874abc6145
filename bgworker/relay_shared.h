// State shared between backends and the relay worker (shared memory).
#pragma once

extern "C" {
#include "postgres.h"
#include "datatype/timestamp.h"
#include "storage/latch.h"
#include "storage/spin.h"
}

namespace nova::relay {

// What the worker is doing; nova.status() shows the name (relay_state_name).
enum class State : int {
  kStopped = 0,         // no worker process (not started yet, or exited)
  kStarting,            // connecting
  kWaitingDatabase,     // nova.database does not exist (yet)
  kWaitingExtension,    // the database has no nova extension (yet)
  kUnconfigured,        // nova.kafka_brokers is empty (or nova.kafka_config is invalid)
  kIdle,                // nothing to send
  kRunning,             // sending
  kBreakerOpen,         // the `kafka` breaker refuses calls; waiting for the probe
  kStopping,            // SIGTERM: bounded flush, then exit
};
const char *state_name(State s);

constexpr int kRateSeconds = 60;  // events-per-second ring
constexpr int kErrorLen = 256;
constexpr int kBrokersLen = 512;

struct Shared {
  slock_t mutex;        // protects the fields below; never held across anything that can ERROR
  Latch *worker_latch;  // the relay's latch while it runs, else nullptr
  int active_slot;      // outbox partition new events go to (0 or 1)

  // Worker status (written by the worker, read by nova.status()).
  int worker_pid;
  State state;
  bool database_seen;   // the worker connected to nova.database before (see relay_worker.cpp)
  TimestampTz started_at;
  TimestampTz last_delivery_at;
  TimestampTz last_rotation_at;
  uint64 delivered;     // acknowledged by Kafka and deleted from the outbox
  uint64 failed;        // failed delivery attempts (each is retried or dead-lettered)
  uint64 dead;          // moved to nova.outbox_dead
  uint64 rotations;     // partition truncations
  char last_error[kErrorLen];
  char brokers[kBrokersLen];
  int64 rate_second[kRateSeconds];   // unix second each bucket counts
  uint64 rate_count[kRateSeconds];   // events delivered in that second
};

// nullptr when nova is not in shared_preload_libraries.
Shared *shared();

// Wake the relay (coalesced: setting a set latch is a no-op). Safe to call at commit.
void wake();

// The outbox partition that new rows go to; 0 when not preloaded.
int current_slot();

}  // namespace nova::relay
