// Embedded Kafka for tests, demo and benchmarks: librdkafka's mock cluster in its own process.
//
//   build/kafka_mock [--brokers N] [--topic NAME[:PARTITIONS]]... [--bootstrap-file PATH]
//                    [--commands FIFO]
//
// Prints "bootstrap <host:port,...>" on stdout (and writes the bare address to
// --bootstrap-file). Then reads one command per line from the FIFO (or stdin), and
// answers each with a line "ok <command>" or "error <command>: <reason>":
//
//   down <id> | up <id>               a broker goes down / comes back (ids start at 1)
//   down_all | up_all                 every broker
//   produce_errors <n> <errcode>      the next n Produce requests fail with errcode (number or name)
//   clear_errors                      forget pending injected Produce errors
//   topic <name> <partitions>         create a topic
//   topic_error <name> <errcode>      metadata for the topic reports errcode (0 clears)
//   rtt <id> <ms>                     added round-trip time of a broker
//   quit                              exit
//
// Exits cleanly on SIGTERM/SIGINT, on `quit`, and on EOF of stdin (a FIFO is opened
// read-write so writers may come and go).
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <poll.h>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

volatile sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

int g_brokers = 1;

// Real Kafka brokers set TCP_NODELAY on their connections; the mock does not, and Nagle on
// its side plus delayed ACKs on the client's costs ~40 ms per produce round trip. So
// every few milliseconds set TCP_NODELAY on all of this process's sockets (new
// connections get it right after they are accepted). Errors (non-TCP fds) are ignored.
void set_nodelay_everywhere() {
  DIR *d = opendir("/proc/self/fd");
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d)) != nullptr) {
    int fd = atoi(e->d_name);
    if (fd <= 2) continue;
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  closedir(d);
}

bool parse_err(const std::string &s, rd_kafka_resp_err_t *out) {
  char *end = nullptr;
  long v = strtol(s.c_str(), &end, 10);
  if (!s.empty() && end && *end == '\0') {
    *out = static_cast<rd_kafka_resp_err_t>(v);
    return true;
  }
  // Names as librdkafka spells them, without the RD_KAFKA_RESP_ERR_ prefix.
  const struct rd_kafka_err_desc *descs;
  size_t n;
  rd_kafka_get_err_descs(&descs, &n);
  std::string want = s;
  if (want.rfind("RD_KAFKA_RESP_ERR_", 0) == 0) want = want.substr(18);
  for (size_t i = 0; i < n; i++) {
    if (descs[i].name && strcasecmp(descs[i].name, want.c_str()) == 0) {
      *out = descs[i].code;
      return true;
    }
  }
  return false;
}

std::string run(rd_kafka_mock_cluster_t *mc, const std::string &line, bool *quit) {
  std::istringstream in(line);
  std::string cmd;
  in >> cmd;
  if (cmd.empty()) return "";
  auto fail = [&](const std::string &why) { return "error " + line + ": " + why; };
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
  if (cmd == "quit" || cmd == "exit") {
    *quit = true;
  } else if (cmd == "down" || cmd == "up") {
    int id = 0;
    if (!(in >> id)) return fail("broker id expected");
    err = cmd == "down" ? rd_kafka_mock_broker_set_down(mc, id) : rd_kafka_mock_broker_set_up(mc, id);
  } else if (cmd == "down_all" || cmd == "up_all") {
    for (int id = 1; id <= g_brokers && !err; id++)
      err = cmd == "down_all" ? rd_kafka_mock_broker_set_down(mc, id) : rd_kafka_mock_broker_set_up(mc, id);
  } else if (cmd == "produce_errors") {
    size_t n = 0;
    std::string code;
    if (!(in >> n >> code)) return fail("usage: produce_errors <n> <errcode>");
    rd_kafka_resp_err_t e;
    if (!parse_err(code, &e)) return fail("unknown error code");
    std::vector<rd_kafka_resp_err_t> errs(n, e);
    rd_kafka_mock_push_request_errors_array(mc, 0 /* Produce */, n, errs.data());
  } else if (cmd == "clear_errors") {
    rd_kafka_mock_clear_request_errors(mc, 0);
  } else if (cmd == "topic") {
    std::string name;
    int parts = 1;
    if (!(in >> name >> parts)) return fail("usage: topic <name> <partitions>");
    err = rd_kafka_mock_topic_create(mc, name.c_str(), parts, 1);
  } else if (cmd == "topic_error") {
    std::string name, code;
    if (!(in >> name >> code)) return fail("usage: topic_error <name> <errcode>");
    rd_kafka_resp_err_t e;
    if (!parse_err(code, &e)) return fail("unknown error code");
    rd_kafka_mock_topic_set_error(mc, name.c_str(), e);
  } else if (cmd == "rtt") {
    int id = 0, ms = 0;
    if (!(in >> id >> ms)) return fail("usage: rtt <id> <ms>");
    err = rd_kafka_mock_broker_set_rtt(mc, id, ms);
  } else {
    return fail("unknown command");
  }
  if (err) return fail(rd_kafka_err2str(err));
  return "ok " + line;
}

