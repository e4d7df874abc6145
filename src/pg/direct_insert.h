// Direct tuple insertion into nova's own tables (outbox partitions, audit log).
//
// The hot write paths (the outbox trigger, the soft-delete audit trail) insert
// one row per event. Going through SPI or the executor costs a plan lookup and
// executor start-up per row; instead they form the tuple and insert it the way
// PostgreSQL's catalog code does: heap_insert plus index_insert for each index.
// Plain and partial b-tree indexes are supported (a partial index's predicate is
// evaluated for the row). The row is held to every constraint an ordinary
// INSERT would check: NOT NULL, CHECK constraints (including any an operator
// adds later) and, for a partition, its partition bound; a violation raises the
// same error (23502 / 23514) as an INSERT. Anything else the executor would do
// for an INSERT makes the relation unsupported, so the caller falls back to an
// ordinary INSERT: a relation that is not a plain table, row-level security on
// it or on a partitioned ancestor, triggers or rules on it or an ancestor,
// stored generated columns, an index with expressions, exclusion or deferred
// checks (docs/security.md, "Direct inserts").
#pragma once

extern "C" {
#include "postgres.h"
#include "access/htup.h"
#include "utils/relcache.h"
}

namespace nova::pg {

// May direct_insert_tuple() write into this relation? The one eligibility check
// for every direct writer (see above); the caller checks its own column layout.
bool direct_insert_supported(Relation rel);

// Constraint checks + heap_insert + index maintenance. `rel` is open with
// RowExclusiveLock and direct_insert_supported(rel) was true after opening it.
// Constraint and unique violations raise the usual PostgreSQL errors.
void direct_insert_tuple(Relation rel, HeapTuple tup);

}  // namespace nova::pg
