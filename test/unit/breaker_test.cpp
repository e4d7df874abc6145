// Unit tests for the circuit-breaker state machine (src/core/breaker.*).
#include "core/breaker.h"

#include <gtest/gtest.h>

#include <memory>

#include "core/error.h"

namespace b = nova::breaker;
using b::Permit;
using b::State;

namespace {

constexpr int64_t kSec = 1000000;
constexpr int64_t kMs = 1000;
constexpr int64_t kT0 = 1000 * kSec;  // an arbitrary epoch offset

// A tiny duration parser for tests: "<n> s|ms|us|min".
std::optional<int64_t> test_duration(const std::string &s) {
  size_t pos = 0;
  long long n = 0;
  try {
    n = std::stoll(s, &pos);
  } catch (...) {
    return std::nullopt;
  }
  std::string u = s.substr(pos);
  while (!u.empty() && u.front() == ' ') u.erase(0, 1);
  if (u == "us") return n;
  if (u == "ms") return n * kMs;
  if (u == "s") return n * kSec;
  if (u == "min") return n * 60 * kSec;
  return std::nullopt;
}

b::Config cfg(const std::string &json) { return b::parse_config(json, test_duration); }

// Breaker is ~9 KB: keep it off the stack.
struct Fixture {
  std::unique_ptr<b::Breaker> br = std::make_unique<b::Breaker>();
  int64_t now = kT0;
  explicit Fixture(const std::string &json = "{}") { b::init(*br, cfg(json), now); }
  Permit allow(int64_t owner = 1) { return b::allow(*br, now, 0.5, owner); }
  State ok(int64_t dur = -1, int64_t owner = 1) { return b::record(*br, true, dur, now, 0.5, owner); }
  State fail(int64_t dur = -1, int64_t owner = 1) { return b::record(*br, false, dur, now, 0.5, owner); }
  b::Metrics m() const { return b::metrics(*br, now); }
  State state() const { return br->state; }
};

std::string error_of(const std::string &json) {
  try {
    cfg(json);
  } catch (const nova::Error &e) {
    EXPECT_STREQ(e.sqlstate(), "22023");
    return e.what();
  }
  return "";
}

}  // namespace

// ---- configuration ------------------------------------------------------------------

TEST(BreakerConfig, DefaultsAreResilience4js) {
  b::Config c = b::default_config();
  EXPECT_EQ(c.sliding_window_type, b::WindowType::kCountBased);
  EXPECT_EQ(c.sliding_window_size, 100);
  EXPECT_EQ(c.minimum_number_of_calls, 100);
  EXPECT_EQ(c.failure_rate_threshold, 50);
  EXPECT_EQ(c.slow_call_rate_threshold, 100);
  EXPECT_EQ(c.slow_call_duration_us, 60 * kSec);
  EXPECT_EQ(c.wait_duration_in_open_state_us, 60 * kSec);
  EXPECT_EQ(c.permitted_calls_in_half_open_state, 10);
  EXPECT_EQ(c.consecutive_failures_threshold, 0);
  EXPECT_EQ(c.max_wait_duration_in_half_open_state_us, 0);
}

TEST(BreakerConfig, KafkaHasRelayDefaults) {
  b::Config k = b::default_config_for("kafka");
  EXPECT_EQ(k.consecutive_failures_threshold, 3);
  EXPECT_EQ(k.permitted_calls_in_half_open_state, 1);
  EXPECT_EQ(k.wait_duration_in_open_state_us, 5 * kSec);
  EXPECT_EQ(k.max_wait_duration_in_half_open_state_us, 300 * kSec);
  b::Config other = b::default_config_for("payments");
  EXPECT_EQ(other.consecutive_failures_threshold, 0);
  EXPECT_EQ(other.minimum_number_of_calls, 100);
  // Options not given fall back to the breaker's own defaults.
  b::Config k2 = b::parse_config(R"({"wait_duration_in_open_state":"1 s"})", test_duration, k);
  EXPECT_EQ(k2.wait_duration_in_open_state_us, kSec);
  EXPECT_EQ(k2.consecutive_failures_threshold, 3);
}

