// Soft delete: per-table metadata and prepared plans (SPI_prepare + SPI_keepplan),
// built once per table and backend, dropped on relcache invalidation of the table
// or of one of its cascade children. Also the backend-local operation state.
#include "pg/soft_delete.h"

#include "pg/identity.h"
#include "pg/correlation.h"
#include "pg/direct_insert.h"
#include "pg/module.h"

extern "C" {
#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "access/genam.h"
#include "access/heapam.h"
#include "access/table.h"
#include "catalog/index.h"
#include "executor/executor.h"
#include "executor/tuptable.h"
#include "utils/datetime.h"
#include "utils/hsearch.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
}

namespace nova::pg::sd {

OpState g_state = {0, 0, nullptr, Mode::kSoftDelete, 0, 0, false};

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

// The statement a top-level operation id belongs to.
LocalTransactionId g_key_lxid = InvalidLocalTransactionId;
CommandId g_key_cid = InvalidCommandId;
int64 g_key_op = 0;

// Direct audit insert (heap_insert + index_insert, like catalog inserts): the layout
// of nova.audit_log it was checked against. Re-checked after any invalidation of it.
struct AuditRel {
  bool checked;
  bool usable;
  Oid relid;
  Oid seq;
  int natts;
  int map[8];  // column i of the table ← value map[i]
};
AuditRel g_audit = {false, false, InvalidOid, InvalidOid, 0, {0}};

void invalidate_cb(Datum, Oid relid) {
  if (relid == InvalidOid || relid == g_audit.relid) g_audit.checked = false;
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

void xact_cb(XactEvent event, void *) {
  if (event == XACT_EVENT_ABORT || event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_ABORT ||
      event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PREPARE) {
    g_state.depth = 0;
    g_state.op = 0;
    g_state.by = nullptr;
    g_state.mode = Mode::kSoftDelete;
    g_state.internal = false;
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
  nova::pg::register_xact_callback(xact_cb, nullptr);
}

void free_table(Table *t) {
  if (!t) return;
  if (t->soft_delete_plan) SPI_freeplan(t->soft_delete_plan);
  if (t->delete_by_pk_plan) SPI_freeplan(t->delete_by_pk_plan);
  if (t->audit_plan) SPI_freeplan(t->audit_plan);
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

// Build the metadata of `relid` into t (allocated in CurrentMemoryContext = the entry's context
// for everything that must survive; SPI results are copied out before the next query).
void build(Table *t, Oid relid, MemoryContext cxt) {
  Oid argtypes[1] = {OIDOID};
  Datum args[1] = {ObjectIdGetDatum(relid)};

  int rc = SPI_execute_with_args("SELECT 1 FROM nova.soft_delete_tables WHERE tbl OPERATOR(pg_catalog.=) $1::pg_catalog.regclass",
                                 1, argtypes, args, nullptr, true, 1);
  if (rc != SPI_OK_SELECT) elog(ERROR, "nova: reading nova.soft_delete_tables failed");
  if (SPI_processed == 0)
    ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                    errmsg("table %s is not soft-delete enabled", qualified_name(relid)),
                    errhint("Call nova.enable_soft_delete('%s') first.", qualified_name(relid))));

  rc = SPI_execute("SELECT e.extowner, s.oid FROM pg_catalog.pg_extension e, pg_catalog.pg_class s "
                   "WHERE e.extname = 'nova' AND s.relname = 'soft_delete_op_seq' "
                   "AND s.relnamespace = 'nova'::pg_catalog.regnamespace",
                   true, 1);
  if (rc != SPI_OK_SELECT || SPI_processed != 1) elog(ERROR, "nova: extension nova is not installed properly");
  bool isnull;
  t->ext_owner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
  t->op_seq = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));

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
  int npk = idx->indnkeyatts;
  old = MemoryContextSwitchTo(cxt);
  t->pk_attnums = static_cast<AttrNumber *>(palloc(sizeof(AttrNumber) * npk));
  t->pk_names = static_cast<char **>(palloc(sizeof(char *) * npk));
  t->pk_typoutput = static_cast<Oid *>(palloc(sizeof(Oid) * npk));
  t->pk_basetype = static_cast<Oid *>(palloc(sizeof(Oid) * npk));
  t->pk_kind = static_cast<char *>(palloc(npk));
  for (int i = 0; i < npk; i++) {
    t->pk_attnums[i] = idx->indkey.values[i];
    t->pk_names[i] = get_attname(relid, t->pk_attnums[i], false);
    Oid type = get_atttype(relid, t->pk_attnums[i]);
    bool varlena;
    getTypeOutputInfo(type, &t->pk_typoutput[i], &varlena);
    Oid base = getBaseType(type);
    t->pk_basetype[i] = base;
    switch (base) {
      case INT2OID: case INT4OID: case INT8OID: case FLOAT4OID: case FLOAT8OID: case NUMERICOID:
        t->pk_kind[i] = 'n'; break;
      case BOOLOID: t->pk_kind[i] = 'b'; break;
      case JSONOID: case JSONBOID: t->pk_kind[i] = 'j'; break;
      case DATEOID: case TIMESTAMPOID: case TIMESTAMPTZOID: t->pk_kind[i] = 'd'; break;
      case TEXTOID: case VARCHAROID: case BPCHAROID: case NAMEOID: case UUIDOID: case CHAROID:
        t->pk_kind[i] = 's'; break;
      default: t->pk_kind[i] = 'x';  // arrays, composites, types cast to json: jsonb_build_object via SPI
    }
  }
  t->npk = npk;
  MemoryContextSwitchTo(old);
  ReleaseSysCache(itup);

