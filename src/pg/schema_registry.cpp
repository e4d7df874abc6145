// Event-schema registry (docs/schemas.md): nova.register_schema, nova.check_schema,
// nova.validate_event and the outbox hook schema_check_event().
//
// Storage is nova.event_schemas (src/sql/70_schemas.sql). Each backend keeps the
// latest version of every event type compiled in a C++ map. A statement trigger
// on the table sends a relcache invalidation for it on every change; our relcache
// callback drops the map, and the next event reloads it with one heap scan. In
// the steady state a write costs one map lookup (nothing when no schema exists).
//
// Code layout follows the boundary rules: functions touching PostgreSQL keep only
// plain data on their frames; C++ work happens in helpers that return plain data
// or run their PostgreSQL calls under guard().
#include "pg/catalog_version.h"
#include "pg/schema_api.h"
#include "pg/module.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json_schema.h"
#include "core/schema_compat.h"
#include "pg/boundary.h"
#include "pg/guc.h"

extern "C" {
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/numeric.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
}

namespace nova::pg {

namespace {

using nova::schema::Compatibility;
using nova::schema::CompatViolation;
using nova::schema::json;
using nova::schema::Schema;

constexpr int kMaxEventTypeBytes = 255;
constexpr size_t kMaxDetailViolations = 50;

// ---------------------------------------------------------------------------
// Reading nova.event_schemas (PostgreSQL only; plain data, palloc'd).

struct SchemaRow {
  char *event_type;
  int32 version;
  char *schema_text;
  char *compatibility;
};

struct RowSet {
  SchemaRow *rows;
  int n;
};

// Bumped by the relcache callback; a load is kept only if no invalidation arrived meanwhile.
uint64 g_generation = 0;
Oid g_relid = InvalidOid;

Oid registry_relid(bool missing_ok) {
  Oid nsp = get_namespace_oid("nova", true);
  Oid relid = OidIsValid(nsp) ? get_relname_relid("event_schemas", nsp) : InvalidOid;
  if (!OidIsValid(relid) && !missing_ok)
    ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE), errmsg("nova.event_schemas does not exist"),
                    errhint("Run CREATE EXTENSION nova in this database.")));
  return relid;
}

// Rows of the registry (all, or one event type), in version order per type, read
// with a fresh snapshot so committed registrations are always seen.
// *generation receives g_generation after the table was opened (invalidations processed).
RowSet scan_rows(Oid relid, const char *event_type, uint64 *generation) {
  Relation rel = table_open(relid, AccessShareLock);
  if (generation) *generation = g_generation;
  TupleDesc desc = RelationGetDescr(rel);
  int att_type = SPI_fnumber(desc, "event_type"), att_version = SPI_fnumber(desc, "version"),
      att_schema = SPI_fnumber(desc, "schema"), att_compat = SPI_fnumber(desc, "compatibility");
  if (att_type <= 0 || att_version <= 0 || att_schema <= 0 || att_compat <= 0)
    ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                    errmsg("nova.event_schemas is missing one of its columns")));
  Snapshot snap = RegisterSnapshot(GetLatestSnapshot());
  TableScanDesc scan = table_beginscan(rel, snap, 0, nullptr);
  TupleTableSlot *slot = table_slot_create(rel, nullptr);
  int cap = 16, n = 0;
  SchemaRow *rows = static_cast<SchemaRow *>(palloc(sizeof(SchemaRow) * cap));
  while (table_scan_getnextslot(scan, ForwardScanDirection, slot)) {
    bool null_type, null_version, null_schema, null_compat;
    Datum d_type = slot_getattr(slot, att_type, &null_type);
    Datum d_version = slot_getattr(slot, att_version, &null_version);
    Datum d_schema = slot_getattr(slot, att_schema, &null_schema);
    Datum d_compat = slot_getattr(slot, att_compat, &null_compat);
    if (null_type || null_version || null_schema) continue;
    char *type = TextDatumGetCString(d_type);
    if (event_type && strcmp(type, event_type) != 0) {
      pfree(type);
      continue;
    }
    if (n == cap) {
      cap *= 2;
      rows = static_cast<SchemaRow *>(repalloc(rows, sizeof(SchemaRow) * cap));
    }
    Jsonb *jb = DatumGetJsonbP(d_schema);
    rows[n].event_type = type;
    rows[n].version = DatumGetInt32(d_version);
    rows[n].schema_text = JsonbToCString(nullptr, &jb->root, VARSIZE(jb));
    rows[n].compatibility = null_compat ? pstrdup("BACKWARD") : TextDatumGetCString(d_compat);
    n++;
  }
  ExecDropSingleTupleTableSlot(slot);
  table_endscan(scan);
  UnregisterSnapshot(snap);
  table_close(rel, AccessShareLock);
  // Sort by (event_type, version): insertion sort, the registry is small.
  for (int i = 1; i < n; i++) {
    SchemaRow r = rows[i];
    int j = i - 1;
    while (j >= 0 && (strcmp(rows[j].event_type, r.event_type) > 0 ||
                      (strcmp(rows[j].event_type, r.event_type) == 0 && rows[j].version > r.version))) {
      rows[j + 1] = rows[j];
      j--;
    }
    rows[j + 1] = r;
  }
  return RowSet{rows, n};
}

