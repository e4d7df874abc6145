// Circuit-breaker state machine (docs/breakers.md), resilience4j semantics.
//
// Plain C++17, no PostgreSQL: time is passed in (microseconds on any fixed
// epoch), randomness is passed in (a double in [0, 1)), and the caller says who
// holds a half-open permit (an opaque owner id; src/pg uses the backend pid).
//
// `Breaker` is a plain, fixed-size, trivially copyable struct with no pointers
// so that src/pg can keep one per named breaker in shared memory and run these
// functions on it under a lock. Nothing here allocates or throws except
// parse_config / config_to_json (configuration, never the hot path).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

namespace nova::breaker {

enum class State : uint8_t { kClosed = 0, kOpen, kHalfOpen, kForcedOpen, kDisabled, kMetricsOnly };
enum class WindowType : uint8_t { kCountBased = 0, kTimeBased };

// Fixed capacities (the struct lives in shared memory).
inline constexpr int kMaxCountWindow = 1000;         // COUNT_BASED: calls
inline constexpr int kMaxTimeWindowSeconds = 300;    // TIME_BASED: seconds (one bucket per second)
inline constexpr int kMaxHalfOpenPermits = 100;
inline constexpr int64_t kMaxDurationUs = 30LL * 86400 * 1000000;  // 30 days: every duration option's ceiling
inline constexpr int32_t kMaxCalls = 1000000;        // minimum_number_of_calls, consecutive_failures_threshold

struct Config {
  WindowType sliding_window_type;
  int32_t sliding_window_size;                  // calls (COUNT_BASED) or seconds (TIME_BASED)
  int32_t minimum_number_of_calls;
  int32_t permitted_calls_in_half_open_state;
  int32_t consecutive_failures_threshold;       // 0 = off
  double failure_rate_threshold;                // percent, (0, 100]
  double slow_call_rate_threshold;              // percent, (0, 100]
  double exponential_backoff_multiplier;        // 1 = constant wait
  double randomized_wait_factor;                // [0, 1); 0 = no jitter
  int64_t slow_call_duration_us;                // a call slower than this is slow
  int64_t wait_duration_in_open_state_us;
  int64_t exponential_max_wait_duration_in_open_state_us;  // 0 = no cap below kMaxDurationUs
  int64_t max_wait_duration_in_half_open_state_us;         // 0 = stay half-open until the probes report
};

// resilience4j's defaults.
Config default_config();
// The defaults of a breaker by name: resilience4j's, except for the relay's `kafka`
// breaker, which sees one call per batch and must open after a few failed batches
// (consecutive_failures_threshold 3, window 20/min 10, wait 5 s doubling up to
// 2 min, 1 probe, back to OPEN if the probe has not reported after 5 min).
Config default_config_for(std::string_view name);

// Parses an options object (JSON text) on top of the defaults. Durations are
// strings converted by `parse_duration` (nullopt = not a valid duration).
// Throws nova::Error 22023 naming the option for unknown names, wrong types and
// out-of-range values.
using DurationParser = std::function<std::optional<int64_t>(const std::string &)>;
// `base` supplies the values of options not given (default_config_for(name)).
Config parse_config(const std::string &json_text, const DurationParser &parse_duration,
                    const Config &base = default_config());

// A duration in PostgreSQL's interval syntax, in microseconds, parsed here (no
// database call, so a bad value is an ordinary nova::Error, never a swallowed
// PostgreSQL error): one or more "<number> <unit>" items, the space optional,
// units microsecond(s)/us/usec, millisecond(s)/ms/msec, second(s)/s/sec,
// minute(s)/m/min, hour(s)/h/hr, day(s)/d, week(s)/w, month(s)/mon (30 days),
// year(s)/y/yr (12 months), case-insensitive, each number with an optional sign
// and fraction; "hh:mm[:ss[.frac]]"; a bare last number means seconds; an
// optional leading "@" and trailing "ago". nullopt when not such a string.
// Values beyond ±2^63 µs saturate.
std::optional<int64_t> parse_interval_us(std::string_view text);

// The effective configuration as a JSON object (every option, durations as interval strings).
std::string config_to_json(const Config &c);
std::string format_duration(int64_t us);  // "60 s", "500 ms", "250 us"

struct Bucket {
  int64_t second;
  uint32_t calls, failed, slow;
};
struct Holder {
  int64_t owner;
  int64_t since_us;
};

struct Breaker {
  Config config;
  State state;
  int32_t attempts;               // OPEN periods since the breaker last closed (backoff exponent)
  int64_t state_since_us;
  int64_t opened_at_us;           // when the current OPEN/FORCED_OPEN period began, 0 otherwise
  int64_t open_until_us;          // OPEN: first instant a call may probe
  int32_t consecutive_failures;
  int64_t not_permitted_calls;    // denied since the breaker last closed
  // sliding window
  int32_t count_head, count_filled;
  uint32_t count_calls, count_failed, count_slow;  // running totals of the COUNT_BASED ring
  union {
    uint8_t outcomes[kMaxCountWindow];  // bit 0 failed, bit 1 slow
    Bucket buckets[kMaxTimeWindowSeconds];
  } window;
  // half-open probes
  int32_t ho_recorded, ho_failed, ho_slow;
  int32_t nholders;
  Holder holders[kMaxHalfOpenPermits];  // outstanding permits, oldest first
};
static_assert(std::is_trivially_copyable_v<Breaker> && std::is_standard_layout_v<Breaker>,
              "Breaker lives in shared memory");

void init(Breaker &b, const Config &c, int64_t now_us);
// New configuration; keeps the state and its timers, restarts the metrics window.
void reconfigure(Breaker &b, const Config &c, int64_t now_us);

enum class Permit { kDenied, kAllowed, kProbe };  // kProbe: a half-open permit now held by `owner`
// May a call go ahead? Performs the lazy OPEN → HALF_OPEN transition after the wait
// (and HALF_OPEN → OPEN after max_wait_duration_in_half_open_state).
Permit allow(Breaker &b, int64_t now_us, double random01, int64_t owner);

// Records a call's outcome; duration_us < 0 = unknown (never slow). Returns the new state.
// In HALF_OPEN the result uses `owner`'s permit, else the oldest outstanding permit; with
// no permit outstanding it is a late result of a call allowed before the breaker opened
// and is ignored.
State record(Breaker &b, bool success, int64_t duration_us, int64_t now_us, double random01, int64_t owner);

// Gives back the permits `owner` holds (the owner exited without recording). Returns how many.
int release_owner(Breaker &b, int64_t owner);
// Gives back permits whose owner `alive` says is gone. Returns how many.
int release_dead(Breaker &b, const std::function<bool(int64_t)> &alive);

// Manual transition (nova.breaker_force). kClosed also resets the metrics and the backoff;
// kOpen starts a normal timed OPEN period.
void force(Breaker &b, State target, int64_t now_us, double random01);

struct Metrics {
  State state;
  uint32_t calls, failed_calls, slow_calls;
  double failure_rate;    // percent; < 0 when fewer than minimum_number_of_calls
  double slow_call_rate;  // percent; < 0 when fewer than minimum_number_of_calls
  int64_t not_permitted_calls;
  int32_t consecutive_failures;
  int32_t permits_in_use;
  int32_t attempts;
  int64_t opened_at_us;   // 0 when not open
  int64_t open_until_us;  // 0 unless OPEN
};
Metrics metrics(const Breaker &b, int64_t now_us);

const char *state_name(State s);  // CLOSED, OPEN, HALF_OPEN, FORCED_OPEN, DISABLED, METRICS_ONLY
// Words accepted by nova.breaker_force (case-insensitive): closed, open, forced_open,
// half_open, disabled, metrics_only. nullopt when unknown. 'open' means FORCED_OPEN.
std::optional<State> parse_force_word(std::string_view word);

// Wait before the next probe for the given OPEN period (1-based), with backoff and jitter.
int64_t open_wait_us(const Config &c, int32_t attempt, double random01);

}  // namespace nova::breaker
