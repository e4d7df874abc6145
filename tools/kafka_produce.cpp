// The relay benchmark's anchor: librdkafka alone producing messages shaped like the
// relay's (key, JSON-sized value, four headers like event-id/event-type/occurred-at/
// source) with the relay's producer settings (idempotence, acks=all, murmur2_random),
// into the same embedded Kafka. Prints the rate and the CPU this process used.
//
//   build/kafka_produce -b BROKERS -t TOPIC [-n COUNT] [--size BYTES] [--keys N]
//                       [--batch N] [-X key=value]...
//
// --batch N: flush and wait for every report after each N messages, as the relay does
// per batch (0, the default: produce everything, then flush once). Exits non-zero if a
// message was not acknowledged.
#include <librdkafka/rdkafka.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

long g_failed = 0;
long g_acked = 0;

void on_delivery(rd_kafka_t *, const rd_kafka_message_t *m, void *) {
  if (m->err) {
    if (g_failed++ == 0) fprintf(stderr, "kafka_produce: delivery failed: %s\n", rd_kafka_err2str(m->err));
  } else {
    g_acked++;
  }
}

double cpu_seconds() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

bool conf_set(rd_kafka_conf_t *conf, const char *k, const char *v) {
  char err[512];
  if (rd_kafka_conf_set(conf, k, v, err, sizeof err) != RD_KAFKA_CONF_OK) {
    fprintf(stderr, "kafka_produce: %s\n", err);
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char **argv) {
  std::string brokers, topic;
  long count = 100000, batch = 0;
  size_t size = 250;
  int keys = 1000;
  std::vector<std::pair<std::string, std::string>> extra;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "-b" && i + 1 < argc) brokers = argv[++i];
    else if (a == "-t" && i + 1 < argc) topic = argv[++i];
    else if (a == "-n" && i + 1 < argc) count = atol(argv[++i]);
    else if (a == "--size" && i + 1 < argc) size = static_cast<size_t>(atol(argv[++i]));
    else if (a == "--keys" && i + 1 < argc) keys = atoi(argv[++i]);
    else if (a == "--batch" && i + 1 < argc) batch = atol(argv[++i]);
    else if (a == "-X" && i + 1 < argc) {
      std::string kv = argv[++i];
      size_t eq = kv.find('=');
      if (eq == std::string::npos) {
        fprintf(stderr, "kafka_produce: -X needs key=value\n");
        return 2;
      }
      extra.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
    } else {
      fprintf(stderr,
              "usage: kafka_produce -b BROKERS -t TOPIC [-n COUNT] [--size BYTES] [--keys N] [--batch N] "
              "[-X key=value]...\n");
      return 2;
    }
  }
  if (brokers.empty() || topic.empty() || count <= 0 || keys <= 0) {
    fprintf(stderr, "kafka_produce: -b and -t are required; -n and --keys must be positive\n");
    return 2;
  }

  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  // The relay's settings (bgworker/kafka_sink.cpp); -X may change them.
  bool ok = conf_set(conf, "bootstrap.servers", brokers.c_str()) && conf_set(conf, "enable.idempotence", "true") &&
            conf_set(conf, "acks", "all") && conf_set(conf, "partitioner", "murmur2_random") &&
            conf_set(conf, "socket.nagle.disable", "true") && conf_set(conf, "client.id", "nova-anchor");
  for (auto &kv : extra) ok = ok && conf_set(conf, kv.first.c_str(), kv.second.c_str());
  if (!ok) return 2;
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  char err[512];
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) {
    fprintf(stderr, "kafka_produce: %s\n", err);
    return 2;
  }

  // Connect and fetch metadata before the clock starts (the relay's rate is also
  // counted from its first delivery).
  const struct rd_kafka_metadata *md = nullptr;
  if (rd_kafka_metadata(rk, 1, nullptr, &md, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR && md) rd_kafka_metadata_destroy(md);

  std::string value(size, 'x');
  if (size >= 2) {
    value.front() = '{';
    value.back() = '}';
  }
  const char *event_type = "BenchPostCreated";
  const char *source = "db.public.bench_posts";
  const char *occurred = "2026-12-02T06:00:00.000000Z";
  char key[32], event_id[64];

  double cpu0 = cpu_seconds();
  auto t0 = std::chrono::steady_clock::now();
  for (long i = 0; i < count; i++) {
    snprintf(key, sizeof key, "%ld", i % keys);
    snprintf(event_id, sizeof event_id, "%08lx-0000-4000-8000-%012lx", static_cast<unsigned long>(i) & 0xffffffffUL, static_cast<unsigned long>(i) & 0xffffffffffffUL);
    rd_kafka_headers_t *h = rd_kafka_headers_new(4);
    rd_kafka_header_add(h, "event-id", -1, event_id, -1);
    rd_kafka_header_add(h, "event-type", -1, event_type, -1);
    rd_kafka_header_add(h, "occurred-at", -1, occurred, -1);
    rd_kafka_header_add(h, "source", -1, source, -1);
    for (;;) {
      rd_kafka_resp_err_t e = rd_kafka_producev(
          rk, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
          RD_KAFKA_V_KEY(key, strlen(key)), RD_KAFKA_V_VALUE(const_cast<char *>(value.data()), value.size()),
          RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END);
      if (e == RD_KAFKA_RESP_ERR_NO_ERROR) break;
      if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        fprintf(stderr, "kafka_produce: produce failed: %s\n", rd_kafka_err2str(e));
        rd_kafka_headers_destroy(h);
        return 1;
      }
      rd_kafka_poll(rk, 10);
    }
    if (batch > 0 && (i + 1) % batch == 0) rd_kafka_flush(rk, 30000);
    else rd_kafka_poll(rk, 0);
  }
  rd_kafka_flush(rk, 60000);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double cpu = cpu_seconds() - cpu0;
  printf("librdkafka alone: %ld messages of %zu bytes in %.2f s: %.0f messages/s; CPU %.2f s = %.2f us/message\n",
         g_acked, value.size(), secs, static_cast<double>(g_acked) / secs, cpu, cpu * 1e6 / static_cast<double>(count));
  rd_kafka_destroy(rk);
  return (g_failed == 0 && g_acked == count) ? 0 : 1;
}
