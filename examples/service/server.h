// HTTP and WebSocket front end (Boost.Beast), the push hub fed by LISTEN, graceful shutdown.
#pragma once
#include "api.h"

namespace svc {
// Runs until SIGTERM/SIGINT, then drains in-flight requests and returns the exit code.
int serve(const Config& cfg);
}  // namespace svc
