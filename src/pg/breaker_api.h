// Shared circuit breakers as seen from C++ (the relay's `kafka` breaker), owned by src/pg/breaker.cpp.
// Each call may ereport(ERROR); call from PostgreSQL-style code (not from librdkafka threads).
//
// Same breakers as nova.breaker_allow / breaker_record / breaker_force / nova.breakers:
// one state per name per database (the current database, MyDatabaseId), in shared
// memory. Unlike the SQL functions, these may use the reserved names (`kafka`,
// `nova.*`; docs/breakers.md) whatever the current user. allow() and record() raise
// ERROR 55000 when nova is not preloaded (see available()).
// The breaker's options come from nova.breaker_config; they are read the first time
// the breaker is used inside a transaction (call allow() inside one, or they stay
// the defaults until some transaction uses or lists the breaker).
// A half-open permit taken by allow() belongs to this process: record() gives it back,
// and so does the process's exit.
#pragma once

extern "C" {
#include "postgres.h"
}

namespace nova::pg::breaker {
// May a call go ahead? In HALF_OPEN this takes one of the permitted probe calls.
bool allow(const char *name);
// Record the outcome of a call; duration_us < 0 when unknown. Returns the new state name.
const char *record(const char *name, bool success, int64 duration_us);
// Current state name: CLOSED, OPEN, HALF_OPEN, FORCED_OPEN, DISABLED, METRICS_ONLY;
// "UNAVAILABLE" (no error) when nova is not preloaded. Does not create the breaker:
// one this database never used is CLOSED.
const char *state(const char *name);
// True when breakers are usable (nova preloaded, shared memory attached).
bool available();

// Monotonic counters of the current database's breakers, for nova.metrics
// (docs/operations.md). They belong to a breaker's slot: a reclaimed breaker
// starts again from zero. Transitions are counted by the state entered, in
// core::State order (CLOSED, OPEN, HALF_OPEN, FORCED_OPEN, DISABLED, METRICS_ONLY).
inline constexpr int kCallOutcomes = 3;   // success, failure, not permitted
inline constexpr int kCounterStates = 6;
struct CounterRow {
  char name[64];
  const char *state;  // a static string
  uint64 calls[kCallOutcomes];
  uint64 entered[kCounterStates];
};
// Fills at most max rows; returns how many. Never raises.
int counters(CounterRow *rows, int max);
// nova.reset_metrics(): zero every breaker's counters (all databases).
void reset_counters();
}  // namespace nova::pg::breaker
