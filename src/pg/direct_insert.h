// Direct tuple insertion into nova's own tables (outbox partitions, audit log).
//
// The hot write paths (the outbox trigger, the soft-delete audit trail) insert
// one row per event. Going through SPI or the executor costs a plan lookup and
// executor start-up per row; instead they form the tuple and insert it the way
// PostgreSQL's catalog code does: heap_insert plus index_insert for each index.
// Plain and partial b-tree indexes are supported (a partial index's predicate is
// evaluated for the row); a relation with another kind of index, or with
// triggers, rules or CHECK constraints nova does not know about, is reported as
// unsupported so the caller falls back to an ordinary INSERT.
#pragma once

extern "C" {
#include "postgres.h"
#include "access/htup.h"
#include "utils/relcache.h"
}

namespace nova::pg {

// May direct_insert_tuple() write into this relation? (Checks its indexes.)
bool direct_insert_supported(Relation rel);

// heap_insert + index maintenance. `rel` is open with RowExclusiveLock.
// Unique violations raise the usual PostgreSQL error.
void direct_insert_tuple(Relation rel, HeapTuple tup);

}  // namespace nova::pg
