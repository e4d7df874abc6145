// nova.authenticate and the key table around it (docs/jwt.md, docs/security.md; docs/authentication.md).
//
//  * nova.authenticate(token): the shared cache first (src/pg/jwt_cache.cpp);
//    on a miss, the key row is read from nova.jwt_keys and the revocation
//    tables as the owner of nova.jwt_keys (callers cannot read the keys), with
//    search_path pinned and the latest committed snapshot (so a revocation
//    committed a moment ago counts even inside a REPEATABLE READ transaction),
//    then nova::jwt::verify. Success sets the transaction's identity
//    (src/pg/identity.cpp); any failure clears it.
//  * Key selection: the token's kid selects the row exactly. A token without
//    kid is accepted only when exactly one non-revoked key of the token's alg
//    exists. The row's algorithm is the only one allowed; its issuer and
//    audience are enforced when set; revoked_at <= now disables it.
//  * The statement trigger nova._jwt_keyset_changed() on nova.jwt_keys and the
//    revocation tables bumps the cache generation at once and again when the
//    transaction ends (after its changes became visible), so no backend keeps
//    serving an entry that a committed change invalidated. A transaction that
//    changed them does not fill the cache itself and cannot be PREPAREd.
#include "pg/jwt_cache.h"
#include "pg/jwt_keycache.h"

extern "C" {
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
}

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>

#include "core/jwt.h"
#include "core/jwt_keyset.h"
#include "pg/boundary.h"
#include "pg/guc.h"
#include "pg/identity.h"
#include "pg/module.h"
#include "pg/run_as.h"

namespace {

constexpr double kUnixEpochInPgSeconds = 946684800.0;  // 2000-01-01 in Unix seconds

double to_unix(TimestampTz t) { return double(t) / 1e6 + kUnixEpochInPgSeconds; }
TimestampTz from_unix(double s) {
  double us = (s - kUnixEpochInPgSeconds) * 1e6;
  if (us > 9.2e18) return DT_NOEND;
  if (us < -9.2e18) return DT_NOBEGIN;
  return TimestampTz(us);
}

[[noreturn]] void auth_fail(const std::string &msg, const std::string &detail = {}) {
  throw nova::Error(nova::sqlstate::kInvalidAuthorization, msg, detail);
}

// ---- the key-set generation, bumped by the statement trigger and at transaction end ----

bool g_keyset_changed = false;  // this transaction changed nova.jwt_keys or a revocation table

void keyset_xact_callback(XactEvent event, void *) {
  switch (event) {
    case XACT_EVENT_PRE_PREPARE:
      if (g_keyset_changed)
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                        errmsg("cannot PREPARE a transaction that changed nova.jwt_keys or jwt revocations"),
                        errdetail("the shared jwt cache must be invalidated when the change becomes visible")));
      break;
    case XACT_EVENT_COMMIT:
    case XACT_EVENT_ABORT:
    case XACT_EVENT_PARALLEL_COMMIT:
    case XACT_EVENT_PARALLEL_ABORT:
    case XACT_EVENT_PREPARE:
      if (g_keyset_changed) nova::pg::jwt_cache::bump_generation();
      g_keyset_changed = false;
      break;
    default:
      break;
  }
}

void keys_relcache_callback(Datum, Oid relid);

void jwt_auth_init() {
  nova::pg::register_xact_callback(keyset_xact_callback, nullptr);
  nova::pg::register_relcache_callback(keys_relcache_callback, 0);
}
NOVA_MODULE_INIT(jwt_auth_init);

// ---- SPI as the owner of nova.jwt_keys, search_path pinned, latest snapshot ----

// OID of nova.jwt_keys, remembered until a relcache invalidation for it (or a
// full reset) arrives — DROP EXTENSION sends one to every backend.
Oid g_keys_relid = InvalidOid;

void keys_relcache_callback(Datum, Oid relid) {
  if (relid == InvalidOid || relid == g_keys_relid) g_keys_relid = InvalidOid;
}

