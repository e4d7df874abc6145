// Direct tuple insertion with index maintenance (see direct_insert.h).
#include "pg/direct_insert.h"

extern "C" {
#include "access/genam.h"
#include "access/heapam.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/partition.h"
#include "catalog/pg_class.h"
#include "executor/executor.h"
#include "nodes/execnodes.h"
#include "nodes/makefuncs.h"
#include "optimizer/optimizer.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/partcache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
}

#include "pg/module.h"

namespace nova::pg {

namespace {

// IndexInfo and compiled predicate per index, kept across calls. Any relcache
// invalidation marks the cache stale; it is rebuilt on the next insert, after
// that insert has opened (and locked) every index it touches.
struct IndexEntry {
  Oid indexoid;
  IndexInfo *info;
  ExprState *predicate;  // nullptr for a full index
};
constexpr int kMaxEntries = 32;
IndexEntry g_entries[kMaxEntries];
int g_nentries = 0;

// Compiled CHECK constraints and partition bound of one relation (same lifetime).
struct CheckEntry {
  Oid relid;
  int ncheck;
  ExprState **checks;      // one per CHECK constraint (NULL result passes, as in ExecConstraints)
  const char **names;
  ExprState *partition;    // the partition bound, nullptr when not a partition
};
constexpr int kMaxCheckEntries = 8;
CheckEntry g_checks[kMaxCheckEntries];
int g_nchecks = 0;
MemoryContext g_cxt = nullptr;
ExprContext *g_econtext = nullptr;  // for predicates; lives in g_cxt
bool g_stale = false;

void relcache_callback(Datum, Oid) { g_stale = true; }

void direct_insert_init() { nova::pg::register_relcache_callback(relcache_callback, (Datum)0); }

void reset_cache() {
  if (g_cxt == nullptr)
    g_cxt = AllocSetContextCreate(CacheMemoryContext, "nova direct insert", ALLOCSET_SMALL_SIZES);
  else
    MemoryContextReset(g_cxt);
  g_nentries = 0;
  g_nchecks = 0;
  g_econtext = nullptr;
  g_stale = false;
}

const IndexEntry *entry_for(Relation index) {
  Oid oid = RelationGetRelid(index);
  for (int i = 0; i < g_nentries; i++)
    if (g_entries[i].indexoid == oid) return &g_entries[i];
  if (g_nentries == kMaxEntries) reset_cache();
  MemoryContext old = MemoryContextSwitchTo(g_cxt);
  IndexEntry *e = &g_entries[g_nentries];
  e->indexoid = oid;
  e->info = BuildIndexInfo(index);
  e->predicate = nullptr;
  if (e->info->ii_Predicate != NIL) {
    List *pred = reinterpret_cast<List *>(expression_planner(reinterpret_cast<Expr *>(e->info->ii_Predicate)));
    e->predicate = ExecInitQual(pred, nullptr);
    if (g_econtext == nullptr) g_econtext = CreateStandaloneExprContext();
  }
  MemoryContextSwitchTo(old);
  g_nentries++;
  return e;
}

ExprState *compile_check(Expr *expr) {
  Expr *planned = expression_planner(expr);
  return ExecInitCheck(make_ands_implicit(planned), nullptr);
}

const CheckEntry *checks_for(Relation rel) {
  Oid oid = RelationGetRelid(rel);
  for (int i = 0; i < g_nchecks; i++)
    if (g_checks[i].relid == oid) return &g_checks[i];
  if (g_nchecks == kMaxCheckEntries) reset_cache();
  MemoryContext old = MemoryContextSwitchTo(g_cxt);
  CheckEntry *e = &g_checks[g_nchecks];
  e->relid = oid;
  e->ncheck = 0;
  e->checks = nullptr;
  e->names = nullptr;
  e->partition = nullptr;
  TupleConstr *constr = RelationGetDescr(rel)->constr;
  if (constr != nullptr && constr->num_check > 0) {
    e->checks = static_cast<ExprState **>(palloc(sizeof(ExprState *) * constr->num_check));
    e->names = static_cast<const char **>(palloc(sizeof(char *) * constr->num_check));
    for (int i = 0; i < constr->num_check; i++) {
      e->checks[i] = compile_check(static_cast<Expr *>(stringToNode(constr->check[i].ccbin)));
      e->names[i] = pstrdup(constr->check[i].ccname);
    }
    e->ncheck = constr->num_check;
  }
  if (rel->rd_rel->relispartition) {
    List *qual = RelationGetPartitionQual(rel);
    if (qual != NIL) e->partition = ExecInitCheck(reinterpret_cast<List *>(expression_planner(reinterpret_cast<Expr *>(qual))), nullptr);
  }
  if (g_econtext == nullptr) g_econtext = CreateStandaloneExprContext();
  MemoryContextSwitchTo(old);
  g_nchecks++;
  return e;
}

// What ExecConstraints and ExecPartitionCheck do for an INSERT, with the same errors.
void check_constraints(Relation rel, TupleTableSlot *slot) {
  TupleDesc desc = RelationGetDescr(rel);
  TupleConstr *constr = desc->constr;
  if (constr != nullptr && constr->has_not_null) {
    for (int i = 0; i < desc->natts; i++) {
      Form_pg_attribute att = TupleDescAttr(desc, i);
      if (att->attnotnull && !att->attisdropped && slot_attisnull(slot, i + 1))
        ereport(ERROR, (errcode(ERRCODE_NOT_NULL_VIOLATION),
                        errmsg("null value in column \"%s\" of relation \"%s\" violates not-null constraint",
                               NameStr(att->attname), RelationGetRelationName(rel)),
                        errtablecol(rel, i + 1)));
    }
  }
  const CheckEntry *e = checks_for(rel);
  if (e->ncheck == 0 && e->partition == nullptr) return;
  g_econtext->ecxt_scantuple = slot;
  for (int i = 0; i < e->ncheck; i++) {
    if (!ExecCheck(e->checks[i], g_econtext)) {
      ResetExprContext(g_econtext);
      ereport(ERROR, (errcode(ERRCODE_CHECK_VIOLATION),
                      errmsg("new row for relation \"%s\" violates check constraint \"%s\"",
                             RelationGetRelationName(rel), e->names[i]),
                      errtableconstraint(rel, e->names[i])));
    }
  }
  if (e->partition != nullptr && !ExecCheck(e->partition, g_econtext)) {
    ResetExprContext(g_econtext);
    ereport(ERROR, (errcode(ERRCODE_CHECK_VIOLATION),
                    errmsg("new row for relation \"%s\" violates partition constraint",
                           RelationGetRelationName(rel))));
  }
  ResetExprContext(g_econtext);
}

// Triggers, rules or row-level security on `rel` itself: an INSERT would run or apply them.
bool has_insert_side_effects(Relation rel) {
  return rel->trigdesc != nullptr || rel->rd_rules != nullptr || rel->rd_rel->relrowsecurity;
}

bool index_supported(Relation index) {
  Form_pg_index ix = index->rd_index;
  return RelationGetIndexExpressions(index) == NIL && ix->indimmediate && !ix->indisexclusion;
}

}  // namespace

NOVA_MODULE_INIT(direct_insert_init);

bool direct_insert_supported(Relation rel) {
  if (rel->rd_rel->relkind != RELKIND_RELATION || has_insert_side_effects(rel)) return false;
  TupleConstr *constr = RelationGetDescr(rel)->constr;
  if (constr != nullptr && constr->has_generated_stored) return false;
  bool ok = true;
  // An INSERT through a partitioned ancestor would also fire its statement
  // triggers and apply its rules and policies.
  if (rel->rd_rel->relispartition) {
    List *ancestors = get_partition_ancestors(RelationGetRelid(rel));
    ListCell *ac;
    foreach (ac, ancestors) {
      Relation parent = table_open(lfirst_oid(ac), AccessShareLock);
      if (has_insert_side_effects(parent)) ok = false;
      table_close(parent, AccessShareLock);
    }
    list_free(ancestors);
    if (!ok) return false;
  }
  List *indexes = RelationGetIndexList(rel);
  ListCell *lc;
  foreach (lc, indexes) {
    Relation ir = index_open(lfirst_oid(lc), AccessShareLock);
    if (!index_supported(ir)) ok = false;
    index_close(ir, AccessShareLock);
  }
  list_free(indexes);
  return ok;
}

void direct_insert_tuple(Relation rel, HeapTuple tup) {
  List *oids = RelationGetIndexList(rel);
  int n = list_length(oids);
  Relation *indexes = static_cast<Relation *>(palloc(sizeof(Relation) * n));
  int i = 0;
  ListCell *lc;
  foreach (lc, oids) indexes[i++] = index_open(lfirst_oid(lc), RowExclusiveLock);
  list_free(oids);
  // Opening may have processed invalidations; nothing below takes a relation lock.
  if (g_cxt == nullptr || g_stale) reset_cache();

  TupleTableSlot *slot = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsHeapTuple);
  ExecStoreHeapTuple(tup, slot, false);
  check_constraints(rel, slot);
  heap_insert(rel, tup, GetCurrentCommandId(true), 0, nullptr);
  ItemPointerCopy(&tup->t_self, &slot->tts_tid);
  for (i = 0; i < n; i++) {
    Relation ir = indexes[i];
    if (!index_supported(ir))
      elog(ERROR, "nova: index \"%s\" on \"%s\" has expressions, exclusion or deferred checks",
           RelationGetRelationName(ir), RelationGetRelationName(rel));
    const IndexEntry *e = entry_for(ir);
    if (!e->info->ii_ReadyForInserts) continue;
    if (e->predicate) {
      g_econtext->ecxt_scantuple = slot;
      bool matches = ExecQual(e->predicate, g_econtext);
      ResetExprContext(g_econtext);
      if (!matches) continue;
    }
    Datum values[INDEX_MAX_KEYS];
    bool isnull[INDEX_MAX_KEYS];
    FormIndexDatum(e->info, slot, nullptr, values, isnull);
    index_insert(ir, values, isnull, &tup->t_self, rel, e->info->ii_Unique ? UNIQUE_CHECK_YES : UNIQUE_CHECK_NO,
                 false, e->info);
  }
  ExecDropSingleTupleTableSlot(slot);
  for (i = 0; i < n; i++) index_close(indexes[i], NoLock);  // locks held to end of transaction
  pfree(indexes);
}

}  // namespace nova::pg
