// Correlation ids and trace context of the current transaction (docs/correlation.md).
//
// Other features (outbox, soft-delete audit log) call these from C/C++ code that
// runs inside a transaction. Both may raise ERROR (ereport) when the id comes
// from request.headers and is invalid; call them where an ERROR is allowed (from
// C++ frames that hold objects with destructors, wrap the call in
// nova::pg::guard()).
#pragma once

extern "C" {
#include "postgres.h"
#include "utils/jsonb.h"
}

namespace nova::pg {

// The transaction's correlation id, never nullptr: nova.correlation_id when set,
// else request.headers' x-correlation-id, then x-request-id, else a UUID generated
// once per transaction. The pointer is valid until the end of the transaction or
// the next change of nova.correlation_id / request.headers, whichever is first;
// copy it (pstrdup) to keep it.
const char *current_correlation_id();

// The W3C traceparent supplied by the service (nova.traceparent, then
// request.headers' traceparent), else nullptr. Same lifetime as above.
const char *current_traceparent();

// The W3C tracestate supplied by the service (nova.tracestate, then
// request.headers' tracestate), else nullptr. Same lifetime as above.
const char *current_tracestate();

// `headers` (an object, or nullptr) with "tracestate" added when the service
// supplied one and `headers` has none; `headers` itself when there is nothing
// to add (no allocation on that path). May raise ERROR like the above.
Jsonb *headers_with_tracestate(Jsonb *headers);

// The correlation id only when the service supplied one (GUC or request header),
// else nullptr; never generates one.
const char *supplied_correlation_id();

}  // namespace nova::pg
