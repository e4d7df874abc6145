#pragma once
#include <string>

namespace svc {
// POST `payload` (JSON) to an http:// URL with X-Correlation-ID; true on a 2xx answer
// within timeout_ms. Blocking; runs on a worker thread.
bool post_webhook(const std::string& url, const std::string& payload, const std::string& correlation_id,
                  int timeout_ms);
}  // namespace svc
