// Soft delete: per-table metadata and prepared plans (SPI_prepare + SPI_keepplan),
// built once per table and backend, dropped on relcache invalidation of the table
// or of one of its cascade children (docs/soft-delete.md).
//
// Built with search_path pinned to pg_catalog, pg_temp (nova::pg::run_as as the
// current user), and every name in the plans' SQL is qualified: the plans are
// run as other roles (the table's and the children's owners), so nothing a
// caller's search_path holds may be resolved into them. Key comparisons use the
// primary key index's and the foreign keys' own equality operators by OID.
#include "pg/module.h"
#include "pg/soft_delete.h"

#include "pg/run_as.h"

extern "C" {
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/typcache.h"
}

namespace nova::pg::sd {

namespace {

struct Entry {
  Oid relid;  // hash key
  bool valid;
  bool stale;  // invalidated (possibly while being built)
  MemoryContext cxt;
  Table *t;
};

HTAB *g_cache = nullptr;

// Metadata replaced by a rebuild may still be in use by an outer trigger frame
// (a nested cascade into the same table after an invalidation): it is retired and
// freed only when no nova operation is running.
struct Retired {
  MemoryContext cxt;
  Table *t;
};
Retired *g_retired = nullptr;
int g_nretired = 0, g_capretired = 0;

void invalidate_cb(Datum, Oid relid) {
  HASH_SEQ_STATUS st;
  Entry *e;
  hash_seq_init(&st, g_cache);
  while ((e = static_cast<Entry *>(hash_seq_search(&st))) != nullptr) {
    if (relid == InvalidOid || e->relid == relid) {
      e->valid = false;
      e->stale = true;
      continue;
    }
    if (e->t) {
      for (int i = 0; i < e->t->nchildren; i++)
        if (e->t->children[i].relid == relid) {
          e->valid = false;
          e->stale = true;
        }
    }
  }
}

void init_cache() {
  if (g_cache) return;
  HASHCTL ctl;
  memset(&ctl, 0, sizeof(ctl));
  ctl.keysize = sizeof(Oid);
  ctl.entrysize = sizeof(Entry);
  g_cache = hash_create("nova soft delete tables", 32, &ctl, HASH_ELEM | HASH_BLOBS);
  nova::pg::register_relcache_callback(invalidate_cb, (Datum)0);
}

void free_table(Table *t) {
  if (!t) return;
  if (t->soft_delete_plan) SPI_freeplan(t->soft_delete_plan);
  if (t->delete_by_pk_plan) SPI_freeplan(t->delete_by_pk_plan);
  if (t->restore_plan) SPI_freeplan(t->restore_plan);
  for (int i = 0; i < t->nchildren; i++) {
    if (t->children[i].delete_plan) SPI_freeplan(t->children[i].delete_plan);
    if (t->children[i].restore_plan) SPI_freeplan(t->children[i].restore_plan);
  }
}

SPIPlanPtr prepare_kept(const char *sql, int nargs, Oid *types) {
  SPIPlanPtr plan = SPI_prepare(sql, nargs, types);
  if (!plan) elog(ERROR, "nova: SPI_prepare failed (%s) for: %s", SPI_result_code_string(SPI_result), sql);
  if (SPI_keepplan(plan) != 0) elog(ERROR, "nova: SPI_keepplan failed");
  return plan;
}

char *qualified_name(Oid relid) {
  char *rel = get_rel_name(relid);
  if (!rel) ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE), errmsg("relation with oid %u does not exist", relid)));
  return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)), rel);
}

// "OPERATOR(schema.name)" of an operator, for SQL text that must not resolve it by search_path.
char *operator_sql(Oid opno) {
  HeapTuple tup = SearchSysCache1(OPEROID, ObjectIdGetDatum(opno));
  if (!HeapTupleIsValid(tup)) elog(ERROR, "nova: cache lookup failed for operator %u", opno);
  Form_pg_operator op = (Form_pg_operator)GETSTRUCT(tup);
  char *s = psprintf("OPERATOR(%s.%s)", quote_identifier(get_namespace_name(op->oprnamespace)), NameStr(op->oprname));
  ReleaseSysCache(tup);
  return s;
}

