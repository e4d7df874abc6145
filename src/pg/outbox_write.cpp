// The outbox write path, plus the commit hook that wakes the relay.
//
// Fast path: the row is formed here and inserted straight into the active
// partition (nova.outbox_<slot>) with heap_insert + index_insert, as catalog
// code does (src/pg/direct_insert.h) — no executor start-up or partition routing per event; this is
// what keeps the trigger within ~10% of a plain INSERT (docs/benchmarks.md).
// The row is still held to the partition's NOT NULL and CHECK constraints and
// its partition bound. Its layout map is cached per partition and dropped on
// relcache invalidation.
// Fallback (a partition layout this code does not know, anything
// direct_insert_supported() refuses: triggers, rules, row-level security, an
// index with expressions or deferred checks): an INSERT into nova.outbox
// through a prepared plan kept for the life of the backend, run as the
// extension owner through nova::pg::run_as. Either way the writer needs no
// privilege on nova.outbox.
//
// Every event is first held to nova.max_event_bytes (docs/outbox.md, "Size limit").
#include "pg/outbox.h"
#include "core/uuid.h"

extern "C" {
#include "access/genam.h"
#include "access/heapam.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/partition.h"
#include "commands/sequence.h"
#include "datatype/timestamp.h"
#include "executor/executor.h"
#include "nodes/execnodes.h"
#include "storage/lmgr.h"
#include "utils/rel.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
}

#include "pg/relay_state.h"
#include "pg/correlation.h"
#include "pg/direct_insert.h"
#include "pg/boundary.h"
#include "pg/guc.h"
#include "pg/identity.h"
#include "pg/metrics.h"
#include "pg/module.h"
#include "pg/run_as.h"
#include "pg/schema_api.h"
#include "pg/soft_delete_actor.h"

namespace nova::pg::outbox {

namespace {

constexpr int kNargs = 11;
const char kInsertSql[] =
    "INSERT INTO nova.outbox (event_id, topic, key, event_type, payload, headers, correlation_id, traceparent, "
    "actor, source, schema_version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";

// Columns of nova.outbox this code fills (see 00_base.sql).
enum Col {
  kId, kEventId, kTopic, kKey, kEventType, kPayload, kHeaders, kCorrelation, kTraceparent, kActor,
  kCreatedAt, kAttempts, kNextAttemptAt, kLastError, kSource, kSchemaVersion, kSlot, kNCols
};
const char *const kColNames[kNCols] = {
    "id",    "event_id",   "topic",    "key",      "event_type",      "payload",    "headers", "correlation_id",
    "traceparent", "actor", "created_at", "attempts", "next_attempt_at", "last_error", "source",  "schema_version",
    "slot"};
// Their types: the fast path forms the tuple from Datums of exactly these.
const Oid kColTypes[kNCols] = {INT8OID, UUIDOID, TEXTOID, TEXTOID, TEXTOID,        JSONBOID, JSONBOID, TEXTOID, TEXTOID,
                               TEXTOID, TIMESTAMPTZOID, INT4OID, TIMESTAMPTZOID, TEXTOID, TEXTOID, INT4OID, INT2OID};

// Layout of one partition for the fast path.
constexpr int kMaxAtts = 64;
struct Partition {
  bool checked;    // looked up since the last invalidation
  bool usable;     // the fast path may write into it
  Oid relid;
  int natts;
  int8 map[kMaxAtts];  // attribute index → Col, or -1 for a dropped column (NULL)
};
constexpr int kSlots = 2;
Partition g_parts[kSlots];
Oid g_seq_relid = InvalidOid;  // nova.outbox_id_seq

SPIPlanPtr g_insert_plan = nullptr;   // SPI_keepplan'd; revalidated by the plan cache on DDL
Oid g_outbox_relid = InvalidOid;      // nova.outbox, as last seen by check_partition()
bool g_wake_at_commit = false;        // this transaction wrote at least one event
Jsonb *g_empty_object = nullptr;      // '{}' in TopMemoryContext

void relcache_callback(Datum, Oid relid) {
  // A change to the parent (a trigger, a rule, row-level security) matters to
  // the partitions' eligibility as well.
  bool all = relid == InvalidOid || relid == g_outbox_relid;
  if (all) {
    g_outbox_relid = InvalidOid;
    g_seq_relid = InvalidOid;
  }
  for (Partition &p : g_parts)
    if (all || relid == p.relid) p.checked = false;
  invalidate_table_cache(relid);
}

void xact_callback(XactEvent event, void *) {
  switch (event) {
    case XACT_EVENT_COMMIT:
      if (g_wake_at_commit) {
        g_wake_at_commit = false;
        nova::relay::wake();
      }
      break;
    case XACT_EVENT_ABORT:
    case XACT_EVENT_PREPARE:  // committed later by COMMIT PREPARED; the relay's idle poll finds it
    case XACT_EVENT_PARALLEL_ABORT:
      g_wake_at_commit = false;
      break;
    default:
      break;
  }
}

void outbox_write_init() {
  nova::pg::register_relcache_callback(relcache_callback, (Datum)0);
  nova::pg::register_xact_callback(xact_callback, nullptr);
}

Jsonb *empty_object() {
  if (g_empty_object == nullptr) {
    MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
    g_empty_object = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum("{}")));
    MemoryContextSwitchTo(old);
  }
  return g_empty_object;
}

