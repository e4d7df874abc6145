// Correlation ids and trace context (docs/correlation.md): nova.correlation_id(),
// nova.traceparent(), nova.tracestate(), the C++ API in correlation.h, and the emit_log_hook that
// tags server log records with the correlation id the service supplied.
#include "pg/correlation.h"

#include <cstring>

extern "C" {
#include "common/hashfn.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
}

#include "core/correlation_rules.h"
#include "core/uuid.h"
#include "pg/boundary.h"
#include "pg/guc.h"
#include "pg/module.h"

namespace nova::pg {

namespace {

LocalTransactionId current_lxid() {
  if (MyProc == nullptr) return InvalidLocalTransactionId;
#if PG_VERSION_NUM >= 170000
  return MyProc->vxid.lxid;
#else
  return MyProc->lxid;
#endif
}

// ---- request.headers (PostgREST): parsed by src/core/correlation_rules ----------

using nova::correlation::HeaderStatus;
using ParsedHeaders = nova::correlation::RequestHeaders;

// The last valid request.headers value and what it yielded (parsed once per value).
char *g_headers_raw = nullptr;  // TopMemoryContext
ParsedHeaders g_headers;
// Transaction in which the header-derived correlation id was last used (for the log hook).
LocalTransactionId g_headers_used_lxid = InvalidLocalTransactionId;

// The parsed request.headers, or nullptr when the setting is absent or empty. ERROR when invalid.
const ParsedHeaders *request_headers() {
  const char *raw = GetConfigOption("request.headers", true, false);
  if (raw == nullptr || raw[0] == '\0') return nullptr;
  if (g_headers_raw && std::strcmp(g_headers_raw, raw) == 0) return &g_headers;

  const ParsedHeaders parsed = nova::correlation::parse_request_headers(raw);
  switch (parsed.status) {
    case HeaderStatus::kOk:
      break;
    case HeaderStatus::kNoMemory:
      ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory parsing request.headers")));
      break;
    case HeaderStatus::kNotJson:
      ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("request.headers is not valid JSON"),
                      errhint("request.headers must be a JSON object of header names to values, as PostgREST sets it.")));
      break;
    case HeaderStatus::kNotObject:
      ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("request.headers is not a JSON object"),
                      errhint("request.headers must be a JSON object of header names to values, as PostgREST sets it.")));
      break;
    case HeaderStatus::kNotString:
      ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                      errmsg("invalid %s header in request.headers", parsed.header),
                      errdetail("The header value is not a JSON string.")));
      break;
    case HeaderStatus::kBadValue:
      ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                      errmsg("invalid %s header in request.headers: %s", parsed.header, parsed.problem)));
      break;
  }
  char *copy = MemoryContextStrdup(TopMemoryContext, raw);
  if (g_headers_raw) pfree(g_headers_raw);
  g_headers_raw = copy;
  g_headers = parsed;
  return &g_headers;
}

// ---- generated ids -------------------------------------------------------------

char g_generated[37];
LocalTransactionId g_generated_lxid = InvalidLocalTransactionId;
bool g_generated_valid = false;

void generate_uuid(char out[37]) {
  if (!nova::uuid::v4_text(out))
    ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("could not generate a random correlation id")));
}

bool guc_set(const char *v) { return v != nullptr && v[0] != '\0'; }

// ---- the log hook ----------------------------------------------------------------

emit_log_hook_type prev_emit_log_hook = nullptr;
bool g_in_log_hook = false;
constexpr char kLogPrefix[] = "correlation id: ";

// The id to tag log records with: only one the service supplied (never a
// generated one, so client-visible CONTEXT lines stay deterministic).
// Reads only plain variables: no catalog access, no allocation, cannot ERROR.
const char *log_correlation_id() {
  if (guc_set(nova_guc_correlation_id)) return nova_guc_correlation_id;
  if (g_headers_raw && g_headers.has_correlation && g_headers_used_lxid != InvalidLocalTransactionId &&
      g_headers_used_lxid == current_lxid())
    return g_headers.correlation;
  return nullptr;
}

