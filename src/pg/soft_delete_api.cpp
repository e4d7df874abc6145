// Soft delete SQL API (docs/soft-delete.md): nova.restore, nova.purge, nova.erase_subject,
// and nova._soft_delete_invalidate (used by enable/disable_soft_delete).
// enable/disable themselves are DDL and live in src/sql/50_soft_delete.sql.
#include "pg/boundary.h"
#include "pg/identity.h"
#include "pg/soft_delete.h"

extern "C" {
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/inval.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/timestamp.h"
}

namespace sd = nova::pg::sd;

namespace {

struct ExecArgs {
  const char *sql;
  int nargs;
  Oid *types;
  Datum *values;
  const char *nulls;
  uint64 processed;
  SPIPlanPtr plan = nullptr;  // a kept plan to run instead of sql
};

void run_exec(void *p) {
  auto *a = static_cast<ExecArgs *>(p);
  int rc = a->plan ? SPI_execute_plan(a->plan, a->values, a->nulls, false, 0)
                   : SPI_execute_with_args(a->sql, a->nargs, a->types, a->values, a->nulls, false, 0);
  if (rc < 0) elog(ERROR, "nova: SPI_execute failed: %s", SPI_result_code_string(rc));
  a->processed = SPI_processed;
}

// Can `subject` be read as a value of `type`? (A subsidiary transaction catches the input error.)
bool parse_as(const char *subject, Oid type, Datum *out) {
  Oid typinput, typioparam;
  getTypeInputInfo(type, &typinput, &typioparam);
  MemoryContext cxt = CurrentMemoryContext;
  ResourceOwner owner = CurrentResourceOwner;
  volatile bool ok = false;
  volatile Datum value = (Datum)0;
  BeginInternalSubTransaction(nullptr);
  MemoryContextSwitchTo(cxt);
  PG_TRY();
  {
    value = OidInputFunctionCall(typinput, const_cast<char *>(subject), typioparam, -1);
    ReleaseCurrentSubTransaction();
    MemoryContextSwitchTo(cxt);
    CurrentResourceOwner = owner;
    ok = true;
  }
  PG_CATCH();
  {
    MemoryContextSwitchTo(cxt);
    FlushErrorState();
    RollbackAndReleaseCurrentSubTransaction();
    MemoryContextSwitchTo(cxt);
    CurrentResourceOwner = owner;
  }
  PG_END_TRY();
  *out = value;
  return ok;
}

}  // namespace

// nova._soft_delete_invalidate(tbl regclass): drop every backend's cached plans of tbl (at commit).
NOVA_FUNCTION(nova_soft_delete_invalidate) {
  CacheInvalidateRelcacheByRelid(PG_GETARG_OID(0));
  PG_RETURN_VOID();
}

// nova.restore(tbl regclass, pk jsonb) → bigint: rows restored (the row and what was deleted with it).
NOVA_FUNCTION(nova_soft_delete_restore) {
  Oid relid = PG_GETARG_OID(0);
  Jsonb *pk = PG_GETARG_JSONB_P(1);
  sd::Table *t = sd::get_table(relid);
  if (!JB_ROOT_IS_OBJECT(pk) || JB_ROOT_IS_SCALAR(pk))
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("primary key must be a JSON object"),
                    errhint("For example: nova.restore('%s', '{\"%s\": 1}').", t->qualname, t->pk_names[0])));

  // The object must name exactly the primary key columns.
  StringInfoData cols;
  initStringInfo(&cols);
  for (int i = 0; i < t->npk; i++) appendStringInfo(&cols, "%s%s", i ? ", " : "", t->pk_names[i]);
  int nkeys = JB_ROOT_COUNT(pk);
  bool ok = nkeys == t->npk;
  for (int i = 0; ok && i < t->npk; i++) {
    JsonbValue k;
    k.type = jbvString;
    k.val.string.val = t->pk_names[i];
    k.val.string.len = strlen(t->pk_names[i]);
    JsonbValue *v = findJsonbValueFromContainer(&pk->root, JB_FOBJECT, &k);
    if (!v || v->type == jbvNull) ok = false;
  }
  if (!ok)
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("primary key of %s must be given as a JSON object with exactly its key columns", t->qualname),
                    errdetail("Key columns: %s.", cols.data)));

  Datum values[1] = {PointerGetDatum(pk)};
  uint64 before = sd::g_state.restored;
  char *by = nova::pg::current_actor();
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "nova: SPI_connect failed");
  ExecArgs a = {nullptr, 1, nullptr, values, nullptr, 0, sd::restore_plan(t)};
  sd::with_op(0, by, sd::Mode::kSoftDelete, run_exec, &a);
  SPI_finish();
  PG_RETURN_INT64((int64)(sd::g_state.restored - before));
}

