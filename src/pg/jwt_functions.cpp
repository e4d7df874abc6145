// Stateless JWT functions (docs/jwt.md): nova.jwt_verify, nova.jwt_sign,
// nova.jwt_decode_unverified. The key table, nova.authenticate, caches and
// revocation live in the jwtsql feature. Rules and messages: docs/jwt.md.
#include "pg/boundary.h"
#include "pg/jwt_keycache.h"

#include <algorithm>
#include <cmath>
#include <list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/jwt.h"
#include "pg/guc.h"
#include "pg/module.h"
#include "pg/test_hooks.h"

extern "C" {
#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "mb/pg_wchar.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
}

namespace {

// nova.jwt_test_now: seconds since the epoch used as "now" by the JWT functions
// instead of the clock. Superuser-only (PGC_SUSET), for regression tests (tokens
// with fixed exp/nbf/iat, RFC examples); 0 = the real clock. Defined only in a
// test build (pg/test_hooks.h): a release build has no such setting.
double g_jwt_test_now = 0;

void jwt_functions_init() {
  if (!nova::pg::kTestHooks) return;
  DefineCustomRealVariable("nova.jwt_test_now",
                           "Fixed clock for JWT checks, in seconds since 1970 (tests only; 0 = real time).", nullptr,
                           &g_jwt_test_now, 0, 0, 1e11, PGC_SUSET, GUC_NOT_IN_SAMPLE, nullptr, nullptr, nullptr);
}
NOVA_MODULE_INIT(jwt_functions_init);

double jwt_now() {
  if (g_jwt_test_now > 0) return g_jwt_test_now;
  TimestampTz ts = GetCurrentTimestamp();
  return static_cast<double>(ts) / 1e6 + static_cast<double>(POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY;
}

// Parsed keys of the last few key texts this backend saw (exact text match), so a
// PEM or JWKS is decoded once rather than on every call. Key texts over 64 KiB are
// not kept. The secrets were in this backend's memory anyway (the query).
class KeyCache {
 public:
  // The keys stay valid until the next get() (no copy of the set on the hot path).
  const nova::jwt::KeySet &get(std::string_view text, nova::jwt::KeyPurpose purpose) {
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (it->purpose == purpose && it->text == text) {
        if (it != entries_.begin()) entries_.splice(entries_.begin(), entries_, it);
        return entries_.front().keys;
      }
    }
    nova::jwt::KeySet keys = nova::jwt::parse_keys(text, purpose);
    if (text.size() > kMaxText) {
      uncached_ = std::move(keys);
      return uncached_;
    }
    entries_.push_front(Entry{std::string(text), purpose, std::move(keys)});
    if (entries_.size() > kEntries) entries_.pop_back();
    return entries_.front().keys;
  }

 private:
  static constexpr size_t kEntries = 16;
  static constexpr size_t kMaxText = 64 * 1024;
  struct Entry {
    std::string text;
    nova::jwt::KeyPurpose purpose;
    nova::jwt::KeySet keys;
  };
  std::list<Entry> entries_;
  nova::jwt::KeySet uncached_;  // the last key text too long to keep
};
KeyCache g_key_cache;

std::string_view text_view(text *t) { return std::string_view(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t)); }

// Whether the token has exactly two dots (memchr-based: a byte loop was 4 % of a verify).
bool three_parts(std::string_view token) {
  size_t d1 = token.find('.');
  size_t d2 = d1 == std::string_view::npos ? d1 : token.find('.', d1 + 1);
  return d2 != std::string_view::npos && token.find('.', d2 + 1) == std::string_view::npos;
}

Datum jsonb_from(const std::string &json_text) {
  Datum d = 0;
  nova::pg::guard([&] { d = DirectFunctionCall1(jsonb_in, CStringGetDatum(json_text.c_str())); });
  return d;
}

