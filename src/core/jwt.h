// JWS/JWT verification and signing (docs/jwt.md). Plain C++ over OpenSSL 3 EVP.
// Contract between the core implementation (src/core/jwt*.cpp) and the SQL
// layer (src/pg/jwt*.cpp). Errors: nova::Error with SQLSTATE 28000 and the
// the messages of docs/jwt.md ("jwt expired", "jwt signature invalid", "jwt malformed: …",
// "jwt algorithm not allowed", …); messages never contain key material.
// docs/jwt.md lists every rule and message.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/json_events.h"

struct evp_pkey_st;     // OpenSSL's EVP_PKEY, kept out of this header
struct evp_mac_ctx_st;  // OpenSSL's EVP_MAC_CTX
struct evp_pkey_ctx_st; // OpenSSL's EVP_PKEY_CTX

namespace nova::jwt {

inline constexpr size_t kMaxTokenBytes = 16 * 1024;

struct VerifyOptions {
  // Allowed algorithm names (case-sensitive). Empty = every algorithm the key type supports.
  std::vector<std::string> algorithms;
  std::optional<std::string> audience;  // token must carry it (aud string or array)
  std::optional<std::string> issuer;    // token's iss must equal it
  double now = 0;                       // seconds since the epoch
  double leeway = 30;                   // seconds allowed for exp / nbf / iat
};

struct Verified {
  std::string payload_json;  // the token's payload, exactly (the claims)
  json_events::Events claims; // the same claims as parse events (src/pg builds jsonb from them)
  std::string header_json;   // the protected header
  std::string alg;           // header alg
  std::string kid;           // header kid ("" when absent)
  std::optional<double> exp; // claims used by caches
  std::optional<double> nbf;
  std::optional<double> iat;
  std::string sub;           // "" when absent
  std::string jti;           // "" when absent
};

// key_text: "-----BEGIN…" = PEM; "{…" = JWK or JWKS JSON; else an HMAC secret (its bytes).
Verified verify(std::string_view token, std::string_view key_text, const VerifyOptions &opts);

// Sign: claims_json must be a JSON object; header_json (may be empty) adds header fields
// (alg/typ are set by nova). key_text as in verify, holding a private key for asymmetric algorithms.
std::string sign(std::string_view claims_json, std::string_view key_text, std::string_view alg,
                 std::string_view header_json);

struct Decoded {
  std::string header_json;
  std::string payload_json;
};
// Structural parse only (canonical base64url, JSON objects); no signature check.
Decoded decode_unverified(std::string_view token);

// Time-claim check alone (used on cache hits): throws "jwt expired" / "jwt not yet valid".
void check_time_claims(const std::optional<double> &exp, const std::optional<double> &nbf,
                       const std::optional<double> &iat, double now, double leeway);

// ---------------------------------------------------------------------------
// Extensions: parsed keys (so callers can cache them), JWS-level verification
// and the signature primitives (for conformance tests).
// ---------------------------------------------------------------------------

enum class Alg : uint8_t { HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA };
std::optional<Alg> alg_from_name(std::string_view name);  // case-sensitive; nullopt when unsupported
const char *alg_name(Alg alg);

enum class KeyPurpose { kVerify, kSign };

// One parsed key. Immutable once built; safe to share and cache within one thread (it holds
// prepared OpenSSL contexts that verification reuses, so not for concurrent use by threads).
class Key {
 public:
  enum class Type { kOct, kRSA, kEC, kOKP };
  Key() = default;
  Key(const Key &) = delete;
  Key &operator=(const Key &) = delete;
  ~Key();

  Type type = Type::kOct;
  int curve = 0;                  // ES: 256, 384 or 521; OKP: 25519
  int bits = 0;                   // RSA modulus bits, HMAC secret bits
  std::optional<Alg> pinned;      // a JWK's "alg"
  std::optional<std::string> kid; // a JWK's "kid"
  bool has_private = false;
  std::string secret;             // kOct only
  evp_pkey_st *pkey = nullptr;    // asymmetric keys (owned)
  evp_mac_ctx_st *mac[3] = {};    // kOct: HMAC-SHA256/384/512 contexts keyed once, reset and reused per call (owned)
  evp_pkey_ctx_st *vctx[6] = {};  // kRSA: RS256..PS512, kEC: [0]; verify contexts set up once (owned)

  // Family, curve and pin allow `alg`, and an HMAC secret is at least as long as the hash.
  bool supports(Alg alg) const;
};
using KeyPtr = std::shared_ptr<const Key>;

struct KeySet {
  std::vector<KeyPtr> keys;
  bool is_set = false;  // from a JWKS: the token's kid must match a key's kid exactly
};

// Parses key text as verify()/sign() do. Throws "jwt key invalid: …".
KeySet parse_keys(std::string_view key_text, KeyPurpose purpose);

Verified verify(std::string_view token, const KeySet &keys, const VerifyOptions &opts);
std::string sign(std::string_view claims_json, const KeySet &keys, std::string_view alg, std::string_view header_json);

// JWS compact serialization only (RFC 7515): the payload may be any bytes. All header
// rules apply; no claim checks.
struct JwsVerified {
  std::string header_json;
  std::string payload;  // decoded bytes
  Alg alg = Alg::HS256;
  std::string kid;
};
JwsVerified verify_jws(std::string_view token, const KeySet &keys, const std::vector<std::string> &algorithms);

// Signature primitives. `sig` is in JOSE form (HMAC tag, RSA signature, ECDSA r‖s, Ed25519).
namespace primitive {
KeyPtr public_key_from_der(std::string_view der);  // SubjectPublicKeyInfo; RSA/EC/Ed25519 rules apply
KeyPtr hmac_key(std::string_view secret);          // no length rule (Key::supports has it)
bool verify(const Key &key, Alg alg, std::string_view msg, std::string_view sig);
std::string sign(const Key &key, Alg alg, std::string_view msg);
}  // namespace primitive

}  // namespace nova::jwt