AttrNumber managed_column(Oid relid, const char *name, Oid type) {
  AttrNumber att = get_attnum(relid, name);
  if (att == InvalidAttrNumber)
    ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                    errmsg("soft-delete enabled table %s has no column \"%s\"", qualified_name(relid), name),
                    errhint("Call nova.enable_soft_delete() again to add it.")));
  if (get_atttype(relid, att) != type)
    ereport(ERROR, (errcode(ERRCODE_DATATYPE_MISMATCH),
                    errmsg("column \"%s\" of table %s has type %s, expected %s", name, qualified_name(relid),
                           format_type_be(get_atttype(relid, att)), format_type_be(type))));
  return att;
}

// int2[] → palloc'd AttrNumber array.
int int2_array(Datum d, AttrNumber **out) {
  ArrayType *arr = DatumGetArrayTypeP(d);
  Datum *elems;
  bool *nulls;
  int n;
  deconstruct_array(arr, INT2OID, 2, true, TYPALIGN_SHORT, &elems, &nulls, &n);
  *out = static_cast<AttrNumber *>(palloc(sizeof(AttrNumber) * n));
  for (int i = 0; i < n; i++) (*out)[i] = DatumGetInt16(elems[i]);
  return n;
}

// oid[] → palloc'd Oid array.
int oid_array(Datum d, Oid **out) {
  ArrayType *arr = DatumGetArrayTypeP(d);
  Datum *elems;
  bool *nulls;
  int n;
  deconstruct_array(arr, OIDOID, sizeof(Oid), true, TYPALIGN_INT, &elems, &nulls, &n);
  *out = static_cast<Oid *>(palloc(sizeof(Oid) * n));
  for (int i = 0; i < n; i++) (*out)[i] = DatumGetObjectId(elems[i]);
  return n;
}

struct BuildArgs {
  Table *t;
  Oid relid;
  MemoryContext cxt;
};