TEST(BreakerConfig, ParsesEveryOption) {
  b::Config c = cfg(R"({"sliding_window_type":"time_based","sliding_window_size":30,"minimum_number_of_calls":5,
    "failure_rate_threshold":25.5,"slow_call_rate_threshold":80,"slow_call_duration":"200 ms",
    "wait_duration_in_open_state":"5 s","exponential_backoff_multiplier":2,
    "exponential_max_wait_duration_in_open_state":"1 min","randomized_wait_factor":0.5,
    "permitted_calls_in_half_open_state":3,"max_wait_duration_in_half_open_state":"10 s",
    "consecutive_failures_threshold":4})");
  EXPECT_EQ(c.sliding_window_type, b::WindowType::kTimeBased);
  EXPECT_EQ(c.sliding_window_size, 30);
  EXPECT_EQ(c.minimum_number_of_calls, 5);
  EXPECT_DOUBLE_EQ(c.failure_rate_threshold, 25.5);
  EXPECT_DOUBLE_EQ(c.slow_call_rate_threshold, 80);
  EXPECT_EQ(c.slow_call_duration_us, 200 * kMs);
  EXPECT_EQ(c.wait_duration_in_open_state_us, 5 * kSec);
  EXPECT_DOUBLE_EQ(c.exponential_backoff_multiplier, 2);
  EXPECT_EQ(c.exponential_max_wait_duration_in_open_state_us, 60 * kSec);
  EXPECT_DOUBLE_EQ(c.randomized_wait_factor, 0.5);
  EXPECT_EQ(c.permitted_calls_in_half_open_state, 3);
  EXPECT_EQ(c.max_wait_duration_in_half_open_state_us, 10 * kSec);
  EXPECT_EQ(c.consecutive_failures_threshold, 4);
}

TEST(BreakerConfig, AcceptsResilience4jLongNames) {
  b::Config c = cfg(R"({"slow_call_duration_threshold":"3 s","permitted_number_of_calls_in_half_open_state":7})");
  EXPECT_EQ(c.slow_call_duration_us, 3 * kSec);
  EXPECT_EQ(c.permitted_calls_in_half_open_state, 7);
  EXPECT_NE(error_of(R"({"slow_call_duration":"1 s","slow_call_duration_threshold":"2 s"})").find("given twice"),
            std::string::npos);
}

TEST(BreakerConfig, RejectsBadInput) {
  EXPECT_NE(error_of("[]").find("JSON object"), std::string::npos);
  EXPECT_NE(error_of("not json").find("JSON object"), std::string::npos);
  EXPECT_NE(error_of(R"({"nope":1})").find("unknown circuit breaker option \"nope\""), std::string::npos);
  struct Case {
    const char *json, *option;
  } cases[] = {
      {R"({"failure_rate_threshold":0})", "failure_rate_threshold"},
      {R"({"failure_rate_threshold":100.5})", "failure_rate_threshold"},
      {R"({"failure_rate_threshold":"50"})", "failure_rate_threshold"},
      {R"({"slow_call_rate_threshold":-1})", "slow_call_rate_threshold"},
      {R"({"sliding_window_size":0})", "sliding_window_size"},
      {R"({"sliding_window_size":1001})", "sliding_window_size"},
      {R"({"sliding_window_size":2.5})", "sliding_window_size"},
      {R"({"sliding_window_type":"TIME_BASED","sliding_window_size":301})", "sliding_window_size"},
      {R"({"sliding_window_type":"SESSION"})", "sliding_window_type"},
      {R"({"sliding_window_type":1})", "sliding_window_type"},
      {R"({"minimum_number_of_calls":0})", "minimum_number_of_calls"},
      {R"({"minimum_number_of_calls":true})", "minimum_number_of_calls"},
      {R"({"slow_call_duration":"0 s"})", "slow_call_duration"},
      {R"({"slow_call_duration":100})", "slow_call_duration"},
      {R"({"slow_call_duration":"soon"})", "slow_call_duration"},
      {R"({"wait_duration_in_open_state":"0 ms"})", "wait_duration_in_open_state"},
      {R"({"wait_duration_in_open_state":"-5 s"})", "wait_duration_in_open_state"},
      {R"({"wait_duration_in_open_state":"100000 min"})", "wait_duration_in_open_state"},
      {R"({"exponential_backoff_multiplier":0.5})", "exponential_backoff_multiplier"},
      {R"({"randomized_wait_factor":1})", "randomized_wait_factor"},
      {R"({"permitted_calls_in_half_open_state":0})", "permitted_calls_in_half_open_state"},
      {R"({"permitted_calls_in_half_open_state":101})", "permitted_calls_in_half_open_state"},
      {R"({"consecutive_failures_threshold":-1})", "consecutive_failures_threshold"},
      {R"({"max_wait_duration_in_half_open_state":null})", "max_wait_duration_in_half_open_state"},
  };
  for (const Case &c : cases) {
    std::string msg = error_of(c.json);
    EXPECT_NE(msg.find(std::string("\"") + c.option + "\""), std::string::npos) << c.json << " → " << msg;
  }
}