// ---------------------------------------------------------------------------
// The per-backend cache: latest version of each event type, compiled.

struct CachedSchema {
  int32 version = 0;
  std::optional<Schema> schema;  // nullopt when the stored document does not compile
  std::string error;             // why it does not compile
};
using Cache = std::map<std::string, CachedSchema, std::less<>>;

Cache *g_cache = nullptr;  // heap-allocated once, never freed
bool g_valid = false;
bool g_callback_registered = false;

void relcache_callback(Datum, Oid relid) {
  if (relid == InvalidOid || relid == g_relid) {
    g_valid = false;
    g_generation++;
  }
}

// Rebuild the map from rows. Returns false (and leaves the old map) when C++ failed (out of memory).
bool build_cache(const RowSet &rs, char *errbuf, size_t errlen) noexcept {
  try {
    if (!g_cache) g_cache = new Cache();
    Cache fresh;
    for (int i = 0; i < rs.n; i++) {
      const SchemaRow &r = rs.rows[i];
      if (i + 1 < rs.n && strcmp(rs.rows[i + 1].event_type, r.event_type) == 0) continue;  // not the latest
      CachedSchema entry;
      entry.version = r.version;
      try {
        entry.schema = Schema::parse(r.schema_text);
      } catch (const nova::Error &e) {
        entry.error = e.what();
      }
      fresh.emplace(r.event_type, std::move(entry));
    }
    g_cache->swap(fresh);
    return true;
  } catch (const std::exception &e) {
    snprintf(errbuf, errlen, "%s", e.what());
  } catch (...) {
    snprintf(errbuf, errlen, "unknown C++ exception");
  }
  return false;
}

void ensure_cache() {
  if (g_valid) return;
  if (!g_callback_registered) {
    nova::pg::register_relcache_callback(relcache_callback, (Datum)0);
    g_callback_registered = true;
  }
  Oid relid = registry_relid(true);
  char errbuf[256];
  if (!OidIsValid(relid)) {  // extension not installed here: nothing to validate, look again next time
    if (g_cache) g_cache->clear();
    return;
  }
  g_relid = relid;
  MemoryContext tmp = AllocSetContextCreate(CurrentMemoryContext, "nova schema cache load", ALLOCSET_DEFAULT_SIZES);
  MemoryContext old = MemoryContextSwitchTo(tmp);
  uint64 generation = 0;
  RowSet rows = scan_rows(relid, nullptr, &generation);
  MemoryContextSwitchTo(old);
  bool ok = build_cache(rows, errbuf, sizeof errbuf);
  MemoryContextDelete(tmp);
  if (!ok)
    ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("could not load the event schema cache: %s", errbuf)));
  if (generation == g_generation) g_valid = true;
}

