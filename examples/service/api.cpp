#include "api.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <stdexcept>

#include "core/correlation_rules.h"
#include "core/uuid.h"
#include "webhook.h"

namespace svc {

using json = nlohmann::json;

// ---- correlation and trace context (docs/correlation.md) -------------------------

// nova's own rule (src/core/correlation_rules), so nova never refuses what the
// service forwards, narrowed to printable ASCII without blanks because the service
// echoes the id in a response header and its access log. Generated ids come from
// nova's one UUIDv4 generator (src/core/uuid: a CSPRNG, buffered per thread).
bool valid_correlation_id(const std::string& v) {
  if (v.empty() || nova::correlation::correlation_id_problem(std::string_view(v)) != nullptr) return false;
  for (unsigned char ch : v)
    if (ch < 0x21 || ch > 0x7e) return false;
  return true;
}

std::string new_uuid() {
  char buf[37];
  if (!nova::uuid::v4_text(buf)) throw std::runtime_error("no random bytes for a correlation id");
  return buf;
}

std::string correlation_id_of(const Request& r) {
  for (const char* h : {"x-correlation-id", "x-request-id"}) {
    auto it = r.headers.find(h);
    if (it != r.headers.end() && !it->second.empty()) return valid_correlation_id(it->second) ? it->second : new_uuid();
  }
  return new_uuid();
}

bool valid_traceparent(const std::string& v) {
  return !v.empty() && nova::correlation::traceparent_problem(std::string_view(v)) == nullptr;
}

static bool valid_tracestate(const std::string& v) {
  return nova::correlation::tracestate_problem(std::string_view(v)) == nullptr;
}

// nova mode: every "$1" (not "$10"…) in a statement becomes nova.subject().
static std::string caller_is_subject(const std::string& sql) {
  std::string out;
  out.reserve(sql.size() + 32);
  for (size_t i = 0; i < sql.size(); ++i) {
    if (sql[i] == '$' && i + 1 < sql.size() && sql[i + 1] == '1' &&
        (i + 2 == sql.size() || sql[i + 2] < '0' || sql[i + 2] > '9')) {
      out += "nova.subject()";
      ++i;
    } else {
      out += sql[i];
    }
  }
  return out;
}

// ---- responses -----------------------------------------------------------------

Response json_error(int status, const std::string& message, const std::string& cid) {
  Response r;
  r.status = status;
  r.body = json{{"error", message}, {"correlation_id", cid}}.dump();
  return r;
}

struct Api::Ctx {
  const Request& req;
  std::string cid;
  std::string subject;
  std::vector<std::string> path;  // split on '/'
  std::optional<Pool::Lease> conn;
  bool nova;
  std::vector<Stmt> prelude;
};

static std::vector<std::string> split_path(const std::string& p) {
  std::vector<std::string> out;
  size_t i = 1;
  while (i <= p.size()) {
    size_t j = p.find('/', i);
    if (j == std::string::npos) j = p.size();
    out.push_back(p.substr(i, j - i));
    i = j + 1;
  }
  if (!out.empty() && out.back().empty()) out.pop_back();
  return out;
}

Response Api::error_response(Ctx& c, const DbError& e) {
  const std::string& s = e.sqlstate;
  Response r;
  if (s == "28000") {
    r = json_error(401, "invalid token: " + e.message, c.cid);
    r.headers.emplace_back("WWW-Authenticate", "Bearer error=\"invalid_token\"");
  } else if (s == "53400") {
    r = json_error(429, "rate limit exceeded", c.cid);
    r.headers.emplace_back("Retry-After", "1");
  } else if (s == "42501") {
    r = json_error(403, "forbidden", c.cid);
  } else if (s == "23505") {
    r = json_error(409, "already exists", c.cid);
  } else if (s == "23503" || s == "23514" || s == "23502") {
    r = json_error(422, "the request violates a rule of the data", c.cid);
  } else if (s.size() == 5 && s.compare(0, 2, "22") == 0) {
    r = json_error(400, "invalid value in the request", c.cid);
  } else if (s.empty()) {
    r = json_error(503, "database unavailable", c.cid);
  } else {
    r = json_error(500, "internal error", c.cid);  // nothing internal leaves; the log has it
  }
  r.log_error = (s.empty() ? "connection" : s) + ": " + e.message;
  return r;
}

// The request prelude (docs/service.md, "One request = one transaction = one round
// trip"): one prepared statement, a single CASE whose conditions PostgreSQL tests in
// order (none of them is a constant it could fold early): set the correlation id and
// the W3C trace context for the transaction, authenticate the bearer token (28000),
// count the request in nova's shared cache and, over the limit, call
// svc.rate_limited (53400, examples/service/service.sql); else the subject. No
// subquery and no PL/pgSQL on the way: the statement's executor start-up is one
// Result node. $1 correlation id, $2 traceparent, $3 tracestate, $4 token,
// $5 limit per second (0 = none).
static std::string prelude_sql(bool with_tracestate) {
  return std::string(
             "SELECT CASE"
             " WHEN pg_catalog.concat(pg_catalog.set_config('nova.correlation_id', $1, true),"
             "                        pg_catalog.set_config('nova.traceparent', $2, true),") +
         (with_tracestate ? "                        pg_catalog.set_config('nova.tracestate', $3, true)) IS NULL"
                          : "                        $3) IS NULL") +
         " THEN NULL"  // never: concat() is never NULL
         " WHEN nova.authenticate($4) IS NULL THEN NULL"  // never: it raises 28000 or returns the claims
         " WHEN $5::pg_catalog.int8 OPERATOR(pg_catalog.>) 0 AND nova.cache_incr('svc:rate:' OPERATOR(pg_catalog.||)"
         "      nova.subject() OPERATOR(pg_catalog.||) ':' OPERATOR(pg_catalog.||)"
         "      pg_catalog.floor(pg_catalog.date_part('epoch', pg_catalog.now()))::pg_catalog.int8::pg_catalog.text,"
         "      1, '2 seconds'::pg_catalog.interval) OPERATOR(pg_catalog.>) $5::pg_catalog.int8"
         " THEN svc.rate_limited($5::pg_catalog.int8)"
         " ELSE nova.subject() END";
}

// Checks what can be checked without the database and prepares the prelude that goes
// out with the statement: BEGIN; the prelude above. Returns a response when the
// request stops here (401 without credentials, 503 without a connection).
std::optional<Response> Api::begin(Ctx& c) {
  c.conn.emplace(pool_.acquire(std::chrono::milliseconds(5000)));
  if (!*c.conn) return json_error(503, "no database connection available", c.cid);
  if (!c.nova) {
    c.subject = c.req.header("x-user");
    if (c.subject.empty()) return json_error(401, "missing X-User", c.cid);
    c.prelude = {{"BEGIN", {}}};
    return std::nullopt;
  }
  std::string auth = c.req.header("authorization");
  std::string token;
  if (auth.size() > 7 && (auth.compare(0, 7, "Bearer ") == 0 || auth.compare(0, 7, "bearer ") == 0))
    token = auth.substr(7);
  else if (c.req.query.count("access_token"))
    token = c.req.query.at("access_token");
  if (token.empty()) {
    Response r = json_error(401, "missing bearer token", c.cid);
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
    return r;
  }
  // W3C: an invalid traceparent is ignored (and tracestate with it), never an error.
  std::string tp = c.req.header("traceparent"), ts = c.req.header("tracestate");
  std::optional<std::string> traceparent, tracestate;
  if (valid_traceparent(tp)) {
    traceparent = tp;
    if (!ts.empty() && valid_tracestate(ts)) tracestate = ts;
  }
  c.prelude = {{"BEGIN", {}},
               {prelude_sql((**c.conn).has_tracestate),
                {c.cid, traceparent, tracestate, token, std::to_string(cfg_.rate_limit)}}};
  return std::nullopt;
}

// The request's statements, then COMMIT, in one round trip.
Response Api::run(Ctx& c, std::vector<Stmt> stmts, int ok_status,
                  Response (*shape)(Ctx&, const PipelineResult&, int)) {
  // nova mode: the statements name the caller nova.subject() (set by nova.authenticate
  // in the prelude); plain mode passes the X-User name as $1.
  if (c.nova)
    for (auto& st : stmts) st.sql = caller_is_subject(st.sql);
  size_t skip = c.prelude.size();
  stmts.insert(stmts.begin(), c.prelude.begin(), c.prelude.end());
  stmts.push_back({"COMMIT", {}});
  PipelineResult pr = (**c.conn).pipeline(stmts);
  if (c.nova && pr.results.size() >= 2 && !pr.results[1].rows.empty())
    c.subject = pr.results[1].rows[0].at(0).value_or("");
  if (pr.error) return error_response(c, *pr.error);
  pr.results.erase(pr.results.begin(), pr.results.begin() + static_cast<long>(skip));
  return shape(c, pr, ok_status);
}

static Response ok_json(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

static const Rows& first(const PipelineResult& pr) { return pr.results.at(0); }
static std::optional<std::string> cell(const Rows& r, size_t col = 0) {
  if (r.rows.empty()) return std::nullopt;
  return r.rows[0].at(col);
}

// ---- the SQL (the same text in both modes; plain mode runs it on tables with
// plain views named like nova's active_ views) ---------------------------------------

static const char* kPostJson =
    "pg_catalog.json_build_object('id', p.id, 'author', u.username, 'body', p.body, 'visibility', p.visibility, "
    "'created_at', p.created_at)::text";

Response Api::route(Ctx& c) {
  const auto& m = c.req.method;
  const auto& p = c.path;
  auto bad_body = [&](const char* what) { return json_error(400, what, c.cid); };

  // POST /posts
  if (p.size() == 1 && p[0] == "posts" && m == "POST") {
    json b = json::parse(c.req.body, nullptr, false);
    if (b.is_discarded() || !b.is_object() || !b.contains("body") || !b["body"].is_string())
      return bad_body("body must be a JSON object with a string \"body\"");
    std::optional<std::string> vis;
    if (b.contains("visibility")) {
      if (!b["visibility"].is_string()) return bad_body("\"visibility\" must be a string");
      vis = b["visibility"].get<std::string>();
    }
    if (auto e = begin(c)) return *e;
    std::string sql = std::string(
        "WITH me AS (SELECT id, username FROM public.active_users WHERE username = $1), "
        "p AS (INSERT INTO public.active_posts (author_id, body, visibility) "
        "      SELECT me.id, $2, coalesce($3, 'public') FROM me RETURNING *) "
        "SELECT ") + kPostJson + " FROM p JOIN me u ON u.id = p.author_id";
    return run(c, {{sql, {c.subject, b["body"].get<std::string>(), vis}}}, 201, [](Ctx& c, const PipelineResult& pr, int s) {
      auto v = cell(first(pr));
      return v ? ok_json(s, *v) : json_error(403, "the subject has no account", c.cid);
    });
  }

  // GET /posts/{id}, DELETE /posts/{id}
  if (p.size() == 2 && p[0] == "posts" && (m == "GET" || m == "DELETE")) {
    if (auto e = begin(c)) return *e;
    if (m == "GET") {
      std::string sql = std::string("SELECT ") + kPostJson +
                        " FROM public.active_posts p JOIN public.active_users u ON u.id = p.author_id "
                        "WHERE p.id = $2::bigint AND (p.visibility <> 'private' OR u.username = $1)";
      return run(c, {{sql, {c.subject, p[1]}}}, 200, [](Ctx& c, const PipelineResult& pr, int s) {
        auto v = cell(first(pr));
        return v ? ok_json(s, *v) : json_error(404, "no such post", c.cid);
      });
    }
    std::string sql =
        "WITH p AS (SELECT p.id, u.username = $1 AS mine FROM public.active_posts p "
        "           JOIN public.active_users u ON u.id = p.author_id WHERE p.id = $2::bigint), "
        "d AS (DELETE FROM public.active_posts t WHERE t.id = $2::bigint "
        "      AND t.author_id = (SELECT id FROM public.active_users WHERE username = $1) RETURNING t.id) "
        "SELECT (SELECT count(*) FROM p), (SELECT mine FROM p), (SELECT count(*) FROM d)";
    return run(c, {{sql, {c.subject, p[1]}}}, 204, [](Ctx& c, const PipelineResult& pr, int s) {
      const Rows& r = first(pr);
      if (cell(r, 0).value_or("0") == "0") return json_error(404, "no such post", c.cid);
      if (cell(r, 1).value_or("f") != "t") return json_error(403, "only the author may delete a post", c.cid);
      // The author's post, deleted meanwhile by a concurrent request: nothing left to delete.
      if (cell(r, 2).value_or("0") == "0") return json_error(404, "no such post", c.cid);
      return ok_json(s, "");
    });
  }

  // POST /posts/{id}/restore
  if (p.size() == 3 && p[0] == "posts" && p[2] == "restore" && m == "POST") {
    if (auto e = begin(c)) return *e;
    // nova: nova.restore undoes the delete and the comments deleted with it.
    // plain: there is no soft delete: a deleted post is gone (404), a live one 409.
    std::string sql =
        c.nova ? "WITH p AS (SELECT p.id, p.deleted_at IS NOT NULL AS deleted, u.username = $1 AS mine "
                 "           FROM public.posts p JOIN public.active_users u ON u.id = p.author_id WHERE p.id = $2::bigint) "
                 "SELECT (SELECT count(*) FROM p), (SELECT mine FROM p), (SELECT deleted FROM p), "
                 "       CASE WHEN (SELECT deleted AND mine FROM p) "
                 "            THEN nova.restore('public.posts', pg_catalog.jsonb_build_object('id', $2::bigint)) END"
               : "WITH p AS (SELECT p.id, u.username = $1 AS mine "
                 "           FROM public.posts p JOIN public.active_users u ON u.id = p.author_id WHERE p.id = $2::bigint) "
                 "SELECT (SELECT count(*) FROM p), (SELECT mine FROM p), false, 0";
    std::string get = std::string("SELECT ") + kPostJson +
                      " FROM public.active_posts p JOIN public.active_users u ON u.id = p.author_id WHERE p.id = $2::bigint";
    return run(c, {{sql, {c.subject, p[1]}}, {get, {c.subject, p[1]}}}, 200, [](Ctx& c, const PipelineResult& pr, int s) {
      const Rows& r = first(pr);
      if (cell(r, 0).value_or("0") == "0") return json_error(404, "no such post", c.cid);
      if (cell(r, 1).value_or("f") != "t") return json_error(403, "only the author may restore a post", c.cid);
      // Not deleted, or restored meanwhile by a concurrent request (nova.restore restored 0 rows).
      if (cell(r, 2).value_or("f") != "t" || cell(r, 3).value_or("0") == "0")
        return json_error(409, "the post is not deleted", c.cid);
      auto v = cell(pr.results.at(1));
      return v ? ok_json(s, *v) : json_error(404, "no such post", c.cid);
    });
  }

  // POST /posts/{id}/comments
  if (p.size() == 3 && p[0] == "posts" && p[2] == "comments" && m == "POST") {
    json b = json::parse(c.req.body, nullptr, false);
    if (b.is_discarded() || !b.is_object() || !b.contains("body") || !b["body"].is_string())
      return bad_body("body must be a JSON object with a string \"body\"");
    if (auto e = begin(c)) return *e;
    std::string sql =
        "WITH me AS (SELECT id FROM public.active_users WHERE username = $1), "
        "p AS (SELECT p.id, u.username AS author FROM public.active_posts p JOIN public.active_users u ON u.id = p.author_id "
        "      WHERE p.id = $2::bigint AND (p.visibility <> 'private' OR u.username = $1)), "
        "c AS (INSERT INTO public.active_comments (post_id, author_id, body) SELECT p.id, me.id, $3 FROM p, me "
        "      RETURNING id, post_id, body, created_at), "
        "n AS (SELECT pg_catalog.pg_notify('nova_service_push', pg_catalog.json_build_object("
        "        'to', p.author, 'type', 'comment', 'post_id', c.post_id, 'comment_id', c.id, 'from', $1::text, "
        "        'body', pg_catalog.left(c.body, 200), 'correlation_id', $4::text)::text) FROM c, p WHERE p.author <> $1) "
        "SELECT pg_catalog.json_build_object('id', c.id, 'post_id', c.post_id, 'author', $1::text, 'body', c.body, "
        "       'created_at', c.created_at)::text, (SELECT count(*) FROM n) FROM c";
    Response r = run(c, {{sql, {c.subject, p[1], b["body"].get<std::string>(), c.cid}}}, 201,
                     [](Ctx& c, const PipelineResult& pr, int s) {
                       auto v = cell(first(pr));
                       return v ? ok_json(s, *v) : json_error(404, "no such post", c.cid);
                     });
    if (r.status == 201 && !cfg_.webhook.empty()) r.headers.emplace_back("X-Webhook", notify_webhook(c, r.body));
    return r;
  }

  // POST /users/{username}/follow
  if (p.size() == 3 && p[0] == "users" && p[2] == "follow" && m == "POST") {
    if (auto e = begin(c)) return *e;
    std::string sql =
        "WITH me AS (SELECT id FROM public.active_users WHERE username = $1), "
        "u AS (SELECT id FROM public.active_users WHERE username = $2), "
        "f AS (INSERT INTO public.follows (follower_id, followee_id) SELECT me.id, u.id FROM me, u RETURNING followee_id), "
        "n AS (SELECT pg_catalog.pg_notify('nova_service_push', pg_catalog.json_build_object("
        "        'to', $2::text, 'type', 'follow', 'from', $1::text, 'correlation_id', $3::text)::text) FROM f) "
        "SELECT (SELECT count(*) FROM u), (SELECT count(*) FROM f), (SELECT count(*) FROM n)";
    return run(c, {{sql, {c.subject, p[1], c.cid}}}, 204, [](Ctx& c, const PipelineResult& pr, int s) {
      const Rows& r = first(pr);
      if (cell(r, 0).value_or("0") == "0") return json_error(404, "no such user", c.cid);
      if (cell(r, 1).value_or("0") == "0") return json_error(403, "the subject has no account", c.cid);
      return ok_json(s, "");
    });
  }

  // GET /feed?limit=N
  if (p.size() == 1 && p[0] == "feed" && m == "GET") {
    std::string limit = c.req.query.count("limit") ? c.req.query.at("limit") : "20";
    if (auto e = begin(c)) return *e;
    std::string sql =
        "SELECT pg_catalog.json_build_object('posts', coalesce(pg_catalog.json_agg(x), '[]'))::text FROM ("
        "  SELECT p.id, u.username AS author, p.body, p.visibility, p.created_at "
        "  FROM public.active_users me JOIN public.follows f ON f.follower_id = me.id "
        "  JOIN public.active_posts p ON p.author_id = f.followee_id AND p.visibility <> 'private' "
        "  JOIN public.active_users u ON u.id = p.author_id "
        "  WHERE me.username = $1 ORDER BY p.created_at DESC, p.id DESC "
        "  LIMIT pg_catalog.int4smaller($2::int, 100)) x";
    return run(c, {{sql, {c.subject, limit}}}, 200, [](Ctx&, const PipelineResult& pr, int s) {
      return ok_json(s, cell(first(pr)).value_or("{\"posts\":[]}"));
    });
  }

  bool known = (p.size() == 1 && (p[0] == "posts" || p[0] == "feed")) || (p.size() >= 2 && (p[0] == "posts" || p[0] == "users"));
  return json_error(known ? 405 : 404, known ? "method not allowed" : "not found", c.cid);
}

Response Api::readyz(const std::string& cid) {
  auto lease = pool_.acquire(std::chrono::milliseconds(1000));
  if (!lease) return json_error(503, "no database connection available", cid);
  PipelineResult pr = lease->exec(
      {cfg_.mode == Mode::nova
           ? "SELECT nova.status() OPERATOR(pg_catalog.->>) 'state', "
             "nova.cache_get('svc:webhook_skipped')"
           : "SELECT 'none', NULL::text",
       {}});
  if (pr.error) return json_error(503, "database unreachable", cid);
  Response r;
  r.status = 200;
  const auto& row = pr.results.at(0).rows.at(0);
  r.body = json{{"database", "ok"},
                {"relay", row.at(0).value_or("unknown")},
                {"webhook_skipped", std::stol(row.at(1).value_or("0"))},
                {"mode", cfg_.mode == Mode::nova ? "nova" : "plain"}}
               .dump();
  return r;
}

// After a committed comment: tell the webhook, through the shared breaker `webhook`
// (docs/breakers.md). Open breaker: skip, count in nova's shared cache, comment stands.
std::string Api::notify_webhook(Ctx& c, const std::string& payload) {
  Conn& db = **c.conn;
  if (c.nova) {
    PipelineResult pr = db.exec(
        {"SELECT CASE WHEN nova.breaker_allow('webhook') THEN 'allow' "
         "ELSE 'skip' OPERATOR(pg_catalog.||) nova.cache_incr('svc:webhook_skipped', 1, NULL) END",
         {}});
    if (pr.error) return "error";
    if (cell(first(pr)).value_or("skip") != "allow") return "skipped";
  }
  auto t0 = std::chrono::steady_clock::now();
  bool ok = post_webhook(cfg_.webhook, payload, c.cid, cfg_.webhook_timeout_ms);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (c.nova)
    db.exec({"SELECT nova.breaker_record('webhook', $1::boolean, pg_catalog.make_interval(secs => $2::float8))",
             {ok ? "true" : "false", std::to_string(secs)}});
  return ok ? "sent" : "failed";
}

// Runs on a worker thread: nothing may escape (an exception there would end the process).
Response Api::handle(const Request& r, const std::string& cid) {
  if (r.path == "/healthz") {
    Response ok;
    ok.body = R"({"status":"ok"})";
    return ok;
  }
  Ctx c{r, cid, "", split_path(r.path), std::nullopt, cfg_.mode == Mode::nova, {}};
  Response out;
  try {
    out = r.path == "/readyz" ? readyz(cid) : route(c);
  } catch (const std::exception& e) {
    out = json_error(500, "internal error", cid);
    out.log_error = e.what();
  }
  out.subject = c.subject;
  // A request that stopped early leaves its transaction open: end it before the connection goes back.
  if (c.conn && *c.conn && (**c.conn).ok() && PQtransactionStatus((**c.conn).raw()) != PQTRANS_IDLE)
    (**c.conn).exec({"ROLLBACK", {}});
  return out;
}

std::optional<std::string> Api::authenticate_ws(const Request& r, const std::string& cid, Response& err) try {
  Ctx c{r, cid, "", {}, std::nullopt, cfg_.mode == Mode::nova, {}};
  if (auto e = begin(c)) {
    err = *e;
    return std::nullopt;
  }
  Response res = run(c, {}, 200, [](Ctx&, const PipelineResult&, int s) { return ok_json(s, ""); });
  if (res.status != 200) {
    err = res;
    return std::nullopt;
  }
  return c.subject;
} catch (const std::exception& e) {
  err = json_error(500, "internal error", cid);
  err.log_error = e.what();
  return std::nullopt;
}

}  // namespace svc