TEST(BreakerConfig, RoundTripsThroughJson) {
  b::Config c = cfg(R"({"sliding_window_type":"TIME_BASED","sliding_window_size":10,"slow_call_duration":"1500 ms",
                        "wait_duration_in_open_state":"2 min"})");
  std::string j = b::config_to_json(c);
  EXPECT_NE(j.find("\"TIME_BASED\""), std::string::npos);
  EXPECT_NE(j.find("\"1500 ms\""), std::string::npos);
  EXPECT_NE(j.find("\"2 min\""), std::string::npos);
  EXPECT_EQ(b::format_duration(250), "250 us");
  EXPECT_EQ(b::format_duration(3 * 3600 * kSec), "3 h");
  EXPECT_EQ(b::format_duration(2 * 86400 * kSec), "2 days");
  EXPECT_EQ(b::format_duration(0), "0 s");
}

TEST(BreakerConfig, ForceWords) {
  EXPECT_EQ(b::parse_force_word("OPEN"), State::kForcedOpen);
  EXPECT_EQ(b::parse_force_word("forced_open"), State::kForcedOpen);
  EXPECT_EQ(b::parse_force_word("Closed"), State::kClosed);
  EXPECT_EQ(b::parse_force_word("half_open"), State::kHalfOpen);
  EXPECT_EQ(b::parse_force_word("disabled"), State::kDisabled);
  EXPECT_EQ(b::parse_force_word("metrics_only"), State::kMetricsOnly);
  EXPECT_FALSE(b::parse_force_word("ajar").has_value());
  EXPECT_STREQ(b::state_name(State::kHalfOpen), "HALF_OPEN");
  EXPECT_STREQ(b::state_name(State::kForcedOpen), "FORCED_OPEN");
}

// ---- CLOSED → OPEN ---------------------------------------------------------------------

TEST(BreakerClosed, OpensAtFailureRateThresholdAfterMinimumCalls) {
  Fixture f(R"({"sliding_window_size":10,"minimum_number_of_calls":4,"failure_rate_threshold":50})");
  EXPECT_EQ(f.allow(), Permit::kAllowed);
  EXPECT_EQ(f.fail(), State::kClosed);
  EXPECT_EQ(f.fail(), State::kClosed);
  EXPECT_EQ(f.fail(), State::kClosed);  // 3 calls < minimum 4
  EXPECT_LT(f.m().failure_rate, 0);     // below minimum: no rate
  EXPECT_EQ(f.ok(), State::kOpen);      // 3/4 = 75% ≥ 50%
  EXPECT_EQ(f.m().failure_rate, 75);
  EXPECT_EQ(f.br->opened_at_us, f.now);
  EXPECT_EQ(f.br->open_until_us, f.now + 60 * kSec);
}

TEST(BreakerClosed, RateExactlyAtThresholdOpens) {
  Fixture f(R"({"sliding_window_size":4,"minimum_number_of_calls":4,"failure_rate_threshold":50})");
  f.ok();
  f.ok();
  f.fail();
  EXPECT_EQ(f.fail(), State::kOpen);  // 50% ≥ 50%
}

