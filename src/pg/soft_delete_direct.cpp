// Soft delete: the row's UPDATE done directly (docs/soft-delete.md, "Performance").
//
// The DELETE trigger's soft delete changes three columns nova owns. When nothing
// else can observe an UPDATE of the table — no UPDATE trigger but nova's own two
// (and foreign-key triggers whose keys do not include nova's columns), no rules,
// no CHECK constraints, no stored generated columns, no expression or exclusion
// indexes, not a partition — nova updates the locked row version with
// simple_heap_update and maintains the indexes itself (none for a HOT update),
// instead of running a nested UPDATE through SPI (executor start-up, its own
// triggers, an after-trigger queue per row). Otherwise it uses the cached plan.
// The result is the same row version, WAL and index entries the executor writes.
#include "pg/soft_delete.h"

#include "pg/run_as.h"

extern "C" {
#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_trigger.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "nodes/execnodes.h"
#include "optimizer/optimizer.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"
}

namespace nova::pg::sd {

struct DirectInfo {
  bool usable;
  bool has_pred;
  int nidx;
  Oid *idx;
  IndexInfo **info;
  ExprState **pred;
};

namespace {

bool key_has(HeapTuple ct, int anum, Table *t) {
  bool isnull;
  Datum d = SysCacheGetAttr(CONSTROID, ct, anum, &isnull);
  if (isnull) return false;
  ArrayType *arr = DatumGetArrayTypeP(d);
  Datum *elems;
  bool *nulls;
  int n;
  deconstruct_array(arr, INT2OID, 2, true, TYPALIGN_SHORT, &elems, &nulls, &n);
  for (int i = 0; i < n; i++) {
    AttrNumber a = DatumGetInt16(elems[i]);
    if (a == t->att_deleted_at || a == t->att_deleted_by || a == t->att_deleted_op) return true;
  }
  return false;
}

bool trigger_ok(Table *t, const Trigger *tg, Oid nova_nsp) {
  if (!TRIGGER_FOR_UPDATE(tg->tgtype)) return true;
  if (!tg->tgisinternal) {
    if (get_func_namespace(tg->tgfoid) != nova_nsp) return false;
    char *name = get_func_name(tg->tgfoid);
    return name && (strcmp(name, "_soft_delete_update_trigger") == 0 || strcmp(name, "_soft_delete_cascade_trigger") == 0);
  }
  // A foreign key's trigger acts only when its key columns change; nova's must not be among them.
  if (!OidIsValid(tg->tgconstraint)) return false;
  HeapTuple ct = SearchSysCache1(CONSTROID, ObjectIdGetDatum(tg->tgconstraint));
  if (!HeapTupleIsValid(ct)) return false;
  Form_pg_constraint con = (Form_pg_constraint)GETSTRUCT(ct);
  bool ok = con->contype == CONSTRAINT_FOREIGN;
  if (ok && con->conrelid == t->relid && key_has(ct, Anum_pg_constraint_conkey, t)) ok = false;
  if (ok && con->confrelid == t->relid && key_has(ct, Anum_pg_constraint_confkey, t)) ok = false;
  ReleaseSysCache(ct);
  return ok;
}

DirectInfo *check(Table *t, Relation rel) {
  MemoryContext cxt = GetMemoryChunkContext(t);
  DirectInfo *di = static_cast<DirectInfo *>(MemoryContextAllocZero(cxt, sizeof(DirectInfo)));
  t->direct = di;
  if (rel->rd_rules != nullptr || rel->rd_rel->relispartition || rel->rd_rel->relkind != RELKIND_RELATION) return di;
  TupleConstr *constr = rel->rd_att->constr;
  if (constr && (constr->num_check > 0 || constr->has_generated_stored)) return di;
  Oid nova_nsp = get_namespace_oid("nova", false);
  if (rel->trigdesc)
    for (int i = 0; i < rel->trigdesc->numtriggers; i++)
      if (!trigger_ok(t, &rel->trigdesc->triggers[i], nova_nsp)) return di;
  List *oids = RelationGetIndexList(rel);
  int n = list_length(oids);
  MemoryContext old = MemoryContextSwitchTo(cxt);
  di->idx = static_cast<Oid *>(palloc0(sizeof(Oid) * (n + 1)));
  di->info = static_cast<IndexInfo **>(palloc0(sizeof(IndexInfo *) * (n + 1)));
  di->pred = static_cast<ExprState **>(palloc0(sizeof(ExprState *) * (n + 1)));
  MemoryContextSwitchTo(old);
  bool ok = true;
  int i = 0;
  ListCell *lc;
  foreach (lc, oids) {
    Relation ir = index_open(lfirst_oid(lc), AccessShareLock);
    Form_pg_index ix = ir->rd_index;
    if (RelationGetIndexExpressions(ir) != NIL || !ix->indimmediate || ix->indisexclusion) ok = false;
    if (ok) {
      old = MemoryContextSwitchTo(cxt);
      di->idx[i] = RelationGetRelid(ir);
      di->info[i] = BuildIndexInfo(ir);
      if (di->info[i]->ii_Predicate != NIL) {
        List *pred = reinterpret_cast<List *>(expression_planner(reinterpret_cast<Expr *>(di->info[i]->ii_Predicate)));
        di->pred[i] = ExecInitQual(pred, nullptr);
        di->has_pred = true;
      }
      MemoryContextSwitchTo(old);
      i++;
    }
    index_close(ir, AccessShareLock);
  }
  list_free(oids);
  di->nidx = i;
  di->usable = ok;
  return di;
}

struct IndexArgs {
  DirectInfo *di;
  Relation rel;
  HeapTuple tup;
};

void insert_index_entries(void *p) {
  auto *a = static_cast<IndexArgs *>(p);
  DirectInfo *di = a->di;
  TupleTableSlot *slot = MakeSingleTupleTableSlot(RelationGetDescr(a->rel), &TTSOpsHeapTuple);
  ExecStoreHeapTuple(a->tup, slot, false);
  ExprContext *ec = nullptr;
  for (int i = 0; i < di->nidx; i++) {
    IndexInfo *info = di->info[i];
    if (!info->ii_ReadyForInserts) continue;
    if (di->pred[i]) {
      if (!ec) ec = CreateStandaloneExprContext();
      ec->ecxt_scantuple = slot;
      bool matches = ExecQual(di->pred[i], ec);
      ResetExprContext(ec);
      if (!matches) continue;
    }
    Relation ir = index_open(di->idx[i], RowExclusiveLock);
    Datum values[INDEX_MAX_KEYS];
    bool isnull[INDEX_MAX_KEYS];
    FormIndexDatum(info, slot, nullptr, values, isnull);
    index_insert(ir, values, isnull, &a->tup->t_self, a->rel, info->ii_Unique ? UNIQUE_CHECK_YES : UNIQUE_CHECK_NO,
                 false, info);
    index_close(ir, NoLock);
  }
  if (ec) FreeExprContext(ec, true);
  ExecDropSingleTupleTableSlot(slot);
}

}  // namespace

bool soft_delete_direct(Table *t, Relation rel, HeapTuple old, const char *by, int64 op) {
  DirectInfo *di = t->direct ? t->direct : check(t, rel);
  if (!di->usable) return false;
  CheckCmdReplicaIdentity(rel, CMD_UPDATE);  // refuses like the executor would
  TupleDesc desc = RelationGetDescr(rel);
  int cols[3] = {t->att_deleted_at, t->att_deleted_by, t->att_deleted_op};
  Datum vals[3] = {TimestampTzGetDatum(GetCurrentTransactionStartTimestamp()),
                   by ? CStringGetTextDatum(by) : (Datum)0, Int64GetDatum(op)};
  bool nulls[3] = {false, by == nullptr, false};
  HeapTuple tup = heap_modify_tuple_by_cols(old, desc, 3, cols, vals, nulls);
  simple_heap_update(rel, &old->t_self, tup);
  if (!HeapTupleIsHeapOnly(tup) && di->nidx > 0) {
    IndexArgs a = {di, rel, tup};
    // Partial indexes' predicates are evaluated as the table owner, like the executor's UPDATE would.
    if (di->has_pred)
      nova::pg::run_as(t->owner, insert_index_entries, &a);
    else
      insert_index_entries(&a);
  }
  heap_freetuple(tup);
  return true;
}

}  // namespace nova::pg::sd
