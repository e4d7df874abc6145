// A small Kafka consumer for benchmarks: reads every partition of a topic from the end
// (or the beginning) and prints, per message, the local receive time in microseconds
// since the epoch and the payload, tab-separated:
//
//   build/kafka_consume -b BROKERS -t TOPIC [--from-beginning] [-n COUNT] [--idle SECONDS]
//
// Stops after COUNT messages, or after --idle seconds without a message once at least
// one arrived (default 5), or on SIGTERM/SIGINT. Prints "ready" on stderr once assigned.
#include <librdkafka/rdkafka.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {
volatile sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }
int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}
}  // namespace

int main(int argc, char **argv) {
  std::string brokers, topic;
  bool from_beginning = false;
  long count = -1;
  double idle = 5;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "-b" && i + 1 < argc) brokers = argv[++i];
    else if (a == "-t" && i + 1 < argc) topic = argv[++i];
    else if (a == "-n" && i + 1 < argc) count = atol(argv[++i]);
    else if (a == "--idle" && i + 1 < argc) idle = atof(argv[++i]);
    else if (a == "--from-beginning") from_beginning = true;
    else {
      fprintf(stderr, "usage: kafka_consume -b BROKERS -t TOPIC [--from-beginning] [-n COUNT] [--idle SECONDS]\n");
      return 2;
    }
  }
  if (brokers.empty() || topic.empty()) return 2;
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  char err[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  const char *props[][2] = {{"bootstrap.servers", brokers.c_str()}, {"group.id", "nova-bench"},
                            {"enable.auto.commit", "false"},       {"fetch.wait.max.ms", "1"},
                            {"fetch.error.backoff.ms", "5"},       {"log_level", "3"},
                            {"socket.nagle.disable", "true"}};
  for (auto &p : props)
    if (rd_kafka_conf_set(conf, p[0], p[1], err, sizeof err) != RD_KAFKA_CONF_OK) {
      fprintf(stderr, "%s\n", err);
      return 1;
    }
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (!rk) {
    fprintf(stderr, "%s\n", err);
    return 1;
  }
  const rd_kafka_metadata_t *md = nullptr;
  rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR || md->topic_cnt != 1) {
    fprintf(stderr, "kafka_consume: no metadata for %s\n", topic.c_str());
    return 1;
  }
  int nparts = md->topics[0].partition_cnt;
  rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(nparts);
  for (int p = 0; p < nparts; p++)
    rd_kafka_topic_partition_list_add(parts, topic.c_str(), md->topics[0].partitions[p].id)->offset =
        from_beginning ? RD_KAFKA_OFFSET_BEGINNING : RD_KAFKA_OFFSET_END;
  rd_kafka_metadata_destroy(md);
  rd_kafka_topic_destroy(rkt);
  rd_kafka_assign(rk, parts);
  rd_kafka_topic_partition_list_destroy(parts);
  rd_kafka_poll_set_consumer(rk);
  fprintf(stderr, "ready\n");
  long got = 0;
  int64_t last = 0;
  while (!g_stop && (count < 0 || got < count)) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
    int64_t t = now_us();
    if (!m) {
      if (last && (t - last) > idle * 1e6) break;
      continue;
    }
    if (!m->err) {
      got++;
      last = t;
      printf("%lld\t%.*s\n", static_cast<long long>(t), static_cast<int>(m->len),
             m->payload ? static_cast<const char *>(m->payload) : "");
    }
    rd_kafka_message_destroy(m);
  }
  fflush(stdout);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return 0;
}