// nova.purge(tbl regclass, older_than interval) → bigint: rows of tbl hard-deleted.
NOVA_FUNCTION(nova_soft_delete_purge) {
  Oid relid = PG_GETARG_OID(0);
  Interval *older = PG_GETARG_INTERVAL_P(1);
  if (older->month < 0 || older->day < 0 || older->time < 0)
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("older_than must not be negative"),
                    errdetail("older_than: %s", DatumGetCString(DirectFunctionCall1(interval_out, PointerGetDatum(older))))));
  sd::Table *t = sd::get_table(relid);

  StringInfoData sql;
  initStringInfo(&sql);
  appendStringInfo(&sql, "DELETE FROM ONLY %s WHERE deleted_at OPERATOR(pg_catalog.<) "
                   "(pg_catalog.now() OPERATOR(pg_catalog.-) $1)", t->qualname);
  Oid types[1] = {INTERVALOID};
  Datum values[1] = {PointerGetDatum(older)};
  ExecArgs a = {sql.data, 1, types, values, nullptr, 0};
  char *by = nova::pg::current_actor();
  int64 op = sd::current_op(t);
  sd::count_reset();
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "nova: SPI_connect failed");
  sd::with_op(op, by, sd::Mode::kPurge, run_exec, &a);
  SPI_finish();
  PG_RETURN_INT64((int64)a.processed);
}

