// Column values → JSON for outbox payloads and keys: like to_jsonb(row), with
// the per-column type lookups done once (cached) instead of once per row, and
// independent of the writer's session: timestamptz in UTC, floats in shortest
// round-trip form, intervals in PostgreSQL's default style, whatever TimeZone,
// DateStyle, IntervalStyle or extra_float_digits say (docs/outbox.md, type mapping).
#pragma once

extern "C" {
#include "postgres.h"
#include "access/tupdesc.h"
#include "fmgr.h"
#include "utils/jsonb.h"
}

namespace nova::pg::outbox {

enum class ColumnKind : uint8 {
  kBool, kInt2, kInt4, kInt8, kNumeric, kFloat4, kFloat8, kText, kDateTime, kTimestampTz, kInterval, kJsonb,
  kBytea, kOutput, kArray, kGeneric
};

struct Column {
  AttrNumber attnum;
  const char *name;  // in the cache's memory context
  int namelen;
  Oid typid;         // base type (domains looked through)
  int16 typlen;
  bool typbyval;
  ColumnKind kind;
  FmgrInfo out;       // type output function (keys, kOutput)
  FmgrInfo to_jsonb;  // to_jsonb bound to this column's type (kGeneric)
  // kArray: elements converted like a column of the element type.
  struct Column *elem;
  int16 elmlen;
  bool elmbyval;
  char elmalign;
};

// Fill `c` for attribute `att`; lookups and FmgrInfo state are allocated in `cxt`.
void column_init(Column *c, Form_pg_attribute att, MemoryContext cxt);

// Push one value (WJB_VALUE in an object, WJB_ELEM in an array).
void column_push(JsonbParseState **state, const Column *c, Datum value, bool isnull, JsonbIteratorToken seq);

// The value as text, for single-column keys: the type output function, except
// timestamptz (UTC, ISO 8601 as in payloads) and intervals (fixed style).
char *column_text(const Column *c, Datum value);

}  // namespace nova::pg::outbox