// Event ids come from the one UUIDv4 generator (src/core/uuid.h): a per-backend
// buffer of strong random bytes, no system call per event.
pg_uuid_t *random_uuid() {
  pg_uuid_t *u = static_cast<pg_uuid_t *>(palloc(sizeof(pg_uuid_t)));
  if (!nova::uuid::v4(u->data))  // the one UUIDv4 generator, src/core/uuid.h
    ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("could not generate a random event id")));
  return u;
}

int col_index(const char *name) {
  for (int c = 0; c < kNCols; c++)
    if (strcmp(name, kColNames[c]) == 0) return c;
  return -1;
}

// Can the fast path write into this partition? Every live column must be one we
// fill, of the type we fill it with, and direct_insert_supported() must accept
// the partition (the one eligibility check shared with the audit log writer).
void check_partition(Partition *p, int slot) {
  p->checked = true;
  p->usable = false;
  p->relid = InvalidOid;
  Oid nsp = get_namespace_oid("nova", true);
  if (!OidIsValid(nsp)) return;
  char name[NAMEDATALEN];
  snprintf(name, sizeof(name), "outbox_%d", slot);
  Oid relid = get_relname_relid(name, nsp);
  Oid parent = get_relname_relid("outbox", nsp);
  if (!OidIsValid(relid) || !OidIsValid(parent) || !get_rel_relispartition(relid) ||
      get_partition_parent(relid, false) != parent)
    return;
  p->relid = relid;
  g_outbox_relid = parent;
  // The eligibility check opens the parent too: lock it first, in the order an
  // INSERT into nova.outbox (and DDL on it) locks parent and partition.
  LockRelationOid(parent, AccessShareLock);
  Relation rel = table_open(relid, AccessShareLock);
  TupleDesc desc = RelationGetDescr(rel);
  bool ok = desc->natts <= kMaxAtts;
  bool seen[kNCols] = {false};
  for (int i = 0; ok && i < desc->natts; i++) {
    Form_pg_attribute att = TupleDescAttr(desc, i);
    if (att->attisdropped) {
      p->map[i] = -1;
      continue;
    }
    int c = col_index(NameStr(att->attname));
    if (c < 0 || seen[c] || att->atttypid != kColTypes[c]) ok = false;
    else {
      p->map[i] = static_cast<int8>(c);
      seen[c] = true;
    }
  }
  for (int c = 0; ok && c < kNCols; c++)
    if (!seen[c]) ok = false;
  if (ok) ok = direct_insert_supported(rel);
  p->natts = desc->natts;
  table_close(rel, AccessShareLock);
  UnlockRelationOid(parent, AccessShareLock);
  p->usable = ok;
}

