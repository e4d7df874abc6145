#include "server.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>

#include <poll.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <deque>
#include <iostream>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>

namespace svc {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using json = nlohmann::json;

// ---- structured access log: one JSON line per request on stdout ---------------------

static std::mutex log_mu;
static void log_line(const json& j) {
  std::string s = j.dump(-1, ' ', false, json::error_handler_t::replace);
  std::lock_guard<std::mutex> lk(log_mu);
  std::fwrite(s.data(), 1, s.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}
static std::string now_iso() {
  auto now = std::chrono::system_clock::now();
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  std::time_t t = static_cast<std::time_t>(us / 1000000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[80];
  std::snprintf(out, sizeof out, "%s.%06lldZ", buf, static_cast<long long>(us % 1000000));
  return out;
}

static std::string url_decode(const std::string& s) {
  std::string o;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      o.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else {
      o.push_back(s[i] == '+' ? ' ' : s[i]);
    }
  }
  return o;
}

static Request to_request(const http::request<http::string_body>& m) {
  Request r;
  r.method = std::string(m.method_string());
  std::string target(m.target());
  size_t q = target.find('?');
  r.path = url_decode(target.substr(0, q));
  if (q != std::string::npos) {
    std::string qs = target.substr(q + 1);
    size_t i = 0;
    while (i <= qs.size()) {
      size_t j = qs.find('&', i);
      if (j == std::string::npos) j = qs.size();
      std::string kv = qs.substr(i, j - i);
      size_t eq = kv.find('=');
      if (!kv.empty()) r.query[url_decode(kv.substr(0, eq))] = eq == std::string::npos ? "" : url_decode(kv.substr(eq + 1));
      i = j + 1;
    }
  }
  for (const auto& f : m) {
    std::string name(f.name_string());
    for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    r.headers[name] = std::string(f.value());
  }
  r.body = m.body();
  return r;
}

class WsSession;

// Which WebSocket sessions of this process belong to which subject. Per-process
// connection state only (docs/service.md): any replica can serve any request.
class Hub {
 public:
  void add(const std::string& user, const std::shared_ptr<WsSession>& s) {
    std::lock_guard<std::mutex> lk(mu_);
    subs_[user].insert(s);
  }
  void remove(const std::string& user, const std::shared_ptr<WsSession>& s) {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = subs_.find(user);
    if (it == subs_.end()) return;
    it->second.erase(s);
    if (it->second.empty()) subs_.erase(it);
  }
  std::vector<std::shared_ptr<WsSession>> of(const std::string& user) {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = subs_.find(user);
    if (it == subs_.end()) return {};
    return {it->second.begin(), it->second.end()};
  }
  std::vector<std::shared_ptr<WsSession>> all() {
    std::lock_guard<std::mutex> lk(mu_);
    std::vector<std::shared_ptr<WsSession>> out;
    for (auto& kv : subs_) out.insert(out.end(), kv.second.begin(), kv.second.end());
    return out;
  }

 private:
  std::mutex mu_;
  std::unordered_map<std::string, std::set<std::shared_ptr<WsSession>>> subs_;
};

class WsSession : public std::enable_shared_from_this<WsSession> {
 public:
  WsSession(tcp::socket&& s, Hub& hub, std::string user, std::string cid)
      : ws_(std::move(s)), hub_(hub), user_(std::move(user)), cid_(std::move(cid)) {}

  void start(http::request<http::string_body> req) {
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.set_option(websocket::stream_base::decorator([cid = cid_](websocket::response_type& res) {
      res.set("X-Correlation-ID", cid);
    }));
    ws_.async_accept(req, [self = shared_from_this()](beast::error_code ec) {
      if (ec) return;
      self->hub_.add(self->user_, self);
      self->read();
    });
  }
  // Thread-safe: queue a text message.
  void send(std::string msg) {
    asio::post(ws_.get_executor(), [self = shared_from_this(), m = std::move(msg)]() mutable {
      self->queue_.push_back(std::move(m));
      if (self->queue_.size() == 1) self->write_next();
    });
  }
  void close() {
    asio::post(ws_.get_executor(), [self = shared_from_this()] {
      self->ws_.async_close(websocket::close_code::going_away, [self](beast::error_code) {});
    });
  }

 private:
  void read() {
    ws_.async_read(buf_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) {
        self->hub_.remove(self->user_, self);
        return;
      }
      self->buf_.consume(self->buf_.size());  // clients have nothing to say; ignore
      self->read();
    });
  }
  void write_next() {
    ws_.text(true);
    ws_.async_write(asio::buffer(queue_.front()), [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) {
        self->queue_.clear();
        return;
      }
      self->queue_.pop_front();
      if (!self->queue_.empty()) self->write_next();
    });
  }
  websocket::stream<beast::tcp_stream> ws_;
  Hub& hub_;
  std::string user_, cid_;
  beast::flat_buffer buf_;
  std::deque<std::string> queue_;
};