TEST(BreakerClosed, StaysClosedBelowThreshold) {
  Fixture f(R"({"sliding_window_size":10,"minimum_number_of_calls":10,"failure_rate_threshold":50})");
  for (int i = 0; i < 100; i++) EXPECT_EQ(i % 3 == 0 ? f.fail() : f.ok(), State::kClosed);
  EXPECT_EQ(f.m().calls, 10u);
}

TEST(BreakerClosed, CountWindowSlides) {
  Fixture f(R"({"sliding_window_size":4,"minimum_number_of_calls":4,"failure_rate_threshold":75})");
  f.fail();
  f.fail();
  f.ok();
  f.ok();  // 50%
  EXPECT_EQ(f.m().failed_calls, 2u);
  f.ok();  // evicts a failure
  EXPECT_EQ(f.m().failed_calls, 1u);
  EXPECT_EQ(f.m().calls, 4u);
  f.fail();
  f.fail();
  EXPECT_EQ(f.state(), State::kClosed);  // window: ok ok fail fail → 50%
  EXPECT_EQ(f.fail(), State::kOpen);     // ok fail fail fail → 75%
}

TEST(BreakerClosed, MinimumCallsCappedAtCountWindow) {
  Fixture f(R"({"sliding_window_size":2,"minimum_number_of_calls":50})");
  f.fail();
  EXPECT_EQ(f.fail(), State::kOpen);
}

TEST(BreakerClosed, SlowCallRateOpens) {
  Fixture f(R"({"sliding_window_size":4,"minimum_number_of_calls":4,"slow_call_rate_threshold":50,
                "slow_call_duration":"100 ms"})");
  f.ok(100 * kMs);  // exactly the threshold is not slow
  f.ok(-1);         // unknown duration is never slow
  f.ok(101 * kMs);
  EXPECT_EQ(f.m().slow_calls, 1u);
  EXPECT_EQ(f.ok(5 * kSec), State::kOpen);  // 2/4 slow
  EXPECT_EQ(f.m().slow_call_rate, 50);
  EXPECT_EQ(f.m().failure_rate, 0);
}

TEST(BreakerClosed, SlowFailureCountsAsBoth) {
  Fixture f(R"({"sliding_window_size":2,"minimum_number_of_calls":2,"slow_call_duration":"1 s",
                "failure_rate_threshold":100})");
  f.ok();
  f.fail(2 * kSec);
  EXPECT_EQ(f.m().failed_calls, 1u);
  EXPECT_EQ(f.m().slow_calls, 1u);
  EXPECT_EQ(f.state(), State::kClosed);
}

TEST(BreakerClosed, ConsecutiveFailuresMode) {
  Fixture f(R"({"consecutive_failures_threshold":3})");  // rates need 100 calls: only the streak matters here
  f.fail();
  f.fail();
  f.ok();  // resets the streak
  EXPECT_EQ(f.br->consecutive_failures, 0);
  f.fail();
  EXPECT_EQ(f.fail(), State::kClosed);
  EXPECT_EQ(f.br->consecutive_failures, 2);
  EXPECT_EQ(f.fail(), State::kOpen);
}

TEST(BreakerClosed, TimeWindowExpires) {
  Fixture f(R"({"sliding_window_type":"TIME_BASED","sliding_window_size":10,"minimum_number_of_calls":3})");
  f.fail();
  f.fail();
  EXPECT_EQ(f.m().calls, 2u);
  f.now += 10 * kSec;  // both failures fall out of the 10 s window
  EXPECT_EQ(f.m().calls, 0u);
  EXPECT_EQ(f.ok(), State::kClosed);
  f.ok();
  EXPECT_EQ(f.m().calls, 2u);
  f.now += 9 * kSec;  // still inside
  EXPECT_EQ(f.fail(), State::kClosed);  // 1/3
  EXPECT_EQ(f.fail(), State::kOpen);    // 2/4 = 50%
}

