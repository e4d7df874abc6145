// JWS/JWT verification and signing (SPEC §6). Plain C++ over OpenSSL 3 EVP.
// Contract between the core implementation (src/core/jwt*.cpp) and the SQL
// layer (src/pg/jwt*.cpp). Errors: nova::Error with SQLSTATE 28000 and the
// SPEC's messages ("jwt expired", "jwt signature invalid", "jwt malformed: …",
// "jwt algorithm not allowed", …); messages never contain key material.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

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

}  // namespace nova::jwt
