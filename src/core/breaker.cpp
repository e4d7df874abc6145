// Circuit-breaker state machine; see breaker.h.
#define NOVA_CORE_TRANSLATION_UNIT 1
#include "core/breaker.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace nova::breaker {

namespace {

constexpr uint8_t kFailedBit = 1;
constexpr uint8_t kSlowBit = 2;

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// ---- sliding window -------------------------------------------------------------

void clear_window(Breaker &b) {
  b.count_head = 0;
  b.count_filled = 0;
  b.count_calls = b.count_failed = b.count_slow = 0;
  std::memset(&b.window, 0, sizeof b.window);
  if (b.config.sliding_window_type == WindowType::kTimeBased)
    for (auto &bucket : b.window.buckets) bucket.second = INT64_MIN;
}

void window_add(Breaker &b, uint8_t outcome, int64_t now_us) {
  const int size = b.config.sliding_window_size;
  if (b.config.sliding_window_type == WindowType::kCountBased) {
    if (b.count_filled == size) {
      uint8_t old = b.window.outcomes[b.count_head];
      b.count_calls--;
      if (old & kFailedBit) b.count_failed--;
      if (old & kSlowBit) b.count_slow--;
    } else {
      b.count_filled++;
    }
    b.window.outcomes[b.count_head] = outcome;
    b.count_head = (b.count_head + 1) % size;
    b.count_calls++;
    if (outcome & kFailedBit) b.count_failed++;
    if (outcome & kSlowBit) b.count_slow++;
    return;
  }
  int64_t sec = floor_div(now_us, 1000000);
  Bucket &bucket = b.window.buckets[static_cast<size_t>(((sec % size) + size) % size)];
  if (bucket.second != sec) bucket = Bucket{sec, 0, 0, 0};
  bucket.calls++;
  if (outcome & kFailedBit) bucket.failed++;
  if (outcome & kSlowBit) bucket.slow++;
}

struct Totals {
  uint32_t calls, failed, slow;
};

Totals window_totals(const Breaker &b, int64_t now_us) {
  if (b.config.sliding_window_type == WindowType::kCountBased) return {b.count_calls, b.count_failed, b.count_slow};
  const int size = b.config.sliding_window_size;
  int64_t sec = floor_div(now_us, 1000000);
  Totals t{0, 0, 0};
  for (int i = 0; i < size; i++) {
    const Bucket &bucket = b.window.buckets[i];
    if (bucket.second > sec - size && bucket.second <= sec) {
      t.calls += bucket.calls;
      t.failed += bucket.failed;
      t.slow += bucket.slow;
    }
  }
  return t;
}

int32_t effective_minimum_calls(const Config &c) {
  // resilience4j: for a count-based window the minimum cannot exceed the window.
  if (c.sliding_window_type == WindowType::kCountBased) return std::min(c.minimum_number_of_calls, c.sliding_window_size);
  return c.minimum_number_of_calls;
}

bool rates_exceeded(const Config &c, uint32_t calls, uint32_t failed, uint32_t slow) {
  if (calls == 0) return false;
  double fr = failed * 100.0 / calls;
  double sr = slow * 100.0 / calls;
  return fr >= c.failure_rate_threshold || sr >= c.slow_call_rate_threshold;
}

// ---- transitions ------------------------------------------------------------------

void enter(Breaker &b, State s, int64_t now_us) {
  b.state = s;
  b.state_since_us = now_us;
  b.nholders = 0;  // permits belong to one half-open period
  b.ho_recorded = b.ho_failed = b.ho_slow = 0;
  if (s != State::kOpen) b.open_until_us = 0;
  if (s != State::kOpen && s != State::kForcedOpen) b.opened_at_us = 0;
}

void to_open(Breaker &b, int64_t now_us, double random01) {
  b.attempts = std::min(b.attempts + 1, 1000000);
  enter(b, State::kOpen, now_us);
  b.opened_at_us = now_us;
  b.open_until_us = now_us + open_wait_us(b.config, b.attempts, random01);
}

void to_closed(Breaker &b, int64_t now_us) {
  enter(b, State::kClosed, now_us);
  b.attempts = 0;
  b.consecutive_failures = 0;
  b.not_permitted_calls = 0;
  clear_window(b);
}

void to_half_open(Breaker &b, int64_t now_us) {
  enter(b, State::kHalfOpen, now_us);
  clear_window(b);
}

// Lazy time-driven transitions.
void tick(Breaker &b, int64_t now_us, double random01) {
  if (b.state == State::kOpen && now_us >= b.open_until_us) to_half_open(b, now_us);
  if (b.state == State::kHalfOpen && b.config.max_wait_duration_in_half_open_state_us > 0 &&
      now_us - b.state_since_us >= b.config.max_wait_duration_in_half_open_state_us)
    to_open(b, now_us, random01);
}

void drop_holder(Breaker &b, int i) {
  for (int j = i + 1; j < b.nholders; j++) b.holders[j - 1] = b.holders[j];
  b.nholders--;
}

// ---- options ----------------------------------------------------------------------

enum class Kind { kWindowType, kInt, kRate, kFactor, kDuration };

struct Option {
  const char *name;
  const char *alias;  // resilience4j's longer name, or nullptr
  Kind kind;
};

constexpr Option kOptions[] = {
    {"sliding_window_type", nullptr, Kind::kWindowType},
    {"sliding_window_size", nullptr, Kind::kInt},
    {"minimum_number_of_calls", nullptr, Kind::kInt},
    {"failure_rate_threshold", nullptr, Kind::kRate},
    {"slow_call_rate_threshold", nullptr, Kind::kRate},
    {"slow_call_duration", "slow_call_duration_threshold", Kind::kDuration},
    {"wait_duration_in_open_state", nullptr, Kind::kDuration},
    {"exponential_backoff_multiplier", nullptr, Kind::kFactor},
    {"exponential_max_wait_duration_in_open_state", nullptr, Kind::kDuration},
    {"randomized_wait_factor", nullptr, Kind::kFactor},
    {"permitted_calls_in_half_open_state", "permitted_number_of_calls_in_half_open_state", Kind::kInt},
    {"max_wait_duration_in_half_open_state", nullptr, Kind::kDuration},
    {"consecutive_failures_threshold", nullptr, Kind::kInt},
};

std::string option_list() {
  std::string s;
  for (const Option &o : kOptions) {
    if (!s.empty()) s += ", ";
    s += o.name;
  }
  return s;
}

[[noreturn]] void bad_value(const std::string &name, const std::string &detail) {
  throw Error(sqlstate::kInvalidParameterValue, "invalid value for circuit breaker option \"" + name + "\"", detail);
}

std::string show(const nlohmann::json &v) {
  std::string s = v.dump();
  if (s.size() > 80) s = s.substr(0, 77) + "...";
  return s;
}

double number_of(const std::string &name, const nlohmann::json &v, const char *expect) {
  if (!v.is_number()) bad_value(name, std::string("expected ") + expect + ", got " + show(v));
  return v.get<double>();
}

int32_t int_of(const std::string &name, const nlohmann::json &v, int64_t lo, int64_t hi) {
  std::string expect = "an integer between " + std::to_string(lo) + " and " + std::to_string(hi);
  double d = number_of(name, v, expect.c_str());
  if (!(d >= static_cast<double>(lo) && d <= static_cast<double>(hi)) || d != std::floor(d))
    bad_value(name, "expected " + expect + ", got " + show(v));
  return static_cast<int32_t>(d);
}

int64_t duration_of(const std::string &name, const nlohmann::json &v, const DurationParser &parse, int64_t lo) {
  std::string expect = std::string("an interval string such as '500 ms' between ") + format_duration(lo) + " and " +
                       format_duration(kMaxDurationUs);
  if (!v.is_string()) bad_value(name, "expected " + expect + ", got " + show(v));
  std::optional<int64_t> us = parse(v.get<std::string>());
  if (!us) bad_value(name, "expected " + expect + ", got " + show(v));
  if (*us < lo || *us > kMaxDurationUs) bad_value(name, "expected " + expect + ", got " + show(v));
  return *us;
}

std::string lower(std::string_view s) {
  std::string r(s);
  for (char &ch : r) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return r;
}

}  // namespace

