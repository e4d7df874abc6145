// Event-schema validation hook used by outbox writes (docs/schemas.md), owned by src/pg/schema_registry.cpp.
#pragma once

extern "C" {
#include "postgres.h"
#include "utils/jsonb.h"
}

namespace nova::pg {
// Validate `payload` (may be nullptr for tombstones) against the latest schema
// registered for `event_type`, honouring nova.validate_events. Returns the
// schema version used (0 when the type has no schema or validation is off).
// Raises ERROR (ereport, SQLSTATE 23514, message naming the JSON path of the
// first violation) when invalid and nova.validate_events = error; a WARNING and
// 0 when invalid and nova.validate_events = warn. Callers holding C++ objects on
// their frame must call it under nova::pg::guard() (it may longjmp).
// Cost when the type has no schema: one map lookup in a per-backend cache that
// is rebuilt only after nova.event_schemas changed (relcache invalidation).
int32 schema_check_event(const char *event_type, Jsonb *payload);
}  // namespace nova::pg
