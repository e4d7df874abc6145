// Shared circuit breakers. Placeholder until the breaker feature lands: always closed.
#include "pg/breaker_api.h"

namespace nova::pg::breaker {
bool allow(const char *) { return true; }
const char *record(const char *, bool, int64) { return "CLOSED"; }
const char *state(const char *) { return "CLOSED"; }
}  // namespace nova::pg::breaker