TEST(BreakerClosed, TimeWindowAggregatesPerSecondBuckets) {
  Fixture f(R"({"sliding_window_type":"TIME_BASED","sliding_window_size":3,"minimum_number_of_calls":100})");
  for (int s = 0; s < 6; s++) {
    f.ok();
    f.fail();
    f.now += kSec;
  }
  f.now -= kSec;
  EXPECT_EQ(f.m().calls, 6u);  // the last three seconds
  EXPECT_EQ(f.m().failed_calls, 3u);
  f.now += 100 * kSec;
  EXPECT_EQ(f.m().calls, 0u);
}

TEST(BreakerClosed, TimeWindowMinimumCallsNotCapped) {
  Fixture f(R"({"sliding_window_type":"TIME_BASED","sliding_window_size":1,"minimum_number_of_calls":5})");
  for (int i = 0; i < 4; i++) EXPECT_EQ(f.fail(), State::kClosed);
  EXPECT_EQ(f.fail(), State::kOpen);
}

// ---- OPEN, HALF_OPEN -----------------------------------------------------------------------

Fixture opened(const std::string &json) {
  Fixture f(json);
  f.fail();
  f.fail();
  EXPECT_EQ(f.state(), State::kOpen);
  return f;
}

const char *kSmall =
    R"({"sliding_window_size":2,"minimum_number_of_calls":2,"wait_duration_in_open_state":"10 s",
        "permitted_calls_in_half_open_state":2})";

TEST(BreakerOpen, DeniesUntilTheWaitThenHalfOpens) {
  Fixture f = opened(kSmall);
  EXPECT_EQ(f.allow(), Permit::kDenied);
  f.now += 10 * kSec - 1;
  EXPECT_EQ(f.allow(), Permit::kDenied);
  EXPECT_EQ(f.m().not_permitted_calls, 2);
  EXPECT_EQ(f.state(), State::kOpen);
  f.now += 1;
  EXPECT_EQ(f.allow(), Permit::kProbe);  // lazy OPEN → HALF_OPEN
  EXPECT_EQ(f.state(), State::kHalfOpen);
}

TEST(BreakerOpen, LateResultsCountButDoNotTransition) {
  Fixture f = opened(kSmall);
  EXPECT_EQ(f.ok(), State::kOpen);
  EXPECT_EQ(f.m().calls, 2u);
}

TEST(BreakerHalfOpen, PermitsLimitedAndSuccessCloses) {
  Fixture f = opened(kSmall);
  f.now += 10 * kSec;
  EXPECT_EQ(f.allow(1), Permit::kProbe);
  EXPECT_EQ(f.allow(2), Permit::kProbe);
  EXPECT_EQ(f.allow(3), Permit::kDenied);
  EXPECT_EQ(f.m().permits_in_use, 2);
  EXPECT_EQ(f.ok(-1, 1), State::kHalfOpen);
  EXPECT_EQ(f.allow(3), Permit::kDenied);  // a recorded probe does not free a permit
  EXPECT_EQ(f.ok(-1, 2), State::kClosed);
  EXPECT_EQ(f.m().calls, 0u);  // fresh metrics
  EXPECT_EQ(f.m().not_permitted_calls, 0);
  EXPECT_EQ(f.br->attempts, 0);
  EXPECT_EQ(f.allow(3), Permit::kAllowed);
}

TEST(BreakerHalfOpen, FailingProbesReopen) {
  Fixture f = opened(kSmall);
  f.now += 10 * kSec;
  f.allow(1);
  f.allow(2);
  f.ok(-1, 1);
  EXPECT_EQ(f.fail(-1, 2), State::kOpen);  // 50% ≥ 50%
  EXPECT_EQ(f.br->attempts, 2);
  EXPECT_EQ(f.br->open_until_us, f.now + 10 * kSec);
}

TEST(BreakerHalfOpen, SlowProbesReopen) {
  Fixture f = opened(R"({"sliding_window_size":2,"minimum_number_of_calls":2,"permitted_calls_in_half_open_state":1,
                         "slow_call_duration":"1 s","slow_call_rate_threshold":100,"wait_duration_in_open_state":"1 s"})");
  f.now += kSec;
  EXPECT_EQ(f.allow(), Permit::kProbe);
  EXPECT_EQ(f.ok(2 * kSec), State::kOpen);
}