// The verified claims as jsonb, built from the parse events the core recorded while it checked
// them (docs/jwt.md, "Performance"): one parse of the payload instead of two. The value is the
// one jsonb_in gives for the payload text: strings are the same unescaped UTF-8, numbers go
// through the same numeric_in (integers through int64_to_numeric, the same value and scale),
// keys are sorted and made unique by the same jsonb code. Only a UTF-8 database takes this
// path; jsonb_in converts \u escapes to other server encodings, so they keep the text path.
Datum jsonb_from_events(const nova::json_events::Events &ev) {
  using Kind = nova::json_events::Event::Kind;
  Datum d = 0;
  nova::pg::guard([&]() noexcept {
    JsonbParseState *state = nullptr;
    JsonbValue *result = nullptr;
    // Whether each open container is an array (scalars in it are elements, else member values);
    // palloc'd, as nothing with a destructor may live in a frame that can longjmp.
    bool *in_array = static_cast<bool *>(palloc(ev.events.size() + 1));
    int depth = 0;
    char *text = const_cast<char *>(ev.text.data());  // read only: jsonb copies what it keeps
    for (const auto &e : ev.events) {
      JsonbValue v;
      switch (e.kind) {
        case Kind::kBeginObject:
        case Kind::kBeginArray:
          result = pushJsonbValue(&state, e.kind == Kind::kBeginObject ? WJB_BEGIN_OBJECT : WJB_BEGIN_ARRAY, nullptr);
          in_array[depth] = e.kind == Kind::kBeginArray;
          depth++;
          continue;
        case Kind::kEndObject:
        case Kind::kEndArray:
          depth--;
          result = pushJsonbValue(&state, e.kind == Kind::kEndObject ? WJB_END_OBJECT : WJB_END_ARRAY, nullptr);
          continue;
        case Kind::kKey:
          v.type = jbvString;
          v.val.string.val = text + e.offset;
          v.val.string.len = static_cast<int>(e.length);
          result = pushJsonbValue(&state, WJB_KEY, &v);
          continue;
        case Kind::kString:
          v.type = jbvString;
          v.val.string.val = text + e.offset;
          v.val.string.len = static_cast<int>(e.length);
          break;
        case Kind::kInteger:
          v.type = jbvNumeric;
          v.val.numeric = int64_to_numeric(e.integer);
          break;
        case Kind::kNumber:
          v.type = jbvNumeric;
          v.val.numeric = DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(text + e.offset),
                                                              ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
          break;
        case Kind::kTrue:
        case Kind::kFalse:
          v.type = jbvBool;
          v.val.boolean = e.kind == Kind::kTrue;
          break;
        case Kind::kNull:
          v.type = jbvNull;
          break;
      }
      result = pushJsonbValue(&state, depth > 0 && in_array[depth - 1] ? WJB_ELEM : WJB_VALUE, &v);
    }
    pfree(in_array);
    d = JsonbPGetDatum(JsonbValueToJsonb(result));
  });
  return d;
}

std::string jsonb_to_string(Datum jb) {
  char *s = nullptr;
  nova::pg::guard([&] { s = DatumGetCString(DirectFunctionCall1(jsonb_out, jb)); });
  std::string out(s);
  pfree(s);
  return out;
}

[[noreturn]] void bad_param(const std::string &msg, std::string detail = {}, std::string hint = {}) {
  throw nova::Error(nova::sqlstate::kInvalidParameterValue, msg, std::move(detail), std::move(hint));
}

// The elements of a text[] argument, detoasted; plain C (may ERROR): call it
// before any C++ object of the entry point exists.
struct TextArray {
  int n;
  int ndim;
  text **elems;  // nullptr where the element is NULL
};

TextArray read_text_array(ArrayType *arr) {
  TextArray out{0, ARR_NDIM(arr), nullptr};
  Datum *elems = nullptr;
  bool *nulls = nullptr;
  deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &out.n);
  out.elems = static_cast<text **>(palloc0(sizeof(text *) * (out.n > 0 ? out.n : 1)));
  for (int i = 0; i < out.n; i++) out.elems[i] = nulls[i] ? nullptr : DatumGetTextPP(elems[i]);
  return out;
}

std::vector<std::string> algorithm_list(const TextArray &arr) {
  std::vector<std::string> out;
  if (arr.ndim > 1) bad_param("algorithms must be a one-dimensional array");
  if (arr.n == 0) bad_param("algorithms must not be empty", {}, "Pass NULL to allow every algorithm the key supports.");
  for (int i = 0; i < arr.n; i++) {
    if (arr.elems[i] == nullptr) bad_param("algorithms must not contain NULL");
    std::string name(text_view(arr.elems[i]));
    if (!nova::jwt::alg_from_name(name))
      bad_param("unsupported JWT algorithm", "algorithm \"" + name.substr(0, 32) + "\"",
                "Supported (case-sensitive): HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, "
                "ES384, ES512, EdDSA.");
    out.push_back(std::move(name));
  }
  return out;
}

}  // namespace

nova::jwt::KeySet nova::pg::cached_keys(std::string_view text, nova::jwt::KeyPurpose purpose) {
  return g_key_cache.get(text, purpose);
}