// Plain C frame: may ERROR.
Oid keys_relid_or_error() {
  if (OidIsValid(g_keys_relid)) return g_keys_relid;
  Oid nsp = get_namespace_oid("nova", false);
  Oid rel = get_relname_relid("jwt_keys", nsp);
  if (!OidIsValid(rel))
    ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE), errmsg("relation nova.jwt_keys does not exist")));
  g_keys_relid = rel;
  return rel;
}

Oid keys_owner() {
  Oid rel = keys_relid_or_error();
  HeapTuple tp = SearchSysCache1(RELOID, ObjectIdGetDatum(rel));
  if (!HeapTupleIsValid(tp)) elog(ERROR, "cache lookup failed for relation %u", rel);
  Oid owner = reinterpret_cast<Form_pg_class>(GETSTRUCT(tp))->relowner;
  ReleaseSysCache(tp);
  return owner;
}

// Runs body(arg) connected to SPI as the key table's owner, through the one
// run-as helper (src/pg/run_as.h: restricted operation, search_path pinned).
// Plain C: no C++ objects live in these frames (PostgreSQL errors longjmp
// through them; the caller guards).
struct OwnerCall {
  void (*body)(void *);
  void *arg;
};

void spi_call(void *p) {
  auto *c = static_cast<OwnerCall *>(p);
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "SPI_connect failed");
  c->body(c->arg);
  SPI_finish();
}

void run_as_owner(void (*body)(void *), void *arg) {
  OwnerCall c{body, arg};
  nova::pg::run_as(keys_owner(), spi_call, &c);
}

SPIPlanPtr prepare_kept(const char *sql, int nargs, Oid *types) {
  SPIPlanPtr p = SPI_prepare(sql, nargs, types);
  if (!p) elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
  if (SPI_keepplan(p) != 0) elog(ERROR, "SPI_keepplan failed");
  return p;
}

char *copy_col(HeapTuple tup, TupleDesc desc, int col, MemoryContext cxt) {
  char *v = SPI_getvalue(tup, desc, col);
  return v ? MemoryContextStrdup(cxt, v) : nullptr;
}

struct KeyQuery {
  // in
  const char *kid;  // nullptr: the token has none
  const char *alg;
  TimestampTz now;
  MemoryContext cxt;
  // out
  int found;   // rows matching (kid) / non-revoked rows (alg)
  char *row_kid, *algorithm, *key, *issuer, *audience;
  bool revoked;
  bool has_revoked_at;
  TimestampTz revoked_at;
};

void key_query_body(void *arg) {
  auto *q = static_cast<KeyQuery *>(arg);
  static SPIPlanPtr by_kid = nullptr, by_alg = nullptr;
  Oid types[1] = {TEXTOID};
  if (!by_kid)
    by_kid = prepare_kept("SELECT kid, algorithm, key, issuer, audience, revoked_at FROM nova.jwt_keys "
                          "WHERE kid OPERATOR(pg_catalog.=) $1",
                          1, types);
  if (!by_alg)
    by_alg = prepare_kept("SELECT kid, algorithm, key, issuer, audience, revoked_at FROM nova.jwt_keys "
                          "WHERE algorithm OPERATOR(pg_catalog.=) $1",
                          1, types);
  Datum values[1] = {PointerGetDatum(cstring_to_text(q->kid ? q->kid : q->alg))};
  int rc = SPI_execute_snapshot(q->kid ? by_kid : by_alg, values, nullptr, GetLatestSnapshot(), InvalidSnapshot, true,
                                false, 0);
  if (rc != SPI_OK_SELECT) elog(ERROR, "key lookup failed: %s", SPI_result_code_string(rc));
  q->found = 0;
  for (uint64 i = 0; i < SPI_processed; i++) {
    HeapTuple tup = SPI_tuptable->vals[i];
    TupleDesc desc = SPI_tuptable->tupdesc;
    bool isnull = false;
    Datum r = SPI_getbinval(tup, desc, 6, &isnull);
    bool revoked = !isnull && DatumGetTimestampTz(r) <= q->now;
    if (!q->kid && revoked) continue;  // without kid only usable keys count
    q->found++;
    q->row_kid = copy_col(tup, desc, 1, q->cxt);
    q->algorithm = copy_col(tup, desc, 2, q->cxt);
    q->key = copy_col(tup, desc, 3, q->cxt);
    q->issuer = copy_col(tup, desc, 4, q->cxt);
    q->audience = copy_col(tup, desc, 5, q->cxt);
    q->revoked = revoked;
    q->has_revoked_at = !isnull;
    q->revoked_at = isnull ? 0 : DatumGetTimestampTz(r);
  }
}