// Build the metadata of `relid` into t (allocated in CurrentMemoryContext = the entry's context
// for everything that must survive; SPI results are copied out before the next query).
void build(void *p) {
  auto *ba = static_cast<BuildArgs *>(p);
  Table *t = ba->t;
  Oid relid = ba->relid;
  MemoryContext cxt = ba->cxt;
  Oid nova_nsp = get_namespace_oid("nova", false);
  Oid cfg = get_relname_relid("soft_delete_tables", nova_nsp);
  t->op_seq = get_relname_relid("soft_delete_op_seq", nova_nsp);
  if (!OidIsValid(cfg) || !OidIsValid(t->op_seq))
    ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE), errmsg("extension nova is not installed properly")));

  // The audit column exists from 1.1 on (a 1.0 install not yet updated audits every table).
  bool has_audit = get_attnum(cfg, "audit") != InvalidAttrNumber;
  Oid argtypes[1] = {OIDOID};
  Datum args[1] = {ObjectIdGetDatum(relid)};
  int rc = SPI_execute_with_args(has_audit ? "SELECT s.audit FROM nova.soft_delete_tables s "
                                             "WHERE s.tbl OPERATOR(pg_catalog.=) $1::pg_catalog.regclass"
                                           : "SELECT true FROM nova.soft_delete_tables s "
                                             "WHERE s.tbl OPERATOR(pg_catalog.=) $1::pg_catalog.regclass",
                                 1, argtypes, args, nullptr, true, 1);
  if (rc != SPI_OK_SELECT) elog(ERROR, "nova: reading nova.soft_delete_tables failed");
  if (SPI_processed == 0)
    ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                    errmsg("table %s is not soft-delete enabled", qualified_name(relid)),
                    errhint("Call nova.enable_soft_delete('%s') first.", qualified_name(relid))));
  bool isnull;
  Datum audit = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
  t->audit = isnull || DatumGetBool(audit);

  MemoryContext old = MemoryContextSwitchTo(cxt);
  t->relid = relid;
  t->qualname = qualified_name(relid);
  MemoryContextSwitchTo(old);

  HeapTuple ctup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
  if (!HeapTupleIsValid(ctup)) elog(ERROR, "nova: cache lookup failed for relation %u", relid);
  t->owner = ((Form_pg_class)GETSTRUCT(ctup))->relowner;
  ReleaseSysCache(ctup);

  t->att_deleted_at = managed_column(relid, "deleted_at", TIMESTAMPTZOID);
  t->att_deleted_by = managed_column(relid, "deleted_by", TEXTOID);
  t->att_deleted_op = managed_column(relid, "deleted_op", INT8OID);

  // Primary key.
  Relation rel = RelationIdGetRelation(relid);
  if (!RelationIsValid(rel)) elog(ERROR, "nova: could not open relation %u", relid);
  Oid pkidx = RelationGetPrimaryKeyIndex(rel);
  RelationClose(rel);
  if (!OidIsValid(pkidx))
    ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                    errmsg("table %s has no primary key", t->qualname)));
  HeapTuple itup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(pkidx));
  if (!HeapTupleIsValid(itup)) elog(ERROR, "nova: cache lookup failed for index %u", pkidx);
  Form_pg_index idx = (Form_pg_index)GETSTRUCT(itup);
  Datum classd = SysCacheGetAttr(INDEXRELID, itup, Anum_pg_index_indclass, &isnull);
  if (isnull) elog(ERROR, "nova: index %u has no operator classes", pkidx);
  oidvector *opclasses = (oidvector *)DatumGetPointer(classd);
  int npk = idx->indnkeyatts;
  old = MemoryContextSwitchTo(cxt);
  t->pk_attnums = static_cast<AttrNumber *>(palloc(sizeof(AttrNumber) * npk));
  t->pk_names = static_cast<char **>(palloc(sizeof(char *) * npk));
  t->pk_types = static_cast<Oid *>(palloc(sizeof(Oid) * npk));
  t->pk_eqop = static_cast<char **>(palloc(sizeof(char *) * npk));
  for (int i = 0; i < npk; i++) {
    t->pk_attnums[i] = idx->indkey.values[i];
    t->pk_names[i] = get_attname(relid, t->pk_attnums[i], false);
    t->pk_types[i] = get_atttype(relid, t->pk_attnums[i]);
    Oid opclass = opclasses->values[i];
    Oid intype = get_opclass_input_type(opclass);
    Oid eq = get_opfamily_member(get_opclass_family(opclass), intype, intype, BTEqualStrategyNumber);
    if (!OidIsValid(eq)) elog(ERROR, "nova: no equality operator for primary key column \"%s\"", t->pk_names[i]);
    t->pk_eqop[i] = operator_sql(eq);
  }
  t->npk = npk;
  MemoryContextSwitchTo(old);
  ReleaseSysCache(itup);

  StringInfoData sql;
  initStringInfo(&sql);

  // The soft delete itself (the BEFORE UPDATE trigger checks deleted_by/deleted_op).
  {
    Oid types[3] = {TIDOID, TEXTOID, INT8OID};
    appendStringInfo(&sql,
                     "UPDATE ONLY %s SET deleted_at = pg_catalog.now(), deleted_by = $2, deleted_op = $3 "
                     "WHERE ctid OPERATOR(pg_catalog.=) $1",
                     t->qualname);
    t->soft_delete_plan = prepare_kept(sql.data, 3, types);
  }
  // Delete by primary key (DELETE through the active_ view).
  {
    Oid *types = static_cast<Oid *>(palloc(sizeof(Oid) * npk));
    resetStringInfo(&sql);
    appendStringInfo(&sql, "DELETE FROM ONLY %s WHERE ", t->qualname);
    for (int i = 0; i < npk; i++) {
      types[i] = t->pk_types[i];
      appendStringInfo(&sql, "%s%s %s $%d", i ? " AND " : "", quote_identifier(t->pk_names[i]), t->pk_eqop[i], i + 1);
    }
    t->delete_by_pk_plan = prepare_kept(sql.data, npk, types);
  }

  // Children: soft-delete enabled tables referencing this one with ON DELETE CASCADE.
  rc = SPI_execute_with_args(
      "SELECT c.conrelid, c.conkey, c.confkey, c.conpfeqop FROM pg_catalog.pg_constraint c "
      "WHERE c.contype OPERATOR(pg_catalog.=) 'f' AND c.confrelid OPERATOR(pg_catalog.=) $1 "
      "AND c.confdeltype OPERATOR(pg_catalog.=) 'c' "
      "AND EXISTS (SELECT 1 FROM nova.soft_delete_tables s "
      "            WHERE s.tbl::pg_catalog.oid OPERATOR(pg_catalog.=) c.conrelid) "
      "ORDER BY c.conrelid, c.oid",
      1, argtypes, args, nullptr, true, 0);
  if (rc != SPI_OK_SELECT) elog(ERROR, "nova: reading foreign keys failed");
  SPITupleTable *fks = SPI_tuptable;
  int nfk = (int)SPI_processed;
  old = MemoryContextSwitchTo(cxt);
  t->children = static_cast<Child *>(palloc0(sizeof(Child) * (nfk > 0 ? nfk : 1)));
  MemoryContextSwitchTo(old);
  // Copy the foreign keys out first: preparing plans may overwrite SPI_tuptable.
  Oid *child_relids = static_cast<Oid *>(palloc(sizeof(Oid) * (nfk > 0 ? nfk : 1)));
  AttrNumber **child_keys = static_cast<AttrNumber **>(palloc(sizeof(AttrNumber *) * (nfk > 0 ? nfk : 1)));
  Oid **child_ops = static_cast<Oid **>(palloc(sizeof(Oid *) * (nfk > 0 ? nfk : 1)));
  for (int i = 0; i < nfk; i++) {
    HeapTuple row = fks->vals[i];
    child_relids[i] = DatumGetObjectId(SPI_getbinval(row, fks->tupdesc, 1, &isnull));
    int2_array(SPI_getbinval(row, fks->tupdesc, 2, &isnull), &child_keys[i]);
    oid_array(SPI_getbinval(row, fks->tupdesc, 4, &isnull), &child_ops[i]);
    old = MemoryContextSwitchTo(cxt);
    t->children[i].nkeys = int2_array(SPI_getbinval(row, fks->tupdesc, 3, &isnull), &t->children[i].ref_attnums);
    MemoryContextSwitchTo(old);
    t->children[i].relid = child_relids[i];
  }
  for (int i = 0; i < nfk; i++) {
    Child *c = &t->children[i];
    Oid crel = c->relid;
    HeapTuple ct = SearchSysCache1(RELOID, ObjectIdGetDatum(crel));
    if (!HeapTupleIsValid(ct)) elog(ERROR, "nova: cache lookup failed for relation %u", crel);
    c->owner = ((Form_pg_class)GETSTRUCT(ct))->relowner;
    ReleaseSysCache(ct);
    char *cname = qualified_name(crel);
    int n = c->nkeys;
    Oid *types = static_cast<Oid *>(palloc(sizeof(Oid) * (n + 1)));
    // delete: $1 deleted_at, $2.. parent key; "parent key = child column" with the foreign key's operator
    types[0] = TIMESTAMPTZOID;
    resetStringInfo(&sql);
    appendStringInfo(&sql, "UPDATE ONLY %s SET deleted_at = $1 WHERE ", cname);
    for (int k = 0; k < n; k++) {
      types[k + 1] = get_atttype(relid, c->ref_attnums[k]);
      appendStringInfo(&sql, "$%d %s %s AND ", k + 2, operator_sql(child_ops[i][k]),
                       quote_identifier(get_attname(crel, child_keys[i][k], false)));
    }
    appendStringInfoString(&sql, "deleted_at IS NULL");
    c->delete_plan = prepare_kept(sql.data, n + 1, types);
    // restore: $1.. parent key, $n+1 operation id
    resetStringInfo(&sql);
    appendStringInfo(&sql, "UPDATE ONLY %s SET deleted_at = NULL WHERE ", cname);
    for (int k = 0; k < n; k++) {
      types[k] = get_atttype(relid, c->ref_attnums[k]);
      appendStringInfo(&sql, "$%d %s %s AND ", k + 1, operator_sql(child_ops[i][k]),
                       quote_identifier(get_attname(crel, child_keys[i][k], false)));
    }
    types[n] = INT8OID;
    appendStringInfo(&sql, "deleted_op OPERATOR(pg_catalog.=) $%d", n + 1);
    c->restore_plan = prepare_kept(sql.data, n + 1, types);
    t->nchildren = i + 1;
  }
}

}  // namespace