const CachedSchema *lookup(const char *event_type) noexcept {
  if (!g_cache) return nullptr;
  auto it = g_cache->find(std::string_view(event_type));
  return it == g_cache->end() ? nullptr : &it->second;
}

// A jsonb number as nlohmann-json would have parsed its text: integers that fit
// int64/uint64 stay integers, everything else becomes a double (±inf beyond range).
void set_number(json *slot, const char *text) {
  bool integral = strpbrk(text, ".eE") == nullptr;
  if (integral) {
    errno = 0;
    char *end;
    long long ll = strtoll(text, &end, 10);
    if (errno == 0 && *end == '\0') {
      *slot = static_cast<int64_t>(ll);
      return;
    }
    if (text[0] != '-') {
      errno = 0;
      unsigned long long ull = strtoull(text, &end, 10);
      if (errno == 0 && *end == '\0') {
        *slot = static_cast<uint64_t>(ull);
        return;
      }
    }
  }
  *slot = strtod(text, nullptr);
}

// Build the payload as nlohmann-json straight from the jsonb iterator (no text
// round trip). The PostgreSQL calls here can only fail on out-of-memory; while
// they run, this frame holds only trivially destructible locals, and the caller
// runs it under guard(). nlohmann may throw (bad_alloc): the caller catches.
void build_json(Jsonb *jb, json *root) {
  JsonbIterator *it = JsonbIteratorInit(&jb->root);
  JsonbValue v;
  JsonbIteratorToken tok;
  int cap = 16, depth = 0;
  json **stack = static_cast<json **>(palloc(sizeof(json *) * cap));
  json *pending = nullptr;  // the object member the next value goes to (set by WJB_KEY)
  bool raw_scalar = false;
  while ((tok = JsonbIteratorNext(&it, &v, false)) != WJB_DONE) {
    if (tok == WJB_BEGIN_ARRAY || tok == WJB_BEGIN_OBJECT) {
      if (tok == WJB_BEGIN_ARRAY && v.val.array.rawScalar) {
        raw_scalar = true;
        continue;
      }
      if (depth == cap) {
        cap *= 2;
        stack = static_cast<json **>(repalloc(stack, sizeof(json *) * cap));
      }
      json *slot = depth == 0 ? root : stack[depth - 1]->is_array() ? &stack[depth - 1]->emplace_back() : pending;
      *slot = tok == WJB_BEGIN_ARRAY ? json::array() : json::object();
      stack[depth++] = slot;
    } else if (tok == WJB_END_ARRAY || tok == WJB_END_OBJECT) {
      if (depth > 0) depth--;
    } else if (tok == WJB_KEY) {
      pending = &(*stack[depth - 1])[std::string(v.val.string.val, v.val.string.len)];
    } else if (tok == WJB_VALUE || tok == WJB_ELEM) {
      json *slot = tok == WJB_VALUE ? pending : (raw_scalar && depth == 0) ? root : &stack[depth - 1]->emplace_back();
      switch (v.type) {
        case jbvNull: *slot = nullptr; break;
        case jbvBool: *slot = static_cast<bool>(v.val.boolean); break;
        case jbvString: *slot = std::string(v.val.string.val, v.val.string.len); break;
        case jbvNumeric: {
          char *text = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v.val.numeric)));
          set_number(slot, text);
          pfree(text);
          break;
        }
        default: break;
      }
    }
  }
  pfree(stack);
}

enum class Check { kValid, kInvalid, kFailed, kPgError };