void usage() {
  fprintf(stderr,
          "usage: kafka_mock [--brokers N] [--topic NAME[:PARTITIONS]]... [--bootstrap-file PATH] "
          "[--commands FIFO]\n");
  exit(2);
}

}  // namespace

int main(int argc, char **argv) {
  std::vector<std::pair<std::string, int>> topics;
  std::string bootstrap_file, commands;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) usage();
      return argv[++i];
    };
    if (a == "--brokers") {
      g_brokers = atoi(next().c_str());
      if (g_brokers < 1 || g_brokers > 16) usage();
    } else if (a == "--topic") {
      std::string t = next();
      int parts = 1;
      size_t colon = t.rfind(':');
      if (colon != std::string::npos) {
        parts = atoi(t.c_str() + colon + 1);
        t = t.substr(0, colon);
      }
      if (t.empty() || parts < 1) usage();
      topics.emplace_back(t, parts);
    } else if (a == "--bootstrap-file") {
      bootstrap_file = next();
    } else if (a == "--commands") {
      commands = next();
    } else {
      usage();
    }
  }

  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  signal(SIGPIPE, SIG_IGN);

  char errstr[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr);
  // Block signals while librdkafka starts its threads, so they land on the main thread.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  rd_kafka_mock_cluster_t *mc = rk ? rd_kafka_mock_cluster_new(rk, g_brokers) : nullptr;
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (!rk || !mc) {
    fprintf(stderr, "kafka_mock: cannot start the mock cluster: %s\n", rk ? "mock cluster failed" : errstr);
    return 1;
  }
  for (auto &t : topics) {
    rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(mc, t.first.c_str(), t.second, 1);
    if (err) fprintf(stderr, "kafka_mock: topic %s: %s\n", t.first.c_str(), rd_kafka_err2str(err));
  }
  const char *bootstraps = rd_kafka_mock_cluster_bootstraps(mc);
  if (!bootstrap_file.empty()) {
    std::string tmp = bootstrap_file + ".tmp";
    FILE *f = fopen(tmp.c_str(), "w");
    if (!f || fprintf(f, "%s\n", bootstraps) < 0 || fclose(f) != 0 || rename(tmp.c_str(), bootstrap_file.c_str())) {
      fprintf(stderr, "kafka_mock: cannot write %s\n", bootstrap_file.c_str());
      return 1;
    }
  }
  printf("bootstrap %s\n", bootstraps);
  fflush(stdout);

  int fd = 0;
  if (!commands.empty()) {
    fd = open(commands.c_str(), O_RDWR | O_NONBLOCK);  // RDWR: never EOF when writers leave
    if (fd < 0) {
      fprintf(stderr, "kafka_mock: cannot open %s: %s\n", commands.c_str(), strerror(errno));
      return 1;
    }
  }
  std::string buf;
  bool quit = false;
  while (!g_stop && !quit) {
    set_nodelay_everywhere();
    struct pollfd p = {fd, POLLIN, 0};
    int r = poll(&p, 1, 5);
    if (r < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (r == 0) continue;
    char chunk[4096];
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      break;
    }
    if (n == 0) break;  // EOF on stdin
    buf.append(chunk, static_cast<size_t>(n));
    size_t nl;
    while (!quit && (nl = buf.find('\n')) != std::string::npos) {
      std::string line = buf.substr(0, nl);
      buf.erase(0, nl + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      std::string reply = run(mc, line, &quit);
      if (!reply.empty()) {
        printf("%s\n", reply.c_str());
        fflush(stdout);
      }
    }
  }
  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(rk);
  if (!bootstrap_file.empty()) unlink(bootstrap_file.c_str());
  printf("stopped\n");
  fflush(stdout);
  return 0;
}
