// Event-schema validation hook used by outbox writes (SPEC §8), owned by src/pg/schema_registry.cpp.
#pragma once

extern "C" {
#include "postgres.h"
#include "utils/jsonb.h"
}

namespace nova::pg {
// Validate `payload` (may be nullptr for tombstones) against the latest schema
// registered for `event_type`, honouring nova.validate_events. Returns the
// schema version used (0 when the type has no schema or validation is off).
// Raises ERROR (ereport) when invalid and nova.validate_events = error.
int32 schema_check_event(const char *event_type, Jsonb *payload);
}  // namespace nova::pg
