// The outbox row trigger (docs/outbox.md): AFTER INSERT OR UPDATE OR DELETE FOR EACH ROW,
// installed by nova.enable_outbox(). Its configuration travels in the trigger's
// arguments (so partitions' cloned triggers carry it too) and is compiled once
// per relation into a backend-local cache, invalidated with the relcache: per
// row there is no catalog lookup, only the payload build and the insert.
//
// Trigger arguments (docs/outbox.md, "How the trigger is built"):
//   format 2 (1.1): '2', topic, entity, tombstones ('t'/'f'), headers (JSON object text), nkeys, keys…, excluded…
//   format 1 (1.0): '1', topic, entity, nkeys, keys…, excluded…  — still read: tables
//                   enabled under 1.0 keep working; they have no tombstones and no headers.
#include "pg/outbox.h"
#include "pg/outbox_json.h"

#include <algorithm>
#include <cstring>

extern "C" {
#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_trigger.h"
#include "commands/dbcommands.h"
#include "commands/trigger.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
}

#include "pg/boundary.h"
#include "pg/module.h"

namespace nova::pg::outbox {

namespace {

struct TableConfig {
  MemoryContext cxt;  // owns everything below
  Oid tgoid;          // the trigger this was compiled from
  Oid root;           // the table the outbox was enabled on (a partitioned parent for partitions)
  char *topic;
  char *source;       // db.schema.table of `root`
  char *ev_created, *ev_updated, *ev_deleted, *ev_restored, *ev_purged, *ev_snapshot;
  bool tombstones;    // a hard DELETE of a live row is followed by a tombstone
  Jsonb *headers;     // fixed headers of every event (nullptr = none)
  Jsonb *snapshot_headers;  // headers + {"snapshot": "true"}
  int nkeys;
  Column *keys;
  int ncols;
  Column *cols;          // payload columns: all live columns minus excluded ones
  AttrNumber deleted_at; // 0 when the table has no deleted_at column
};

struct CacheEntry {
  Oid relid;  // hash key
  bool valid;
  TableConfig *cfg;
};

HTAB *g_cache = nullptr;
// Replaced configurations stay alive until the transaction ends: a trigger
// call may still be using one when an invalidation arrives mid-call.
MemoryContext g_retired = nullptr;

}  // namespace

// Called from outbox_write.cpp's relcache callback (one registration for the
// whole outbox: PostgreSQL has only a few relcache callback slots).
void invalidate_table_cache(Oid relid) {
  if (g_cache == nullptr) return;
  HASH_SEQ_STATUS st;
  hash_seq_init(&st, g_cache);
  CacheEntry *e;
  while ((e = static_cast<CacheEntry *>(hash_seq_search(&st))) != nullptr) {
    if (relid == InvalidOid || e->relid == relid || (e->cfg && e->cfg->root == relid)) e->valid = false;
  }
}

namespace {

void xact_callback(XactEvent event, void *) {
  if ((event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT || event == XACT_EVENT_PREPARE) && g_retired &&
      g_retired->firstchild != nullptr)
    MemoryContextDeleteChildren(g_retired);
}

void outbox_trigger_init() {
  nova::pg::register_xact_callback(xact_callback, nullptr);
}

// The relation the outbox was enabled on: follow the cloned trigger up to the
// trigger without a parent (partitions' triggers are clones of their parent's).
Oid enabled_root(Oid relid, Oid tgoid) {
  Relation tgrel = table_open(TriggerRelationId, AccessShareLock);
  int depth = 0;
  while (OidIsValid(tgoid)) {
    if (++depth > 1000) elog(ERROR, "nova outbox: trigger parent chain too deep");
    ScanKeyData key;
    ScanKeyInit(&key, Anum_pg_trigger_oid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(tgoid));
    SysScanDesc scan = systable_beginscan(tgrel, TriggerOidIndexId, true, nullptr, 1, &key);
    HeapTuple tup = systable_getnext(scan);
    if (!HeapTupleIsValid(tup)) {
      systable_endscan(scan);
      break;
    }
    Form_pg_trigger tg = (Form_pg_trigger)GETSTRUCT(tup);
    relid = tg->tgrelid;
    tgoid = tg->tgparentid;
    systable_endscan(scan);
  }
  table_close(tgrel, AccessShareLock);
  return relid;
}

[[noreturn]] void bad_arguments(Relation rel) {
  ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                  errmsg("outbox trigger on \"%s\" has invalid arguments", RelationGetRelationName(rel)),
                  errhint("Run nova.enable_outbox() on the table again.")));
  pg_unreachable();
}

