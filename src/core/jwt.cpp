// JWS compact serialization and JWT claim rules (RFC 7515, 7518, 7519) — see docs/jwt.md.
#define NOVA_CORE_TRANSLATION_UNIT 1
#include "core/jwt.h"

#include <cmath>
#include <cstring>

#include "core/base64url.h"
#include "core/jwt_internal.h"
#include "core/jwt_json.h"

namespace nova::jwt {
using namespace internal;
using nlohmann::json;

namespace {
constexpr const char *kAlgNames[] = {"HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256",
                                     "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"};
constexpr size_t kAlgCount = sizeof kAlgNames / sizeof kAlgNames[0];

struct Parts {
  std::string_view header_b64, payload_b64, signature_b64, signing_input;
};

Parts split(std::string_view token) {
  if (token.size() > kMaxTokenBytes) malformed("token exceeds 16384 bytes");
  size_t d1 = token.find('.');
  size_t d2 = d1 == std::string_view::npos ? d1 : token.find('.', d1 + 1);
  if (d1 == std::string_view::npos || d2 == std::string_view::npos || token.find('.', d2 + 1) != std::string_view::npos)
    malformed("expected three dot-separated parts (JWS compact serialization)");
  Parts p;
  p.header_b64 = token.substr(0, d1);
  p.payload_b64 = token.substr(d1 + 1, d2 - d1 - 1);
  p.signature_b64 = token.substr(d2 + 1);
  p.signing_input = token.substr(0, d2);
  if (p.header_b64.empty()) malformed("empty header");
  return p;
}

void decode_part(std::string_view b64, std::string &out, const char *what) {
  if (!b64url::decode(b64, out)) malformed(std::string("invalid base64url in ") + what);
}

// The members the checks below read (others are validated, not captured).
struct Names {
  const std::string_view *names;
  size_t count;
};
constexpr std::string_view kHeaderNames[] = {"alg", "crit", "b64", "kid"};
constexpr std::string_view kClaimNames[] = {"exp", "nbf", "iat", "sub", "jti", "iss", "aud"};
constexpr Names kHeader{kHeaderNames, 4}, kClaims{kClaimNames, 7}, kNone{kHeaderNames, 0};

void scan_part(const std::string &text, jwt_json::Top &out, const char *what, json_events::Events *events,
               Names wanted) {
  auto problem = jwt_json::scan(text, out, events, wanted.names, wanted.count);
  if (problem != jwt_json::Problem::kNone) malformed(std::string(what) + ": " + jwt_json::describe(problem));
}

using Kind = jwt_json::TopValue::Kind;

struct Header {
  Alg alg;
  std::string kid;
  bool has_kid = false;
};

// The protected header's rules: alg, crit, b64, kid. Embedded keys (jwk, jku, x5u, x5c)
// are never consulted.
Header check_header(const jwt_json::Top &h) {
  const auto *a = h.find("alg");
  if (a == nullptr || a->kind != Kind::kString) malformed("header alg missing or not a string");
  auto alg = alg_from_name(a->string);
  if (!alg) fail("jwt algorithm not allowed", "algorithm \"" + std::string(a->string.substr(0, 32)) + "\" is not supported");
  if (h.find("crit")) malformed("crit header parameters are not supported");
  if (const auto *b = h.find("b64"); b && !(b->kind == Kind::kBool && b->boolean))
    malformed("unencoded payloads (b64) are not supported");
  Header out{*alg, {}, false};
  if (const auto *k = h.find("kid")) {
    if (k->kind != Kind::kString) malformed("header kid is not a string");
    out.kid.assign(k->string);
    out.has_kid = true;
  }
  return out;
}

std::string kid_detail(const std::string &kid) { return "kid \"" + kid.substr(0, 200) + "\""; }

const Key &select_key(const KeySet &keys, const Header &h) {
  bool token_has_kid = h.has_kid;
  if (keys.keys.empty()) fail("jwt key not found", "the key set has no signing keys");
  if (keys.is_set) {
    if (!token_has_kid) fail("jwt key not found", "the token has no kid; a key set needs one");
    for (const auto &k : keys.keys)
      if (k->kid && *k->kid == h.kid) return *k;
    fail("jwt key not found", "no key in the key set has the token's " + kid_detail(h.kid));
  }
  const Key &k = *keys.keys.front();
  if (token_has_kid && k.kid && *k.kid != h.kid)
    fail("jwt key not found", "the token's " + kid_detail(h.kid) + " does not match the key's kid");
  return k;
}

std::optional<double> number_claim(const jwt_json::Top &claims, const char *name) {
  const auto *v = claims.find(name);
  if (v == nullptr) return std::nullopt;
  if (v->kind != Kind::kNumber) malformed(std::string(name) + " is not a number");
  if (!std::isfinite(v->number)) malformed(std::string(name) + " is not a finite number");
  return v->number;
}

std::string_view string_claim(const jwt_json::Top &claims, const char *name) {
  const auto *v = claims.find(name);
  if (v == nullptr) return {};
  if (v->kind != Kind::kString) malformed(std::string(name) + " is not a string");
  return v->string;
}

}  // namespace

std::optional<Alg> alg_from_name(std::string_view name) {
  for (size_t i = 0; i < kAlgCount; i++)
    if (name == kAlgNames[i]) return static_cast<Alg>(i);
  return std::nullopt;
}

const char *alg_name(Alg alg) {
  auto i = static_cast<size_t>(alg);
  return i < kAlgCount ? kAlgNames[i] : "?";
}

JwsVerified verify_jws(std::string_view token, const KeySet &keys, const std::vector<std::string> &algorithms) {
  Parts p = split(token);
  JwsVerified out;
  std::string sig;
  decode_part(p.header_b64, out.header_json, "header");
  thread_local jwt_json::Top header;  // reused: its member list keeps its capacity
  scan_part(out.header_json, header, "header", nullptr, kHeader);
  Header h = check_header(header);  // before the other parts: alg "none" is reported as such
  decode_part(p.payload_b64, out.payload, "payload");
  if (p.signature_b64.empty()) malformed("empty signature");
  decode_part(p.signature_b64, sig, "signature");
  out.alg = h.alg;
  out.kid = h.kid;
  const char *name = alg_name(h.alg);
  if (!algorithms.empty()) {
    bool listed = false;
    for (const auto &a : algorithms) listed = listed || a == name;
    if (!listed) fail("jwt algorithm not allowed", std::string("algorithm \"") + name + "\" is not in the allowed list");
  }
  const Key &key = select_key(keys, h);
  if (!key.supports(h.alg)) {
    // An HMAC secret that is merely too short is a key problem, not an algorithm one.
    if (key.type == Key::Type::kOct && name[0] == 'H' && (!key.pinned || *key.pinned == h.alg))
      key_invalid("hmac key shorter than the hash output",
                  "the key has " + std::to_string(key.secret.size()) + " bytes; " + name + " needs at least " +
                      std::to_string(hash_bytes(static_cast<int>(h.alg))));
    fail("jwt algorithm not allowed", std::string("algorithm \"") + name + "\" does not fit the key");
  }
  if (!primitive::verify(key, h.alg, p.signing_input, sig)) fail("jwt signature invalid");
  return out;
}

void check_time_claims(const std::optional<double> &exp, const std::optional<double> &nbf,
                       const std::optional<double> &iat, double now, double leeway) {
  if (exp && *exp <= now - leeway) fail("jwt expired");
  if (nbf && *nbf > now + leeway) fail("jwt not yet valid");
  if (iat && *iat > now + leeway) fail("jwt issued in the future");
}

Verified verify(std::string_view token, const KeySet &keys, const VerifyOptions &opts) {
  JwsVerified jws = verify_jws(token, keys, opts.algorithms);
  Verified v;
  thread_local jwt_json::Top claims;  // reused: its member list keeps its capacity
  scan_part(jws.payload, claims, "payload", &v.claims, kClaims);
  v.exp = number_claim(claims, "exp");
  v.nbf = number_claim(claims, "nbf");
  v.iat = number_claim(claims, "iat");
  v.sub.assign(string_claim(claims, "sub"));
  v.jti.assign(string_claim(claims, "jti"));
  std::string_view iss = string_claim(claims, "iss");
  check_time_claims(v.exp, v.nbf, v.iat, opts.now, opts.leeway);
  if (opts.issuer && (!claims.find("iss") || iss != *opts.issuer)) fail("jwt issuer invalid");
  if (opts.audience) {
    bool ok = false;
    if (const auto *aud = claims.find("aud")) {
      if (aud->kind == Kind::kString) {
        ok = aud->string == *opts.audience;
      } else if (aud->kind == Kind::kArray) {
        for (const auto &a : aud->strings) ok = ok || a == *opts.audience;
      } else {
        malformed("aud is not a string or an array");
      }
    }
    if (!ok) fail("jwt audience invalid");
  }
  v.payload_json = std::move(jws.payload);
  v.header_json = std::move(jws.header_json);
  v.alg = alg_name(jws.alg);
  v.kid = std::move(jws.kid);
  return v;
}

Verified verify(std::string_view token, std::string_view key_text, const VerifyOptions &opts) {
  // Structure first: a malformed token is reported as such even with a bad key.
  Parts p = split(token);
  (void)p;
  return verify(token, parse_keys(key_text, KeyPurpose::kVerify), opts);
}

Decoded decode_unverified(std::string_view token) {
  Parts p = split(token);
  Decoded d;
  std::string sig;
  decode_part(p.header_b64, d.header_json, "header");
  decode_part(p.payload_b64, d.payload_json, "payload");
  decode_part(p.signature_b64, sig, "signature");
  jwt_json::Top top;
  scan_part(d.header_json, top, "header", nullptr, kNone);  // structure only: nothing is read
  scan_part(d.payload_json, top, "payload", nullptr, kNone);
  return d;
}

std::string sign(std::string_view claims_json, const KeySet &keys, std::string_view alg_text,
                 std::string_view header_json) {
  auto alg = alg_from_name(alg_text);
  if (!alg) fail("jwt algorithm not allowed", "algorithm \"" + std::string(alg_text.substr(0, 32)) + "\" is not supported");
  json claims, extra = json::object();
  std::string claims_text(claims_json);
  if (auto pr = jwt_json::parse(claims_text, claims); pr != jwt_json::Problem::kNone)
    fail(std::string("jwt claims invalid: ") + jwt_json::describe(pr));
  for (const char *c : {"exp", "nbf", "iat"})
    if (auto it = claims.find(c); it != claims.end() && !it->is_number())
      fail(std::string("jwt claims invalid: ") + c + " is not a number");
  if (!header_json.empty()) {
    if (auto pr = jwt_json::parse(header_json, extra); pr != jwt_json::Problem::kNone)
      fail(std::string("jwt header invalid: ") + jwt_json::describe(pr));
    if (extra.contains("crit")) fail("jwt header invalid: crit is not supported");
    if (extra.contains("b64")) fail("jwt header invalid: b64 is not supported");
    if (auto it = extra.find("kid"); it != extra.end() && !it->is_string()) fail("jwt header invalid: kid is not a string");
  }
  // Choose the key: a key set needs the header's kid.
  const Key *key = nullptr;
  if (keys.is_set) {
    auto it = extra.find("kid");
    if (it == extra.end()) fail("jwt key not found", "signing with a key set needs a kid in the header");
    for (const auto &k : keys.keys)
      if (k->kid && *k->kid == it->get_ref<const std::string &>()) key = k.get();
    if (!key) fail("jwt key not found", "no key in the key set has the header's " + kid_detail(it->get<std::string>()));
  } else {
    if (keys.keys.empty()) fail("jwt key not found");
    key = keys.keys.front().get();
  }
  if (!key->supports(*alg)) {
    if (key->type == Key::Type::kOct && alg_text[0] == 'H' && (!key->pinned || *key->pinned == *alg))
      key_invalid("hmac key shorter than the hash output",
                  "the key has " + std::to_string(key->secret.size()) + " bytes; " + std::string(alg_text) +
                      " needs at least " + std::to_string(hash_bytes(static_cast<int>(*alg))));
    fail("jwt algorithm not allowed", "algorithm \"" + std::string(alg_text) + "\" does not fit the key");
  }
  json header = json::object();
  header["alg"] = alg_name(*alg);
  header["typ"] = "JWT";
  if (key->kid && !extra.contains("kid")) header["kid"] = *key->kid;
  for (auto it = extra.begin(); it != extra.end(); ++it)
    if (it.key() != "alg") header[it.key()] = it.value();
  std::string input = b64url::encode(header.dump()) + "." + b64url::encode(claims_text);
  std::string sig = primitive::sign(*key, *alg, input);
  input += '.';
  input += b64url::encode(sig);
  if (input.size() > kMaxTokenBytes) fail("jwt claims invalid: the token would exceed 16384 bytes");
  return input;
}

std::string sign(std::string_view claims_json, std::string_view key_text, std::string_view alg,
                 std::string_view header_json) {
  return sign(claims_json, parse_keys(key_text, KeyPurpose::kSign), alg, header_json);
}

}  // namespace nova::jwt
