// nova.publish(topic, key, event_type, payload, headers): an explicit outbox
// event in the caller's transaction (docs/outbox.md). Executable by
// nova_service, but a caller may publish only to topics matching one of its
// publish grants (nova.grant_publish, table nova.publish_grants); superusers
// and the extension owner need none (docs/security.md). The caller needs no
// privilege on nova.outbox.
#include "pg/outbox.h"

#include <cstring>

extern "C" {
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/uuid.h"
}

#include "core/outbox_names.h"
#include "pg/boundary.h"
#include "pg/catalog_version.h"
#include "pg/run_as.h"

namespace {

// Does a grant of `user` (or of a role whose privileges it has) match the topic?
// nova.publish_grants is a handful of rows read directly (a table scan, no SQL,
// so no search_path, no role switch, no SPI); services cannot read it with SQL.
// Same test as pg_has_role(user, grantee, 'USAGE') AND topic LIKE topic_pattern.
bool grant_matches(Oid user, const char *topic) {
  Oid nsp = get_namespace_oid("nova", false);
  Oid relid = get_relname_relid("publish_grants", nsp);
  if (!OidIsValid(relid) || get_rel_relkind(relid) != RELKIND_RELATION)
    ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE), errmsg("nova.publish_grants does not exist"),
                    errhint("Run ALTER EXTENSION nova UPDATE.")));
  Relation rel = table_open(relid, AccessShareLock);
  TupleDesc desc = RelationGetDescr(rel);
  if (desc->natts < 2 || TupleDescAttr(desc, 0)->atttypid != REGROLEOID ||
      TupleDescAttr(desc, 1)->atttypid != TEXTOID)
    ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                    errmsg("nova.publish_grants does not have the columns (grantee regrole, topic_pattern text)")));
  Datum topic_text = PointerGetDatum(cstring_to_text(topic));
  Snapshot snapshot = ActiveSnapshotSet() ? GetActiveSnapshot() : GetTransactionSnapshot();
  TableScanDesc scan = table_beginscan(rel, snapshot, 0, nullptr);
  TupleTableSlot *slot = table_slot_create(rel, nullptr);
  bool found = false;
  while (!found && table_scan_getnextslot(scan, ForwardScanDirection, slot)) {
    bool null_grantee, null_pattern;
    Datum grantee = slot_getattr(slot, 1, &null_grantee);
    Datum pattern = slot_getattr(slot, 2, &null_pattern);
    if (null_grantee || null_pattern || !has_privs_of_role(user, DatumGetObjectId(grantee))) continue;
    found = DatumGetBool(DirectFunctionCall2Coll(textlike, DEFAULT_COLLATION_OID, topic_text, pattern));
  }
  ExecDropSingleTupleTableSlot(slot);
  table_endscan(scan);
  table_close(rel, AccessShareLock);
  return found;
}

// The last answer, valid for the same user and topic within one statement of
// one transaction (a statement publishing many events looks the grant up once;
// a grant or revoke seen by a later statement takes effect there).
struct GrantMemo {
  LocalTransactionId lxid;
  TimestampTz statement;
  CommandId cid;
  Oid user;
  char topic[256];  // topics are at most 249 bytes (core/outbox_names.h)
};
GrantMemo g_memo = {InvalidLocalTransactionId, 0, 0, InvalidOid, {0}};

// ERROR 42501 unless the current user may publish to `topic`. On a catalog not yet
// updated to 1.1 (no nova.publish_grants) a caller who needs a grant gets 55000
// naming ALTER EXTENSION nova UPDATE (docs/operations.md, "Upgrading").
void check_publish_grant(const char *topic) {
  Oid user = GetUserId();
  if (superuser_arg(user)) return;
  Oid owner = nova::pg::extension_owner();
  if (has_privs_of_role(user, owner)) return;
  nova::pg::require_catalog("1.1", "nova.publish by a role other than the extension owner (publish grants)");
  LocalTransactionId lxid = MyProc->lxid;
  TimestampTz stmt = GetCurrentStatementStartTimestamp();
  CommandId cid = GetCurrentCommandId(false);
  if (g_memo.lxid == lxid && g_memo.statement == stmt && g_memo.cid == cid && g_memo.user == user &&
      strcmp(g_memo.topic, topic) == 0)
    return;
  if (!grant_matches(user, topic))
    ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                    errmsg("permission denied to publish to topic \"%s\"", topic),
                    errdetail("Role \"%s\" has no publish grant matching the topic.", GetUserNameFromId(user, false)),
                    errhint("The extension owner grants it with nova.grant_publish(role, topic_pattern).")));
  if (strlen(topic) < sizeof(g_memo.topic)) {
    g_memo.lxid = lxid;
    g_memo.statement = stmt;
    g_memo.cid = cid;
    g_memo.user = user;
    strcpy(g_memo.topic, topic);
  }
}

// ERROR unless `headers` is a JSON object whose values are all strings.
void check_headers(Jsonb *headers) {
  if (!JB_ROOT_IS_OBJECT(headers) || JB_ROOT_IS_SCALAR(headers))
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("headers must be a JSON object"),
                    errhint("Pass headers as an object of string values, e.g. '{\"tenant\": \"acme\"}'.")));
  JsonbIterator *it = JsonbIteratorInit(&headers->root);
  JsonbValue v;
  JsonbIteratorToken tok;
  char *key = nullptr;
  while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE) {
    if (tok == WJB_KEY) {
      key = pnstrdup(v.val.string.val, v.val.string.len);
      if (v.val.string.len == 0)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("header names must not be empty")));
    } else if (tok == WJB_VALUE && v.type != jbvString) {
      ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("header values must be strings"),
                      errdetail("Header \"%s\" is not a JSON string.", key ? key : "")));
    }
  }
}

char *required_text(FunctionCallInfo fcinfo, int arg, const char *what) {
  if (PG_ARGISNULL(arg))
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("%s must not be null", what)));
  char *s = text_to_cstring(PG_GETARG_TEXT_PP(arg));
  if (s[0] == '\0') ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("%s must not be empty", what)));
  return s;
}

}  // namespace

NOVA_FUNCTION(nova_publish) {
  nova::pg::outbox::Event e;
  e.topic = required_text(fcinfo, 0, "topic");
  const char *problem = nova::outbox::topic_problem(e.topic);
  if (problem)
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("invalid topic: %s", problem),
                    errdetail("Topic: \"%s\".", e.topic)));
  e.key = PG_ARGISNULL(1) ? nullptr : text_to_cstring(PG_GETARG_TEXT_PP(1));
  e.event_type = required_text(fcinfo, 2, "event_type");
  e.payload = PG_ARGISNULL(3) ? nullptr : PG_GETARG_JSONB_P(3);
  e.headers = PG_ARGISNULL(4) ? nullptr : PG_GETARG_JSONB_P(4);
  if (e.headers) check_headers(e.headers);
  e.source = "publish";
  check_publish_grant(e.topic);
  PG_RETURN_UUID_P(nova::pg::outbox::write(e));
}