TEST(BreakerHalfOpen, ResultWithoutPermitUsesTheOldestOutstanding) {
  Fixture f = opened(kSmall);
  f.now += 10 * kSec;
  f.allow(1);
  // A pooled connection: the result arrives from another backend.
  EXPECT_EQ(f.ok(-1, 99), State::kHalfOpen);
  EXPECT_EQ(f.br->nholders, 0);
  EXPECT_EQ(f.br->ho_recorded, 1);
  // Nothing outstanding: a late result is ignored.
  EXPECT_EQ(f.fail(-1, 98), State::kHalfOpen);
  EXPECT_EQ(f.br->ho_recorded, 1);
  f.allow(2);
  EXPECT_EQ(f.ok(-1, 2), State::kClosed);
}

TEST(BreakerHalfOpen, ExitedOwnerReleasesItsPermit) {
  Fixture f = opened(kSmall);
  f.now += 10 * kSec;
  EXPECT_EQ(f.allow(7), Permit::kProbe);
  EXPECT_EQ(f.allow(7), Permit::kProbe);
  EXPECT_EQ(f.allow(8), Permit::kDenied);
  EXPECT_EQ(b::release_owner(*f.br, 7), 2);
  EXPECT_EQ(b::release_owner(*f.br, 7), 0);
  EXPECT_EQ(f.allow(8), Permit::kProbe);
}

TEST(BreakerHalfOpen, DeadOwnersReclaimed) {
  Fixture f = opened(kSmall);
  f.now += 10 * kSec;
  f.allow(1);
  f.allow(2);
  EXPECT_EQ(b::release_dead(*f.br, [](int64_t owner) { return owner != 2; }), 1);
  EXPECT_EQ(f.br->nholders, 1);
  EXPECT_EQ(f.br->holders[0].owner, 1);
  EXPECT_EQ(f.allow(3), Permit::kProbe);
}

TEST(BreakerHalfOpen, MaxWaitReopens) {
  Fixture f = opened(R"({"sliding_window_size":2,"minimum_number_of_calls":2,"wait_duration_in_open_state":"10 s",
                         "max_wait_duration_in_half_open_state":"5 s"})");
  f.now += 10 * kSec;
  EXPECT_EQ(f.allow(1), Permit::kProbe);  // taken and never reported
  f.now += 5 * kSec;
  EXPECT_EQ(f.allow(2), Permit::kDenied);
  EXPECT_EQ(f.state(), State::kOpen);
  EXPECT_EQ(f.br->attempts, 2);
  f.now += 10 * kSec;
  EXPECT_EQ(f.allow(2), Permit::kProbe);
}

TEST(BreakerHalfOpen, PermitsBelongToOnePeriod) {
  Fixture f = opened(R"({"sliding_window_size":2,"minimum_number_of_calls":2,"wait_duration_in_open_state":"10 s",
                         "permitted_calls_in_half_open_state":1})");
  f.now += 10 * kSec;
  f.allow(1);
  EXPECT_EQ(f.fail(-1, 1), State::kOpen);
  EXPECT_EQ(f.br->nholders, 0);
  f.now += 10 * kSec;
  EXPECT_EQ(f.allow(2), Permit::kProbe);
  EXPECT_EQ(b::release_owner(*f.br, 1), 0);
}

// ---- backoff and jitter --------------------------------------------------------------------

TEST(BreakerBackoff, ExponentialWithCap) {
  b::Config c = cfg(R"({"wait_duration_in_open_state":"1 s","exponential_backoff_multiplier":2,
                        "exponential_max_wait_duration_in_open_state":"5 s"})");
  EXPECT_EQ(b::open_wait_us(c, 1, 0.5), 1 * kSec);
  EXPECT_EQ(b::open_wait_us(c, 2, 0.5), 2 * kSec);
  EXPECT_EQ(b::open_wait_us(c, 3, 0.5), 4 * kSec);
  EXPECT_EQ(b::open_wait_us(c, 4, 0.5), 5 * kSec);
  EXPECT_EQ(b::open_wait_us(c, 100000, 0.5), 5 * kSec);
}

