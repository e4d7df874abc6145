// The outbox write path (SPEC §3), shared by the row trigger and nova.publish().
#pragma once

extern "C" {
#include "postgres.h"
#include "utils/jsonb.h"
#include "utils/uuid.h"
}

namespace nova::pg::outbox {

struct Event {
  const char *topic;       // required, non-empty
  const char *key;         // nullptr = no key
  const char *event_type;  // required, non-empty
  Jsonb *payload;          // nullptr = tombstone
  Jsonb *headers;          // nullptr = '{}'
  const char *source;      // 'db.schema.table' or 'publish'
};

// Validate the payload against the event-schema registry, then insert the event
// into nova.outbox as the extension owner (the writer needs no privilege on it),
// recording correlation id, traceparent and actor; the relay is woken when the
// transaction commits. Returns the new event id. Raises ERROR on failure.
// Call from C-style frames only (no live C++ objects with destructors).
pg_uuid_t *write(const Event &ev);

// Drop the trigger's cached configuration of `relid` (InvalidOid = all).
void invalidate_table_cache(Oid relid);

// The direct-partition fast path (on by default); see outbox_write.cpp.
bool g_fast_path_flag();
void set_fast_path(bool on);

}  // namespace nova::pg::outbox
