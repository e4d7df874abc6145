// The outbox write path (docs/outbox.md), shared by the row trigger and nova.publish().
#pragma once

extern "C" {
#include "postgres.h"
#include "access/htup_details.h"
#include "utils/jsonb.h"
#include "utils/rel.h"
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

// Write one `<Entity>Snapshot` event (headers + "snapshot": "true") for `row`, a
// whole-row value of `rel`'s row type, with the configuration of its outbox
// trigger. False (nothing written) when `rel` has no outbox trigger.
bool write_snapshot_row(Relation rel, HeapTupleHeader row);

// Drop the trigger's cached configuration of `relid` (InvalidOid = all).
void invalidate_table_cache(Oid relid);

// The direct-partition fast path (on by default); see outbox_write.cpp.
bool g_fast_path_flag();
void set_fast_path(bool on);

}  // namespace nova::pg::outbox