// Insert straight into the active partition. False when the fast path cannot
// be used (nothing was written then).
bool direct_insert(Datum *vals, bool *nulls) {
  int slot = nova::relay::current_slot();
  if (slot < 0 || slot >= kSlots) return false;
  Partition *p = &g_parts[slot];
  if (!p->checked) check_partition(p, slot);
  if (!p->usable) return false;
  Oid relid = p->relid;
  Relation rel = table_open(relid, RowExclusiveLock);
  // Opening may have processed invalidations: re-check the layout.
  if (!p->checked) check_partition(p, slot);
  TupleDesc desc = RelationGetDescr(rel);
  if (!p->usable || p->relid != relid || p->natts != desc->natts) {
    table_close(rel, NoLock);
    return false;
  }
  if (!OidIsValid(g_seq_relid)) {
    Oid nsp = get_namespace_oid("nova", false);
    g_seq_relid = get_relname_relid("outbox_id_seq", nsp);
    if (!OidIsValid(g_seq_relid)) elog(ERROR, "nova.outbox_id_seq does not exist");
  }
  vals[kId] = Int64GetDatum(nextval_internal(g_seq_relid, false));
  nulls[kId] = false;
  vals[kSlot] = Int16GetDatum(static_cast<int16>(slot));
  nulls[kSlot] = false;

  Datum *v = static_cast<Datum *>(palloc(sizeof(Datum) * desc->natts));
  bool *n = static_cast<bool *>(palloc(sizeof(bool) * desc->natts));
  for (int i = 0; i < desc->natts; i++) {
    int c = p->map[i];
    v[i] = c < 0 ? (Datum)0 : vals[c];
    n[i] = c < 0 ? true : nulls[c];
  }
  HeapTuple tup = heap_form_tuple(desc, v, n);
  direct_insert_tuple(rel, tup);
  table_close(rel, NoLock);  // the lock is held until the end of the transaction
  return true;
}

struct SpiInsert {
  Datum values[kNargs];
  char nulls[kNargs + 1];
};

// Runs as the extension owner (run_as pins search_path; the SQL is schema-qualified anyway).
void spi_insert_as_owner(void *arg) {
  SpiInsert *in = static_cast<SpiInsert *>(arg);
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "nova outbox: SPI_connect failed");
  if (g_insert_plan == nullptr) {
    Oid types[kNargs] = {UUIDOID, TEXTOID, TEXTOID, TEXTOID, JSONBOID, JSONBOID,
                         TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT4OID};
    SPIPlanPtr plan = SPI_prepare(kInsertSql, kNargs, types);
    if (plan == nullptr) elog(ERROR, "nova outbox: SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
    if (SPI_keepplan(plan) != 0) elog(ERROR, "nova outbox: SPI_keepplan failed");
    g_insert_plan = plan;
  }
  int rc = SPI_execute_plan(g_insert_plan, in->values, in->nulls, false, 0);
  if (rc != SPI_OK_INSERT) elog(ERROR, "nova outbox: insert failed: %s", SPI_result_code_string(rc));
  SPI_finish();
}

void spi_insert(Datum *vals, bool *nulls) {
  static const Col kParamCols[kNargs] = {kEventId,     kTopic,       kKey,   kEventType, kPayload,      kHeaders,
                                         kCorrelation, kTraceparent, kActor, kSource,    kSchemaVersion};
  SpiInsert in;
  for (int i = 0; i < kNargs; i++) {
    in.values[i] = vals[kParamCols[i]];
    in.nulls[i] = nulls[kParamCols[i]] ? 'n' : ' ';
  }
  in.nulls[kNargs] = '\0';
  run_as(extension_owner(), spi_insert_as_owner, &in);
}