struct Shared {
  const Config& cfg;
  Api& api;
  Hub& hub;
  asio::thread_pool& workers;
  std::atomic<long> inflight{0};
  std::atomic<bool> draining{false};
};

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(tcp::socket&& s, Shared& sh) : stream_(std::move(s)), sh_(sh) {}
  void start() { read(); }
  // Shutdown: an idle keep-alive connection closes now, a busy one after its response.
  void drain() {
    asio::post(stream_.get_executor(), [self = shared_from_this()] {
      if (!self->busy_) {
        beast::error_code ec;
        self->stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
        self->stream_.close();
      }
    });
  }

 private:
  void read() {
    parser_.emplace();
    parser_->body_limit(64 * 1024);
    stream_.expires_after(std::chrono::seconds(60));
    http::async_read(stream_, buf_, *parser_, [self = shared_from_this()](beast::error_code ec, size_t) {
      self->on_read(ec);
    });
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      respond_now(json_error(413, "request body too large", new_uuid()), "", false);
      return;
    }
    if (ec) return close();
    if (sh_.draining) return close();
    busy_ = true;
    ++sh_.inflight;
    req_ = parser_->release();
    t0_ = std::chrono::steady_clock::now();
    auto r = std::make_shared<Request>(to_request(req_));
    std::string cid = correlation_id_of(*r);
    if (websocket::is_upgrade(req_) && r->path == "/ws") {
      asio::post(sh_.workers, [self = shared_from_this(), r, cid] {
        Response err;
        auto user = self->sh_.api.authenticate_ws(*r, cid, err);
        asio::post(self->stream_.get_executor(), [self, r, cid, user, err]() mutable {
          if (!user) return self->respond_now(std::move(err), cid, false, r.get());
          self->log(*r, 101, cid, *user, "");
          --self->sh_.inflight;
          self->stream_.expires_never();
          std::make_shared<WsSession>(self->stream_.release_socket(), self->sh_.hub, *user, cid)->start(std::move(self->req_));
        });
      });
      return;
    }
    asio::post(sh_.workers, [self = shared_from_this(), r, cid] {
      Response res = self->sh_.api.handle(*r, cid);
      asio::post(self->stream_.get_executor(), [self, r, cid, res = std::move(res)]() mutable {
        self->respond_now(std::move(res), cid, self->req_.keep_alive(), r.get());
      });
    });
  }

  void respond_now(Response res, const std::string& cid_in, bool keep_alive, const Request* r = nullptr) {
    std::string cid = cid_in.empty() ? new_uuid() : cid_in;
    if (!busy_) {  // an error before a request was read (body too large)
      busy_ = true;
      ++sh_.inflight;
      t0_ = std::chrono::steady_clock::now();
    }
    keep_alive = keep_alive && !sh_.draining;
    auto msg = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(res.status), 11);
    msg->set(http::field::server, "nova-service");
    msg->set("X-Correlation-ID", cid);
    if (!res.body.empty()) msg->set(http::field::content_type, "application/json");
    for (auto& h : res.headers) msg->set(h.first, h.second);
    msg->body() = std::move(res.body);
    msg->keep_alive(keep_alive);
    msg->prepare_payload();
    if (r) log(*r, res.status, cid, res.subject, res.log_error);
    else log(Request{}, res.status, cid, "", res.log_error);
    http::async_write(stream_, *msg, [self = shared_from_this(), msg, keep_alive](beast::error_code ec, size_t) {
      self->busy_ = false;
      --self->sh_.inflight;
      if (ec || !keep_alive) return self->close();
      self->read();
    });
  }

  void log(const Request& r, int status, const std::string& cid, const std::string& subject, const std::string& err) {
    json j{{"ts", now_iso()},
           {"instance", sh_.cfg.instance},
           {"method", r.method},
           {"path", r.path},  // never the query string: it may hold an access token
           {"status", status},
           {"ms", std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0_).count()},
           {"correlation_id", cid}};
    if (!subject.empty()) j["subject"] = subject;
    if (!err.empty()) j["error"] = err;
    log_line(j);
  }

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.close();
  }

  beast::tcp_stream stream_;
  Shared& sh_;
  beast::flat_buffer buf_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::request<http::string_body> req_;
  std::chrono::steady_clock::time_point t0_;
  bool busy_ = false;
};