struct RevocationQuery {
  const char *jti;  // nullptr when absent
  const char *sub;
  TimestampTz jti_after;  // a jti revocation counts while expires_at > this (now - leeway)
  bool has_iat;
  TimestampTz iat;
  bool jti_revoked, sub_revoked;
};

void revocation_body(void *arg) {
  auto *q = static_cast<RevocationQuery *>(arg);
  static SPIPlanPtr plan = nullptr;
  Oid types[4] = {TEXTOID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID};
  if (!plan)
    plan = prepare_kept(
        "SELECT EXISTS (SELECT 1 FROM nova.jwt_revoked_jti WHERE jti OPERATOR(pg_catalog.=) $1 "
        "AND expires_at OPERATOR(pg_catalog.>) $3), "
        "EXISTS (SELECT 1 FROM nova.jwt_revoked_subjects WHERE subject OPERATOR(pg_catalog.=) $2 "
        "AND ($4 IS NULL OR issued_before OPERATOR(pg_catalog.>) $4))",
        4, types);
  Datum values[4] = {q->jti ? PointerGetDatum(cstring_to_text(q->jti)) : Datum(0),
                     PointerGetDatum(cstring_to_text(q->sub)), TimestampTzGetDatum(q->jti_after),
                     TimestampTzGetDatum(q->iat)};
  char nulls[4] = {q->jti ? ' ' : 'n', ' ', ' ', q->has_iat ? ' ' : 'n'};
  int rc = SPI_execute_snapshot(plan, values, nulls, GetLatestSnapshot(), InvalidSnapshot, true, false, 1);
  if (rc != SPI_OK_SELECT || SPI_processed != 1) elog(ERROR, "revocation lookup failed");
  bool isnull;
  q->jti_revoked = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
  q->sub_revoked = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
}

std::string header_string(const nlohmann::json &h, const char *name, bool *present) {
  auto it = h.find(name);
  *present = it != h.end();
  if (!*present) return {};
  if (!it->is_string()) auth_fail(std::string("jwt malformed: header ") + name + " is not a string");
  return it->get<std::string>();
}

