// The relay's Kafka producer; see kafka_sink.h. Plain C++ and librdkafka only:
// nothing here may call PostgreSQL (callbacks run inside rd_kafka_poll, and
// librdkafka's own threads must never touch the backend).
#include "bgworker/kafka_sink.h"

#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>

#include "core/error.h"
#include "core/relay_util.h"

namespace nova::relay {

namespace {

// Log lines from librdkafka, handed to the worker after poll() (bounded).
std::mutex g_log_mutex;
std::deque<std::string> g_logs;
constexpr size_t kMaxLogs = 32;

void push_log(const std::string &s) {
  std::lock_guard<std::mutex> lock(g_log_mutex);
  if (g_logs.size() >= kMaxLogs) g_logs.pop_front();
  g_logs.push_back(s);
}

void set_result(OutMsg *m, rd_kafka_resp_err_t err, const char *errstr) {
  m->done = true;
  m->err = err;
  m->ok = (err == RD_KAFKA_RESP_ERR_NO_ERROR);
  m->cls = classify_delivery_error(err);
  if (m->ok) {
    m->errstr[0] = '\0';
  } else {
    snprintf(m->errstr, sizeof m->errstr, "%s", errstr ? errstr : rd_kafka_err2str(err));
  }
}

// The whole file without trailing newlines; false when it cannot be read.
bool read_secret_file(const std::string &path, std::string *out) {
  FILE *f = fopen(path.c_str(), "r");
  if (!f) return false;
  std::string data;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0 && data.size() < (1u << 20)) data.append(buf, n);
  bool ok = !ferror(f);
  fclose(f);
  while (!data.empty() && (data.back() == '\n' || data.back() == '\r')) data.pop_back();
  *out = data;
  return ok;
}

}  // namespace

struct SinkCallbacks {
  static void dr(rd_kafka_t *, const rd_kafka_message_t *msg, void *opaque) noexcept {
    auto *sink = static_cast<KafkaSink *>(opaque);
    auto *m = static_cast<OutMsg *>(msg->_private);
    if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) sink->all_down_.store(false);
    if (!m || sink->closing_) return;  // the batch the message belonged to is gone
    set_result(m, msg->err, nullptr);  // (message_errstr would return the payload)
    if (sink->outstanding_ > 0) sink->outstanding_--;
  }
  static void error(rd_kafka_t *, int err, const char *reason, void *opaque) noexcept {
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) static_cast<KafkaSink *>(opaque)->all_down_.store(true);
    try {
      push_log(std::string("kafka error: ") + rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)) + ": " +
               (reason ? reason : ""));
    } catch (...) {
    }
  }
  static void log(const rd_kafka_t *, int level, const char *fac, const char *buf) noexcept {
    if (level > 4) return;  // warnings and worse
    try {
      push_log(std::string("kafka ") + (fac ? fac : "") + ": " + (buf ? buf : ""));
    } catch (...) {
    }
  }
};

KafkaSink *KafkaSink::create(const char *brokers, const char *config, char *errbuf, size_t errlen, char *names,
                             size_t nameslen) noexcept {
  try {
    return create_impl(brokers, config, errbuf, errlen, names, nameslen);
  } catch (const std::exception &e) {
    snprintf(errbuf, errlen, "cannot create the Kafka producer: %s", e.what());
  } catch (...) {
    snprintf(errbuf, errlen, "cannot create the Kafka producer");
  }
  return nullptr;
}

KafkaSink *KafkaSink::create_impl(const char *brokers, const char *config, char *errbuf, size_t errlen, char *names,
                                  size_t nameslen) {
  errbuf[0] = '\0';
  names[0] = '\0';
  std::vector<std::pair<std::string, std::string>> extra;
  try {
    extra = parse_kafka_config(config ? config : "");
  } catch (const nova::Error &e) {
    snprintf(errbuf, errlen, "%s", e.what());
    return nullptr;
  }
  {
    std::string n;
    for (auto &kv : extra) n += (n.empty() ? "" : ", ") + kv.first;
    snprintf(names, nameslen, "%s", n.c_str());
  }
  char err[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  auto set = [&](const char *k, const char *v, bool user) -> bool {
    if (rd_kafka_conf_set(conf, k, v, err, sizeof err) != RD_KAFKA_CONF_OK) {
      // librdkafka's message may quote the value: report the property name only.
      snprintf(errbuf, errlen, "invalid %s Kafka property \"%s\"", user ? "nova.kafka_config" : "relay", k);
      return false;
    }
    return true;
  };
  // Defaults that make sense for a relay; nova.kafka_config may change them.
  bool ok = set("bootstrap.servers", brokers, false) && set("enable.idempotence", "true", false) &&
            set("acks", "all", false) && set("partitioner", "murmur2_random", false) &&
            set("message.timeout.ms", "10000", false) &&
            // The relay flushes after handing over a batch (rd_kafka_flush sends at once,
            // ignoring linger.ms), so a longer linger costs no latency: it only keeps the
            // broker threads from sending the batch piecemeal while it is being queued
            // (1 ms gave ~5 requests per broker per batch). docs/relay.md, docs/benchmarks.md.
            set("linger.ms", "10", false) && set("batch.num.messages", "10000", false) &&
            set("client.id", "nova-relay", false) && set("log.queue", "true", false) &&
            set("socket.keepalive.enable", "true", false) && set("socket.nagle.disable", "true", false) &&
            // Reconnect at least once a second: after an outage the relay resumes
            // within a few seconds, not after librdkafka's 10 s default backoff.
            set("reconnect.backoff.max.ms", "1000", false);
  for (auto &kv : extra) {
    if (!ok) break;
    std::string value = kv.second;
    if (value.size() > 1 && value[0] == '@' && value[1] == '/') {
      // `@/path`: the value is the file's content (secrets stay out of postgresql.conf and the log).
      if (!read_secret_file(value.substr(1), &value)) {
        snprintf(errbuf, errlen, "cannot read the file given for Kafka property \"%s\"", kv.first.c_str());
        ok = false;
        break;
      }
    }
    ok = set(kv.first.c_str(), value.c_str(), true);
  }
  if (!ok) {
    rd_kafka_conf_destroy(conf);
    return nullptr;
  }
  KafkaSink *sink = new KafkaSink();
  {
    char v[64];
    size_t vlen = sizeof v;
    if (rd_kafka_conf_get(conf, "message.timeout.ms", v, &vlen) == RD_KAFKA_CONF_OK) sink->message_timeout_ms_ = atoi(v);
    if (sink->message_timeout_ms_ <= 0) sink->message_timeout_ms_ = 300000;
  }
  rd_kafka_conf_set_opaque(conf, sink);
  rd_kafka_conf_set_dr_msg_cb(conf, SinkCallbacks::dr);
  rd_kafka_conf_set_error_cb(conf, SinkCallbacks::error);
  rd_kafka_conf_set_log_cb(conf, SinkCallbacks::log);
  // librdkafka starts threads: they must not take the backend's signals.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (!rk) {  // conf is still ours on failure
    rd_kafka_conf_destroy(conf);
    snprintf(errbuf, errlen, "cannot create the Kafka producer: %s", err);
    delete sink;
    return nullptr;
  }
  rd_kafka_set_log_queue(rk, nullptr);  // logs are served by rd_kafka_poll on our thread
  sink->rk_ = rk;
  return sink;
}

