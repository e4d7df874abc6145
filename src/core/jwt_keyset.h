// Rows of nova.jwt_keys (docs/jwt.md): which algorithms exist, whether a stored key
// can serve its algorithm, and turning a JWKS into rows. Plain C++ (OpenSSL,
// nlohmann-json); the verification itself is nova::jwt::verify (core/jwt.h).
// Errors: nova::Error 22023 (invalid_parameter_value) that never quote key material.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace nova::jwt_keyset {

// HS256/384/512, RS256/384/512, PS256/384/512, ES256/384/512, EdDSA (case-sensitive).
bool known_algorithm(std::string_view alg);

// Throws unless key_text (an HMAC secret, a PEM key, or one JWK as JSON) can verify
// tokens signed with alg: HMAC secrets at least as long as the hash, RSA at least
// 2048 bits, EC on the curve the algorithm names, Ed25519 for EdDSA, a JWK's kty/crv
// matching and its own alg (when present) equal to alg. A JWKS is refused: one row
// holds one key (nova.jwks_import splits a JWKS).
void check_key(std::string_view alg, std::string_view key_text);

// What a key text is. The rule (docs/jwt.md, "Key texts"): surrounding ASCII
// whitespace and a UTF-8 byte order mark are ignored when looking at it; a text
// that then starts with "-----BEGIN" is a PEM key, one that starts with "{" is a
// JWK or JWKS (JSON); anything else is an HMAC secret, taken byte for byte
// (untrimmed). A text that contains a PEM armour line ("-----BEGIN ") or a JWK
// member "kty" anywhere else is refused (22023): a public key must never be
// usable as an HMAC secret, whatever surrounds it.
enum class KeyTextKind { kPem, kJson, kSecret };
struct KeyText {
  KeyTextKind kind;
  std::string_view text;  // PEM/JSON: trimmed; secret: the whole input
};
KeyText classify_key_text(std::string_view key_text);

// Throws 22023 unless `secret` (the bytes of an HMAC key, e.g. an oct JWK's "k")
// would be classified as a plain secret: a PEM key or JWK wrapped in an oct JWK is
// still a public key, never an HMAC secret.
void require_plain_secret(std::string_view secret);

struct ImportedKey {
  std::string kid;
  std::string alg;
  std::string jwk_json;  // the JWK, with "alg" set
};

// A JWKS ({"keys": [...]}) or a single JWK. Each key needs a kid; its alg is taken
// from "alg" or inferred where only one algorithm fits (EC by crv, Ed25519 → EdDSA);
// RSA and oct keys without alg are refused (RS/PS and the hash are ambiguous). Keys
// with "use" other than "sig" are skipped. Every key is checked with check_key.
// Duplicate kids are refused.
std::vector<ImportedKey> parse_jwks(std::string_view json);

}  // namespace nova::jwt_keyset
