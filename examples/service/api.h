// The service's endpoints: one HTTP request → one database transaction.
// Independent of the HTTP library: server.cpp turns Beast messages into Request
// and Response. See docs/service.md for the per-request protocol.
#pragma once
#include <atomic>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "db.h"

namespace svc {

enum class Mode { nova, plain };

struct Config {
  std::string listen_host = "127.0.0.1";
  unsigned short listen_port = 8080;
  std::string db;
  size_t pool = 8;
  Mode mode = Mode::nova;
  long rate_limit = 50;            // requests per second per subject; 0 = off
  std::string webhook;             // http://host:port/path, empty = none
  int webhook_timeout_ms = 1000;
  int io_threads = 2;
  std::string instance;            // name in the access log (default: host:port)
};

struct Request {
  std::string method;
  std::string path;                            // without the query string
  std::map<std::string, std::string> query;    // decoded
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

struct Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;                 // JSON (or empty)
  // For the access log only.
  std::string subject;
  std::string log_error;
};

// Correlation id from X-Correlation-ID, else X-Request-ID; generated when absent
// or invalid (over 128 bytes, or anything but printable ASCII).
std::string correlation_id_of(const Request& r);
bool valid_correlation_id(const std::string& v);
bool valid_traceparent(const std::string& v);
std::string new_uuid();

class Api {
 public:
  Api(const Config& cfg, Pool& pool) : cfg_(cfg), pool_(pool) {}
  // Runs on a worker thread (blocks on the database).
  Response handle(const Request& r, const std::string& correlation_id);
  // WebSocket: who is connecting? The subject (nova: verified token; plain: X-User), or an error response.
  std::optional<std::string> authenticate_ws(const Request& r, const std::string& correlation_id, Response& err);

 private:
  struct Ctx;
  Response route(Ctx& c);
  Response readyz(const std::string& cid);
  std::optional<Response> begin(Ctx& c);
  Response run(Ctx& c, std::vector<Stmt> stmts, int ok_status,
               Response (*shape)(Ctx&, const PipelineResult&, int ok_status));
  Response error_response(Ctx& c, const DbError& e);
  std::string notify_webhook(Ctx& c, const std::string& payload);

  const Config& cfg_;
  Pool& pool_;
};

Response json_error(int status, const std::string& message, const std::string& cid);

}  // namespace svc