char *equality_operator_sql(Oid type) {
  TypeCacheEntry *tc = lookup_type_cache(type, TYPECACHE_EQ_OPR);
  if (!OidIsValid(tc->eq_opr))
    ereport(ERROR, (errcode(ERRCODE_UNDEFINED_FUNCTION),
                    errmsg("could not identify an equality operator for type %s", format_type_be(type))));
  return operator_sql(tc->eq_opr);
}

Table *get_table(Oid relid) {
  init_cache();
  bool found;
  Entry *e = static_cast<Entry *>(hash_search(g_cache, &relid, HASH_ENTER, &found));
  if (!found) {
    e->valid = false;
    e->stale = false;
    e->cxt = nullptr;
    e->t = nullptr;
  }
  if (e->valid && e->t) return e->t;

  if (g_state.depth == 0) {
    for (int i = 0; i < g_nretired; i++) {
      free_table(g_retired[i].t);
      MemoryContextDelete(g_retired[i].cxt);
    }
    g_nretired = 0;
  }
  // (Re)build. The previous metadata is retired, not freed: an outer frame may use it.
  if (e->cxt) {
    if (g_nretired == g_capretired) {
      int cap = g_capretired ? g_capretired * 2 : 8;
      g_retired = static_cast<Retired *>(g_retired ? repalloc(g_retired, sizeof(Retired) * cap)
                                                   : MemoryContextAlloc(TopMemoryContext, sizeof(Retired) * cap));
      g_capretired = cap;
    }
    g_retired[g_nretired].cxt = e->cxt;
    g_retired[g_nretired].t = e->t;
    g_nretired++;
  }
  e->t = nullptr;
  e->cxt = nullptr;
  e->valid = false;
  e->stale = false;
  MemoryContext cxt = AllocSetContextCreate(CacheMemoryContext, "nova soft delete table", ALLOCSET_SMALL_SIZES);
  Table *t = static_cast<Table *>(MemoryContextAllocZero(cxt, sizeof(Table)));
  e->cxt = cxt;
  e->t = t;  // a failed build is retired by the next attempt (its kept plans are freed then)
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "nova: SPI_connect failed");
  BuildArgs ba = {t, relid, cxt};
  nova::pg::run_as(GetUserId(), build, &ba);  // search_path pinned while SQL is parsed
  SPI_finish();
  // An invalidation during the build leaves it invalid: rebuilt on next use.
  e = static_cast<Entry *>(hash_search(g_cache, &relid, HASH_FIND, &found));
  if (found && e->t == t) e->valid = !e->stale;
  return t;
}