TEST(BreakerBackoff, UncappedStaysBounded) {
  b::Config c = cfg(R"({"wait_duration_in_open_state":"1 s","exponential_backoff_multiplier":100})");
  EXPECT_EQ(b::open_wait_us(c, 1000, 0.5), b::kMaxDurationUs);
}

TEST(BreakerBackoff, Jitter) {
  b::Config c = cfg(R"({"wait_duration_in_open_state":"10 s","randomized_wait_factor":0.5})");
  EXPECT_EQ(b::open_wait_us(c, 1, 0.0), 5 * kSec);
  EXPECT_EQ(b::open_wait_us(c, 1, 0.5), 10 * kSec);
  EXPECT_EQ(b::open_wait_us(c, 1, 0.999999), 15 * kSec - 10);
}

TEST(BreakerBackoff, ReopeningGrowsTheWaitAndClosingResetsIt) {
  Fixture f = opened(R"({"sliding_window_size":2,"minimum_number_of_calls":2,"wait_duration_in_open_state":"1 s",
                         "exponential_backoff_multiplier":3,"permitted_calls_in_half_open_state":1})");
  EXPECT_EQ(f.br->open_until_us - f.now, 1 * kSec);
  f.now += kSec;
  f.allow();
  f.fail();
  EXPECT_EQ(f.br->open_until_us - f.now, 3 * kSec);
  f.now += 3 * kSec;
  f.allow();
  f.fail();
  EXPECT_EQ(f.br->open_until_us - f.now, 9 * kSec);
  f.now += 9 * kSec;
  f.allow();
  EXPECT_EQ(f.ok(), State::kClosed);
  f.fail();
  f.fail();
  EXPECT_EQ(f.br->open_until_us - f.now, 1 * kSec);
}

// ---- forced states ---------------------------------------------------------------------------

TEST(BreakerForce, ForcedOpenDeniesForever) {
  Fixture f;
  b::force(*f.br, State::kForcedOpen, f.now, 0.5);
  EXPECT_EQ(f.allow(), Permit::kDenied);
  f.now += 1000 * kSec;
  EXPECT_EQ(f.allow(), Permit::kDenied);
  EXPECT_EQ(f.ok(), State::kForcedOpen);
  EXPECT_EQ(f.m().opened_at_us, kT0);
  EXPECT_EQ(f.m().open_until_us, 0);
  b::force(*f.br, State::kClosed, f.now, 0.5);
  EXPECT_EQ(f.allow(), Permit::kAllowed);
  EXPECT_EQ(f.m().opened_at_us, 0);
}

TEST(BreakerForce, DisabledAllowsAndRecordsNothing) {
  Fixture f(R"({"sliding_window_size":2,"minimum_number_of_calls":2})");
  b::force(*f.br, State::kDisabled, f.now, 0.5);
  for (int i = 0; i < 10; i++) {
    EXPECT_EQ(f.allow(), Permit::kAllowed);
    EXPECT_EQ(f.fail(), State::kDisabled);
  }
  EXPECT_EQ(f.m().calls, 0u);
}

TEST(BreakerForce, MetricsOnlyRecordsButNeverOpens) {
  Fixture f(R"({"sliding_window_size":2,"minimum_number_of_calls":2,"consecutive_failures_threshold":1})");
  b::force(*f.br, State::kMetricsOnly, f.now, 0.5);
  for (int i = 0; i < 10; i++) {
    EXPECT_EQ(f.allow(), Permit::kAllowed);
    EXPECT_EQ(f.fail(), State::kMetricsOnly);
  }
  EXPECT_EQ(f.m().calls, 2u);
  EXPECT_EQ(f.m().failure_rate, 100);
}

