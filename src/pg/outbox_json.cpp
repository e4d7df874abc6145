// Column values → JSON; see outbox_json.h. The conversions mirror PostgreSQL's
// to_jsonb(): booleans and finite numbers as JSON scalars, date/time types in
// ISO 8601, jsonb embedded, everything else through to_jsonb itself.
#include "pg/outbox_json.h"

extern "C" {
#include "access/transam.h"
#include "catalog/pg_type.h"
#include "nodes/makefuncs.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
}

namespace nova::pg::outbox {

void column_init(Column *c, Form_pg_attribute att, MemoryContext cxt) {
  MemoryContext old = MemoryContextSwitchTo(cxt);
  c->attnum = att->attnum;
  c->name = pstrdup(NameStr(att->attname));
  c->namelen = static_cast<int>(strlen(c->name));
  Oid base = getBaseType(att->atttypid);
  c->typid = base;
  c->typlen = att->attlen;
  c->typbyval = att->attbyval;
  Oid outfunc;
  bool varlena;
  getTypeOutputInfo(base, &outfunc, &varlena);
  fmgr_info_cxt(outfunc, &c->out, cxt);
  switch (base) {
    case BOOLOID: c->kind = ColumnKind::kBool; break;
    case INT2OID: c->kind = ColumnKind::kInt2; break;
    case INT4OID: c->kind = ColumnKind::kInt4; break;
    case INT8OID: c->kind = ColumnKind::kInt8; break;
    case NUMERICOID: c->kind = ColumnKind::kNumeric; break;
    case TEXTOID:
    case VARCHAROID:
    case BPCHAROID: c->kind = ColumnKind::kText; break;
    case DATEOID:
    case TIMESTAMPOID:
    case TIMESTAMPTZOID: c->kind = ColumnKind::kDateTime; break;
    case JSONBOID: c->kind = ColumnKind::kJsonb; break;
    case FLOAT4OID:
    case FLOAT8OID:
    case JSONOID: c->kind = ColumnKind::kGeneric; break;
    default:
      // Arrays, composites and non-built-in types (which may cast to json) go
      // through to_jsonb; other built-in scalars are their text output, as in to_jsonb.
      if (OidIsValid(get_element_type(base)) || type_is_rowtype(base) || base >= FirstNormalObjectId)
        c->kind = ColumnKind::kGeneric;
      else
        c->kind = ColumnKind::kOutput;
      break;
  }
  if (c->kind == ColumnKind::kGeneric) {
    fmgr_info_cxt(F_TO_JSONB, &c->to_jsonb, cxt);
    // to_jsonb reads its argument's type from the call expression.
    Const *arg = makeNullConst(att->atttypid, att->atttypmod, att->attcollation);
    FuncExpr *fe = makeFuncExpr(F_TO_JSONB, JSONBOID, list_make1(arg), InvalidOid, InvalidOid, COERCE_EXPLICIT_CALL);
    fmgr_info_set_expr(reinterpret_cast<Node *>(fe), &c->to_jsonb);
  }
  MemoryContextSwitchTo(old);
}

static void set_string(JsonbValue *v, char *s, int len) {
  v->type = jbvString;
  v->val.string.val = s;
  v->val.string.len = len;
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
    case ColumnKind::kText: {
      text *t = DatumGetTextPP(value);
      set_string(&v, VARDATA_ANY(t), static_cast<int>(VARSIZE_ANY_EXHDR(t)));
      break;
    }
    case ColumnKind::kDateTime: {
      char *s = JsonEncodeDateTime(nullptr, value, c->typid, nullptr);
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
    case ColumnKind::kOutput: {
      char *s = OutputFunctionCall(const_cast<FmgrInfo *>(&c->out), value);
      set_string(&v, s, static_cast<int>(strlen(s)));
      break;
    }
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
  if (c->kind == ColumnKind::kText) return text_to_cstring(DatumGetTextPP(value));
  return OutputFunctionCall(const_cast<FmgrInfo *>(&c->out), value);
}

}  // namespace nova::pg::outbox
