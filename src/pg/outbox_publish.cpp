// nova.publish(topic, key, event_type, payload, headers): an explicit outbox
// event in the caller's transaction (SPEC §3). Granted to nova_service; the
// caller needs no privilege on nova.outbox.
#include "pg/outbox.h"

extern "C" {
#include "utils/builtins.h"
#include "utils/uuid.h"
}

#include "core/outbox_names.h"
#include "pg/boundary.h"

namespace {

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
  PG_RETURN_UUID_P(nova::pg::outbox::write(e));
}