// The verification that the cache saves: key row, signature and claims, revocations.
Jsonb *authenticate_uncached(std::string_view token, double now, double leeway, nova::pg::jwt_cache::Entry *entry) {
  nova::jwt::Decoded dec = nova::jwt::decode_unverified(token);
  nlohmann::json header = nlohmann::json::parse(dec.header_json, nullptr, false);
  if (!header.is_object()) auth_fail("jwt malformed: header is not a json object");
  bool has_kid = false, has_alg = false;
  std::string kid = header_string(header, "kid", &has_kid);
  std::string alg = header_string(header, "alg", &has_alg);
  if (!has_alg) auth_fail("jwt malformed: header has no alg");

  KeyQuery kq{};
  kq.kid = has_kid ? kid.c_str() : nullptr;
  kq.alg = alg.c_str();
  kq.now = from_unix(now);
  kq.cxt = CurrentMemoryContext;
  nova::pg::guard([&] { run_as_owner(key_query_body, &kq); });
  if (has_kid && kq.found == 0) auth_fail("jwt key not found", "no row of nova.jwt_keys has kid \"" + kid.substr(0, 200) + "\"");
  if (!has_kid && kq.found == 0)
    auth_fail("jwt key not found", "the token has no kid and nova.jwt_keys has no usable " + alg.substr(0, 20) + " key");
  if (!has_kid && kq.found > 1)
    auth_fail("jwt kid required", "the token has no kid and nova.jwt_keys has " + std::to_string(kq.found) +
                                      " usable " + alg.substr(0, 20) + " keys");
  if (kq.revoked) auth_fail("jwt key revoked", "kid \"" + std::string(kq.row_kid).substr(0, 200) + "\"");

  nova::jwt::VerifyOptions opts;
  opts.algorithms = {kq.algorithm};
  if (kq.issuer) opts.issuer = std::string(kq.issuer);
  if (kq.audience) opts.audience = std::string(kq.audience);
  opts.now = now;
  opts.leeway = leeway;
  nova::jwt::Verified v = nova::jwt::verify(token, nova::pg::cached_keys(kq.key, nova::jwt::KeyPurpose::kVerify), opts);
  if (v.sub.empty()) auth_fail("jwt has no subject", "nova.authenticate needs a non-empty string sub claim");
  if (v.sub.find('\0') != std::string::npos || v.sub.size() > 1024)
    auth_fail("jwt malformed: sub claim is not a usable subject");

  RevocationQuery rq{};
  rq.jti = v.jti.empty() ? nullptr : v.jti.c_str();
  rq.sub = v.sub.c_str();
  rq.jti_after = from_unix(now - leeway);
  rq.has_iat = v.iat.has_value();
  rq.iat = rq.has_iat ? from_unix(*v.iat) : 0;
  nova::pg::guard([&] { run_as_owner(revocation_body, &rq); });
  if (rq.jti_revoked) auth_fail("jwt revoked", "the token's jti is revoked");
  if (rq.sub_revoked)
    auth_fail("jwt revoked", rq.has_iat ? "the subject's tokens issued before the revocation are revoked"
                                        : "the subject's tokens are revoked and the token has no iat");

  Datum claims = 0;
  const char *payload = v.payload_json.c_str();
  nova::pg::guard([&] { claims = DirectFunctionCall1(jsonb_in, CStringGetDatum(payload)); });
  Jsonb *jb = DatumGetJsonbP(claims);

  entry->valid_until = kq.has_revoked_at ? to_unix(kq.revoked_at) : std::numeric_limits<double>::infinity();
  entry->has_exp = v.exp.has_value();
  entry->has_nbf = v.nbf.has_value();
  entry->has_iat = v.iat.has_value();
  entry->exp = v.exp.value_or(0);
  entry->nbf = v.nbf.value_or(0);
  entry->iat = v.iat.value_or(0);
  const char *sub = v.sub.c_str();
  char *sub_copy = nullptr;
  nova::pg::guard([&] { sub_copy = pstrdup(sub); });  // C++ objects are alive here
  entry->sub = sub_copy;
  entry->sub_len = v.sub.size();
  entry->claims = jb;
  return jb;
}

std::optional<double> opt(bool has, double v) { return has ? std::optional<double>(v) : std::nullopt; }

}  // namespace

