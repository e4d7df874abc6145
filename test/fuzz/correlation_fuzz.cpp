// Fuzzes the correlation rules (src/core/correlation_rules.h): any bytes as
// request.headers, and as a correlation id / traceparent / tracestate, checking
// that a value the parser accepts also passes its rule and fits its buffer.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "core/correlation_rules.h"

namespace c = nova::correlation;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string_view in(reinterpret_cast<const char *>(data), size);
  c::correlation_id_problem(in);
  c::traceparent_problem(in);
  c::tracestate_problem(in);

  c::RequestHeaders h = c::parse_request_headers(in);
  if (h.status == c::HeaderStatus::kOk) {
    if (h.has_correlation &&
        (std::strlen(h.correlation) == 0 || c::correlation_id_problem(h.correlation) != nullptr))
      std::abort();
    if (h.has_traceparent &&
        (std::strlen(h.traceparent) != c::kTraceparentBytes || c::traceparent_problem(h.traceparent) != nullptr))
      std::abort();
    if (h.has_tracestate && (std::strlen(h.tracestate) == 0 || c::tracestate_problem(h.tracestate) != nullptr))
      std::abort();
  } else {
    if (h.has_correlation || h.has_traceparent || h.has_tracestate) std::abort();
    if ((h.status == c::HeaderStatus::kNotString || h.status == c::HeaderStatus::kBadValue) && h.header == nullptr)
      std::abort();
    if (h.status == c::HeaderStatus::kBadValue && h.problem == nullptr) std::abort();
  }
  return 0;
}