namespace {

struct RestorePlanArgs {
  Table *t;
  SPIPlanPtr plan;
};

void prepare_restore(void *p) {
  auto *a = static_cast<RestorePlanArgs *>(p);
  Table *t = a->t;
  StringInfoData sql;
  initStringInfo(&sql);
  appendStringInfo(&sql, "UPDATE ONLY %s t SET deleted_at = NULL FROM pg_catalog.jsonb_populate_record(NULL::%s, $1) k WHERE ",
                   t->qualname, t->qualname);
  for (int i = 0; i < t->npk; i++)
    appendStringInfo(&sql, "t.%s %s k.%s AND ", quote_identifier(t->pk_names[i]), t->pk_eqop[i],
                     quote_identifier(t->pk_names[i]));
  appendStringInfoString(&sql, "t.deleted_at IS NOT NULL");
  Oid types[1] = {JSONBOID};
  a->plan = prepare_kept(sql.data, 1, types);
}

}  // namespace

SPIPlanPtr restore_plan(Table *t) {
  if (t->restore_plan == nullptr) {
    RestorePlanArgs a = {t, nullptr};
    nova::pg::run_as(GetUserId(), prepare_restore, &a);  // search_path pinned while SQL is parsed
    t->restore_plan = a.plan;
  }
  return t->restore_plan;
}

}  // namespace nova::pg::sd
