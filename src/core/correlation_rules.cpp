// Correlation-id, traceparent and tracestate rules and request.headers parsing
// (docs/correlation.md).
#include "core/correlation_rules.h"

#include <cstring>
#include <string>

#include <nlohmann/json.hpp>

namespace nova::correlation {

namespace {

bool is_lower_hex(std::string_view s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

bool all_zero(std::string_view s) {
  for (char c : s)
    if (c != '0') return false;
  return true;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); i++) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != b[i]) return false;
  }
  return true;
}

std::string_view view(const char *value) { return value ? std::string_view(value) : std::string_view(); }

}  // namespace

const char *correlation_id_problem(std::string_view value) noexcept {
  if (value.size() > kMaxCorrelationBytes) return "longer than 128 bytes";
  for (char ch : value) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) return "contains a control character";
  }
  return nullptr;
}

// W3C trace context, version "00": 00-<32 hex trace-id>-<16 hex parent-id>-<2 hex flags>.
const char *traceparent_problem(std::string_view value) noexcept {
  if (value.empty()) return nullptr;
  if (value.size() != kTraceparentBytes || value[2] != '-' || value[35] != '-' || value[52] != '-')
    return "not of the form 00-<trace-id>-<parent-id>-<flags>";
  if (!is_lower_hex(value.substr(0, 2)) || !is_lower_hex(value.substr(3, 32)) || !is_lower_hex(value.substr(36, 16)) ||
      !is_lower_hex(value.substr(53, 2)))
    return "fields must be lower-case hexadecimal";
  if (value.substr(0, 2) == "ff") return "version ff is invalid";
  if (all_zero(value.substr(3, 32))) return "trace-id is all zeros";
  if (all_zero(value.substr(36, 16))) return "parent-id is all zeros";
  return nullptr;
}

// W3C trace context tracestate: at most 32 comma-separated list members
// key=value (empty members allowed), at most 512 bytes in all; keys
// [a-z0-9][a-z0-9_*/@-]{0,255}; values 1-256 printable ASCII characters other
// than ',' and '='. Optional white space around a member is ignored.
const char *tracestate_problem(std::string_view value) noexcept {
  if (value.empty()) return nullptr;
  const size_t len = value.size();
  if (len > kMaxTracestateBytes) return "longer than 512 bytes";
  int members = 0;
  size_t i = 0;
  while (i <= len) {
    size_t end = i;
    while (end < len && value[end] != ',') end++;
    size_t a = i, b = end;
    while (a < b && (value[a] == ' ' || value[a] == '\t')) a++;
    while (b > a && (value[b - 1] == ' ' || value[b - 1] == '\t')) b--;
    if (a < b) {
      if (++members > kMaxTracestateMembers) return "more than 32 list members";
      size_t eq = a;
      while (eq < b && value[eq] != '=') eq++;
      if (eq == b) return "a list member is not key=value";
      size_t klen = eq - a, vlen = b - eq - 1;
      if (klen == 0 || klen > 256) return "a key must be 1-256 characters";
      char c0 = value[a];
      if (!((c0 >= 'a' && c0 <= 'z') || (c0 >= '0' && c0 <= '9'))) return "a key must start with a-z or 0-9";
      for (size_t k = a; k < eq; k++) {
        char c = value[k];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '*' || c == '/' ||
              c == '@'))
          return "a key may contain only a-z, 0-9, '_', '-', '*', '/' and '@'";
      }
      if (vlen == 0 || vlen > 256) return "a value must be 1-256 characters";
      for (size_t k = eq + 1; k < b; k++) {
        unsigned char c = static_cast<unsigned char>(value[k]);
        if (c < 0x20 || c > 0x7e || c == ',' || c == '=')
          return "a value may contain only printable ASCII other than ',' and '='";
      }
    }
    i = end + 1;
  }
  return nullptr;
}

const char *correlation_id_problem(const char *value) noexcept { return correlation_id_problem(view(value)); }
const char *traceparent_problem(const char *value) noexcept { return traceparent_problem(view(value)); }
const char *tracestate_problem(const char *value) noexcept { return tracestate_problem(view(value)); }

RequestHeaders parse_request_headers(std::string_view raw) noexcept {
  RequestHeaders out;
  try {
    nlohmann::json j = nlohmann::json::parse(raw.begin(), raw.end(), nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) {
      out.status = HeaderStatus::kNotJson;
      return out;
    }
    if (!j.is_object()) {
      out.status = HeaderStatus::kNotObject;
      return out;
    }
    // Header names are case-insensitive; PostgREST sends them in lower case.
    static const char *const kNames[] = {"x-correlation-id", "x-request-id", "traceparent", "tracestate"};
    const nlohmann::json *found[4] = {nullptr, nullptr, nullptr, nullptr};
    for (auto it = j.begin(); it != j.end(); ++it)
      for (int i = 0; i < 4; i++)
        if (found[i] == nullptr && iequals(it.key(), kNames[i])) found[i] = &it.value();
    for (int i = 0; i < 4; i++) {
      if (found[i] && !found[i]->is_string()) {
        out.status = HeaderStatus::kNotString;
        out.header = kNames[i];
        return out;
      }
    }
    using Rule = const char *(*)(std::string_view) noexcept;
    // Copies header i into dst (capacity cap+1) when valid and non-empty.
    auto take = [&](int i, Rule rule, char *dst, bool *has) -> bool {
      const std::string &v = found[i]->get_ref<const std::string &>();
      if (v.empty()) return true;
      if (const char *problem = rule(v)) {
        out = RequestHeaders();  // on error nothing else is reported
        out.status = HeaderStatus::kBadValue;
        out.header = kNames[i];
        out.problem = problem;
        return false;
      }
      std::memcpy(dst, v.data(), v.size());  // the rule bounds the size to the buffer
      dst[v.size()] = '\0';
      *has = true;
      return true;
    };
    // x-correlation-id first, then x-request-id; an empty value counts as absent.
    for (int i = 0; i < 2 && !out.has_correlation; i++)
      if (found[i] && !take(i, correlation_id_problem, out.correlation, &out.has_correlation)) return out;
    if (found[2] && !take(2, traceparent_problem, out.traceparent, &out.has_traceparent)) return out;
    if (found[3] && !take(3, tracestate_problem, out.tracestate, &out.has_tracestate)) return out;
  } catch (...) {
    RequestHeaders oom;
    oom.status = HeaderStatus::kNoMemory;
    return oom;
  }
  return out;
}

}  // namespace nova::correlation