Jsonb *parse_headers(Relation rel, const char *text) {
  Jsonb *jb = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(text)));
  if (!JB_ROOT_IS_OBJECT(jb)) bad_arguments(rel);
  return jb;
}

TableConfig *compile(Relation rel, const Trigger *tg) {
  // `first` = index of nkeys in the arguments.
  int first;
  if (tg->tgnargs >= 4 && strcmp(tg->tgargs[0], "1") == 0)
    first = 3;
  else if (tg->tgnargs >= 6 && strcmp(tg->tgargs[0], "2") == 0 &&
           (strcmp(tg->tgargs[3], "t") == 0 || strcmp(tg->tgargs[3], "f") == 0))
    first = 5;
  else
    bad_arguments(rel);
  int nkeys = pg_strtoint32(tg->tgargs[first]);
  if (nkeys < 1 || first + 1 + nkeys > tg->tgnargs) bad_arguments(rel);

  MemoryContext cxt = AllocSetContextCreate(CacheMemoryContext, "nova outbox table", ALLOCSET_SMALL_SIZES);
  MemoryContextSetIdentifier(cxt, MemoryContextStrdup(cxt, RelationGetRelationName(rel)));
  TableConfig *cfg = static_cast<TableConfig *>(MemoryContextAllocZero(cxt, sizeof(TableConfig)));
  cfg->cxt = cxt;
  cfg->tgoid = tg->tgoid;
  PG_TRY();
  {
    TupleDesc desc = RelationGetDescr(rel);
    const char *entity = tg->tgargs[2];
    cfg->topic = MemoryContextStrdup(cxt, tg->tgargs[1]);
    cfg->ev_created = psprintf("%sCreated", entity);
    cfg->ev_updated = psprintf("%sUpdated", entity);
    cfg->ev_deleted = psprintf("%sDeleted", entity);
    cfg->ev_restored = psprintf("%sRestored", entity);
    cfg->ev_purged = psprintf("%sPurged", entity);
    cfg->ev_snapshot = psprintf("%sSnapshot", entity);
    for (char **p : {&cfg->ev_created, &cfg->ev_updated, &cfg->ev_deleted, &cfg->ev_restored, &cfg->ev_purged,
                     &cfg->ev_snapshot})
      *p = MemoryContextStrdup(cxt, *p);
    cfg->tombstones = first == 5 && strcmp(tg->tgargs[3], "t") == 0;
    Jsonb *hdr = first == 5 ? parse_headers(rel, tg->tgargs[4]) : nullptr;
    if (hdr && JB_ROOT_COUNT(hdr) == 0) hdr = nullptr;
    Jsonb *snap = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum("{\"snapshot\": \"true\"}")));
    if (hdr) snap = DatumGetJsonbP(DirectFunctionCall2(jsonb_concat, JsonbPGetDatum(hdr), JsonbPGetDatum(snap)));
    MemoryContext prev = MemoryContextSwitchTo(cxt);
    cfg->headers = hdr ? DatumGetJsonbP(datumCopy(JsonbPGetDatum(hdr), false, -1)) : nullptr;
    cfg->snapshot_headers = DatumGetJsonbP(datumCopy(JsonbPGetDatum(snap), false, -1));
    MemoryContextSwitchTo(prev);

    cfg->root = enabled_root(RelationGetRelid(rel), tg->tgoid);
    char *db = get_database_name(MyDatabaseId);
    char *nsp = get_namespace_name(get_rel_namespace(cfg->root));
    char *name = get_rel_name(cfg->root);
    if (!db || !nsp || !name) elog(ERROR, "nova outbox: cannot name relation %u", cfg->root);
    cfg->source = MemoryContextStrdup(cxt, psprintf("%s.%s.%s", db, nsp, name));

    cfg->nkeys = nkeys;
    cfg->keys = static_cast<Column *>(MemoryContextAllocZero(cxt, sizeof(Column) * nkeys));
    for (int k = 0; k < nkeys; k++) {
      const char *kname = tg->tgargs[first + 1 + k];
      int found = -1;
      for (int i = 0; i < desc->natts; i++) {
        Form_pg_attribute att = TupleDescAttr(desc, i);
        if (!att->attisdropped && strcmp(NameStr(att->attname), kname) == 0) found = i;
      }
      if (found < 0)
        ereport(ERROR, (errcode(ERRCODE_UNDEFINED_COLUMN),
                        errmsg("outbox key column \"%s\" of \"%s\" does not exist", kname,
                               RelationGetRelationName(rel)),
                        errhint("Run nova.enable_outbox() on the table again.")));
      column_init(&cfg->keys[k], TupleDescAttr(desc, found), cxt);
    }

    cfg->cols = static_cast<Column *>(MemoryContextAllocZero(cxt, sizeof(Column) * (desc->natts + 1)));
    for (int i = 0; i < desc->natts; i++) {
      Form_pg_attribute att = TupleDescAttr(desc, i);
      if (!att->attisdropped && strcmp(NameStr(att->attname), "deleted_at") == 0) cfg->deleted_at = att->attnum;
    }
    for (int i = 0; i < desc->natts; i++) {
      Form_pg_attribute att = TupleDescAttr(desc, i);
      if (att->attisdropped) continue;
      // deleted_op is soft delete's internal operation tag (which rows one DELETE
      // removed together), not part of the entity: it never leaves the database.
      bool excluded = cfg->deleted_at != 0 && strcmp(NameStr(att->attname), "deleted_op") == 0;
      for (int a = first + 1 + nkeys; a < tg->tgnargs; a++)
        if (strcmp(NameStr(att->attname), tg->tgargs[a]) == 0) excluded = true;
      if (excluded) continue;
      column_init(&cfg->cols[cfg->ncols++], att, cxt);
    }
    // Payload members in jsonb's own key order (shorter names first, then bytewise):
    // the object built from them is already sorted, so the sort jsonb runs when it
    // closes an object finds nothing to move (names of a table are unique).
    std::sort(cfg->cols, cfg->cols + cfg->ncols, [](const Column &a, const Column &b) {
      if (a.namelen != b.namelen) return a.namelen < b.namelen;
      return memcmp(a.name, b.name, static_cast<size_t>(a.namelen)) < 0;
    });
  }
  PG_CATCH();
  {
    MemoryContextDelete(cxt);
    PG_RE_THROW();
  }
  PG_END_TRY();
  return cfg;
}