// ERROR 54000 when the event is larger than nova.max_event_bytes: key, payload
// and headers as stored (text bytes of the key, binary size of the jsonb values).
void check_size(const Event &ev) {
  int64 bytes = 0;
  if (ev.key) bytes += static_cast<int64>(strlen(ev.key));
  if (ev.payload) bytes += VARSIZE_ANY_EXHDR(ev.payload);
  if (ev.headers) bytes += VARSIZE_ANY_EXHDR(ev.headers);
  if (bytes > nova_guc_max_event_bytes)
    ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED), errmsg("outbox event is too large"),
                    errdetail("The %s event for topic \"%s\" has %lld bytes of key, payload and headers; "
                              "nova.max_event_bytes is %d.",
                              ev.event_type, ev.topic, static_cast<long long>(bytes), nova_guc_max_event_bytes),
                    errhint("Publish a reference to large data instead of the data itself.")));
}

// Tests and benchmarks can force the SPI path (nova._outbox_fast_path(false)).
bool g_fast_path = true;

}  // namespace

bool g_fast_path_flag() { return g_fast_path; }
void set_fast_path(bool on) { g_fast_path = on; }


NOVA_MODULE_INIT(outbox_write_init);

pg_uuid_t *write(const Event &ev) {
  check_size(ev);  // before anything expensive (schema validation) is done with it
  // Everything that depends on the writer is computed before writing.
  int32 schema_version = nova::pg::schema_check_event(ev.event_type, ev.payload);
  const char *correlation = nova::pg::current_correlation_id();
  const char *traceparent = nova::pg::current_traceparent();
  char *actor = nova::pg::soft_delete_actor() ? pstrdup(nova::pg::soft_delete_actor()) : nova::pg::current_actor();
  pg_uuid_t *event_id = random_uuid();

  Datum vals[kNCols];
  bool nulls[kNCols];
  for (int c = 0; c < kNCols; c++) {
    vals[c] = (Datum)0;
    nulls[c] = true;
  }
  auto set_text = [&](Col c, const char *s) {
    if (s) {
      vals[c] = PointerGetDatum(cstring_to_text(s));
      nulls[c] = false;
    }
  };
  vals[kEventId] = UUIDPGetDatum(event_id);
  nulls[kEventId] = false;
  set_text(kTopic, ev.topic);
  set_text(kKey, ev.key);
  set_text(kEventType, ev.event_type);
  if (ev.payload) {
    vals[kPayload] = JsonbPGetDatum(ev.payload);
    nulls[kPayload] = false;
  }
  vals[kHeaders] = JsonbPGetDatum(nova::pg::headers_with_tracestate(ev.headers ? ev.headers : empty_object()));
  nulls[kHeaders] = false;
  set_text(kCorrelation, correlation);
  set_text(kTraceparent, traceparent);
  set_text(kActor, actor);
  vals[kCreatedAt] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());  // now()
  nulls[kCreatedAt] = false;
  vals[kAttempts] = Int32GetDatum(0);
  nulls[kAttempts] = false;
  vals[kNextAttemptAt] = TimestampTzGetDatum(DT_NOBEGIN);  // '-infinity'
  nulls[kNextAttemptAt] = false;
  set_text(kSource, ev.source);
  if (schema_version > 0) {
    vals[kSchemaVersion] = Int32GetDatum(schema_version);
    nulls[kSchemaVersion] = false;
  }

  if (!g_fast_path || !direct_insert(vals, nulls)) spi_insert(vals, nulls);
  nova::metrics::outbox_written(ev.topic);
  g_wake_at_commit = true;
  return event_id;
}

}  // namespace nova::pg::outbox

// nova._outbox_fast_path(on bool) → bool: switch the direct partition insert on
// or off for this session (tests and benchmarks compare the two paths); returns
// the previous setting. Not granted to PUBLIC.
NOVA_FUNCTION(nova_outbox_fast_path) {
  bool prev = nova::pg::outbox::g_fast_path_flag();
  nova::pg::outbox::set_fast_path(PG_GETARG_BOOL(0));
  PG_RETURN_BOOL(prev);
}