TEST(BreakerForce, HalfOpenAndTimedOpen) {
  Fixture f(kSmall);
  b::force(*f.br, State::kHalfOpen, f.now, 0.5);
  EXPECT_EQ(f.allow(), Permit::kProbe);
  b::force(*f.br, State::kOpen, f.now, 0.5);
  EXPECT_EQ(f.state(), State::kOpen);
  EXPECT_EQ(f.allow(), Permit::kDenied);
  f.now += 10 * kSec;
  EXPECT_EQ(f.allow(), Permit::kProbe);
}

TEST(BreakerForce, ClosedResetsEverything) {
  Fixture f = opened(kSmall);
  f.allow();
  b::force(*f.br, State::kClosed, f.now, 0.5);
  EXPECT_EQ(f.state(), State::kClosed);
  EXPECT_EQ(f.m().calls, 0u);
  EXPECT_EQ(f.m().not_permitted_calls, 0);
  EXPECT_EQ(f.br->attempts, 0);
}

// ---- reconfiguration --------------------------------------------------------------------------

TEST(BreakerReconfigure, KeepsStateRestartsWindow) {
  Fixture f = opened(kSmall);
  int64_t until = f.br->open_until_us;
  b::reconfigure(*f.br, cfg(R"({"sliding_window_type":"TIME_BASED","sliding_window_size":5})"), f.now);
  EXPECT_EQ(f.state(), State::kOpen);
  EXPECT_EQ(f.br->open_until_us, until);
  EXPECT_EQ(f.m().calls, 0u);
  b::force(*f.br, State::kClosed, f.now, 0.5);
  f.fail();
  EXPECT_EQ(f.m().calls, 1u);
}

TEST(BreakerReconfigure, FewerPermitsInHalfOpen) {
  Fixture f = opened(R"({"sliding_window_size":2,"minimum_number_of_calls":2,"wait_duration_in_open_state":"1 s",
                         "permitted_calls_in_half_open_state":5})");
  f.now += kSec;
  f.allow(1);
  f.allow(2);
  b::reconfigure(*f.br, cfg(R"({"permitted_calls_in_half_open_state":2})"), f.now);
  EXPECT_EQ(f.allow(3), Permit::kDenied);
  f.ok(-1, 1);
  EXPECT_EQ(f.ok(-1, 2), State::kClosed);
}

TEST(BreakerPod, FitsSharedMemory) {
  EXPECT_LT(sizeof(b::Breaker), 16u * 1024);
}

// Durations are parsed in core (no PostgreSQL call whose error would have to be
// swallowed): PostgreSQL's interval syntax, months as 30 days.
TEST(BreakerConfig, ParsesIntervalStrings) {
  using nova::breaker::parse_interval_us;
  EXPECT_EQ(parse_interval_us("500 ms"), 500000);
  EXPECT_EQ(parse_interval_us("1s"), 1000000);
  EXPECT_EQ(parse_interval_us("1 min"), 60000000);
  EXPECT_EQ(parse_interval_us("2 Minutes 30 seconds"), 150000000);
  EXPECT_EQ(parse_interval_us("1.5 h"), 5400000000LL);
  EXPECT_EQ(parse_interval_us("250 us"), 250);
  EXPECT_EQ(parse_interval_us("1 day"), 86400000000LL);
  EXPECT_EQ(parse_interval_us("1 mon"), 30 * 86400000000LL);
  EXPECT_EQ(parse_interval_us("1 year"), 360 * 86400000000LL);
  EXPECT_EQ(parse_interval_us("00:01:30"), 90000000);
  EXPECT_EQ(parse_interval_us("01:00"), 3600000000LL);
  EXPECT_EQ(parse_interval_us("  @ 10 s  "), 10000000);
  EXPECT_EQ(parse_interval_us("10"), 10000000);
  EXPECT_EQ(parse_interval_us("-1 s"), -1000000);
  EXPECT_EQ(parse_interval_us("1 s ago"), -1000000);
  EXPECT_EQ(parse_interval_us(std::string(400, '9') + " s"), INT64_MAX);
  for (const char *bad : {"", " ", "fast", "1 fortnight", "s", "1 2", ".", "1:", ":30", "ago", "1 s agox",
                          "10 s junk", "--1 s", "1e3 s"})
    EXPECT_FALSE(parse_interval_us(bad).has_value()) << bad;
}
