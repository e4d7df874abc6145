// Direct tuple insertion with index maintenance (see direct_insert.h).
#include "pg/direct_insert.h"

extern "C" {
#include "access/genam.h"
#include "access/heapam.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "executor/executor.h"
#include "nodes/execnodes.h"
#include "optimizer/optimizer.h"
#include "utils/inval.h"
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

bool index_supported(Relation index) {
  Form_pg_index ix = index->rd_index;
  return RelationGetIndexExpressions(index) == NIL && ix->indimmediate && !ix->indisexclusion;
}

}  // namespace

NOVA_MODULE_INIT(direct_insert_init);

bool direct_insert_supported(Relation rel) {
  if (rel->trigdesc != nullptr || rel->rd_rules != nullptr) return false;
  bool ok = true;
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
  heap_insert(rel, tup, GetCurrentCommandId(true), 0, nullptr);

  List *oids = RelationGetIndexList(rel);
  if (oids == NIL) return;
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