// ---- durations ----------------------------------------------------------------------

std::optional<int64_t> parse_interval_us(std::string_view text) {
  struct Unit {
    const char *name;
    double us;
  };
  static const Unit kUnits[] = {
      {"microseconds", 1},       {"microsecond", 1},        {"usecs", 1},          {"usec", 1},
      {"us", 1},                 {"milliseconds", 1e3},     {"millisecond", 1e3},  {"msecs", 1e3},
      {"msec", 1e3},             {"ms", 1e3},               {"seconds", 1e6},      {"second", 1e6},
      {"secs", 1e6},             {"sec", 1e6},              {"s", 1e6},            {"minutes", 60e6},
      {"minute", 60e6},          {"mins", 60e6},            {"min", 60e6},         {"m", 60e6},
      {"hours", 3600e6},         {"hour", 3600e6},          {"hrs", 3600e6},       {"hr", 3600e6},
      {"h", 3600e6},             {"days", 86400e6},         {"day", 86400e6},      {"d", 86400e6},
      {"weeks", 7 * 86400e6},    {"week", 7 * 86400e6},     {"w", 7 * 86400e6},    {"months", 30 * 86400e6},
      {"month", 30 * 86400e6},   {"mons", 30 * 86400e6},    {"mon", 30 * 86400e6}, {"years", 360 * 86400e6},
      {"year", 360 * 86400e6},   {"yrs", 360 * 86400e6},    {"yr", 360 * 86400e6}, {"y", 360 * 86400e6},
  };
  std::string s = lower(text);
  size_t i = 0, n = s.size();
  auto skip_space = [&] {
    while (i < n && std::isspace(static_cast<unsigned char>(s[i]))) i++;
  };
  auto digits = [&](size_t from) {
    size_t j = from;
    while (j < n && std::isdigit(static_cast<unsigned char>(s[j]))) j++;
    return j;
  };
  auto num = [&](size_t from, size_t to) { return std::strtod(s.substr(from, to - from).c_str(), nullptr); };
  double total = 0;
  int items = 0;
  skip_space();
  if (i < n && s[i] == '@') i++;
  for (;;) {
    skip_space();
    if (i >= n) break;
    if (s.compare(i, 3, "ago") == 0 && items > 0) {
      i += 3;
      skip_space();
      if (i != n) return std::nullopt;
      total = -total;
      break;
    }
    double sign = 1;
    if (s[i] == '+' || s[i] == '-') {
      sign = s[i] == '-' ? -1 : 1;
      i++;
    }
    size_t int_end = digits(i);
    if (int_end < n && s[int_end] == ':') {  // hh:mm[:ss[.frac]]
      size_t mm_end = digits(int_end + 1);
      if (int_end == i || mm_end == int_end + 1) return std::nullopt;
      double v = num(i, int_end) * 3600e6 + num(int_end + 1, mm_end) * 60e6;
      i = mm_end;
      if (i < n && s[i] == ':') {
        size_t ss_end = digits(i + 1);
        if (ss_end == i + 1) return std::nullopt;
        if (ss_end < n && s[ss_end] == '.') ss_end = digits(ss_end + 1);
        v += num(i + 1, ss_end) * 1e6;
        i = ss_end;
      }
      total += sign * v;
      items++;
      continue;
    }
    size_t end = int_end;
    if (end < n && s[end] == '.') end = digits(end + 1);
    if (end == i || (end == i + 1 && s[i] == '.')) return std::nullopt;
    double value = num(i, end);
    i = end;
    skip_space();
    size_t word_end = i;
    while (word_end < n && std::isalpha(static_cast<unsigned char>(s[word_end]))) word_end++;
    std::string_view word(s.data() + i, word_end - i);
    double unit = 0;
    if (word.empty() || word == "ago") {
      // A bare number is seconds, and only as the last item (before "ago").
      unit = 1e6;
      if (word.empty()) {
        size_t k = i;
        while (k < n && std::isspace(static_cast<unsigned char>(s[k]))) k++;
        if (k != n) return std::nullopt;
      } else {
        word_end = i;  // leave "ago" for the loop
      }
    } else {
      for (const Unit &u : kUnits)
        if (word == u.name) unit = u.us;
      if (unit == 0) return std::nullopt;
    }
    i = word_end;
    total += sign * value * unit;
    items++;
  }
  if (items == 0 || std::isnan(total)) return std::nullopt;
  if (total >= 9.2e18) return INT64_MAX;
  if (total <= -9.2e18) return INT64_MIN;
  return static_cast<int64_t>(std::llround(total));
}

