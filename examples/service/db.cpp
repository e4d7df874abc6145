#include "db.h"

#include <cstring>

namespace svc {

Conn::Conn(std::string conninfo) : conninfo_(std::move(conninfo)) { reconnect(); }
Conn::~Conn() { if (conn_) PQfinish(conn_); }

bool Conn::ok() const { return conn_ && PQstatus(conn_) == CONNECTION_OK; }

bool Conn::reconnect() {
  if (conn_) PQfinish(conn_);
  prepared_.clear();  // prepared statements live in the server session
  conn_ = PQconnectdb(conninfo_.c_str());
  if (!ok()) return false;
  probe();
  return true;
}

// nova.tracestate exists only in nova builds that have it: set it only where it exists.
// The session plans each prepared statement once (generic plans): every statement
// here is a short parameterised lookup or write whose best plan does not depend on
// the values, and left to choose, PostgreSQL kept re-planning some of them (custom
// plans) on every request (docs/service.md, "One request = one transaction").
void Conn::probe() {
  PQclear(PQexec(conn_, "SET plan_cache_mode = force_generic_plan"));
  PGresult* r = PQexec(conn_, "SELECT pg_catalog.current_setting('nova.tracestate', true) IS NOT NULL");
  has_tracestate = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
                   std::strcmp(PQgetvalue(r, 0, 0), "t") == 0;
  PQclear(r);
}

static DbError error_of(const PGresult* r, PGconn* c) {
  DbError e;
  const char* st = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  const char* msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  e.sqlstate = st ? st : "";
  e.message = msg ? msg : PQerrorMessage(c);
  return e;
}

PipelineResult Conn::pipeline(const std::vector<Stmt>& stmts) {
  PipelineResult out;
  if (!ok() && !reconnect()) {
    out.error = DbError{"", "database unreachable"};
    return out;
  }
  if (PQenterPipelineMode(conn_) != 1) {
    out.error = DbError{"", "cannot enter pipeline mode"};
    return out;
  }
  // What each command sent yields, in order: a Parse of a statement first seen here
  // (its name, recorded as prepared once the server confirms it) or an execution.
  struct Sent {
    const std::string* sql;  // non-null for a Parse
    std::string name;
  };
  std::vector<Sent> sent;
  bool send_failed = false;
  for (const Stmt& s : stmts) {
    std::vector<const char*> vals;
    vals.reserve(s.params.size());
    for (const auto& p : s.params) vals.push_back(p ? p->c_str() : nullptr);
    // Every parameter is text (the SQL casts where it needs another type), which also
    // lets a statement leave a parameter unused.
    std::vector<Oid> types(vals.size(), 25 /* text */);
    int n = static_cast<int>(vals.size());
    int rc;
    if (s.sql == "BEGIN" || s.sql == "COMMIT" || s.sql == "ROLLBACK") {  // nothing to plan
      rc = PQsendQueryParams(conn_, s.sql.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0);
    } else {
      auto it = prepared_.find(s.sql);
      std::string name;
      if (it != prepared_.end()) {
        name = it->second;
      } else {
        // The same text twice in one pipeline is parsed once.
        for (const Sent& x : sent)
          if (x.sql && *x.sql == s.sql) name = x.name;
        if (name.empty()) {
          name = "svc_" + std::to_string(++next_name_);
          if (PQsendPrepare(conn_, name.c_str(), s.sql.c_str(), n, types.data()) != 1) {
            send_failed = true;
            break;
          }
          sent.push_back({&s.sql, name});
        }
      }
      rc = PQsendQueryPrepared(conn_, name.c_str(), n, vals.data(), nullptr, nullptr, 0);
    }
    if (rc != 1) {
      send_failed = true;
      break;
    }
    sent.push_back({nullptr, {}});
  }
  if (send_failed || PQpipelineSync(conn_) != 1) {
    out.error = DbError{"", PQerrorMessage(conn_)};
    PQfinish(conn_);
    conn_ = nullptr;
    prepared_.clear();
    return out;
  }
  // Results: each command yields its result(s) then NULL; the Sync yields PGRES_PIPELINE_SYNC.
  size_t cmd = 0;
  bool plan_changed = false;
  for (;;) {
    PGresult* r = PQgetResult(conn_);
    if (!r) {
      if (PQstatus(conn_) != CONNECTION_OK) break;
      ++cmd;     // end of one command's results
      continue;
    }
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_PIPELINE_SYNC) { PQclear(r); break; }
    const Sent* what = cmd < sent.size() ? &sent[cmd] : nullptr;
    if (what && what->sql) {  // the Parse of a new statement
      if (st == PGRES_COMMAND_OK) prepared_[*what->sql] = what->name;
      else if (st != PGRES_PIPELINE_ABORTED && !out.error) out.error = error_of(r, conn_);
    } else if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
      Rows rows;
      int n = PQntuples(r), m = PQnfields(r);
      rows.rows.reserve(n);
      for (int i = 0; i < n; ++i) {
        std::vector<std::optional<std::string>> row;
        row.reserve(m);
        for (int j = 0; j < m; ++j)
          row.push_back(PQgetisnull(r, i, j) ? std::nullopt
                                             : std::optional<std::string>(std::string(PQgetvalue(r, i, j),
                                                                                      PQgetlength(r, i, j))));
        rows.rows.push_back(std::move(row));
      }
      const char* t = PQcmdTuples(r);
      rows.affected = (t && *t) ? std::strtoul(t, nullptr, 10) : 0;
      out.results.push_back(std::move(rows));
    } else if (st == PGRES_PIPELINE_ABORTED) {
      // skipped because an earlier statement failed
    } else if (!out.error) {
      out.error = error_of(r, conn_);
      // A table changed under a prepared statement ("cached plan must not change result type").
      if (out.error->sqlstate == "0A000") plan_changed = true;
    }
    PQclear(r);
  }
  if (PQstatus(conn_) != CONNECTION_OK) {
    if (!out.error) out.error = DbError{"", "connection lost"};
    PQfinish(conn_);
    conn_ = nullptr;
    return out;
  }
  PQexitPipelineMode(conn_);
  if (plan_changed) {  // prepare everything again on next use
    PQclear(PQexec(conn_, "DEALLOCATE ALL"));
    prepared_.clear();
  }
  return out;
}

Pool::Pool(std::string conninfo, size_t size) : conninfo_(std::move(conninfo)), size_(size) {}

Pool::Lease Pool::acquire(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lk(mu_);
  if (idle_.empty() && created_ < size_) {
    ++created_;
    lk.unlock();
    auto c = std::make_unique<Conn>(conninfo_);  // may be not ok(); pipeline() reconnects
    return Lease(this, std::move(c));
  }
  if (!cv_.wait_for(lk, timeout, [&] { return !idle_.empty(); })) return Lease(this, nullptr);
  auto c = std::move(idle_.back());
  idle_.pop_back();
  return Lease(this, std::move(c));
}

void Pool::give_back(std::unique_ptr<Conn> c) {
  // A connection left inside a transaction (a bug, or a lost result) must not be reused as is.
  if (c->ok() && PQtransactionStatus(c->raw()) != PQTRANS_IDLE) {
    PGresult* r = PQexec(c->raw(), "ROLLBACK");
    PQclear(r);
  }
  {
    std::lock_guard<std::mutex> lk(mu_);
    idle_.push_back(std::move(c));
  }
  cv_.notify_one();
}

}  // namespace svc
