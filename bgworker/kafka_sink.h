// The relay's Kafka producer (librdkafka). No PostgreSQL calls in here: the worker
// hands it plain messages, polls it, and reads the delivery results afterwards.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "core/relay_util.h"

namespace nova::relay {

// One event to send. Pointers stay valid until produce() returns (librdkafka copies).
// The result fields are filled in by produce() (immediate failure) or by the
// delivery report served from poll().
struct OutMsg {
  const char *topic;
  const char *key;  // nullptr = NULL key
  size_t key_len;
  const char *value;  // nullptr = tombstone
  size_t value_len;
  int64_t timestamp_ms;
  int nheaders;
  const char **hnames;
  const char **hvalues;
  // results
  bool done;          // a result is known
  bool ok;            // acknowledged by Kafka
  FailureClass cls;   // what the error says (classify_delivery_error, docs/relay.md)
  int err;            // rd_kafka_resp_err_t
  char errstr[200];
};

class KafkaSink {
 public:
  // A producer for `brokers` with the extra `k=v;k=v` properties. On failure returns
  // nullptr and writes a message (never a property value) into errbuf. `names` gets the
  // extra property names (for the log). Never throws.
  static KafkaSink *create(const char *brokers, const char *config, char *errbuf, size_t errlen, char *names,
                           size_t nameslen) noexcept;
  ~KafkaSink();

  // Every method is noexcept: the worker calls them from frames that PostgreSQL errors
  // may longjmp through, so nothing may throw out of here.

  // Queue every message; immediate failures are recorded in the message. Returns how
  // many were queued (their reports arrive through poll()).
  int produce(OutMsg *msgs, int n) noexcept;
  // Serve delivery reports for up to timeout_ms; returns messages still outstanding.
  int poll(int timeout_ms) noexcept;
  // Give up on everything queued or in flight: their reports say "purged" (not delivered).
  void purge() noexcept;
  // Outstanding messages of the last produce().
  int outstanding() const noexcept { return outstanding_; }
  // A fatal producer error (the idempotent producer cannot go on): recreate the sink.
  bool fatal(char *errbuf, size_t errlen) noexcept;
  // Pop one message librdkafka logged or reported (warnings, errors); false when none.
  bool next_log(char *buf, size_t len) noexcept;
  // message.timeout.ms in effect.
  int message_timeout_ms() const noexcept { return message_timeout_ms_; }
  // Does a broker answer a metadata request within timeout_ms? Sends no event: the
  // relay asks this during an outage before it sends its one-event probe.
  bool brokers_reachable(int timeout_ms) noexcept;
  // librdkafka reported "all brokers down" (error callback, served by poll()) since the
  // last acknowledged delivery or answered metadata request.
  bool all_brokers_down() const noexcept { return all_down_.load(); }

 private:
  KafkaSink() = default;
  static KafkaSink *create_impl(const char *brokers, const char *config, char *errbuf, size_t errlen, char *names,
                                size_t nameslen);
  void *rk_ = nullptr;  // rd_kafka_t*
  int outstanding_ = 0;
  bool closing_ = false;
  std::atomic<bool> all_down_{false};  // set from librdkafka's threads, read by the worker
  int message_timeout_ms_ = 10000;
  friend struct SinkCallbacks;
};

}  // namespace nova::relay