// ---- configuration ------------------------------------------------------------------

Config default_config() {
  Config c{};
  c.sliding_window_type = WindowType::kCountBased;
  c.sliding_window_size = 100;
  c.minimum_number_of_calls = 100;
  c.permitted_calls_in_half_open_state = 10;
  c.consecutive_failures_threshold = 0;
  c.failure_rate_threshold = 50;
  c.slow_call_rate_threshold = 100;
  c.exponential_backoff_multiplier = 1;
  c.randomized_wait_factor = 0;
  c.slow_call_duration_us = 60LL * 1000000;
  c.wait_duration_in_open_state_us = 60LL * 1000000;
  c.exponential_max_wait_duration_in_open_state_us = 0;
  c.max_wait_duration_in_half_open_state_us = 0;
  return c;
}

Config default_config_for(std::string_view name) {
  Config c = default_config();
  if (name == "kafka") {
    c.sliding_window_size = 20;
    c.minimum_number_of_calls = 10;
    c.consecutive_failures_threshold = 3;
    c.wait_duration_in_open_state_us = 5LL * 1000000;
    c.exponential_backoff_multiplier = 2;
    c.exponential_max_wait_duration_in_open_state_us = 120LL * 1000000;
    c.permitted_calls_in_half_open_state = 1;
    c.max_wait_duration_in_half_open_state_us = 300LL * 1000000;
  }
  return c;
}

