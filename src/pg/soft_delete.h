// Soft delete (docs/soft-delete.md): what the triggers (soft_delete_triggers.cpp)
// and the SQL API (soft_delete_api.cpp) share. By responsibility:
//   soft_delete_table.cpp   per-table metadata and prepared plans (cache)
//   soft_delete_state.cpp   the current nova operation, nova's own UPDATEs, run-as
//   soft_delete_audit.cpp   the audit writer (primary key → JSON built in C)
//   soft_delete_counts.cpp  per-table counts of purge / erase
//   soft_delete_direct.cpp  the soft delete's row update without SPI, when possible
//
// Everything here is C-style on purpose: these functions run SPI and may
// elog(ERROR), so their frames hold no C++ objects with destructors.
#pragma once

extern "C" {
#include "postgres.h"
#include "access/htup.h"
#include "access/tupdesc.h"
#include "executor/spi.h"
#include "storage/itemptr.h"
#include "utils/relcache.h"
}

namespace nova::pg::sd {

// A soft-delete enabled child referencing the table with ON DELETE CASCADE.
struct Child {
  Oid relid;
  Oid owner;                // the cascade runs as the child's owner (like PostgreSQL's RI actions)
  int nkeys;
  AttrNumber *ref_attnums;  // referenced columns in the PARENT's tuple
  SPIPlanPtr delete_plan;   // UPDATE ONLY child SET deleted_at = $1 WHERE $2 OPERATOR(fk's =) fk.. AND deleted_at IS NULL
  SPIPlanPtr restore_plan;  // UPDATE ONLY child SET deleted_at = NULL WHERE $1 OPERATOR(fk's =) fk.. AND deleted_op = $n
};

struct DirectInfo;  // soft_delete_direct.cpp

struct Table {
  Oid relid;
  Oid owner;
  Oid op_seq;     // nova.soft_delete_op_seq
  bool audit;     // nova.soft_delete_tables.audit: write audit rows for this table
  char *qualname;
  int npk;
  AttrNumber *pk_attnums;
  char **pk_names;
  Oid *pk_types;
  char **pk_eqop;  // "OPERATOR(schema.=)": the primary key index's equality operator per column
  AttrNumber att_deleted_at, att_deleted_by, att_deleted_op;
  int nchildren;
  Child *children;
  SPIPlanPtr soft_delete_plan;  // UPDATE ONLY t SET deleted_at = now(), deleted_by = $2, deleted_op = $3 WHERE ctid = $1
  SPIPlanPtr delete_by_pk_plan; // DELETE FROM ONLY t WHERE pk = $1.. (the view's INSTEAD OF trigger)
  SPIPlanPtr restore_plan;      // nova.restore's UPDATE (restore_plan(), prepared on first use)
  DirectInfo *direct;           // can the soft delete update the row directly? (built on first use)
};

// The metadata of a soft-delete enabled table, built on first use and kept
// until a relcache invalidation of the table or of one of its children.
// Errors (55000) when the table is not enabled.
Table *get_table(Oid relid);

// nova.restore's row update for t, prepared and kept on first use (freed with t):
//   UPDATE ONLY t SET deleted_at = NULL FROM jsonb_populate_record(NULL::t, $1 jsonb) k
//   WHERE t.pk = k.pk … AND t.deleted_at IS NOT NULL
// Call inside an SPI connection.
SPIPlanPtr restore_plan(Table *t);

// "OPERATOR(schema.=)" of the default equality operator of `type` (42883 when it has none).
char *equality_operator_sql(Oid type);

// What a hard DELETE reaching the BEFORE DELETE trigger means.
enum class Mode { kSoftDelete, kPurge, kErase };

// Backend-local state of the current nova operation (never settable by a client).
struct OpState {
  int depth;          // > 0 inside a nova soft delete / cascade / restore / purge / erase / view delete
  int64 op;           // operation id while depth > 0
  char *by;           // actor while depth > 0
  Mode mode;
  uint64 soft_deleted;  // monotonic: rows soft-deleted by the BEFORE DELETE trigger
  uint64 restored;      // monotonic: rows restored (any path)
};
extern OpState g_state;

// Operation id for a soft delete starting now: the one of the enclosing nova
// operation, else one per top-level statement (same for all its rows).
int64 current_op(Table *t);
// Actor for a soft delete starting now: the enclosing operation's, else the
// authenticated subject or current_user.
char *current_by();

// Run fn(arg) with the operation state set; restores it on error too.
void with_op(int64 op, char *by, Mode mode, void (*fn)(void *), void *arg);

// nova's own UPDATE of one row (the DELETE trigger's soft delete). Only the AFTER
// UPDATE event of exactly that row version (table + ctid) is nova's; any other
// UPDATE, e.g. one fired by a user trigger meanwhile, is handled like a client's.
// Frames nest (a user trigger may soft-delete another row inside).
struct OwnUpdate {
  Oid relid;
  ItemPointerData tid;
  OwnUpdate *outer;
};
// Runs the plan as `user` (through nova::pg::run_as) with `own` pushed.
uint64 exec_own_update(OwnUpdate *own, Oid user, SPIPlanPtr plan, Datum *values, const char *nulls);
// Is this AFTER UPDATE event (old row version `old_tid` of `relid`) nova's own UPDATE?
bool is_own_update(Oid relid, ItemPointer old_tid);

// The DELETE trigger's soft delete of the locked row `old` of `rel` without SPI
// (simple_heap_update + index maintenance), when nothing but nova could observe
// an UPDATE of the table; false (nothing done) when the plan must be used.
bool soft_delete_direct(Table *t, Relation rel, HeapTuple old, const char *by, int64 op);

// SPI_execute_plan as `user` through nova::pg::run_as (search_path pinned,
// SECURITY_RESTRICTED_OPERATION, SECURITY_NOFORCE_RLS); returns SPI_processed.
uint64 exec_as(Oid user, SPIPlanPtr plan, Datum *values, const char *nulls);

// One audit_log row for the row `tup` (described by `desc`, a tuple of the table itself).
// Nothing when the table's audit is off. The key is turned into JSON in C
// (output functions only: no cast, no SQL runs).
void audit(Table *t, const char *action, HeapTuple tup, TupleDesc desc, const char *actor, int64 op, bool op_null);

// Per-table hard-delete counts collected by purge/erase (reset by count_reset).
void count_reset();
void count_add(Oid relid);
int count_n();
void count_get(int i, Oid *relid, int64 *n);

}  // namespace nova::pg::sd