TableConfig *lookup(Relation rel, const Trigger *tg) {
  if (g_cache == nullptr) {
    HASHCTL ctl;
    memset(&ctl, 0, sizeof(ctl));
    ctl.keysize = sizeof(Oid);
    ctl.entrysize = sizeof(CacheEntry);
    ctl.hcxt = CacheMemoryContext;
    g_cache = hash_create("nova outbox tables", 64, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
    g_retired = AllocSetContextCreate(CacheMemoryContext, "nova outbox retired", ALLOCSET_SMALL_SIZES);
  }
  Oid relid = RelationGetRelid(rel);
  bool found;
  CacheEntry *e = static_cast<CacheEntry *>(hash_search(g_cache, &relid, HASH_ENTER, &found));
  if (!found) {
    e->valid = false;
    e->cfg = nullptr;
  }
  if (e->valid && e->cfg && e->cfg->tgoid == tg->tgoid) return e->cfg;
  TableConfig *cfg = compile(rel, tg);
  // compile() may have processed invalidations; the entry itself stays put (dynahash).
  if (e->cfg) MemoryContextSetParent(e->cfg->cxt, g_retired);
  e->cfg = cfg;
  e->valid = true;
  return cfg;
}

Jsonb *row_payload(const TableConfig *cfg, const Datum *values, const bool *nulls) {
  JsonbParseState *state = nullptr;
  pushJsonbValue(&state, WJB_BEGIN_OBJECT, nullptr);
  for (int i = 0; i < cfg->ncols; i++) {
    const Column *c = &cfg->cols[i];
    JsonbValue k;
    k.type = jbvString;
    k.val.string.val = const_cast<char *>(c->name);
    k.val.string.len = c->namelen;
    pushJsonbValue(&state, WJB_KEY, &k);
    column_push(&state, c, values[c->attnum - 1], nulls[c->attnum - 1], WJB_VALUE);
  }
  JsonbValue *res = pushJsonbValue(&state, WJB_END_OBJECT, nullptr);
  return JsonbValueToJsonb(res);
}

// Single-column key: its text; composite key: a JSON array of the values.
char *row_key(const TableConfig *cfg, const Datum *values, const bool *nulls) {
  if (cfg->nkeys == 1) {
    const Column *c = &cfg->keys[0];
    if (nulls[c->attnum - 1]) return nullptr;
    return column_text(c, values[c->attnum - 1]);
  }
  JsonbParseState *state = nullptr;
  pushJsonbValue(&state, WJB_BEGIN_ARRAY, nullptr);
  for (int i = 0; i < cfg->nkeys; i++) {
    const Column *c = &cfg->keys[i];
    column_push(&state, c, values[c->attnum - 1], nulls[c->attnum - 1], WJB_ELEM);
  }
  JsonbValue *res = pushJsonbValue(&state, WJB_END_ARRAY, nullptr);
  Jsonb *jb = JsonbValueToJsonb(res);
  return JsonbToCString(nullptr, &jb->root, VARSIZE(jb));
}

bool payload_changed(const TableConfig *cfg, const Datum *ov, const bool *on, const Datum *nv, const bool *nn) {
  for (int i = 0; i < cfg->ncols; i++) {
    const Column *c = &cfg->cols[i];
    int a = c->attnum - 1;
    if (on[a] != nn[a]) return true;
    if (!on[a] && !datumIsEqual(ov[a], nv[a], c->typbyval, c->typlen)) return true;
  }
  return false;
}

}  // namespace