Config parse_config(const std::string &json_text, const DurationParser &parse_duration, const Config &base) {
  nlohmann::json j = nlohmann::json::parse(json_text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    throw Error(sqlstate::kInvalidParameterValue, "circuit breaker options must be a JSON object",
                "got: " + (j.is_discarded() ? std::string("invalid JSON") : show(j)));
  Config c = base;
  // Window size depends on the window type: read the type first.
  int32_t window_size = -1;
  std::string window_size_name;
  nlohmann::json window_size_value;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string &key = it.key();
    const Option *opt = nullptr;
    for (const Option &o : kOptions)
      if (key == o.name || (o.alias && key == o.alias)) opt = &o;
    if (!opt)
      throw Error(sqlstate::kInvalidParameterValue, "unknown circuit breaker option \"" + key + "\"", "",
                  "Valid options: " + option_list() + ".");
    if (opt->alias && j.contains(opt->name) && j.contains(opt->alias))
      throw Error(sqlstate::kInvalidParameterValue,
                  std::string("circuit breaker option \"") + opt->name + "\" is given twice",
                  std::string("\"") + opt->alias + "\" is another name for \"" + opt->name + "\".");
    const nlohmann::json &v = it.value();
    std::string name = opt->name;
    if (name == "sliding_window_type") {
      std::string t = v.is_string() ? lower(v.get<std::string>()) : "";
      if (t == "count_based") c.sliding_window_type = WindowType::kCountBased;
      else if (t == "time_based") c.sliding_window_type = WindowType::kTimeBased;
      else bad_value(key, "expected \"COUNT_BASED\" or \"TIME_BASED\", got " + show(v));
    } else if (name == "sliding_window_size") {
      window_size_name = key;
      window_size_value = v;
      window_size = int_of(key, v, 1, kMaxCountWindow);
    } else if (name == "minimum_number_of_calls") {
      c.minimum_number_of_calls = int_of(key, v, 1, kMaxCalls);
    } else if (name == "failure_rate_threshold" || name == "slow_call_rate_threshold") {
      double d = number_of(key, v, "a percentage greater than 0 and at most 100");
      if (!(d > 0 && d <= 100)) bad_value(key, "expected a percentage greater than 0 and at most 100, got " + show(v));
      (name == "failure_rate_threshold" ? c.failure_rate_threshold : c.slow_call_rate_threshold) = d;
    } else if (name == "slow_call_duration") {
      c.slow_call_duration_us = duration_of(key, v, parse_duration, 1);
    } else if (name == "wait_duration_in_open_state") {
      c.wait_duration_in_open_state_us = duration_of(key, v, parse_duration, 1000);
    } else if (name == "exponential_backoff_multiplier") {
      double d = number_of(key, v, "a number between 1 and 100");
      if (!(d >= 1 && d <= 100)) bad_value(key, "expected a number between 1 and 100, got " + show(v));
      c.exponential_backoff_multiplier = d;
    } else if (name == "exponential_max_wait_duration_in_open_state") {
      c.exponential_max_wait_duration_in_open_state_us = duration_of(key, v, parse_duration, 1000);
    } else if (name == "randomized_wait_factor") {
      double d = number_of(key, v, "a number at least 0 and less than 1");
      if (!(d >= 0 && d < 1)) bad_value(key, "expected a number at least 0 and less than 1, got " + show(v));
      c.randomized_wait_factor = d;
    } else if (name == "permitted_calls_in_half_open_state") {
      c.permitted_calls_in_half_open_state = int_of(key, v, 1, kMaxHalfOpenPermits);
    } else if (name == "max_wait_duration_in_half_open_state") {
      c.max_wait_duration_in_half_open_state_us = duration_of(key, v, parse_duration, 0);
    } else if (name == "consecutive_failures_threshold") {
      c.consecutive_failures_threshold = int_of(key, v, 0, kMaxCalls);
    }
  }
  if (window_size >= 0) {
    int max = c.sliding_window_type == WindowType::kCountBased ? kMaxCountWindow : kMaxTimeWindowSeconds;
    if (window_size > max)
      bad_value(window_size_name, std::string("expected an integer between 1 and ") + std::to_string(max) +
                                      (c.sliding_window_type == WindowType::kCountBased ? " (calls)" : " (seconds)") +
                                      ", got " + show(window_size_value));
    c.sliding_window_size = window_size;
  }
  return c;
}

