// Plain-C++ pieces of the relay (no PostgreSQL): nova.kafka_config parsing, compact
// JSON, retry backoff, and what a delivery error means (classify_delivery_error). Unit-tested in test/unit/relay_util_test.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace nova::relay {

// Parse nova.kafka_config: `key=value;key=value`. Whitespace around keys and values
// is trimmed; `\;` and `\\` escape inside values; empty items are skipped. Keys are
// librdkafka property names ([A-Za-z0-9._-]+). Duplicate keys, missing '=', and the
// properties the relay owns (bootstrap servers, idempotence, acks, partitioner,
// callbacks) are rejected. Throws nova::Error (22023) whose message names the
// property or position but never contains a value (values may be secrets).
std::vector<std::pair<std::string, std::string>> parse_kafka_config(const std::string &text);

// Is this property one whose value must never be logged? (passwords, keys, secrets, tokens)
bool is_secret_property(const std::string &name);

// Delay before the next attempt after `attempts` failed ones (attempts >= 1):
// 100 ms * 2^(attempts-1), capped at 60 s, scaled by `jitter` in [0.8, 1.2).
double backoff_ms(int attempts, double jitter);

// What a failed delivery says (docs/relay.md, "Which failures spend attempts").
enum class FailureClass {
  kDelivered,  // no error
  kBroker,     // says nothing about the message (unreachable, timeouts, leader or
               // replicas unavailable, purged): never spends an attempt, never dead-letters
  kMessage,    // about this message (topic authorization, unknown or invalid topic, …):
               // spends an attempt; dead letter after nova.relay_max_attempts
  kPoison,     // the message can never be accepted as it is (too large, invalid record):
               // spends an attempt and goes to dead letters at once
};
// err is an rd_kafka_resp_err_t. Errors not listed are kMessage: an unknown error
// must not stop every key behind it forever.
FailureClass classify_delivery_error(int err) noexcept;
const char *failure_class_name(FailureClass c) noexcept;

}  // namespace nova::relay
