// nova.publish(topic, key, event_type, payload, headers): an explicit outbox
// event in the caller's transaction (docs/outbox.md). Executable by
// nova_service, but a caller may publish only to topics matching one of its
// publish grants (nova.grant_publish, table nova.publish_grants); superusers
// and the extension owner need none (docs/security.md). The caller needs no
// privilege on nova.outbox.
#include "pg/outbox.h"

#include <cstring>

extern "C" {
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/uuid.h"
}

#include "core/outbox_names.h"
#include "pg/boundary.h"
#include "pg/run_as.h"

namespace {

// Does a grant of `user` (or of a role whose privileges it has) match the topic?
// Read as the extension owner: services cannot read nova.publish_grants.
const char kGrantSql[] =
    "SELECT 1 FROM nova.publish_grants g "
    "WHERE pg_catalog.pg_has_role($1, g.grantee::pg_catalog.oid, 'USAGE') "
    "AND $2 OPERATOR(pg_catalog.~~) g.topic_pattern LIMIT 1";
SPIPlanPtr g_grant_plan = nullptr;  // SPI_keepplan'd

struct GrantQuery {
  Datum args[2];
  bool found;
};

void query_grant(void *arg) {
  GrantQuery *q = static_cast<GrantQuery *>(arg);
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "nova publish: SPI_connect failed");
  if (g_grant_plan == nullptr) {
    Oid types[2] = {OIDOID, TEXTOID};
    SPIPlanPtr plan = SPI_prepare(kGrantSql, 2, types);
    if (plan == nullptr) elog(ERROR, "nova publish: SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
    if (SPI_keepplan(plan) != 0) elog(ERROR, "nova publish: SPI_keepplan failed");
    g_grant_plan = plan;
  }
  int rc = SPI_execute_plan(g_grant_plan, q->args, nullptr, true, 1);
  if (rc != SPI_OK_SELECT) elog(ERROR, "nova publish: grant lookup failed: %s", SPI_result_code_string(rc));
  q->found = SPI_processed > 0;
  SPI_finish();
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

// ERROR 42501 unless the current user may publish to `topic`.
void check_publish_grant(const char *topic) {
  Oid user = GetUserId();
  if (superuser_arg(user)) return;
  Oid owner = nova::pg::extension_owner();
  if (has_privs_of_role(user, owner)) return;
  LocalTransactionId lxid = MyProc->lxid;
  TimestampTz stmt = GetCurrentStatementStartTimestamp();
  CommandId cid = GetCurrentCommandId(false);
  if (g_memo.lxid == lxid && g_memo.statement == stmt && g_memo.cid == cid && g_memo.user == user &&
      strcmp(g_memo.topic, topic) == 0)
    return;
  GrantQuery q;
  q.args[0] = ObjectIdGetDatum(user);
  q.args[1] = PointerGetDatum(cstring_to_text(topic));
  q.found = false;
  nova::pg::run_as(owner, query_grant, &q);
  if (!q.found)
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
