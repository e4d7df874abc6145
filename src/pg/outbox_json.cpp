// Column values → JSON; see outbox_json.h and docs/outbox.md (type mapping).
// The conversions follow PostgreSQL's to_jsonb() — booleans and finite numbers
// as JSON scalars, date/time types in ISO 8601, jsonb embedded, enums, composites
// and user types through to_jsonb itself — except where to_jsonb depends on the
// writer's session: timestamptz is rendered in UTC (not TimeZone), floats in
// shortest round-trip form (not extra_float_digits), intervals in the 'postgres'
// style (not IntervalStyle), bytea in hex form (not bytea_output), and arrays
// and date/time ranges of these types element by element with the same rules.
// Keys (column_text) follow the same rules; date and timestamp keys are ISO text
// as the default DateStyle prints them. Nothing here changes a GUC.
#include "pg/outbox_json.h"

#include <cmath>

extern "C" {
#include "access/transam.h"
#include "miscadmin.h"
#include "catalog/pg_type.h"
#include "common/shortest_dec.h"
#include "nodes/makefuncs.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/fmgroids.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/rangetypes.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"
}

namespace nova::pg::outbox {

namespace {

ColumnKind scalar_kind(Oid base) {
  switch (base) {
    case BOOLOID: return ColumnKind::kBool;
    case INT2OID: return ColumnKind::kInt2;
    case INT4OID: return ColumnKind::kInt4;
    case INT8OID: return ColumnKind::kInt8;
    case NUMERICOID: return ColumnKind::kNumeric;
    case FLOAT4OID: return ColumnKind::kFloat4;
    case FLOAT8OID: return ColumnKind::kFloat8;
    case TEXTOID:
    case VARCHAROID:
    case BPCHAROID: return ColumnKind::kText;
    case DATEOID:
    case TIMESTAMPOID: return ColumnKind::kDateTime;
    case TIMESTAMPTZOID: return ColumnKind::kTimestampTz;
    case INTERVALOID: return ColumnKind::kInterval;
    case JSONBOID: return ColumnKind::kJsonb;
    case JSONOID: return ColumnKind::kGeneric;
    case BYTEAOID: return ColumnKind::kBytea;
    default: break;
  }
  // Arrays, composites and non-built-in types (which may cast to json) go
  // through to_jsonb; other built-in scalars are their text output, as in to_jsonb.
  if (OidIsValid(get_element_type(base)) || type_is_rowtype(base) || base >= FirstNormalObjectId)
    return ColumnKind::kGeneric;
  return ColumnKind::kOutput;
}

bool is_datetime(ColumnKind k) { return k == ColumnKind::kDateTime || k == ColumnKind::kTimestampTz; }

void type_init(Column *c, Oid typid, int32 typmod, Oid collation, MemoryContext cxt) {
  Oid base = getBaseType(typid);
  c->typid = base;
  get_typlenbyval(base, &c->typlen, &c->typbyval);
  Oid outfunc;
  bool varlena;
  getTypeOutputInfo(base, &outfunc, &varlena);
  fmgr_info_cxt(outfunc, &c->out, cxt);
  c->kind = scalar_kind(base);
  c->elem = nullptr;

  Oid elemtype = get_element_type(base);
  if (OidIsValid(elemtype) && c->kind == ColumnKind::kGeneric) {
    // An array whose elements this file converts itself (not enums, composites, user types, json).
    ColumnKind ek = scalar_kind(getBaseType(elemtype));
    if (ek != ColumnKind::kGeneric) {
      c->elem = static_cast<Column *>(MemoryContextAllocZero(cxt, sizeof(Column)));
      c->elem->name = "";
      type_init(c->elem, elemtype, -1, collation, cxt);
      get_typlenbyvalalign(elemtype, &c->elmlen, &c->elmbyval, &c->elmalign);
      c->kind = ColumnKind::kArray;
    }
  } else if (c->kind == ColumnKind::kOutput && type_is_range(base)) {
    // tstzrange, tsrange, daterange: bounds like the payload's date/time values.
    TypeCacheEntry *tc = lookup_type_cache(base, TYPECACHE_RANGE_INFO);
    if (tc->rngelemtype && is_datetime(scalar_kind(tc->rngelemtype->type_id))) {
      c->elem = static_cast<Column *>(MemoryContextAllocZero(cxt, sizeof(Column)));
      c->elem->name = "";
      type_init(c->elem, tc->rngelemtype->type_id, -1, InvalidOid, cxt);
    }
  }
  if (c->kind == ColumnKind::kGeneric) {
    fmgr_info_cxt(F_TO_JSONB, &c->to_jsonb, cxt);
    // to_jsonb reads its argument's type from the call expression.
    Const *arg = makeNullConst(typid, typmod, collation);
    FuncExpr *fe = makeFuncExpr(F_TO_JSONB, JSONBOID, list_make1(arg), InvalidOid, InvalidOid, COERCE_EXPLICIT_CALL);
    fmgr_info_set_expr(reinterpret_cast<Node *>(fe), &c->to_jsonb);
  }
}

void set_string(JsonbValue *v, char *s, int len) {
  v->type = jbvString;
  v->val.string.val = s;
  v->val.string.len = len;
}

const int32 kUtc = 0;  // JsonEncodeDateTime: render timestamptz at this offset (UTC), not in TimeZone

char *datetime_text(const Column *c, Datum value) {
  return JsonEncodeDateTime(nullptr, value, c->typid, c->kind == ColumnKind::kTimestampTz ? &kUtc : nullptr);
}

// bytea as byteaout prints it with bytea_output = hex (the default): \x and two
// lower-case hex digits per byte.
char *bytea_text(Datum value) {
  bytea *b = DatumGetByteaPP(value);
  size_t len = VARSIZE_ANY_EXHDR(b);
  char *s = static_cast<char *>(palloc(len * 2 + 3));
  s[0] = '\\';
  s[1] = 'x';
  uint64 n = hex_encode(VARDATA_ANY(b), len, s + 2);
  s[2 + n] = '\0';
  return s;
}

// date and timestamp keys as their output functions print them with DateStyle
// ISO (the default), whatever the session's DateStyle.
char *datetime_key_text(const Column *c, Datum value) {
  char buf[MAXDATELEN + 1];
  struct pg_tm tm;
  if (c->typid == DATEOID) {
    DateADT d = DatumGetDateADT(value);
    if (DATE_NOT_FINITE(d)) {
      EncodeSpecialDate(d, buf);
    } else {
      j2date(d + POSTGRES_EPOCH_JDATE, &tm.tm_year, &tm.tm_mon, &tm.tm_mday);
      EncodeDateOnly(&tm, USE_ISO_DATES, buf);
    }
    return pstrdup(buf);
  }
  Timestamp ts = DatumGetTimestamp(value);
  fsec_t fsec;
  if (TIMESTAMP_NOT_FINITE(ts)) {
    EncodeSpecialTimestamp(ts, buf);
  } else if (timestamp2tm(ts, nullptr, &tm, &fsec, nullptr, nullptr) == 0) {
    EncodeDateTime(&tm, fsec, false, 0, nullptr, USE_ISO_DATES, buf);
  } else {
    ereport(ERROR, (errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE), errmsg("timestamp out of range")));
  }
  return pstrdup(buf);
}

// A float as float4out/float8out print it with extra_float_digits >= 1 (the
// default): shortest round-trip digits, NaN and infinities by name. buf: 32 bytes.
void shortest_float_text(double d, bool is_float4, char *buf) {
  if (is_float4)
    float_to_shortest_decimal_buf(static_cast<float>(d), buf);
  else
    double_to_shortest_decimal_buf(d, buf);
}

char *float_key_text(double d, bool is_float4) {
  char *buf = static_cast<char *>(palloc(32));
  shortest_float_text(d, is_float4, buf);
  return buf;
}

char *interval_text(Datum value) {
  struct pg_itm itm;
  char buf[MAXDATELEN + 1];
  interval2itm(*DatumGetIntervalP(value), &itm);
  EncodeInterval(&itm, INTSTYLE_POSTGRES, buf);
  return pstrdup(buf);
}

// A float as to_jsonb gives it with extra_float_digits >= 1 (the default):
// shortest round-trip digits as a JSON number; NaN and infinities as strings.
void float_value(JsonbValue *v, double d, bool is_float4) {
  if (std::isnan(d) || std::isinf(d)) {
    const char *s = std::isnan(d) ? "NaN" : (d > 0 ? "Infinity" : "-Infinity");
    set_string(v, pstrdup(s), static_cast<int>(strlen(s)));
    return;
  }
  char buf[32];
  shortest_float_text(d, is_float4, buf);
  v->type = jbvNumeric;
  v->val.numeric = DatumGetNumeric(
      DirectFunctionCall3(numeric_in, CStringGetDatum(buf), ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
}

void push_array_dim(JsonbParseState **state, const Column *elem, int dim, int ndim, const int *dims,
                    const Datum *elems, const bool *nulls, int *idx) {
  pushJsonbValue(state, WJB_BEGIN_ARRAY, nullptr);
  for (int i = 0; i < dims[dim]; i++) {
    if (dim + 1 < ndim) {
      push_array_dim(state, elem, dim + 1, ndim, dims, elems, nulls, idx);
    } else {
      column_push(state, elem, elems[*idx], nulls[*idx], WJB_ELEM);
      (*idx)++;
    }
  }
  pushJsonbValue(state, WJB_END_ARRAY, nullptr);
}

void push_array(JsonbParseState **state, const Column *c, Datum value) {
  ArrayType *arr = DatumGetArrayTypeP(value);
  int ndim = ARR_NDIM(arr);
  Datum *elems;
  bool *nulls;
  int n;
  deconstruct_array(arr, ARR_ELEMTYPE(arr), c->elmlen, c->elmbyval, c->elmalign, &elems, &nulls, &n);
  if (ndim <= 0 || n == 0) {
    pushJsonbValue(state, WJB_BEGIN_ARRAY, nullptr);
    pushJsonbValue(state, WJB_END_ARRAY, nullptr);
    return;
  }
  int idx = 0;
  push_array_dim(state, c->elem, 0, ndim, ARR_DIMS(arr), elems, nulls, &idx);
}

// A date/time range in range literal syntax, bounds as in payloads (no quoting
// needed: ISO 8601 with 'T' has no blanks, commas or brackets).
char *range_text(const Column *c, Datum value) {
  RangeType *r = DatumGetRangeTypeP(value);
  TypeCacheEntry *tc = lookup_type_cache(RangeTypeGetOid(r), TYPECACHE_RANGE_INFO);
  RangeBound lo, hi;
  bool empty;
  range_deserialize(tc, r, &lo, &hi, &empty);
  if (empty) return pstrdup(RANGE_EMPTY_LITERAL);
  StringInfoData s;
  initStringInfo(&s);
  appendStringInfoChar(&s, lo.inclusive ? '[' : '(');
  if (!lo.infinite) appendStringInfoString(&s, datetime_text(c->elem, lo.val));
  appendStringInfoChar(&s, ',');
  if (!hi.infinite) appendStringInfoString(&s, datetime_text(c->elem, hi.val));
  appendStringInfoChar(&s, hi.inclusive ? ']' : ')');
  return s.data;
}

}  // namespace

void column_init(Column *c, Form_pg_attribute att, MemoryContext cxt) {
  MemoryContext old = MemoryContextSwitchTo(cxt);
  c->attnum = att->attnum;
  c->name = pstrdup(NameStr(att->attname));
  c->namelen = static_cast<int>(strlen(c->name));
  type_init(c, att->atttypid, att->atttypmod, att->attcollation, cxt);
  c->typlen = att->attlen;
  c->typbyval = att->attbyval;
  MemoryContextSwitchTo(old);
}

void column_push(JsonbParseState **state, const Column *c, Datum value, bool isnull, JsonbIteratorToken seq) {
  JsonbValue v;
  if (isnull) {
    v.type = jbvNull;
    pushJsonbValue(state, seq, &v);
    return;
  }
  switch (c->kind) {
    case ColumnKind::kBool:
      v.type = jbvBool;
      v.val.boolean = DatumGetBool(value);
      break;
    case ColumnKind::kInt2:
      v.type = jbvNumeric;
      v.val.numeric = int64_to_numeric(DatumGetInt16(value));
      break;
    case ColumnKind::kInt4:
      v.type = jbvNumeric;
      v.val.numeric = int64_to_numeric(DatumGetInt32(value));
      break;
    case ColumnKind::kInt8:
      v.type = jbvNumeric;
      v.val.numeric = int64_to_numeric(DatumGetInt64(value));
      break;
    case ColumnKind::kNumeric: {
      Numeric n = DatumGetNumeric(value);
      if (numeric_is_nan(n) || numeric_is_inf(n)) {
        char *s = OutputFunctionCall(const_cast<FmgrInfo *>(&c->out), value);
        set_string(&v, s, static_cast<int>(strlen(s)));
      } else {
        v.type = jbvNumeric;
        v.val.numeric = n;
      }
      break;
    }
    case ColumnKind::kFloat4:
      float_value(&v, DatumGetFloat4(value), true);
      break;
    case ColumnKind::kFloat8:
      float_value(&v, DatumGetFloat8(value), false);
      break;
    case ColumnKind::kText: {
      text *t = DatumGetTextPP(value);
      set_string(&v, VARDATA_ANY(t), static_cast<int>(VARSIZE_ANY_EXHDR(t)));
      break;
    }
    case ColumnKind::kDateTime:
    case ColumnKind::kTimestampTz: {
      char *s = datetime_text(c, value);
      set_string(&v, s, static_cast<int>(strlen(s)));
      break;
    }
    case ColumnKind::kInterval: {
      char *s = interval_text(value);
      set_string(&v, s, static_cast<int>(strlen(s)));
      break;
    }
    case ColumnKind::kJsonb: {
      Jsonb *jb = DatumGetJsonbP(value);
      v.type = jbvBinary;
      v.val.binary.data = &jb->root;
      v.val.binary.len = static_cast<int>(VARSIZE(jb) - VARHDRSZ);
      break;
    }
    case ColumnKind::kBytea: {
      char *s = bytea_text(value);
      set_string(&v, s, static_cast<int>(strlen(s)));
      break;
    }
    case ColumnKind::kOutput: {
      char *s = c->elem ? range_text(c, value) : OutputFunctionCall(const_cast<FmgrInfo *>(&c->out), value);
      set_string(&v, s, static_cast<int>(strlen(s)));
      break;
    }
    case ColumnKind::kArray:
      push_array(state, c, value);
      return;  // pushed as a container, not as one value
    case ColumnKind::kGeneric: {
      Jsonb *jb = DatumGetJsonbP(FunctionCall1(const_cast<FmgrInfo *>(&c->to_jsonb), value));
      v.type = jbvBinary;
      v.val.binary.data = &jb->root;
      v.val.binary.len = static_cast<int>(VARSIZE(jb) - VARHDRSZ);
      break;
    }
  }
  pushJsonbValue(state, seq, &v);
}

char *column_text(const Column *c, Datum value) {
  switch (c->kind) {
    case ColumnKind::kText: return text_to_cstring(DatumGetTextPP(value));
    case ColumnKind::kTimestampTz: return datetime_text(c, value);
    case ColumnKind::kDateTime: return datetime_key_text(c, value);
    case ColumnKind::kFloat4: return float_key_text(DatumGetFloat4(value), true);
    case ColumnKind::kFloat8: return float_key_text(DatumGetFloat8(value), false);
    case ColumnKind::kBytea: return bytea_text(value);
    case ColumnKind::kInterval: return interval_text(value);
    default: return OutputFunctionCall(const_cast<FmgrInfo *>(&c->out), value);
  }
}

}  // namespace nova::pg::outbox