NOVA_FUNCTION(nova_authenticate) {
  nova::pg::identity_clear();  // a failed authenticate leaves no identity behind
  if (PG_ARGISNULL(0)) auth_fail("jwt malformed: token is null");
  text *t = PG_GETARG_TEXT_PP(0);
  std::string_view token(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
  if (token.size() > nova::jwt::kMaxTokenBytes)
    auth_fail("jwt malformed: token too large", "tokens are limited to 16384 bytes");
  double now = to_unix(GetCurrentTimestamp());
  double leeway = nova_guc_jwt_leeway;
  namespace jc = nova::pg::jwt_cache;
  bool use_cache = jc::enabled() && !g_keyset_changed;
  uint8_t digest[jc::kDigestBytes];
  jc::Entry e{};
  uint64_t scope = 0;
  if (use_cache) {
    Oid rel = g_keys_relid;
    if (!OidIsValid(rel)) nova::pg::guard([&] { rel = keys_relid_or_error(); });
    scope = (uint64_t(MyDatabaseId) << 32) | rel;
    jc::digest(token.data(), token.size(), digest);
    if (jc::lookup(digest, scope, now, &e)) {
      nova::jwt::check_time_claims(opt(e.has_exp, e.exp), opt(e.has_nbf, e.nbf), opt(e.has_iat, e.iat), now, leeway);
      nova::pg::identity_set(e.sub, e.sub_len, e.claims);
      PG_RETURN_JSONB_P(e.claims);
    }
  }
  uint64_t gen = use_cache ? jc::generation() : 0;  // read before the tables are
  Jsonb *claims = authenticate_uncached(token, now, leeway, &e);
  if (use_cache) jc::insert(digest, scope, gen, e);
  nova::pg::identity_set(e.sub, e.sub_len, claims);
  PG_RETURN_JSONB_P(claims);
}

// CHECK (nova._jwt_key_check(algorithm, key)) on nova.jwt_keys: true, or an error saying why.
NOVA_FUNCTION(nova_jwt_key_check) {
  // Both arguments are read (detoasting may ERROR) before the first C++ object exists.
  char *alg_arg = text_to_cstring(PG_GETARG_TEXT_PP(0));
  text *k = PG_GETARG_TEXT_PP(1);
  std::string alg(alg_arg);
  std::string_view key(VARDATA_ANY(k), VARSIZE_ANY_EXHDR(k));
  nova::jwt_keyset::check_key(alg, key);
  // And the verifier itself must accept it for that algorithm.
  nova::jwt::KeySet ks;
  try {
    ks = nova::jwt::parse_keys(key, nova::jwt::KeyPurpose::kVerify);
  } catch (const nova::Error &e) {
    throw nova::Error(nova::sqlstate::kInvalidParameterValue, e.what(), e.detail());
  }
  auto a = nova::jwt::alg_from_name(alg);
  if (ks.is_set || ks.keys.size() != 1 || !a || !ks.keys[0]->supports(*a))
    throw nova::Error(nova::sqlstate::kInvalidParameterValue, "key cannot verify the algorithm", "algorithm " + alg);
  PG_RETURN_BOOL(true);
}

// nova._jwks_parse(jwks jsonb) → jsonb array of {kid, algorithm, key} for nova.jwks_import.
NOVA_FUNCTION(nova_jwks_parse) {
  Jsonb *in = PG_GETARG_JSONB_P(0);
  char *text_in = nullptr;
  nova::pg::guard([&] { text_in = JsonbToCString(nullptr, &in->root, VARSIZE(in)); });
  auto keys = nova::jwt_keyset::parse_jwks(text_in);
  nlohmann::json arr = nlohmann::json::array();
  for (const auto &k : keys) arr.push_back({{"kid", k.kid}, {"algorithm", k.alg}, {"key", k.jwk_json}});
  std::string s = arr.dump();
  Datum d = 0;
  const char *cs = s.c_str();
  nova::pg::guard([&] { d = DirectFunctionCall1(jsonb_in, CStringGetDatum(cs)); });
  PG_RETURN_DATUM(d);
}

// Statement trigger on nova.jwt_keys and the revocation tables.
NOVA_FUNCTION(nova_jwt_keyset_changed) {
  if (!CALLED_AS_TRIGGER(fcinfo))
    throw nova::Error(nova::sqlstate::kObjectNotInPrerequisiteState, "nova._jwt_keyset_changed is a trigger function");
  g_keyset_changed = true;
  nova::pg::jwt_cache::bump_generation();
  return PointerGetDatum(nullptr);
}

NOVA_FUNCTION(nova_jwt_cache_stats) {
  auto s = nova::pg::jwt_cache::stats();
  char buf[512];
  snprintf(buf, sizeof buf,
           "{\"enabled\": %s, \"hits\": %" PRIu64 ", \"misses\": %" PRIu64 ", \"entries\": %" PRIu64
           ", \"evictions\": %" PRIu64 ", \"inserts\": %" PRIu64 ", \"capacity\": %" PRIu64
           ", \"generation\": %" PRIu64 ", \"max_entry_bytes\": %zu}",
           s.enabled ? "true" : "false", s.hits, s.misses, s.entries, s.evictions, s.inserts, s.capacity,
           s.generation, nova::pg::jwt_cache::kEntryDataBytes);
  Datum d = 0;
  nova::pg::guard([&] { d = DirectFunctionCall1(jsonb_in, CStringGetDatum(buf)); });
  PG_RETURN_DATUM(d);
}