  StringInfoData sql;
  initStringInfo(&sql);

  // The soft delete itself: the BEFORE UPDATE trigger fills deleted_by/deleted_op.
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
      types[i] = get_atttype(relid, t->pk_attnums[i]);
      appendStringInfo(&sql, "%s%s = $%d", i ? " AND " : "", quote_identifier(t->pk_names[i]), i + 1);
    }
    t->delete_by_pk_plan = prepare_kept(sql.data, npk, types);
  }
  // Audit row: $1 action, $2 table, $3 actor, $4 correlation id, $5 operation id, $6.. key.
  {
    Oid *types = static_cast<Oid *>(palloc(sizeof(Oid) * (5 + npk)));
    types[0] = TEXTOID;
    types[1] = TEXTOID;
    types[2] = TEXTOID;
    types[3] = TEXTOID;
    types[4] = INT8OID;
    resetStringInfo(&sql);
    appendStringInfoString(&sql,
                           "INSERT INTO nova.audit_log (action, table_name, actor, correlation_id, operation_id, pk) "
                           "VALUES ($1, $2, $3, $4, $5, pg_catalog.jsonb_build_object(");
    for (int i = 0; i < npk; i++) {
      types[5 + i] = get_atttype(relid, t->pk_attnums[i]);
      appendStringInfo(&sql, "%s%s::text, $%d", i ? ", " : "", quote_literal_cstr(t->pk_names[i]), 6 + i);
    }
    appendStringInfoString(&sql, "))");
    t->audit_plan = prepare_kept(sql.data, 5 + npk, types);
  }

  // Children: soft-delete enabled tables referencing this one with ON DELETE CASCADE.
  rc = SPI_execute_with_args(
      "SELECT c.conrelid, c.conkey, c.confkey FROM pg_catalog.pg_constraint c "
      "WHERE c.contype = 'f' AND c.confrelid = $1 AND c.confdeltype = 'c' "
      "AND EXISTS (SELECT 1 FROM nova.soft_delete_tables s WHERE s.tbl::pg_catalog.oid = c.conrelid) "
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
  for (int i = 0; i < nfk; i++) {
    HeapTuple row = fks->vals[i];
    child_relids[i] = DatumGetObjectId(SPI_getbinval(row, fks->tupdesc, 1, &isnull));
    int2_array(SPI_getbinval(row, fks->tupdesc, 2, &isnull), &child_keys[i]);
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
    // delete: $1 deleted_at, $2.. parent key
    types[0] = TIMESTAMPTZOID;
    resetStringInfo(&sql);
    appendStringInfo(&sql, "UPDATE ONLY %s SET deleted_at = $1 WHERE ", cname);
    for (int k = 0; k < n; k++) {
      types[k + 1] = get_atttype(relid, c->ref_attnums[k]);
      appendStringInfo(&sql, "%s = $%d AND ", quote_identifier(get_attname(crel, child_keys[i][k], false)), k + 2);
    }
    appendStringInfoString(&sql, "deleted_at IS NULL");
    c->delete_plan = prepare_kept(sql.data, n + 1, types);
    // restore: $1.. parent key, $n+1 operation id
    resetStringInfo(&sql);
    appendStringInfo(&sql, "UPDATE ONLY %s SET deleted_at = NULL WHERE ", cname);
    for (int k = 0; k < n; k++) {
      types[k] = get_atttype(relid, c->ref_attnums[k]);
      appendStringInfo(&sql, "%s = $%d AND ", quote_identifier(get_attname(crel, child_keys[i][k], false)), k + 1);
    }
    types[n] = INT8OID;
    appendStringInfo(&sql, "deleted_op = $%d", n + 1);
    c->restore_plan = prepare_kept(sql.data, n + 1, types);
    t->nchildren = i + 1;
  }
}

}  // namespace

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
  build(t, relid, cxt);
  SPI_finish();
  // An invalidation during the build leaves it invalid: rebuilt on next use.
  e = static_cast<Entry *>(hash_search(g_cache, &relid, HASH_FIND, &found));
  if (found && e->t == t) e->valid = !e->stale;
  return t;
}