// Validate a payload against an entry. kInvalid/kFailed write a message into
// out; kPgError hands back a PostgreSQL error to re-raise.
Check validate_payload(const CachedSchema *entry, Jsonb *payload, char *out, size_t outlen,
                       ErrorData **pg_error) noexcept {
  try {
    json instance;
    bool failed = false;
    guard([&] {
      try {
        build_json(payload, &instance);
      } catch (const std::exception &e) {
        failed = true;
        snprintf(out, outlen, "%s", e.what());
      } catch (...) {
        failed = true;
        snprintf(out, outlen, "unknown C++ exception");
      }
    });
    if (failed) return Check::kFailed;
    auto v = entry->schema->validate(instance);
    if (!v) return Check::kValid;
    snprintf(out, outlen, "%s", v->to_string().c_str());
    return Check::kInvalid;
  } catch (const PgError &e) {
    *pg_error = e.edata();
    return Check::kPgError;
  } catch (const std::exception &e) {
    snprintf(out, outlen, "%s", e.what());
  } catch (...) {
    snprintf(out, outlen, "unknown C++ exception");
  }
  return Check::kFailed;
}

// ---------------------------------------------------------------------------
// SQL helpers.

char *text_arg(FunctionCallInfo fcinfo, int n, const char *name) {
  if (PG_ARGISNULL(n))
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("%s must not be null", name)));
  return text_to_cstring(PG_GETARG_TEXT_PP(n));
}

char *event_type_arg(FunctionCallInfo fcinfo, int n) {
  char *t = text_arg(fcinfo, n, "event_type");
  if (t[0] == '\0' || strlen(t) > kMaxEventTypeBytes)
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("event_type must be between 1 and %d bytes long", kMaxEventTypeBytes)));
  return t;
}

char *jsonb_arg_text(FunctionCallInfo fcinfo, int n, const char *name) {
  if (PG_ARGISNULL(n))
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("%s must not be null", name)));
  Jsonb *jb = PG_GETARG_JSONB_P(n);
  return JsonbToCString(nullptr, &jb->root, VARSIZE(jb));
}

// Compile the prior versions of one event type (rows in version order).
struct Prior {
  std::vector<Schema> schemas;
  std::vector<nova::schema::PriorVersion> versions;
  Compatibility latest_mode = Compatibility::kBackward;
  json latest_document;
  int32 latest_version = 0;
};

Prior compile_prior(const RowSet &rs, const char *event_type) {
  Prior p;
  p.schemas.reserve(rs.n);
  for (int i = 0; i < rs.n; i++) {
    try {
      p.schemas.push_back(Schema::parse(rs.rows[i].schema_text));
    } catch (const nova::Error &e) {
      throw nova::Error(sqlstate::kInvalidObjectDefinition,
                        "registered schema for event type \"" + std::string(event_type) + "\" version " +
                            std::to_string(rs.rows[i].version) + " does not compile",
                        e.what(), "Register a corrected version with compatibility => 'NONE'.");
    }
  }
  for (int i = 0; i < rs.n; i++) p.versions.push_back({rs.rows[i].version, &p.schemas[i]});
  if (rs.n > 0) {
    p.latest_mode = nova::schema::parse_compatibility(rs.rows[rs.n - 1].compatibility);
    p.latest_document = p.schemas.back().document();
    p.latest_version = rs.rows[rs.n - 1].version;
  }
  return p;
}

std::string violations_detail(const std::vector<CompatViolation> &vs) {
  std::string detail;
  for (size_t i = 0; i < vs.size() && i < kMaxDetailViolations; i++) {
    if (i) detail += '\n';
    detail += vs[i].path + ": " + vs[i].change + ": " + vs[i].message;
  }
  if (vs.size() > kMaxDetailViolations)
    detail += "\n... and " + std::to_string(vs.size() - kMaxDetailViolations) + " more";
  return detail;
}

struct RegisterDecision {
  int32 existing_version;  // > 0: identical to the latest version, nothing to insert
  int32 new_version;
  const char *compatibility;  // static string
};

