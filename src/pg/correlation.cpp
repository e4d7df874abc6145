// Correlation ids and trace context (docs/correlation.md): nova.correlation_id(),
// nova.traceparent(), nova.tracestate(), the C++ API in correlation.h, and the emit_log_hook that
// tags server log records with the correlation id the service supplied.
#include "pg/correlation.h"

#include <cstring>
#include <new>
#include <string>

#include <nlohmann/json.hpp>

extern "C" {
#include "common/hashfn.h"
#include "miscadmin.h"
#include "port.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
}

#include "pg/boundary.h"
#include "pg/guc.h"
#include "pg/module.h"

namespace nova::pg {

namespace {

constexpr size_t kMaxCorrelation = 128;  // bytes, SPEC §2
constexpr size_t kTraceparentLen = 55;
constexpr size_t kMaxTracestate = 512;

LocalTransactionId current_lxid() {
  if (MyProc == nullptr) return InvalidLocalTransactionId;
#if PG_VERSION_NUM >= 170000
  return MyProc->vxid.lxid;
#else
  return MyProc->lxid;
#endif
}

// ---- request.headers (PostgREST) ---------------------------------------------

enum class HeaderStatus { kOk, kNotJson, kNotObject, kNotString, kBadValue, kNoMemory };

struct ParsedHeaders {
  HeaderStatus status = HeaderStatus::kOk;
  const char *header = nullptr;   // the offending header (static string) on error
  const char *problem = nullptr;  // why it is invalid (static string) on error
  bool has_correlation = false;
  char correlation[kMaxCorrelation + 1] = {0};
  bool has_traceparent = false;
  char traceparent[kTraceparentLen + 1] = {0};
  bool has_tracestate = false;
  char tracestate[kMaxTracestate + 1] = {0};
};

bool iequals(const std::string &a, const char *b) {
  size_t n = std::strlen(b);
  if (a.size() != n) return false;
  for (size_t i = 0; i < n; i++) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != b[i]) return false;
  }
  return true;
}

// Pure C++: no PostgreSQL calls, no exception escapes. Fills `out`.
void parse_headers(const char *raw, ParsedHeaders *out) noexcept {
  try {
    nlohmann::json j = nlohmann::json::parse(raw, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) {
      out->status = HeaderStatus::kNotJson;
      return;
    }
    if (!j.is_object()) {
      out->status = HeaderStatus::kNotObject;
      return;
    }
    // Header names are case-insensitive; PostgREST sends them in lower case.
    static const char *const kNames[] = {"x-correlation-id", "x-request-id", "traceparent", "tracestate"};
    const nlohmann::json *found[4] = {nullptr, nullptr, nullptr, nullptr};
    for (auto it = j.begin(); it != j.end(); ++it) {
      for (int i = 0; i < 4; i++)
        if (found[i] == nullptr && iequals(it.key(), kNames[i])) found[i] = &it.value();
    }
    for (int i = 0; i < 4; i++) {
      if (found[i] && !found[i]->is_string()) {
        out->status = HeaderStatus::kNotString;
        out->header = kNames[i];
        return;
      }
    }
    // x-correlation-id first, then x-request-id; an empty value counts as absent.
    for (int i = 0; i < 2 && !out->has_correlation; i++) {
      if (!found[i]) continue;
      const std::string &v = found[i]->get_ref<const std::string &>();
      if (v.empty()) continue;
      const char *problem = v.find('\0') != std::string::npos ? "contains a control character"
                                                              : correlation_id_problem(v.c_str());
      if (problem) {
        out->status = HeaderStatus::kBadValue;
        out->header = kNames[i];
        out->problem = problem;
        return;
      }
      std::memcpy(out->correlation, v.data(), v.size());
      out->correlation[v.size()] = '\0';
      out->has_correlation = true;
    }
    if (found[2]) {
      const std::string &v = found[2]->get_ref<const std::string &>();
      if (!v.empty()) {
        const char *problem = v.find('\0') != std::string::npos ? "contains a control character"
                                                                : traceparent_problem(v.c_str());
        if (problem) {
          out->status = HeaderStatus::kBadValue;
          out->header = kNames[2];
          out->problem = problem;
          return;
        }
        std::memcpy(out->traceparent, v.data(), v.size());
        out->traceparent[v.size()] = '\0';
        out->has_traceparent = true;
      }
    }
    if (found[3]) {
      const std::string &v = found[3]->get_ref<const std::string &>();
      if (!v.empty()) {
        const char *problem = v.find('\0') != std::string::npos ? "contains a control character"
                                                                : tracestate_problem(v.c_str());
        if (problem) {
          out->status = HeaderStatus::kBadValue;
          out->header = kNames[3];
          out->problem = problem;
          return;
        }
        std::memcpy(out->tracestate, v.data(), v.size());
        out->tracestate[v.size()] = '\0';
        out->has_tracestate = true;
      }
    }
  } catch (...) {
    out->status = HeaderStatus::kNoMemory;
  }
}

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

  ParsedHeaders parsed;
  parse_headers(raw, &parsed);
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
  uint8 b[16];
  if (!pg_strong_random(b, sizeof(b)))
    ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("could not generate a random correlation id")));
  b[6] = static_cast<uint8>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<uint8>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  static const char hex[] = "0123456789abcdef";
  int o = 0;
  for (int i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
    out[o++] = hex[b[i] >> 4];
    out[o++] = hex[b[i] & 0x0f];
  }
  out[o] = '\0';
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