int64 current_op(Table *t) {
  if (g_state.depth > 0) return g_state.op;
#if PG_VERSION_NUM >= 170000
  LocalTransactionId lxid = MyProc->vxid.lxid;
#else
  LocalTransactionId lxid = MyProc->lxid;
#endif
  CommandId cid = ActiveSnapshotSet() ? GetActiveSnapshot()->curcid : InvalidCommandId;
  if (cid != InvalidCommandId && lxid == g_key_lxid && cid == g_key_cid) return g_key_op;
  int64 op = nextval_internal(t->op_seq, false);
  g_key_lxid = lxid;
  g_key_cid = cid;
  g_key_op = op;
  return op;
}

char *current_by() {
  if (g_state.depth > 0 && g_state.by) return g_state.by;
  return current_actor();
}

void with_op(int64 op, char *by, Mode mode, void (*fn)(void *), void *arg) {
  OpState saved = g_state;
  g_state.op = op;
  g_state.by = by;
  g_state.mode = mode;
  g_state.depth++;
  PG_TRY();
  {
    fn(arg);
  }
  PG_FINALLY();
  {
    g_state.op = saved.op;
    g_state.by = saved.by;
    g_state.mode = saved.mode;
    g_state.depth = saved.depth;
    g_state.internal = saved.internal;
  }
  PG_END_TRY();
}

uint64 exec_as(Oid user, SPIPlanPtr plan, Datum *values, const char *nulls) {
  Oid save_user;
  int save_sec;
  GetUserIdAndSecContext(&save_user, &save_sec);
  SetUserIdAndSecContext(user, save_sec | SECURITY_LOCAL_USERID_CHANGE | SECURITY_NOFORCE_RLS);
  volatile int rc = 0;
  PG_TRY();
  {
    rc = SPI_execute_plan(plan, values, nulls, false, 0);
  }
  PG_FINALLY();
  {
    SetUserIdAndSecContext(save_user, save_sec);
  }
  PG_END_TRY();
  if (rc < 0) elog(ERROR, "nova: SPI_execute_plan failed: %s", SPI_result_code_string(rc));
  return SPI_processed;
}