// nova.jwt_verify(token, key, algorithms, audience, issuer) → jsonb claims.
// NULL token or key → NULL; NULL algorithms/audience/issuer → not constrained.
NOVA_FUNCTION(nova_jwt_verify) {
  if (PG_ARGISNULL(0) || PG_ARGISNULL(1)) PG_RETURN_NULL();
  // Every argument is read (detoasting may ERROR) before the first C++ object exists.
  text *token_arg = PG_GETARG_TEXT_PP(0);
  text *key_arg = PG_GETARG_TEXT_PP(1);
  TextArray algs{};
  if (!PG_ARGISNULL(2)) algs = read_text_array(PG_GETARG_ARRAYTYPE_P(2));
  text *audience = PG_ARGISNULL(3) ? nullptr : PG_GETARG_TEXT_PP(3);
  text *issuer = PG_ARGISNULL(4) ? nullptr : PG_GETARG_TEXT_PP(4);
  double now = jwt_now();
  std::string_view token = text_view(token_arg);
  std::string_view key = text_view(key_arg);
  nova::jwt::VerifyOptions opts;
  if (!PG_ARGISNULL(2)) opts.algorithms = algorithm_list(algs);
  if (audience) opts.audience = std::string(text_view(audience));
  if (issuer) opts.issuer = std::string(text_view(issuer));
  opts.now = now;
  opts.leeway = nova_guc_jwt_leeway;
  // Structure before key: a malformed token is reported as such even with a bad key.
  if (token.size() > nova::jwt::kMaxTokenBytes || !three_parts(token))
    nova::jwt::decode_unverified(token);  // throws the structural error
  const nova::jwt::KeySet &keys = g_key_cache.get(key, nova::jwt::KeyPurpose::kVerify);
  nova::jwt::Verified v = nova::jwt::verify(token, keys, opts);
  if (GetDatabaseEncoding() != PG_UTF8) PG_RETURN_DATUM(jsonb_from(v.payload_json));
  PG_RETURN_DATUM(jsonb_from_events(v.claims));
}

// nova.jwt_sign(claims, key, algorithm DEFAULT 'HS256', header DEFAULT NULL) → text.
NOVA_FUNCTION(nova_jwt_sign) {
  if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2)) PG_RETURN_NULL();
  // Every argument is read (detoasting may ERROR) before the first C++ object exists.
  Jsonb *claims_arg = PG_GETARG_JSONB_P(0);
  text *key_arg = PG_GETARG_TEXT_PP(1);
  text *alg_arg = PG_GETARG_TEXT_PP(2);
  Jsonb *header_arg = PG_ARGISNULL(3) ? nullptr : PG_GETARG_JSONB_P(3);
  std::string claims = jsonb_to_string(JsonbPGetDatum(claims_arg));
  std::string_view key = text_view(key_arg);
  std::string alg(text_view(alg_arg));
  std::string header = header_arg ? jsonb_to_string(JsonbPGetDatum(header_arg)) : std::string();
  const nova::jwt::KeySet &keys = g_key_cache.get(key, nova::jwt::KeyPurpose::kSign);
  std::string token = nova::jwt::sign(claims, keys, alg, header);
  text *out = nullptr;
  nova::pg::guard([&] { out = cstring_to_text_with_len(token.data(), static_cast<int>(token.size())); });
  PG_RETURN_TEXT_P(out);
}

// nova.jwt_decode_unverified(token) → TABLE(header jsonb, claims jsonb): one row, no checks
// beyond structure. STRICT.
NOVA_FUNCTION(nova_jwt_decode_unverified) {
  auto *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
  if (rsinfo == nullptr || !IsA(rsinfo, ReturnSetInfo) || !(rsinfo->allowedModes & SFRM_Materialize))
    throw nova::Error(nova::sqlstate::kFeatureNotSupported, "set-valued function called in context that cannot accept a set");
  text *token_arg = PG_GETARG_TEXT_PP(0);  // before the first C++ object
  nova::jwt::Decoded d = nova::jwt::decode_unverified(text_view(token_arg));
  Datum values[2] = {jsonb_from(d.header_json), jsonb_from(d.payload_json)};
  bool nulls[2] = {false, false};
  nova::pg::guard([&] {
    TupleDesc tupdesc;
    if (get_call_result_type(fcinfo, nullptr, &tupdesc) != TYPEFUNC_COMPOSITE)
      elog(ERROR, "return type must be a row type");
    MemoryContext old = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
    tupdesc = CreateTupleDescCopy(tupdesc);
    Tuplestorestate *ts = tuplestore_begin_heap(true, false, work_mem);
    tuplestore_putvalues(ts, tupdesc, values, nulls);
    MemoryContextSwitchTo(old);
    rsinfo->returnMode = SFRM_Materialize;
    rsinfo->setResult = ts;
    rsinfo->setDesc = tupdesc;
  });
  return static_cast<Datum>(0);
}