// C++ only: decide what register_schema does, or throw.
RegisterDecision decide_registration(const char *event_type, const char *schema_text, const char *compat_text,
                                     const RowSet &rs) {
  Compatibility mode = nova::schema::parse_compatibility(compat_text);
  Schema candidate = Schema::parse(schema_text);
  Prior prior = compile_prior(rs, event_type);
  RegisterDecision d{0, prior.latest_version + 1, nova::schema::compatibility_name(mode)};
  if (prior.latest_version > 0 && prior.latest_document == candidate.document()) {
    d.existing_version = prior.latest_version;
    return d;
  }
  auto vs = nova::schema::check_compatibility(candidate, prior.versions, mode);
  if (!vs.empty())
    throw nova::Error(sqlstate::kInvalidObjectDefinition,
                      "schema for event type \"" + std::string(event_type) + "\" is not " +
                          nova::schema::compatibility_name(mode) + " compatible (" + std::to_string(vs.size()) +
                          (vs.size() == 1 ? " breaking change)" : " breaking changes)"),
                      violations_detail(vs),
                      "Call nova.check_schema() to list the changes, make them compatible, or register with a "
                      "weaker compatibility mode.");
  return d;
}

// C++ only: the violations check_schema reports.
std::vector<CompatViolation> dry_run(const char *event_type, const char *schema_text, const RowSet &rs) {
  Schema candidate = Schema::parse(schema_text);
  Prior prior = compile_prior(rs, event_type);
  return nova::schema::check_compatibility(candidate, prior.versions, prior.latest_mode);
}

}  // namespace

// ---------------------------------------------------------------------------
// The outbox hook.

int32 schema_check_event(const char *event_type, Jsonb *payload) {
  int mode = nova_guc_validate_events;
  if (mode == NOVA_VALIDATE_OFF || payload == nullptr || event_type == nullptr) return 0;
  ensure_cache();
  const CachedSchema *entry = lookup(event_type);
  if (!entry) return 0;
  int elevel = mode == NOVA_VALIDATE_ERROR ? ERROR : WARNING;
  if (!entry->schema) {
    ereport(elevel, (errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
                     errmsg("registered schema for event type \"%s\" version %d does not compile", event_type,
                            entry->version),
                     errdetail_internal("%s", entry->error.c_str()),
                     errhint("Register a corrected version with nova.register_schema(..., compatibility => 'NONE').")));
    return 0;
  }
  char problem[1024];
  ErrorData *pg_error = nullptr;
  Check result = validate_payload(entry, payload, problem, sizeof problem, &pg_error);
  if (result == Check::kPgError) ReThrowError(pg_error);
  if (result == Check::kFailed)
    ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("event validation failed: %s", problem)));
  if (result == Check::kValid) return entry->version;
  ereport(elevel, (errcode(ERRCODE_CHECK_VIOLATION),
                   errmsg("event \"%s\" does not match its schema (version %d): %s", event_type, entry->version,
                          problem),
                   errhint(mode == NOVA_VALIDATE_ERROR
                               ? "Fix the payload or register a new schema version with nova.register_schema(); "
                                 "to only log invalid events, a superuser can set nova.validate_events = warn "
                                 "(e.g. ALTER ROLE ... SET)."
                               : "The event is written without a schema-version header.")));
  return 0;
}

}  // namespace nova::pg

using namespace nova::pg;

