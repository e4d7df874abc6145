// The relay's Kafka producer (librdkafka). No PostgreSQL calls in here: the worker
// hands it plain messages, polls it, and reads the delivery results afterwards.
#pragma once

#include <cstddef>
#include <cstdint>

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
  bool done;       // a result is known
  bool ok;         // acknowledged by Kafka
  bool permanent;  // the error will not go away by retrying (dead-letter at once)
  int err;         // rd_kafka_resp_err_t
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

  // Queue every message; immediate failures are recorded in the message. Returns how
  // many were queued (their reports arrive through poll()).
  int produce(OutMsg *msgs, int n);
  // Serve delivery reports for up to timeout_ms; returns messages still outstanding.
  int poll(int timeout_ms);
  // Give up on everything queued or in flight: their reports say "purged" (not delivered).
  void purge();
  // Outstanding messages of the last produce().
  int outstanding() const { return outstanding_; }
  // A fatal producer error (the idempotent producer cannot go on): recreate the sink.
  bool fatal(char *errbuf, size_t errlen);
  // Pop one message librdkafka logged or reported (warnings, errors); false when none.
  bool next_log(char *buf, size_t len);
  // message.timeout.ms in effect.
  int message_timeout_ms() const { return message_timeout_ms_; }

 private:
  KafkaSink() = default;
  static KafkaSink *create_impl(const char *brokers, const char *config, char *errbuf, size_t errlen, char *names,
                                size_t nameslen);
  void *rk_ = nullptr;  // rd_kafka_t*
  int outstanding_ = 0;
  bool closing_ = false;
  int message_timeout_ms_ = 10000;
  friend struct SinkCallbacks;
};

}  // namespace nova::relay