namespace {

// The primary key as a JSON object, formatted like jsonb_build_object would.
Datum pk_jsonb(Table *t, HeapTuple tup, TupleDesc desc) {
  StringInfoData b;
  initStringInfo(&b);
  appendStringInfoChar(&b, '{');
  for (int i = 0; i < t->npk; i++) {
    if (i) appendStringInfoString(&b, ", ");
    escape_json(&b, t->pk_names[i]);
    appendStringInfoString(&b, ": ");
    bool isnull;
    Datum v = heap_getattr(tup, t->pk_attnums[i], desc, &isnull);
    if (isnull) {
      appendStringInfoString(&b, "null");
      continue;
    }
    switch (t->pk_kind[i]) {
      case 'd': {
        char buf[MAXDATELEN + 1];
        escape_json(&b, JsonEncodeDateTime(buf, v, t->pk_basetype[i], nullptr));
        break;
      }
      case 'b':
        appendStringInfoString(&b, DatumGetBool(v) ? "true" : "false");
        break;
      default: {
        char *out = OidOutputFunctionCall(t->pk_typoutput[i], v);
        bool number = false;
        if (t->pk_kind[i] == 'n') {
          // NaN and Infinity are no JSON numbers: they go in as strings, as in jsonb_build_object
          const char *c = out[0] == '-' ? out + 1 : out;
          number = c[0] >= '0' && c[0] <= '9';
        }
        if (number || t->pk_kind[i] == 'j')
          appendStringInfoString(&b, out);
        else
          escape_json(&b, out);
      }
    }
  }
  appendStringInfoChar(&b, '}');
  return DirectFunctionCall1(jsonb_in, CStringGetDatum(b.data));
}

enum AuditCol { kId, kAt, kAction, kTable, kPk, kActor, kCorrelation, kOp, kAuditCols };
const char *const kAuditNames[kAuditCols] = {"id", "at", "action", "table_name", "pk", "actor", "correlation_id",
                                             "operation_id"};

// Can the direct insert be used? (The table as created by the extension: these 8 columns,
// no triggers, only plain immediate indexes.) Otherwise audit() falls back to SPI.
void check_audit_rel() {
  g_audit.checked = true;
  g_audit.usable = false;
  Oid nsp = get_namespace_oid("nova", true);
  if (!OidIsValid(nsp)) return;
  g_audit.relid = get_relname_relid("audit_log", nsp);
  g_audit.seq = get_relname_relid("audit_log_id_seq", nsp);
  if (!OidIsValid(g_audit.relid) || !OidIsValid(g_audit.seq)) return;
  Relation rel = table_open(g_audit.relid, AccessShareLock);
  TupleDesc desc = RelationGetDescr(rel);
  bool ok = desc->natts == kAuditCols && rel->trigdesc == nullptr && rel->rd_rel->relkind == RELKIND_RELATION &&
            !rel->rd_rel->relrowsecurity;
  for (int i = 0; ok && i < desc->natts; i++) {
    Form_pg_attribute att = TupleDescAttr(desc, i);
    ok = !att->attisdropped && strcmp(NameStr(att->attname), kAuditNames[i]) == 0;
    g_audit.map[i] = i;
  }
  if (ok) {
    static const Oid kTypes[kAuditCols] = {INT8OID, TIMESTAMPTZOID, TEXTOID, TEXTOID, JSONBOID, TEXTOID, TEXTOID, INT8OID};
    for (int i = 0; i < kAuditCols; i++)
      if (TupleDescAttr(desc, i)->atttypid != kTypes[i]) ok = false;
  }
  if (ok && rel->rd_att->constr && rel->rd_att->constr->num_check > 0) ok = false;
  if (ok) ok = direct_insert_supported(rel);
  g_audit.natts = desc->natts;
  table_close(rel, AccessShareLock);
  g_audit.usable = ok;
}

bool audit_direct(Datum *vals, bool *nulls) {
  if (!g_audit.checked) check_audit_rel();
  if (!g_audit.usable) return false;
  Oid relid = g_audit.relid;
  Relation rel = table_open(relid, RowExclusiveLock);
  if (!g_audit.checked) check_audit_rel();  // opening may have processed invalidations
  if (!g_audit.usable || g_audit.relid != relid || RelationGetDescr(rel)->natts != g_audit.natts ||
      rel->trigdesc != nullptr) {
    table_close(rel, NoLock);
    return false;
  }
  TupleDesc desc = RelationGetDescr(rel);
  vals[kId] = Int64GetDatum(nextval_internal(g_audit.seq, false));
  nulls[kId] = false;
  HeapTuple tup = heap_form_tuple(desc, vals, nulls);
  direct_insert_tuple(rel, tup);
  table_close(rel, NoLock);
  return true;
}

}  // namespace

