// nova-service: the reference thin service in front of a nova database (docs/service.md).
//
//   nova-service --listen 127.0.0.1:8080 --db 'conninfo' [--pool 8] [--mode nova|plain]
//                [--rate-limit 50] [--webhook http://host:port/path] [--webhook-timeout-ms 1000]
//                [--io-threads 2] [--instance NAME]
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>

#include "server.h"

static void usage() {
  std::fprintf(stderr,
               "usage: nova-service --listen HOST:PORT --db CONNINFO [--pool N] [--mode nova|plain]\n"
               "                    [--rate-limit PER_SECOND] [--webhook URL] [--webhook-timeout-ms MS]\n"
               "                    [--io-threads N] [--instance NAME]\n");
}

int main(int argc, char** argv) {
  svc::Config cfg;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) {
        usage();
        std::exit(2);
      }
      return argv[++i];
    };
    try {
      if (a == "--listen") {
        std::string v = val();
        size_t c = v.rfind(':');
        if (c == std::string::npos) throw std::invalid_argument("--listen wants HOST:PORT");
        cfg.listen_host = v.substr(0, c);
        cfg.listen_port = static_cast<unsigned short>(std::stoi(v.substr(c + 1)));
      } else if (a == "--db") {
        cfg.db = val();
      } else if (a == "--pool") {
        cfg.pool = static_cast<size_t>(std::stoul(val()));
      } else if (a == "--mode") {
        std::string v = val();
        if (v == "nova") cfg.mode = svc::Mode::nova;
        else if (v == "plain") cfg.mode = svc::Mode::plain;
        else throw std::invalid_argument("--mode is nova or plain");
      } else if (a == "--rate-limit") {
        cfg.rate_limit = std::stol(val());
      } else if (a == "--webhook") {
        cfg.webhook = val();
      } else if (a == "--webhook-timeout-ms") {
        cfg.webhook_timeout_ms = std::stoi(val());
      } else if (a == "--io-threads") {
        cfg.io_threads = std::stoi(val());
      } else if (a == "--instance") {
        cfg.instance = val();
      } else if (a == "--help" || a == "-h") {
        usage();
        return 0;
      } else {
        throw std::invalid_argument("unknown option " + a);
      }
    } catch (const std::exception& e) {
      std::fprintf(stderr, "nova-service: %s\n", e.what());
      usage();
      return 2;
    }
  }
  if (cfg.db.empty() || cfg.pool == 0) {
    usage();
    return 2;
  }
  if (cfg.instance.empty()) cfg.instance = cfg.listen_host + ":" + std::to_string(cfg.listen_port);
  std::signal(SIGPIPE, SIG_IGN);
  try {
    return svc::serve(cfg);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "nova-service: %s\n", e.what());
    return 1;
  }
}