// nova.register_schema(event_type text, schema jsonb, compatibility text DEFAULT 'BACKWARD',
//                      force boolean DEFAULT false) → int  (1.0 called it with three arguments)
NOVA_FUNCTION(nova_register_schema) {
  char *event_type = event_type_arg(fcinfo, 0);
  char *schema_text = jsonb_arg_text(fcinfo, 1, "schema");
  char *compat = text_arg(fcinfo, 2, "compatibility");
  bool force = PG_NARGS() > 3 && !PG_ARGISNULL(3) && PG_GETARG_BOOL(3);
  Oid relid = registry_relid(false);
  // One registration at a time (readers are not blocked): versions are dense and checked against the latest.
  LockRelationOid(relid, ShareRowExclusiveLock);
  RowSet rows = scan_rows(relid, event_type, nullptr);
  RegisterDecision d = decide_registration(event_type, schema_text, compat, rows);
  if (d.existing_version > 0) PG_RETURN_INT32(d.existing_version);

  if (SPI_connect() != SPI_OK_CONNECT) ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("SPI_connect failed")));
  if (!force && nova::pg::catalog_at_least("1.1")) {
    // A schema that rejects what is in the outbox or in the tables would break
    // the next write (docs/schemas.md, "Checked against current data"). A 1.0
    // catalog (before ALTER EXTENSION nova UPDATE) has no data check: 1.0 behaviour.
    Oid dtypes[2] = {TEXTOID, JSONBOID};
    Datum dvalues[2] = {CStringGetTextDatum(event_type), PG_GETARG_DATUM(1)};
    int drc = SPI_execute_with_args(
        "SELECT r.path, r.message FROM nova._schema_data_rejections($1, $2) r"
        " WHERE r.change OPERATOR(pg_catalog.=) 'REJECTS_CURRENT_DATA'",
        2, dtypes, dvalues, nullptr, true, 0);
    if (drc != SPI_OK_SELECT)
      ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("could not check current data: %s", SPI_result_code_string(drc))));
    if (SPI_processed > 0) {
      StringInfoData detail;
      initStringInfo(&detail);
      uint64 n = SPI_processed;
      for (uint64 i = 0; i < n && i < 5; i++)
        appendStringInfo(&detail, "%s%s: %s", i ? "\n" : "", SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1),
                         SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2));
      if (n > 5) appendStringInfo(&detail, "\n… and %llu more", static_cast<unsigned long long>(n - 5));
      ereport(ERROR, (errcode(ERRCODE_CHECK_VIOLATION),
                      errmsg("schema for event type \"%s\" rejects current data (%llu %s)", event_type,
                             static_cast<unsigned long long>(n), n == 1 ? "value" : "values"),
                      errdetail_internal("%s", detail.data),
                      errhint("Call nova.check_schema() to list them; fix the schema, or pass force => true to "
                              "register it anyway (writes of such rows will then fail).")));
    }
  }
  Oid types[4] = {TEXTOID, INT4OID, JSONBOID, TEXTOID};
  Datum values[4] = {CStringGetTextDatum(event_type), Int32GetDatum(d.new_version), PG_GETARG_DATUM(1),
                     CStringGetTextDatum(d.compatibility)};
  int rc = SPI_execute_with_args(
      "INSERT INTO nova.event_schemas (event_type, version, schema, compatibility) VALUES ($1, $2, $3, $4)", 4, types,
      values, nullptr, false, 0);
  if (rc != SPI_OK_INSERT)
    ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("could not insert the schema: %s", SPI_result_code_string(rc))));
  SPI_finish();
  PG_RETURN_INT32(d.new_version);
}

