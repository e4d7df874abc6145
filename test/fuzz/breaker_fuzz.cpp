// Fuzzes the circuit-breaker core: option parsing (any bytes as JSON) and the
// state machine driven by an arbitrary sequence of allow / record / release /
// force / clock steps, checking its invariants after every step.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "core/breaker.h"
#include "core/error.h"

namespace b = nova::breaker;

static std::optional<int64_t> dur(const std::string &s) {
  char *end = nullptr;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (end == s.c_str()) return std::nullopt;
  return static_cast<int64_t>(v) * 1000;
}

static void check(const b::Breaker &br, int64_t now) {
  if (br.nholders < 0 || br.nholders > b::kMaxHalfOpenPermits) std::abort();
  if (br.state != b::State::kHalfOpen && br.nholders != 0) std::abort();
  if (br.state == b::State::kOpen && br.open_until_us < br.opened_at_us) std::abort();
  b::Metrics m = b::metrics(br, now);
  if (m.failed_calls > m.calls || m.slow_calls > m.calls) std::abort();
  if (br.config.sliding_window_type == b::WindowType::kCountBased &&
      m.calls > static_cast<uint32_t>(br.config.sliding_window_size))
    std::abort();
  if (m.failure_rate > 100 || m.slow_call_rate > 100) std::abort();
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  // Part 1: the whole input as an options document.
  try {
    b::Config c = b::parse_config(std::string(reinterpret_cast<const char *>(data), size), dur);
    (void)b::config_to_json(c);
  } catch (const nova::Error &) {
  }
  if (size < 8) return 0;
  // Part 2: a small config from the first bytes, then steps.
  b::Config c = b::default_config();
  c.sliding_window_type = (data[0] & 1) ? b::WindowType::kTimeBased : b::WindowType::kCountBased;
  c.sliding_window_size = 1 + data[1] % (c.sliding_window_type == b::WindowType::kTimeBased ? 10 : 20);
  c.minimum_number_of_calls = 1 + data[2] % 10;
  c.permitted_calls_in_half_open_state = 1 + data[3] % 5;
  c.consecutive_failures_threshold = data[4] % 4;
  c.failure_rate_threshold = 1 + data[5] % 100;
  c.exponential_backoff_multiplier = 1 + (data[6] % 4);
  c.randomized_wait_factor = (data[7] % 10) / 10.0;
  c.wait_duration_in_open_state_us = 1000000;
  c.max_wait_duration_in_half_open_state_us = (data[0] & 2) ? 3000000 : 0;
  auto br = std::make_unique<b::Breaker>();
  int64_t now = 1000000000;
  b::init(*br, c, now);
  for (size_t i = 8; i < size; i++) {
    uint8_t op = data[i];
    int64_t owner = op >> 5;
    double rnd = (op & 7) / 8.0;
    switch (op & 7) {
      case 0: case 1: b::allow(*br, now, rnd, owner); break;
      case 2: b::record(*br, true, (op & 8) ? 70000000 : -1, now, rnd, owner); break;
      case 3: b::record(*br, false, -1, now, rnd, owner); break;
      case 4: now += (op >> 3) * 250000; break;
      case 5: b::release_owner(*br, owner); break;
      case 6: b::force(*br, static_cast<b::State>((op >> 3) % 6), now, rnd); break;
      case 7: {
        b::Config c2 = c;
        c2.permitted_calls_in_half_open_state = 1 + (op >> 3) % 5;
        b::reconfigure(*br, c2, now);
        break;
      }
    }
    check(*br, now);
  }
  return 0;
}