void audit(Table *t, const char *action, HeapTuple tup, TupleDesc desc, const char *actor, int64 op, bool op_null) {
  const char *corr = nova::pg::current_correlation_id();  // the id outbox events of this transaction carry
  Datum vals[kAuditCols];
  bool nulls[kAuditCols];
  memset(nulls, 0, sizeof(nulls));
  vals[kId] = (Datum)0;
  vals[kAt] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
  vals[kAction] = CStringGetTextDatum(action);
  vals[kTable] = CStringGetTextDatum(t->qualname);
  bool direct = true;
  for (int i = 0; i < t->npk; i++)
    if (t->pk_kind[i] == 'x') direct = false;
  vals[kPk] = direct ? pk_jsonb(t, tup, desc) : (Datum)0;
  if (actor) vals[kActor] = CStringGetTextDatum(actor); else nulls[kActor] = true;
  if (corr) vals[kCorrelation] = CStringGetTextDatum(corr); else nulls[kCorrelation] = true;
  vals[kOp] = Int64GetDatum(op);
  nulls[kOp] = op_null;
  if (direct && audit_direct(vals, nulls)) return;

  // Fallback: the cached INSERT plan, as the extension owner.
  int n = 5 + t->npk;
  Datum *values = static_cast<Datum *>(palloc(sizeof(Datum) * n));
  char *pn = static_cast<char *>(palloc(n + 1));
  memset(pn, ' ', n);
  pn[n] = '\0';
  values[0] = vals[kAction];
  values[1] = vals[kTable];
  values[2] = vals[kActor];
  if (nulls[kActor]) pn[2] = 'n';
  values[3] = vals[kCorrelation];
  if (nulls[kCorrelation]) pn[3] = 'n';
  values[4] = vals[kOp];
  if (op_null) pn[4] = 'n';
  for (int i = 0; i < t->npk; i++) {
    bool isnull;
    values[5 + i] = heap_getattr(tup, t->pk_attnums[i], desc, &isnull);
    if (isnull) pn[5 + i] = 'n';
  }
  exec_as(t->ext_owner, t->audit_plan, values, pn);
}

// ---- purge / erase counts (backend-local, reset per call) ----
namespace {
struct Count {
  Oid relid;
  int64 n;
};
Count *g_counts = nullptr;
int g_ncounts = 0, g_capcounts = 0;
}  // namespace

void count_reset() { g_ncounts = 0; }

void count_add(Oid relid) {
  for (int i = 0; i < g_ncounts; i++)
    if (g_counts[i].relid == relid) {
      g_counts[i].n++;
      return;
    }
  if (g_ncounts == g_capcounts) {
    int cap = g_capcounts ? g_capcounts * 2 : 16;
    g_counts = static_cast<Count *>(g_counts ? repalloc(g_counts, sizeof(Count) * cap)
                                             : MemoryContextAlloc(TopMemoryContext, sizeof(Count) * cap));
    g_capcounts = cap;
  }
  g_counts[g_ncounts].relid = relid;
  g_counts[g_ncounts].n = 1;
  g_ncounts++;
}

int count_n() { return g_ncounts; }
void count_get(int i, Oid *relid, int64 *n) {
  *relid = g_counts[i].relid;
  *n = g_counts[i].n;
}

}  // namespace nova::pg::sd