// nova.check_schema(event_type text, schema jsonb) → TABLE(path text, change text, message text)
NOVA_FUNCTION(nova_check_schema) {
  char *event_type = event_type_arg(fcinfo, 0);
  char *schema_text = jsonb_arg_text(fcinfo, 1, "schema");
  ReturnSetInfo *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
  if (rsinfo == nullptr || !IsA(rsinfo, ReturnSetInfo) || !(rsinfo->allowedModes & SFRM_Materialize))
    ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                    errmsg("nova.check_schema must be called in a context that accepts a set")));
  TupleDesc tupdesc;
  if (get_call_result_type(fcinfo, nullptr, &tupdesc) != TYPEFUNC_COMPOSITE)
    ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("return type must be a row type")));
  MemoryContext old = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
  Tuplestorestate *store = tuplestore_begin_heap(true, false, work_mem);
  tupdesc = CreateTupleDescCopy(tupdesc);
  MemoryContextSwitchTo(old);
  rsinfo->returnMode = SFRM_Materialize;
  rsinfo->setResult = store;
  rsinfo->setDesc = tupdesc;

  RowSet rows = scan_rows(registry_relid(false), event_type, nullptr);
  {
    std::vector<CompatViolation> vs = dry_run(event_type, schema_text, rows);
    guard([&] {
      for (const auto &v : vs) {
        Datum values[3] = {CStringGetTextDatum(v.path.c_str()), CStringGetTextDatum(v.change.c_str()),
                           CStringGetTextDatum(v.message.c_str())};
        bool nulls[3] = {false, false, false};
        tuplestore_putvalues(store, tupdesc, values, nulls);
      }
    });
  }
  // Then the current data the schema rejects (docs/schemas.md, "Checked against current data");
  // a 1.0 catalog (before ALTER EXTENSION nova UPDATE) has no data check.
  if (!nova::pg::catalog_at_least("1.1")) return (Datum)0;
  if (SPI_connect() != SPI_OK_CONNECT) ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("SPI_connect failed")));
  Oid dtypes[2] = {TEXTOID, JSONBOID};
  Datum dvalues[2] = {CStringGetTextDatum(event_type), PG_GETARG_DATUM(1)};
  int drc = SPI_execute_with_args("SELECT r.path, r.change, r.message FROM nova._schema_data_rejections($1, $2) r", 2,
                                  dtypes, dvalues, nullptr, true, 0);
  if (drc != SPI_OK_SELECT)
    ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("could not check current data: %s", SPI_result_code_string(drc))));
  for (uint64 i = 0; i < SPI_processed; i++) {
    Datum values[3];
    bool nulls[3];
    for (int c = 0; c < 3; c++) values[c] = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, c + 1, &nulls[c]);
    tuplestore_putvalues(store, tupdesc, values, nulls);
  }
  SPI_finish();
  return (Datum)0;
}

// nova.validate_event(event_type text, payload jsonb) → int: the outbox's check, callable directly.
NOVA_FUNCTION(nova_validate_event) {
  char *event_type = event_type_arg(fcinfo, 0);
  Jsonb *payload = PG_ARGISNULL(1) ? nullptr : PG_GETARG_JSONB_P(1);
  PG_RETURN_INT32(schema_check_event(event_type, payload));
}

// Statement trigger on nova.event_schemas: every backend drops its compiled schemas.
NOVA_FUNCTION(nova_event_schemas_invalidate) {
  if (!CALLED_AS_TRIGGER(fcinfo))
    ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED), errmsg("must be called as a trigger")));
  TriggerData *td = reinterpret_cast<TriggerData *>(fcinfo->context);
  CacheInvalidateRelcacheByRelid(RelationGetRelid(td->tg_relation));
  return PointerGetDatum(nullptr);
}

// nova._schema_violation(schema jsonb, payload jsonb) → text: "path: message" of the
// first way `payload` fails `schema`, NULL when it is valid. The last compiled
// schema is kept (nova._schema_data_rejections calls this once per sampled row).
NOVA_FUNCTION(nova_schema_violation) {
  char *schema_text = jsonb_arg_text(fcinfo, 0, "schema");
  char *payload_text = jsonb_arg_text(fcinfo, 1, "payload");
  char out[1100];
  out[0] = '\0';
  {
    static std::string cached_text;
    static std::shared_ptr<Schema> cached;
    if (!cached || cached_text != schema_text) {
      cached.reset();
      cached = std::make_shared<Schema>(Schema::parse(schema_text));
      cached_text = schema_text;
    }
    auto v = cached->validate(json::parse(payload_text));
    if (v) {
      std::string msg = nova::schema::utf8_truncate(v->to_string(), 1000);
      memcpy(out, msg.c_str(), msg.size() + 1);
    }
  }
  if (out[0] == '\0') PG_RETURN_NULL();
  PG_RETURN_TEXT_P(cstring_to_text(out));
}
