// Soft delete (SPEC §5): per-table metadata and cached plans, shared by the
// triggers (soft_delete_triggers.cpp) and the SQL API (soft_delete_api.cpp).
//
// Everything here is C-style on purpose: these functions run SPI and may
// elog(ERROR), so their frames hold no C++ objects with destructors.
#pragma once

extern "C" {
#include "postgres.h"
#include "access/htup.h"
#include "access/tupdesc.h"
#include "executor/spi.h"
}

namespace nova::pg::sd {

// A soft-delete enabled child referencing the table with ON DELETE CASCADE.
struct Child {
  Oid relid;
  Oid owner;                // the cascade runs as the child's owner (like PostgreSQL's RI actions)
  int nkeys;
  AttrNumber *ref_attnums;  // referenced columns in the PARENT's tuple
  SPIPlanPtr delete_plan;   // UPDATE ONLY child SET deleted_at = $1 WHERE fk = $2.. AND deleted_at IS NULL
  SPIPlanPtr restore_plan;  // UPDATE ONLY child SET deleted_at = NULL WHERE fk = $1.. AND deleted_op = $n
};

struct Table {
  Oid relid;
  Oid owner;
  Oid ext_owner;  // audit rows are written as the extension owner
  Oid op_seq;     // nova.soft_delete_op_seq
  char *qualname;
  int npk;
  AttrNumber *pk_attnums;
  char **pk_names;
  Oid *pk_typoutput;  // output function per key column
  char *pk_kind;      // key value → JSON: n(umber) b(ool) j(son) d(atetime) s(tring), x: via SPI
  Oid *pk_basetype;
  AttrNumber att_deleted_at, att_deleted_by, att_deleted_op;
  int nchildren;
  Child *children;
  SPIPlanPtr soft_delete_plan;  // UPDATE ONLY t SET deleted_at = now(), deleted_by = $2, deleted_op = $3 WHERE ctid = $1
  SPIPlanPtr delete_by_pk_plan; // DELETE FROM ONLY t WHERE pk = $1.. (the view's INSTEAD OF trigger)
  SPIPlanPtr audit_plan;        // INSERT INTO nova.audit_log …
};

// The metadata of a soft-delete enabled table, built on first use and kept
// until a relcache invalidation of the table or of one of its children.
// Errors (55000) when the table is not enabled.
Table *get_table(Oid relid);

// What a hard DELETE reaching the BEFORE DELETE trigger means.
enum class Mode { kSoftDelete, kPurge, kErase };

// Backend-local state of the current nova operation (never settable by a client).
struct OpState {
  int depth;          // > 0 inside a nova cascade / purge / erase / view delete
  int64 op;           // operation id while depth > 0
  char *by;           // actor while depth > 0
  Mode mode;
  uint64 soft_deleted;  // monotonic: rows soft-deleted by the BEFORE DELETE trigger
  uint64 restored;      // monotonic: rows restored (any path)
  bool internal;        // the DELETE trigger's own UPDATE is running: it audits and cascades itself
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

// SPI_execute_plan as `user` (SECURITY_LOCAL_USERID_CHANGE | SECURITY_NOFORCE_RLS);
// returns SPI_processed.
uint64 exec_as(Oid user, SPIPlanPtr plan, Datum *values, const char *nulls);

// One audit_log row for the row `tup` (described by `desc`, a tuple of the table itself).
void audit(Table *t, const char *action, HeapTuple tup, TupleDesc desc, const char *actor, int64 op, bool op_null);

// Per-table hard-delete counts collected by purge/erase (reset by count_reset).
void count_reset();
void count_add(Oid relid);
int count_n();
void count_get(int i, Oid *relid, int64 *n);

}  // namespace nova::pg::sd