void correlation_log_hook(ErrorData *edata) {
  if (prev_emit_log_hook) prev_emit_log_hook(edata);
  if (g_in_log_hook || edata == nullptr || !edata->output_to_server) return;
  if (in_error_recursion_trouble()) return;
  const char *id = log_correlation_id();
  if (id == nullptr) return;
  g_in_log_hook = true;
  const char *old = edata->context;
  // Already tagged (an error re-reported after being caught and rethrown).
  if (old == nullptr || std::strstr(old, kLogPrefix) == nullptr) {
    size_t need = (old ? std::strlen(old) + 1 : 0) + sizeof(kLogPrefix) + std::strlen(id) + 1;
    // Allocated in the error's own context (EmitErrorReport switched to it); no
    // ERROR on out-of-memory: then the record simply goes out untagged.
    char *buf = static_cast<char *>(MemoryContextAllocExtended(CurrentMemoryContext, need, MCXT_ALLOC_NO_OOM));
    if (buf) {
      if (old)
        snprintf(buf, need, "%s\n%s%s", old, kLogPrefix, id);
      else
        snprintf(buf, need, "%s%s", kLogPrefix, id);
      edata->context = buf;
      if (old) pfree(const_cast<char *>(old));
    }
  }
  g_in_log_hook = false;
}

void correlation_init() {
  prev_emit_log_hook = emit_log_hook;
  emit_log_hook = correlation_log_hook;
}

}  // namespace

NOVA_MODULE_INIT(correlation_init);

const char *supplied_correlation_id() {
  if (guc_set(nova_guc_correlation_id)) return nova_guc_correlation_id;
  const ParsedHeaders *h = request_headers();
  if (h && h->has_correlation) {
    g_headers_used_lxid = current_lxid();
    return h->correlation;
  }
  return nullptr;
}

const char *current_correlation_id() {
  const char *id = supplied_correlation_id();
  if (id) return id;
  LocalTransactionId lxid = current_lxid();
  if (!g_generated_valid || g_generated_lxid != lxid || lxid == InvalidLocalTransactionId) {
    generate_uuid(g_generated);
    g_generated_lxid = lxid;
    g_generated_valid = true;
  }
  return g_generated;
}

const char *current_traceparent() {
  if (guc_set(nova_guc_traceparent)) return nova_guc_traceparent;
  const ParsedHeaders *h = request_headers();
  if (h && h->has_traceparent) return h->traceparent;
  return nullptr;
}

const char *current_tracestate() {
  if (guc_set(nova_guc_tracestate)) return nova_guc_tracestate;
  const ParsedHeaders *h = request_headers();
  if (h && h->has_tracestate) return h->tracestate;
  return nullptr;
}

Jsonb *headers_with_tracestate(Jsonb *headers) {
  const char *ts = current_tracestate();
  if (ts == nullptr) return headers;
  // An explicit "tracestate" in the event's own headers wins.
  JsonbValue k;
  k.type = jbvString;
  k.val.string.val = const_cast<char *>("tracestate");
  k.val.string.len = 10;
  if (headers && getKeyJsonValueFromContainer(&headers->root, k.val.string.val, k.val.string.len, nullptr))
    return headers;
  JsonbParseState *state = nullptr;
  pushJsonbValue(&state, WJB_BEGIN_OBJECT, nullptr);
  if (headers) {
    JsonbIterator *it = JsonbIteratorInit(&headers->root);
    JsonbValue v;
    JsonbIteratorToken tok;
    while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
      if (tok == WJB_KEY || tok == WJB_VALUE) pushJsonbValue(&state, tok, &v);
  }
  pushJsonbValue(&state, WJB_KEY, &k);
  JsonbValue v;
  v.type = jbvString;
  v.val.string.val = const_cast<char *>(ts);
  v.val.string.len = static_cast<int>(std::strlen(ts));
  pushJsonbValue(&state, WJB_VALUE, &v);
  return JsonbValueToJsonb(pushJsonbValue(&state, WJB_END_OBJECT, nullptr));
}

}  // namespace nova::pg

// nova.correlation_id() → text
NOVA_FUNCTION(nova_correlation_id) { PG_RETURN_TEXT_P(cstring_to_text(nova::pg::current_correlation_id())); }

// nova.traceparent() → text (NULL when the service supplied none)
NOVA_FUNCTION(nova_traceparent) {
  const char *tp = nova::pg::current_traceparent();
  if (tp == nullptr) PG_RETURN_NULL();
  PG_RETURN_TEXT_P(cstring_to_text(tp));
}

// nova.tracestate() → text (NULL when the service supplied none)
NOVA_FUNCTION(nova_tracestate) {
  const char *ts = nova::pg::current_tracestate();
  if (ts == nullptr) PG_RETURN_NULL();
  PG_RETURN_TEXT_P(cstring_to_text(ts));
}
