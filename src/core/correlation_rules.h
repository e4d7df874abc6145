// Correlation ids and W3C trace context (docs/correlation.md): the validation
// rules and the parsing of PostgREST's request.headers. Plain C++ (no
// postgres.h) so the rules are unit-tested and fuzzed on their own
// (test/unit/correlation_rules_test.cpp, test/fuzz/correlation_fuzz.cpp);
// src/pg/correlation.cpp and src/pg/guc.cpp hold only the PostgreSQL glue.
#pragma once

#include <cstddef>
#include <string_view>

namespace nova::correlation {

constexpr size_t kMaxCorrelationBytes = 128;  // docs/correlation.md
constexpr size_t kTraceparentBytes = 55;      // version 00
constexpr size_t kMaxTracestateBytes = 512;   // W3C trace context
constexpr int kMaxTracestateMembers = 32;

// Each returns nullptr when `value` is valid, else a static lower-case reason.
// nullptr and "" are valid (they mean "not supplied"). The string_view overloads
// also reject embedded NUL bytes (a control character).
const char *correlation_id_problem(const char *value) noexcept;   // ≤128 bytes, no control characters
const char *traceparent_problem(const char *value) noexcept;      // 00-<32 hex>-<16 hex>-<2 hex>, lower case
const char *tracestate_problem(const char *value) noexcept;       // ≤32 key=value members, ≤512 bytes
const char *correlation_id_problem(std::string_view value) noexcept;
const char *traceparent_problem(std::string_view value) noexcept;
const char *tracestate_problem(std::string_view value) noexcept;

// What request.headers (a JSON object of header name → string, as PostgREST
// sets it) yields. Fixed-size and trivially copyable: the PostgreSQL glue keeps
// one in static memory without C++ destructors.
enum class HeaderStatus { kOk, kNotJson, kNotObject, kNotString, kBadValue, kNoMemory };

struct RequestHeaders {
  HeaderStatus status = HeaderStatus::kOk;
  const char *header = nullptr;   // the offending header (static string) when status is kNotString/kBadValue
  const char *problem = nullptr;  // why it is invalid (static string) when status is kBadValue
  bool has_correlation = false;   // x-correlation-id, else x-request-id (empty values count as absent)
  char correlation[kMaxCorrelationBytes + 1] = {0};
  bool has_traceparent = false;
  char traceparent[kTraceparentBytes + 1] = {0};
  bool has_tracestate = false;
  char tracestate[kMaxTracestateBytes + 1] = {0};
};

// Parses `raw` (header names are matched case-insensitively; for a name given
// twice the first occurrence wins). Never throws. Unless status is kOk, no
// has_* flag is set.
RequestHeaders parse_request_headers(std::string_view raw) noexcept;

}  // namespace nova::correlation
