// The outbox write path: one INSERT into nova.outbox through a prepared plan
// kept for the life of the backend, executed as the extension owner; plus the
// commit hook that wakes the relay.
#include "pg/outbox.h"

extern "C" {
#include "access/xact.h"
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

#include "bgworker/relay_shared.h"
#include "pg/correlation.h"
#include "pg/identity.h"
#include "pg/module.h"
#include "pg/schema_api.h"

namespace nova::pg::outbox {

namespace {

constexpr int kNargs = 11;
const char kInsertSql[] =
    "INSERT INTO nova.outbox (event_id, topic, key, event_type, payload, headers, correlation_id, traceparent, "
    "actor, source, schema_version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";

SPIPlanPtr g_insert_plan = nullptr;   // SPI_keepplan'd; revalidated by the plan cache on DDL
Oid g_outbox_relid = InvalidOid;      // nova.outbox, and its owner (= the extension owner)
Oid g_outbox_owner = InvalidOid;
bool g_wake_at_commit = false;        // this transaction wrote at least one event
Jsonb *g_empty_object = nullptr;      // '{}' in TopMemoryContext

void relcache_callback(Datum, Oid relid) {
  if (relid == InvalidOid || relid == g_outbox_relid) {
    g_outbox_relid = InvalidOid;
    g_outbox_owner = InvalidOid;
  }
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
  CacheRegisterRelcacheCallback(relcache_callback, (Datum)0);
  RegisterXactCallback(xact_callback, nullptr);
}

Oid outbox_owner() {
  if (OidIsValid(g_outbox_owner)) return g_outbox_owner;
  Oid nsp = get_namespace_oid("nova", true);
  Oid relid = OidIsValid(nsp) ? get_relname_relid("outbox", nsp) : InvalidOid;
  if (!OidIsValid(relid))
    ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE), errmsg("nova.outbox does not exist"),
                    errhint("Is the nova extension installed in this database?")));
  HeapTuple tp = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
  if (!HeapTupleIsValid(tp)) elog(ERROR, "cache lookup failed for relation %u", relid);
  Oid owner = ((Form_pg_class)GETSTRUCT(tp))->relowner;
  ReleaseSysCache(tp);
  g_outbox_relid = relid;
  g_outbox_owner = owner;
  return owner;
}

Jsonb *empty_object() {
  if (g_empty_object == nullptr) {
    MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
    g_empty_object = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum("{}")));
    MemoryContextSwitchTo(old);
  }
  return g_empty_object;
}

pg_uuid_t *random_uuid() {
  pg_uuid_t *u = static_cast<pg_uuid_t *>(palloc(sizeof(pg_uuid_t)));
  if (!pg_strong_random(u->data, UUID_LEN))
    ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("could not generate a random event id")));
  u->data[6] = static_cast<unsigned char>((u->data[6] & 0x0f) | 0x40);
  u->data[8] = static_cast<unsigned char>((u->data[8] & 0x3f) | 0x80);
  return u;
}

Datum text_or_null(const char *s, char *nulls, int i) {
  if (s == nullptr) {
    nulls[i] = 'n';
    return (Datum)0;
  }
  return PointerGetDatum(cstring_to_text(s));
}

}  // namespace

NOVA_MODULE_INIT(outbox_write_init);

pg_uuid_t *write(const Event &ev) {
  // Everything that depends on the writer is computed before switching user.
  int32 schema_version = nova::pg::schema_check_event(ev.event_type, ev.payload);
  const char *correlation = nova::pg::current_correlation_id();
  const char *traceparent = nova::pg::current_traceparent();
  char *actor = nova::pg::current_actor();
  Oid owner = outbox_owner();
  pg_uuid_t *event_id = random_uuid();

  Datum values[kNargs];
  char nulls[kNargs + 1];
  memset(nulls, ' ', kNargs);
  nulls[kNargs] = '\0';
  values[0] = UUIDPGetDatum(event_id);
  values[1] = text_or_null(ev.topic, nulls, 1);
  values[2] = text_or_null(ev.key, nulls, 2);
  values[3] = text_or_null(ev.event_type, nulls, 3);
  if (ev.payload) {
    values[4] = JsonbPGetDatum(ev.payload);
  } else {
    values[4] = (Datum)0;
    nulls[4] = 'n';
  }
  values[5] = JsonbPGetDatum(ev.headers ? ev.headers : empty_object());
  values[6] = text_or_null(correlation, nulls, 6);
  values[7] = text_or_null(traceparent, nulls, 7);
  values[8] = text_or_null(actor, nulls, 8);
  values[9] = text_or_null(ev.source, nulls, 9);
  if (schema_version > 0) {
    values[10] = Int32GetDatum(schema_version);
  } else {
    values[10] = (Datum)0;
    nulls[10] = 'n';
  }

  Oid saved_user;
  int saved_sec;
  GetUserIdAndSecContext(&saved_user, &saved_sec);
  SetUserIdAndSecContext(owner, saved_sec | SECURITY_LOCAL_USERID_CHANGE);
  PG_TRY();
  {
    if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "nova outbox: SPI_connect failed");
    if (g_insert_plan == nullptr) {
      Oid types[kNargs] = {UUIDOID, TEXTOID, TEXTOID, TEXTOID, JSONBOID, JSONBOID,
                           TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT4OID};
      SPIPlanPtr plan = SPI_prepare(kInsertSql, kNargs, types);
      if (plan == nullptr) elog(ERROR, "nova outbox: SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
      if (SPI_keepplan(plan) != 0) elog(ERROR, "nova outbox: SPI_keepplan failed");
      g_insert_plan = plan;
    }
    int rc = SPI_execute_plan(g_insert_plan, values, nulls, false, 0);
    if (rc != SPI_OK_INSERT) elog(ERROR, "nova outbox: insert failed: %s", SPI_result_code_string(rc));
    SPI_finish();
  }
  PG_FINALLY();
  {
    SetUserIdAndSecContext(saved_user, saved_sec);
  }
  PG_END_TRY();
  g_wake_at_commit = true;
  return event_id;
}

}  // namespace nova::pg::outbox
