// Shared circuit breakers as seen from C++ (the relay's `kafka` breaker), owned by src/pg/breaker.cpp.
// Each call may ereport(ERROR); call from PostgreSQL-style code (not from librdkafka threads).
#pragma once

extern "C" {
#include "postgres.h"
}

namespace nova::pg::breaker {
// May a call go ahead? In HALF_OPEN this takes one of the permitted probe calls.
bool allow(const char *name);
// Record the outcome of a call; duration_us < 0 when unknown. Returns the new state name.
const char *record(const char *name, bool success, int64 duration_us);
// Current state name: CLOSED, OPEN, HALF_OPEN, FORCED_OPEN, DISABLED.
const char *state(const char *name);
}  // namespace nova::pg::breaker
