// A small libpq connection pool and a pipelined "run these statements" helper.
// The pool is the only shared mutable state of the service (docs/service.md).
#pragma once
#include <libpq-fe.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace svc {

// One statement with text parameters (std::nullopt = SQL NULL).
struct Stmt {
  std::string sql;
  std::vector<std::optional<std::string>> params;
};

// A result set as text cells (nullopt = NULL), or the error the server raised.
struct Rows {
  std::vector<std::vector<std::optional<std::string>>> rows;
  size_t affected = 0;
};

struct DbError {
  std::string sqlstate;  // "" when the connection failed
  std::string message;
};

struct PipelineResult {
  std::vector<Rows> results;      // one per statement that ran
  std::optional<DbError> error;   // the first error; later statements did not run
};

class Conn {
 public:
  explicit Conn(std::string conninfo);
  ~Conn();
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  bool ok() const;
  bool reconnect();
  // Sends every statement in one round trip (libpq pipeline mode), one Sync at the end.
  // Statements with parameters are prepared once per connection (named server-side
  // statements, the Parse sent in the same round trip as the first execution), so a
  // request costs the server no parse and, once a generic plan is chosen, no plan.
  PipelineResult pipeline(const std::vector<Stmt>& stmts);
  PipelineResult exec(const Stmt& s) { return pipeline({s}); }
  PGconn* raw() { return conn_; }
  // Per-connection facts learned at connect time.
  bool has_tracestate = false;

 private:
  void probe();
  std::string conninfo_;
  PGconn* conn_ = nullptr;
  std::unordered_map<std::string, std::string> prepared_;  // SQL text -> statement name, this session
  unsigned long next_name_ = 0;
};

class Pool {
 public:
  Pool(std::string conninfo, size_t size);
  // Waits up to `timeout` for a free connection; nullptr on timeout.
  class Lease {
   public:
    Lease(Pool* p, std::unique_ptr<Conn> c) : pool_(p), conn_(std::move(c)) {}
    Lease(Lease&&) = default;
    ~Lease() { if (conn_) pool_->give_back(std::move(conn_)); }
    Conn* operator->() { return conn_.get(); }
    Conn& operator*() { return *conn_; }
    explicit operator bool() const { return conn_ != nullptr; }
   private:
    Pool* pool_;
    std::unique_ptr<Conn> conn_;
  };
  Lease acquire(std::chrono::milliseconds timeout);
  size_t size() const { return size_; }
  const std::string& conninfo() const { return conninfo_; }

 private:
  void give_back(std::unique_ptr<Conn> c);
  std::string conninfo_;
  size_t size_;
  size_t created_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Conn>> idle_;
};

}  // namespace svc