std::string format_duration(int64_t us) {
  constexpr int64_t kSec = 1000000;
  if (us != 0 && us % (86400 * kSec) == 0) return std::to_string(us / (86400 * kSec)) + " days";
  if (us != 0 && us % (3600 * kSec) == 0) return std::to_string(us / (3600 * kSec)) + " h";
  if (us != 0 && us % (60 * kSec) == 0) return std::to_string(us / (60 * kSec)) + " min";
  if (us % kSec == 0) return std::to_string(us / kSec) + " s";
  if (us % 1000 == 0) return std::to_string(us / 1000) + " ms";
  return std::to_string(us) + " us";
}

std::string config_to_json(const Config &c) {
  nlohmann::ordered_json j;
  j["sliding_window_type"] = c.sliding_window_type == WindowType::kCountBased ? "COUNT_BASED" : "TIME_BASED";
  j["sliding_window_size"] = c.sliding_window_size;
  j["minimum_number_of_calls"] = c.minimum_number_of_calls;
  j["failure_rate_threshold"] = c.failure_rate_threshold;
  j["slow_call_rate_threshold"] = c.slow_call_rate_threshold;
  j["slow_call_duration"] = format_duration(c.slow_call_duration_us);
  j["wait_duration_in_open_state"] = format_duration(c.wait_duration_in_open_state_us);
  j["exponential_backoff_multiplier"] = c.exponential_backoff_multiplier;
  if (c.exponential_max_wait_duration_in_open_state_us > 0)
    j["exponential_max_wait_duration_in_open_state"] = format_duration(c.exponential_max_wait_duration_in_open_state_us);
  else
    j["exponential_max_wait_duration_in_open_state"] = nullptr;
  j["randomized_wait_factor"] = c.randomized_wait_factor;
  j["permitted_calls_in_half_open_state"] = c.permitted_calls_in_half_open_state;
  j["max_wait_duration_in_half_open_state"] = format_duration(c.max_wait_duration_in_half_open_state_us);
  j["consecutive_failures_threshold"] = c.consecutive_failures_threshold;
  return j.dump();
}