// LISTEN nova_service_push on a dedicated connection; every notification goes to
// the subject's WebSocket sessions in this process.
static void listen_loop(const Config& cfg, Hub& hub, std::atomic<bool>& stop) {
  PGconn* c = nullptr;
  int backoff_ms = 100;
  while (!stop) {
    if (!c || PQstatus(c) != CONNECTION_OK) {
      if (c) PQfinish(c);
      c = PQconnectdb(cfg.db.c_str());
      PGresult* r = PQstatus(c) == CONNECTION_OK ? PQexec(c, "LISTEN nova_service_push") : nullptr;
      bool ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
      if (r) PQclear(r);
      if (!ok) {
        std::this_thread::sleep_for(std::chrono::milliseconds(backoff_ms));
        backoff_ms = std::min(backoff_ms * 2, 5000);
        continue;
      }
      backoff_ms = 100;
    }
    pollfd pfd{PQsocket(c), POLLIN, 0};
    if (poll(&pfd, 1, 200) < 0) continue;
    if (!PQconsumeInput(c)) continue;  // the loop reconnects
    while (PGnotify* n = PQnotifies(c)) {
      json j = json::parse(n->extra, nullptr, false);
      PQfreemem(n);
      if (j.is_discarded() || !j.contains("to") || !j["to"].is_string()) continue;
      std::string to = j["to"].get<std::string>();
      j.erase("to");
      std::string msg = j.dump();
      for (auto& s : hub.of(to)) s->send(msg);
    }
  }
  if (c) PQfinish(c);
}

int serve(const Config& cfg) {
  Pool pool(cfg.db, cfg.pool);
  Api api(cfg, pool);
  Hub hub;
  asio::io_context ioc;
  asio::thread_pool workers(cfg.pool);  // one blocking database worker per pooled connection
  Shared sh{cfg, api, hub, workers};
  std::mutex sessions_mu;
  std::vector<std::weak_ptr<HttpSession>> sessions;

  tcp::acceptor acceptor(ioc);
  tcp::endpoint ep(asio::ip::make_address(cfg.listen_host), cfg.listen_port);
  acceptor.open(ep.protocol());
  acceptor.set_option(asio::socket_base::reuse_address(true));
  acceptor.bind(ep);
  acceptor.listen(asio::socket_base::max_listen_connections);

  std::function<void()> accept = [&] {
    acceptor.async_accept(asio::make_strand(ioc), [&](beast::error_code ec, tcp::socket s) {
      if (ec) return;  // acceptor closed
      s.set_option(tcp::no_delay(true));
      auto sess = std::make_shared<HttpSession>(std::move(s), sh);
      {
        std::lock_guard<std::mutex> lk(sessions_mu);
        sessions.erase(std::remove_if(sessions.begin(), sessions.end(), [](auto& w) { return w.expired(); }),
                       sessions.end());
        sessions.push_back(sess);
      }
      sess->start();
      accept();
    });
  };
  accept();

  std::atomic<bool> stop_listen{false};
  std::thread listener(listen_loop, std::cref(cfg), std::ref(hub), std::ref(stop_listen));

  // SIGTERM: stop accepting, let in-flight requests finish (at most 20 s), close
  // WebSockets with "going away", then exit 0.
  asio::signal_set signals(ioc, SIGTERM, SIGINT);
  asio::steady_timer drain_timer(ioc);
  auto drain_deadline = std::chrono::steady_clock::now();
  std::function<void()> wait_drained = [&] {
    if (sh.inflight.load() <= 0 || std::chrono::steady_clock::now() > drain_deadline) {
      for (auto& ws : hub.all()) ws->close();
      drain_timer.expires_after(std::chrono::milliseconds(200));
      drain_timer.async_wait([&](beast::error_code) { ioc.stop(); });
      return;
    }
    drain_timer.expires_after(std::chrono::milliseconds(20));
    drain_timer.async_wait([&](beast::error_code) { wait_drained(); });
  };
  signals.async_wait([&](beast::error_code ec, int sig) {
    if (ec) return;
    log_line(json{{"ts", now_iso()}, {"instance", cfg.instance}, {"event", "shutdown"}, {"signal", sig},
                  {"inflight", sh.inflight.load()}});
    sh.draining = true;
    beast::error_code ignored;
    acceptor.close(ignored);
    {
      std::lock_guard<std::mutex> lk(sessions_mu);
      for (auto& w : sessions)
        if (auto s = w.lock()) s->drain();
    }
    drain_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    wait_drained();
  });

  log_line(json{{"ts", now_iso()}, {"instance", cfg.instance}, {"event", "listening"},
                {"address", cfg.listen_host + ":" + std::to_string(cfg.listen_port)},
                {"mode", cfg.mode == Mode::nova ? "nova" : "plain"}, {"pool", cfg.pool}});
  std::vector<std::thread> io;
  for (int i = 0; i < std::max(1, cfg.io_threads); ++i) io.emplace_back([&] { ioc.run(); });
  for (auto& t : io) t.join();
  workers.join();
  stop_listen = true;
  listener.join();
  log_line(json{{"ts", now_iso()}, {"instance", cfg.instance}, {"event", "stopped"}});
  return 0;
}

}  // namespace svc
