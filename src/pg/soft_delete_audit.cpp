// Soft delete: the audit writer (docs/soft-delete.md, "Audit trail").
//
// The primary key is turned into JSON here, in C, with the key types' output
// functions (jsonb_build_object's shape: numbers, booleans, json and date/time
// as JSON values, arrays as arrays, composites as objects, everything else as
// strings). No SQL, cast or operator runs for it, so nothing a user defines
// (a cast to json, a shadowing type or function) runs as the extension owner.
// The row goes in by a direct heap insert; when nova.audit_log does not have the
// shape that needs, by SPI as the extension owner through nova::pg::run_as.
#include "pg/module.h"
#include "pg/soft_delete.h"

#include "pg/correlation.h"
#include "pg/direct_insert.h"
#include "pg/run_as.h"

extern "C" {
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/inval.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/rel.h"
#include "utils/typcache.h"
}

namespace nova::pg::sd {

namespace {

void append_json(StringInfo b, Datum v, Oid type);

void append_array_dim(StringInfo b, int dim, int ndims, const int *dims, Datum *vals, bool *nulls, int *idx,
                      Oid elem) {
  appendStringInfoChar(b, '[');
  for (int i = 0; i < dims[dim]; i++) {
    if (i) appendStringInfoString(b, ", ");
    if (dim + 1 < ndims) {
      append_array_dim(b, dim + 1, ndims, dims, vals, nulls, idx, elem);
    } else {
      if (nulls[*idx])
        appendStringInfoString(b, "null");
      else
        append_json(b, vals[*idx], elem);
      (*idx)++;
    }
  }
  appendStringInfoChar(b, ']');
}

void append_array(StringInfo b, Datum v, Oid elem) {
  ArrayType *arr = DatumGetArrayTypeP(v);
  int ndims = ARR_NDIM(arr);
  if (ndims <= 0) {
    appendStringInfoString(b, "[]");
    return;
  }
  int16 len;
  bool byval;
  char align;
  get_typlenbyvalalign(elem, &len, &byval, &align);
  Datum *vals;
  bool *nulls;
  int n;
  deconstruct_array(arr, elem, len, byval, align, &vals, &nulls, &n);
  int idx = 0;
  append_array_dim(b, 0, ndims, ARR_DIMS(arr), vals, nulls, &idx, elem);
}

void append_record(StringInfo b, Datum v) {
  HeapTupleHeader td = DatumGetHeapTupleHeader(v);
  TupleDesc desc = lookup_rowtype_tupdesc(HeapTupleHeaderGetTypeId(td), HeapTupleHeaderGetTypMod(td));
  HeapTupleData tup;
  tup.t_len = HeapTupleHeaderGetDatumLength(td);
  ItemPointerSetInvalid(&tup.t_self);
  tup.t_tableOid = InvalidOid;
  tup.t_data = td;
  appendStringInfoChar(b, '{');
  bool first = true;
  for (int i = 0; i < desc->natts; i++) {
    Form_pg_attribute att = TupleDescAttr(desc, i);
    if (att->attisdropped) continue;
    if (!first) appendStringInfoString(b, ", ");
    first = false;
    escape_json(b, NameStr(att->attname));
    appendStringInfoString(b, ": ");
    bool isnull;
    Datum f = heap_getattr(&tup, i + 1, desc, &isnull);
    if (isnull)
      appendStringInfoString(b, "null");
    else
      append_json(b, f, att->atttypid);
  }
  appendStringInfoChar(b, '}');
  ReleaseTupleDesc(desc);
}

void append_json(StringInfo b, Datum v, Oid type) {
  check_stack_depth();
  Oid base = getBaseType(type);
  switch (base) {
    case BOOLOID:
      appendStringInfoString(b, DatumGetBool(v) ? "true" : "false");
      return;
    case DATEOID:
    case TIMESTAMPOID:
    case TIMESTAMPTZOID: {
      char buf[MAXDATELEN + 1];
      escape_json(b, JsonEncodeDateTime(buf, v, base, nullptr));
      return;
    }
    default:
      break;
  }
  Oid elem = get_element_type(base);
  if (OidIsValid(elem) && get_typlen(base) == -1) {
    append_array(b, v, elem);
    return;
  }
  if (type_is_rowtype(base)) {
    append_record(b, v);
    return;
  }
  Oid out;
  bool varlena;
  getTypeOutputInfo(base, &out, &varlena);
  char *s = OidOutputFunctionCall(out, v);
  switch (base) {
    case INT2OID: case INT4OID: case INT8OID: case FLOAT4OID: case FLOAT8OID: case NUMERICOID: {
      // NaN and Infinity are no JSON numbers: strings, as in jsonb_build_object
      const char *c = s[0] == '-' ? s + 1 : s;
      if (c[0] >= '0' && c[0] <= '9')
        appendStringInfoString(b, s);
      else
        escape_json(b, s);
      return;
    }
    case JSONOID: case JSONBOID:
      appendStringInfoString(b, s);
      return;
    default:
      escape_json(b, s);
  }
}

// Key columns whose JSON value is built directly as a JsonbValue (no text round
// trip through jsonb_in, no catalog lookup): the exact built-in types, not domains
// over them (a domain's base type is looked up by the general path below).
bool fast_key_type(Oid type) {
  switch (type) {
    case INT2OID: case INT4OID: case INT8OID: case TEXTOID: case VARCHAROID:
      return true;
    default:
      return false;
  }
}

void fast_key_value(JsonbValue *jv, Datum v, Oid type) {
  switch (type) {
    case INT2OID:
      jv->type = jbvNumeric;
      jv->val.numeric = int64_to_numeric(DatumGetInt16(v));
      return;
    case INT4OID:
      jv->type = jbvNumeric;
      jv->val.numeric = int64_to_numeric(DatumGetInt32(v));
      return;
    case INT8OID:
      jv->type = jbvNumeric;
      jv->val.numeric = int64_to_numeric(DatumGetInt64(v));
      return;
    default: {  // text, varchar: a JSON string holds the same characters
      text *s = DatumGetTextPP(v);
      jv->type = jbvString;
      jv->val.string.val = VARDATA_ANY(s);
      jv->val.string.len = VARSIZE_ANY_EXHDR(s);
      return;
    }
  }
}

// The primary key as a JSON object: the same value jsonb_in gives for the text
// the general path builds (keys sorted and de-duplicated by pushJsonbValue).
Datum pk_jsonb_fast(Table *t, HeapTuple tup, TupleDesc desc) {
  JsonbParseState *state = nullptr;
  pushJsonbValue(&state, WJB_BEGIN_OBJECT, nullptr);
  for (int i = 0; i < t->npk; i++) {
    JsonbValue k;
    k.type = jbvString;
    k.val.string.val = t->pk_names[i];
    k.val.string.len = strlen(t->pk_names[i]);
    pushJsonbValue(&state, WJB_KEY, &k);
    bool isnull;
    Datum v = heap_getattr(tup, t->pk_attnums[i], desc, &isnull);
    JsonbValue jv;
    if (isnull)
      jv.type = jbvNull;
    else
      fast_key_value(&jv, v, t->pk_types[i]);
    pushJsonbValue(&state, WJB_VALUE, &jv);
  }
  JsonbValue *obj = pushJsonbValue(&state, WJB_END_OBJECT, nullptr);
  return JsonbPGetDatum(JsonbValueToJsonb(obj));
}

// The primary key as a JSON object.
Datum pk_jsonb(Table *t, HeapTuple tup, TupleDesc desc) {
  bool fast = true;
  for (int i = 0; fast && i < t->npk; i++) fast = fast_key_type(t->pk_types[i]);
  if (fast) return pk_jsonb_fast(t, tup, desc);
  StringInfoData b;
  initStringInfo(&b);
  appendStringInfoChar(&b, '{');
  for (int i = 0; i < t->npk; i++) {
    if (i) appendStringInfoString(&b, ", ");
    escape_json(&b, t->pk_names[i]);
    appendStringInfoString(&b, ": ");
    bool isnull;
    Datum v = heap_getattr(tup, t->pk_attnums[i], desc, &isnull);
    if (isnull)
      appendStringInfoString(&b, "null");
    else
      append_json(&b, v, t->pk_types[i]);
  }
  appendStringInfoChar(&b, '}');
  return DirectFunctionCall1(jsonb_in, CStringGetDatum(b.data));
}

enum AuditCol { kId, kAt, kAction, kTable, kPk, kActor, kCorrelation, kOp, kAuditCols };
const char *const kAuditNames[kAuditCols] = {"id", "at", "action", "table_name", "pk", "actor", "correlation_id",
                                             "operation_id"};

// Direct audit insert (heap_insert + index_insert, like catalog inserts): the layout
// of nova.audit_log it was checked against. Re-checked after any invalidation of it.
struct AuditRel {
  bool checked;
  bool usable;
  bool callback;
  Oid relid;
  Oid seq;
  int natts;
};
AuditRel g_audit = {false, false, false, InvalidOid, InvalidOid, 0};

void invalidate_cb(Datum, Oid relid) {
  if (relid == InvalidOid || relid == g_audit.relid) g_audit.checked = false;
}

// Can the direct insert be used? Our own column layout (these 8 columns, of these
// types) plus the one eligibility check every direct writer uses,
// direct_insert_supported(): constraints an operator adds (NOT NULL, CHECK) are
// enforced by direct_insert_tuple() itself; triggers, rules, row-level security
// and anything else unusual make audit() fall back to an INSERT through SPI.
void check_audit_rel() {
  if (!g_audit.callback) {
    nova::pg::register_relcache_callback(invalidate_cb, (Datum)0);
    g_audit.callback = true;
  }
  g_audit.checked = true;
  g_audit.usable = false;
  Oid nsp = get_namespace_oid("nova", true);
  if (!OidIsValid(nsp)) return;
  g_audit.relid = get_relname_relid("audit_log", nsp);
  g_audit.seq = get_relname_relid("audit_log_id_seq", nsp);
  if (!OidIsValid(g_audit.relid) || !OidIsValid(g_audit.seq)) return;
  Relation rel = table_open(g_audit.relid, AccessShareLock);
  TupleDesc desc = RelationGetDescr(rel);
  bool ok = desc->natts == kAuditCols;
  for (int i = 0; ok && i < desc->natts; i++) {
    Form_pg_attribute att = TupleDescAttr(desc, i);
    ok = !att->attisdropped && strcmp(NameStr(att->attname), kAuditNames[i]) == 0;
  }
  if (ok) {
    static const Oid kTypes[kAuditCols] = {INT8OID, TIMESTAMPTZOID, TEXTOID, TEXTOID, JSONBOID, TEXTOID, TEXTOID, INT8OID};
    for (int i = 0; i < kAuditCols; i++)
      if (TupleDescAttr(desc, i)->atttypid != kTypes[i]) ok = false;
  }
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

struct SpiInsert {
  Datum *vals;
  bool *nulls;
};

// Fallback, as the extension owner with search_path pinned (run_as); every name qualified.
void audit_spi(void *p) {
  auto *a = static_cast<SpiInsert *>(p);
  Oid types[6] = {TIMESTAMPTZOID, TEXTOID, TEXTOID, JSONBOID, TEXTOID, TEXTOID};
  Oid types7[7] = {types[0], types[1], types[2], types[3], types[4], types[5], INT8OID};
  int cols[7] = {kAt, kAction, kTable, kPk, kActor, kCorrelation, kOp};
  Datum values[7];
  char nulls[8];
  for (int i = 0; i < 7; i++) {
    values[i] = a->vals[cols[i]];
    nulls[i] = a->nulls[cols[i]] ? 'n' : ' ';
  }
  nulls[7] = '\0';
  // Its own SPI connection: callers need not be connected (the soft delete's direct path is not).
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "nova: SPI_connect failed");
  int rc = SPI_execute_with_args(
      "INSERT INTO nova.audit_log (at, action, table_name, pk, actor, correlation_id, operation_id) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7)",
      7, types7, values, nulls, false, 0);
  if (rc != SPI_OK_INSERT) elog(ERROR, "nova: writing nova.audit_log failed: %s", SPI_result_code_string(rc));
  SPI_finish();
}

}  // namespace

void audit(Table *t, const char *action, HeapTuple tup, TupleDesc desc, const char *actor, int64 op, bool op_null) {
  if (!t->audit) return;
  const char *corr = nova::pg::current_correlation_id();  // the id outbox events of this transaction carry
  Datum vals[kAuditCols];
  bool nulls[kAuditCols];
  memset(nulls, 0, sizeof(nulls));
  vals[kId] = (Datum)0;
  vals[kAt] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
  vals[kAction] = CStringGetTextDatum(action);
  vals[kTable] = CStringGetTextDatum(t->qualname);
  vals[kPk] = pk_jsonb(t, tup, desc);
  if (actor) vals[kActor] = CStringGetTextDatum(actor); else nulls[kActor] = true;
  if (corr) vals[kCorrelation] = CStringGetTextDatum(corr); else nulls[kCorrelation] = true;
  vals[kOp] = Int64GetDatum(op);
  nulls[kOp] = op_null;
  if (audit_direct(vals, nulls)) return;
  SpiInsert a = {vals, nulls};
  nova::pg::run_as(nova::pg::extension_owner(), audit_spi, &a);
}

}  // namespace nova::pg::sd