KafkaSink::~KafkaSink() {
  if (rk_) {
    auto *rk = static_cast<rd_kafka_t *>(rk_);
    closing_ = true;
    rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(rk, 0);
    rd_kafka_destroy(rk);
  }
}

int KafkaSink::produce(OutMsg *msgs, int n) noexcept {
  auto *rk = static_cast<rd_kafka_t *>(rk_);
  int queued = 0;
  for (int i = 0; i < n; i++) {
    OutMsg *m = &msgs[i];
    m->done = m->ok = false;
    m->cls = FailureClass::kDelivered;
    m->err = 0;
    m->errstr[0] = '\0';
    rd_kafka_headers_t *hdrs = rd_kafka_headers_new(static_cast<size_t>(m->nheaders));
    for (int h = 0; h < m->nheaders; h++) rd_kafka_header_add(hdrs, m->hnames[h], -1, m->hvalues[h], -1);
    rd_kafka_resp_err_t err;
    for (;;) {
      err = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(m->topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                              RD_KAFKA_V_KEY(m->key, m->key ? m->key_len : 0),
                              RD_KAFKA_V_VALUE(const_cast<char *>(m->value), m->value ? m->value_len : 0),
                              RD_KAFKA_V_TIMESTAMP(m->timestamp_ms), RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(m),
                              RD_KAFKA_V_END);
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) break;
      rd_kafka_poll(rk, 50);  // local queue full: serve reports, then try again
    }
    if (err) {
      rd_kafka_headers_destroy(hdrs);  // not taken over on failure
      set_result(m, err, nullptr);
    } else {
      queued++;
      outstanding_++;
    }
  }
  return queued;
}

int KafkaSink::poll(int timeout_ms) noexcept {
  auto *rk = static_cast<rd_kafka_t *>(rk_);
  if (outstanding_ > 0) {
    rd_kafka_flush(rk, timeout_ms);  // sends at once (ignores linger) and serves reports
  } else {
    rd_kafka_poll(rk, timeout_ms);
  }
  return outstanding_;
}

void KafkaSink::purge() noexcept {
  auto *rk = static_cast<rd_kafka_t *>(rk_);
  rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  rd_kafka_poll(rk, 0);
  for (int i = 0; i < 50 && outstanding_ > 0; i++) rd_kafka_poll(rk, 10);
  outstanding_ = 0;
}

bool KafkaSink::fatal(char *errbuf, size_t errlen) noexcept {
  auto *rk = static_cast<rd_kafka_t *>(rk_);
  return rd_kafka_fatal_error(rk, errbuf, errlen) != RD_KAFKA_RESP_ERR_NO_ERROR;
}

bool KafkaSink::next_log(char *buf, size_t len) noexcept {
  std::lock_guard<std::mutex> lock(g_log_mutex);  // lock() throws only on a corrupt mutex
  if (g_logs.empty()) return false;
  snprintf(buf, len, "%s", g_logs.front().c_str());
  g_logs.pop_front();  // noexcept; the string's destructor does not throw
  return true;
}

bool KafkaSink::brokers_reachable(int timeout_ms) noexcept {
  auto *rk = static_cast<rd_kafka_t *>(rk_);
  const struct rd_kafka_metadata *md = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, nullptr, &md, timeout_ms);
  bool ok = err == RD_KAFKA_RESP_ERR_NO_ERROR && md != nullptr && md->broker_cnt > 0;
  if (md) rd_kafka_metadata_destroy(md);
  rd_kafka_poll(rk, 0);  // serve logs and errors queued meanwhile
  if (ok) all_down_.store(false);  // a broker answered: an earlier "all brokers down" is over
  return ok;
}

}  // namespace nova::relay