NOVA_MODULE_INIT(outbox_trigger_init);

bool write_snapshot_row(Relation rel, HeapTupleHeader row) {
  const Trigger *tg = nullptr;
  TriggerDesc *td = rel->trigdesc;
  for (int i = 0; td && i < td->numtriggers; i++)
    if (strcmp(td->triggers[i].tgname, "nova_outbox") == 0) tg = &td->triggers[i];
  if (tg == nullptr) return false;
  TableConfig *cfg = lookup(rel, tg);
  TupleDesc desc = RelationGetDescr(rel);
  HeapTupleData tup;
  tup.t_len = HeapTupleHeaderGetDatumLength(row);
  ItemPointerSetInvalid(&tup.t_self);
  tup.t_tableOid = RelationGetRelid(rel);
  tup.t_data = row;
  Datum *values = static_cast<Datum *>(palloc(sizeof(Datum) * desc->natts));
  bool *nulls = static_cast<bool *>(palloc(sizeof(bool) * desc->natts));
  heap_deform_tuple(&tup, desc, values, nulls);
  Event e;
  e.topic = cfg->topic;
  e.headers = cfg->snapshot_headers;
  e.source = cfg->source;
  e.event_type = cfg->ev_snapshot;
  e.payload = row_payload(cfg, values, nulls);
  e.key = row_key(cfg, values, nulls);
  write(e);
  return true;
}

}  // namespace nova::pg::outbox