// nova.erase_subject(subject text) → jsonb: {"schema.table": rows hard-deleted, …}.
NOVA_FUNCTION(nova_soft_delete_erase_subject) {
  char *subject = text_to_cstring(PG_GETARG_TEXT_PP(0));
  char *by = nova::pg::current_actor();
  MemoryContext caller = CurrentMemoryContext;
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "nova: SPI_connect failed");

  // Tables with an owner column, and the foreign keys among them.
  int rc = SPI_execute(
      "SELECT s.tbl::pg_catalog.oid, s.owner_column::pg_catalog.text, a.atttypid "
      "FROM nova.soft_delete_tables s JOIN pg_catalog.pg_attribute a "
      "  ON a.attrelid OPERATOR(pg_catalog.=) s.tbl::pg_catalog.oid "
      " AND a.attname OPERATOR(pg_catalog.=) s.owner_column AND NOT a.attisdropped "
      "WHERE s.owner_column IS NOT NULL ORDER BY s.tbl::pg_catalog.text",
      true, 0);
  if (rc != SPI_OK_SELECT) elog(ERROR, "nova: reading nova.soft_delete_tables failed");
  int n = (int)SPI_processed;
  SPITupleTable *tt = SPI_tuptable;
  Oid *rel = static_cast<Oid *>(palloc(sizeof(Oid) * (n + 1)));
  char **col = static_cast<char **>(palloc(sizeof(char *) * (n + 1)));
  Oid *typ = static_cast<Oid *>(palloc(sizeof(Oid) * (n + 1)));
  bool *done = static_cast<bool *>(palloc0(sizeof(bool) * (n + 1)));
  for (int i = 0; i < n; i++) {
    bool isnull;
    rel[i] = DatumGetObjectId(SPI_getbinval(tt->vals[i], tt->tupdesc, 1, &isnull));
    col[i] = SPI_getvalue(tt->vals[i], tt->tupdesc, 2);
    typ[i] = DatumGetObjectId(SPI_getbinval(tt->vals[i], tt->tupdesc, 3, &isnull));
  }
  rc = SPI_execute(
      "SELECT c.conrelid, c.confrelid FROM pg_catalog.pg_constraint c "
      "WHERE c.contype OPERATOR(pg_catalog.=) 'f' AND c.conrelid OPERATOR(pg_catalog.<>) c.confrelid "
      "AND EXISTS (SELECT 1 FROM nova.soft_delete_tables s "
      "            WHERE s.tbl::pg_catalog.oid OPERATOR(pg_catalog.=) c.conrelid) "
      "AND EXISTS (SELECT 1 FROM nova.soft_delete_tables s "
      "            WHERE s.tbl::pg_catalog.oid OPERATOR(pg_catalog.=) c.confrelid)",
      true, 0);
  if (rc != SPI_OK_SELECT) elog(ERROR, "nova: reading foreign keys failed");
  int nfk = (int)SPI_processed;
  tt = SPI_tuptable;
  Oid *fk_child = static_cast<Oid *>(palloc(sizeof(Oid) * (nfk + 1)));
  Oid *fk_parent = static_cast<Oid *>(palloc(sizeof(Oid) * (nfk + 1)));
  for (int i = 0; i < nfk; i++) {
    bool isnull;
    fk_child[i] = DatumGetObjectId(SPI_getbinval(tt->vals[i], tt->tupdesc, 1, &isnull));
    fk_parent[i] = DatumGetObjectId(SPI_getbinval(tt->vals[i], tt->tupdesc, 2, &isnull));
  }

  // Children first: take a table none of whose not-yet-erased tables reference it
  // (on a cycle, the first remaining one; the foreign keys' own actions do the rest).
  int *order = static_cast<int *>(palloc(sizeof(int) * (n + 1)));
  for (int k = 0; k < n; k++) {
    int pick = -1;
    for (int i = 0; i < n && pick < 0; i++) {
      if (done[i]) continue;
      bool referenced = false;
      for (int f = 0; f < nfk && !referenced; f++) {
        if (fk_parent[f] != rel[i]) continue;
        for (int j = 0; j < n; j++)
          if (!done[j] && j != i && rel[j] == fk_child[f]) referenced = true;
      }
      if (!referenced) pick = i;
    }
    if (pick < 0)
      for (int i = 0; i < n; i++)
        if (!done[i]) {
          pick = i;
          break;
        }
    done[pick] = true;
    order[k] = pick;
  }

  int64 op = 0;
  if (n > 0) op = sd::current_op(sd::get_table(rel[order[0]]));
  sd::count_reset();
  StringInfoData sql;
  initStringInfo(&sql);
  for (int k = 0; k < n; k++) {
    int i = order[k];
    sd::Table *t = sd::get_table(rel[i]);
    Datum value;
    if (!parse_as(subject, typ[i], &value)) continue;  // no row of this table can belong to the subject
    Oid types[1] = {typ[i]};
    Datum values[1] = {value};
    char *eq = sd::equality_operator_sql(typ[i]);
    // 1. Soft-delete first (cascading like any soft delete), so that consumers of the
    //    outbox see <Entity>Deleted and then, from the hard delete, a Purged tombstone.
    resetStringInfo(&sql);
    appendStringInfo(&sql, "UPDATE ONLY %s SET deleted_at = pg_catalog.now() WHERE %s %s $1 AND deleted_at IS NULL",
                     t->qualname, quote_identifier(col[i]), eq);
    ExecArgs a1 = {pstrdup(sql.data), 1, types, values, nullptr, 0};
    sd::with_op(op, by, sd::Mode::kSoftDelete, run_exec, &a1);
    // 2. Hard delete; rows removed by foreign keys' ON DELETE CASCADE are counted and audited too.
    resetStringInfo(&sql);
    appendStringInfo(&sql, "DELETE FROM ONLY %s WHERE %s %s $1", t->qualname, quote_identifier(col[i]), eq);
    ExecArgs a2 = {pstrdup(sql.data), 1, types, values, nullptr, 0};
    sd::with_op(op, by, sd::Mode::kErase, run_exec, &a2);
  }

  // {"table": count} for every owner table (0 included) and every table reached by cascade.
  StringInfoData out;  // in the caller's context: it outlives SPI_finish
  MemoryContext spi_cxt = MemoryContextSwitchTo(caller);
  initStringInfo(&out);
  MemoryContextSwitchTo(spi_cxt);
  appendStringInfoChar(&out, '{');
  bool first = true;
  for (int k = 0; k < n; k++) {
    int i = order[k];
    int64 cnt = 0;
    for (int c = 0; c < sd::count_n(); c++) {
      Oid r;
      int64 m;
      sd::count_get(c, &r, &m);
      if (r == rel[i]) cnt = m;
    }
    if (!first) appendStringInfoString(&out, ", ");
    first = false;
    escape_json(&out, sd::get_table(rel[i])->qualname);
    appendStringInfo(&out, ": " INT64_FORMAT, cnt);
  }
  for (int c = 0; c < sd::count_n(); c++) {
    Oid r;
    int64 m;
    sd::count_get(c, &r, &m);
    bool listed = false;
    for (int i = 0; i < n; i++)
      if (rel[i] == r) listed = true;
    if (listed) continue;
    if (!first) appendStringInfoString(&out, ", ");
    first = false;
    escape_json(&out, sd::get_table(r)->qualname);
    appendStringInfo(&out, ": " INT64_FORMAT, m);
  }
  appendStringInfoChar(&out, '}');
  SPI_finish();
  Datum result = DirectFunctionCall1(jsonb_in, CStringGetDatum(out.data));
  PG_RETURN_DATUM(result);
}