int64_t open_wait_us(const Config &c, int32_t attempt, double random01) {
  double wait = static_cast<double>(c.wait_duration_in_open_state_us);
  if (c.exponential_backoff_multiplier > 1 && attempt > 1) {
    double cap = static_cast<double>(c.exponential_max_wait_duration_in_open_state_us > 0
                                         ? c.exponential_max_wait_duration_in_open_state_us
                                         : kMaxDurationUs);
    wait = std::min(cap, wait * std::pow(c.exponential_backoff_multiplier, std::min(attempt - 1, 10000)));
    wait = std::max(wait, static_cast<double>(c.wait_duration_in_open_state_us));  // a cap below the base wait
  }
  if (c.randomized_wait_factor > 0) {
    double r = std::min(std::max(random01, 0.0), 1.0);
    double delta = c.randomized_wait_factor * wait;
    wait = wait - delta + r * 2 * delta;
  }
  if (!(wait >= 0)) wait = 0;
  if (wait > static_cast<double>(kMaxDurationUs) * 2) wait = static_cast<double>(kMaxDurationUs) * 2;
  return static_cast<int64_t>(wait);
}

// ---- the state machine ----------------------------------------------------------------

void init(Breaker &b, const Config &c, int64_t now_us) {
  std::memset(&b, 0, sizeof b);
  b.config = c;
  to_closed(b, now_us);
}

void reconfigure(Breaker &b, const Config &c, int64_t now_us) {
  (void)now_us;
  b.config = c;
  clear_window(b);
}

Permit allow(Breaker &b, int64_t now_us, double random01, int64_t owner) {
  tick(b, now_us, random01);
  switch (b.state) {
    case State::kClosed:
    case State::kDisabled:
    case State::kMetricsOnly:
      return Permit::kAllowed;
    case State::kHalfOpen:
      if (b.nholders + b.ho_recorded < b.config.permitted_calls_in_half_open_state && b.nholders < kMaxHalfOpenPermits) {
        b.holders[b.nholders++] = Holder{owner, now_us};
        return Permit::kProbe;
      }
      break;
    case State::kOpen:
    case State::kForcedOpen:
      break;
  }
  b.not_permitted_calls++;
  return Permit::kDenied;
}

State record(Breaker &b, bool success, int64_t duration_us, int64_t now_us, double random01, int64_t owner) {
  tick(b, now_us, random01);
  uint8_t outcome = 0;
  if (!success) outcome |= kFailedBit;
  if (duration_us >= 0 && duration_us > b.config.slow_call_duration_us) outcome |= kSlowBit;
  switch (b.state) {
    case State::kDisabled:
      return b.state;
    case State::kOpen:
    case State::kForcedOpen:
      // A call allowed before the breaker opened: it counts in the metrics, changes nothing.
      window_add(b, outcome, now_us);
      return b.state;
    case State::kMetricsOnly:
    case State::kClosed: {
      window_add(b, outcome, now_us);
      b.consecutive_failures = success ? 0 : std::min(b.consecutive_failures + 1, kMaxCalls + 1);
      if (b.state == State::kMetricsOnly) return b.state;
      const Config &c = b.config;
      bool trip = c.consecutive_failures_threshold > 0 && b.consecutive_failures >= c.consecutive_failures_threshold;
      if (!trip) {
        Totals t = window_totals(b, now_us);
        trip = t.calls >= static_cast<uint32_t>(effective_minimum_calls(c)) && rates_exceeded(c, t.calls, t.failed, t.slow);
      }
      if (trip) to_open(b, now_us, random01);
      return b.state;
    }
    case State::kHalfOpen: {
      int which = -1;
      for (int i = 0; i < b.nholders; i++)
        if (b.holders[i].owner == owner) {
          which = i;
          break;
        }
      if (which < 0 && b.nholders > 0) which = 0;
      if (which < 0) return b.state;  // late result, no probe outstanding
      drop_holder(b, which);
      window_add(b, outcome, now_us);
      b.consecutive_failures = success ? 0 : std::min(b.consecutive_failures + 1, kMaxCalls + 1);
      b.ho_recorded++;
      if (outcome & kFailedBit) b.ho_failed++;
      if (outcome & kSlowBit) b.ho_slow++;
      if (b.ho_recorded >= b.config.permitted_calls_in_half_open_state) {
        if (rates_exceeded(b.config, static_cast<uint32_t>(b.ho_recorded), static_cast<uint32_t>(b.ho_failed),
                           static_cast<uint32_t>(b.ho_slow)))
          to_open(b, now_us, random01);
        else
          to_closed(b, now_us);
      }
      return b.state;
    }
  }
  return b.state;
}