// nova._outbox_trigger(): the row trigger installed by nova.enable_outbox().
NOVA_FUNCTION(nova_outbox_trigger) {
  using namespace nova::pg::outbox;
  if (!CALLED_AS_TRIGGER(fcinfo))
    ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                    errmsg("nova._outbox_trigger() must be called as a trigger")));
  TriggerData *td = reinterpret_cast<TriggerData *>(fcinfo->context);
  TriggerEvent ev = td->tg_event;
  if (!TRIGGER_FIRED_AFTER(ev) || !TRIGGER_FIRED_FOR_ROW(ev))
    ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                    errmsg("nova._outbox_trigger() must be an AFTER ... FOR EACH ROW trigger"),
                    errhint("Use nova.enable_outbox() to install it.")));
  Relation rel = td->tg_relation;
  TableConfig *cfg = lookup(rel, td->tg_trigger);
  TupleDesc desc = RelationGetDescr(rel);
  int natts = desc->natts;

  Datum *values = static_cast<Datum *>(palloc(sizeof(Datum) * natts));
  bool *nulls = static_cast<bool *>(palloc(sizeof(bool) * natts));
  Event e;
  e.topic = cfg->topic;
  e.headers = cfg->headers;
  e.source = cfg->source;
  e.payload = nullptr;

  if (TRIGGER_FIRED_BY_INSERT(ev)) {
    heap_deform_tuple(td->tg_trigtuple, desc, values, nulls);
    e.event_type = cfg->ev_created;
    e.payload = row_payload(cfg, values, nulls);
  } else if (TRIGGER_FIRED_BY_UPDATE(ev)) {
    Datum *ovalues = static_cast<Datum *>(palloc(sizeof(Datum) * natts));
    bool *onulls = static_cast<bool *>(palloc(sizeof(bool) * natts));
    heap_deform_tuple(td->tg_trigtuple, desc, ovalues, onulls);
    heap_deform_tuple(td->tg_newtuple, desc, values, nulls);
    e.event_type = cfg->ev_updated;
    if (cfg->deleted_at) {
      bool was_deleted = !onulls[cfg->deleted_at - 1];
      bool is_deleted = !nulls[cfg->deleted_at - 1];
      if (!was_deleted && is_deleted) e.event_type = cfg->ev_deleted;
      if (was_deleted && !is_deleted) e.event_type = cfg->ev_restored;
    }
    // An update that changes no published column publishes nothing.
    if (e.event_type == cfg->ev_updated && !payload_changed(cfg, ovalues, onulls, values, nulls))
      return PointerGetDatum(nullptr);
    e.payload = row_payload(cfg, values, nulls);
  } else if (TRIGGER_FIRED_BY_DELETE(ev)) {
    heap_deform_tuple(td->tg_trigtuple, desc, values, nulls);
    if (cfg->deleted_at && !nulls[cfg->deleted_at - 1]) {
      e.event_type = cfg->ev_purged;  // hard delete of a soft-deleted row: tombstone
      e.payload = nullptr;
    } else {
      e.event_type = cfg->ev_deleted;
      e.payload = row_payload(cfg, values, nulls);
      if (cfg->tombstones) {
        // Deleted (the old row), then a tombstone with the same key so that a
        // compacted topic forgets the row (docs/outbox.md, "Tombstones").
        e.key = row_key(cfg, values, nulls);
        write(e);
        e.event_type = cfg->ev_purged;
        e.payload = nullptr;
      }
    }
  } else {
    ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                    errmsg("nova._outbox_trigger() fires only on INSERT, UPDATE and DELETE")));
  }
  e.key = row_key(cfg, values, nulls);
  write(e);
  return PointerGetDatum(nullptr);
}