int release_owner(Breaker &b, int64_t owner) {
  int n = 0;
  for (int i = b.nholders - 1; i >= 0; i--)
    if (b.holders[i].owner == owner) {
      drop_holder(b, i);
      n++;
    }
  return n;
}

int release_dead(Breaker &b, const std::function<bool(int64_t)> &alive) {
  int n = 0;
  for (int i = b.nholders - 1; i >= 0; i--)
    if (!alive(b.holders[i].owner)) {
      drop_holder(b, i);
      n++;
    }
  return n;
}

void force(Breaker &b, State target, int64_t now_us, double random01) {
  switch (target) {
    case State::kClosed:
      to_closed(b, now_us);
      break;
    case State::kOpen:
      to_open(b, now_us, random01);
      break;
    case State::kHalfOpen:
      to_half_open(b, now_us);
      break;
    case State::kForcedOpen:
      enter(b, State::kForcedOpen, now_us);
      b.opened_at_us = now_us;
      break;
    case State::kDisabled:
      enter(b, State::kDisabled, now_us);
      break;
    case State::kMetricsOnly:
      enter(b, State::kMetricsOnly, now_us);
      b.consecutive_failures = 0;
      clear_window(b);
      break;
  }
}

Metrics metrics(const Breaker &b, int64_t now_us) {
  Metrics m{};
  m.state = b.state;
  Totals t = window_totals(b, now_us);
  m.calls = t.calls;
  m.failed_calls = t.failed;
  m.slow_calls = t.slow;
  bool enough = t.calls > 0 && t.calls >= static_cast<uint32_t>(effective_minimum_calls(b.config));
  m.failure_rate = enough ? t.failed * 100.0 / t.calls : -1;
  m.slow_call_rate = enough ? t.slow * 100.0 / t.calls : -1;
  m.not_permitted_calls = b.not_permitted_calls;
  m.consecutive_failures = b.consecutive_failures;
  m.permits_in_use = b.state == State::kHalfOpen ? b.nholders : 0;
  m.attempts = b.attempts;
  m.opened_at_us = b.opened_at_us;
  m.open_until_us = b.state == State::kOpen ? b.open_until_us : 0;
  return m;
}

const char *state_name(State s) {
  switch (s) {
    case State::kClosed: return "CLOSED";
    case State::kOpen: return "OPEN";
    case State::kHalfOpen: return "HALF_OPEN";
    case State::kForcedOpen: return "FORCED_OPEN";
    case State::kDisabled: return "DISABLED";
    case State::kMetricsOnly: return "METRICS_ONLY";
  }
  return "UNKNOWN";
}

std::optional<State> parse_force_word(std::string_view word) {
  std::string w = lower(word);
  if (w == "closed") return State::kClosed;
  if (w == "open" || w == "forced_open") return State::kForcedOpen;
  if (w == "half_open") return State::kHalfOpen;
  if (w == "disabled") return State::kDisabled;
  if (w == "metrics_only") return State::kMetricsOnly;
  return std::nullopt;
}

}  // namespace nova::breaker
