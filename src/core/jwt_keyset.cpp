// Key checks for nova.jwt_keys and JWKS import (see jwt_keyset.h).
#define NOVA_CORE_TRANSLATION_UNIT 1
#include "core/jwt_keyset.h"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <set>

namespace nova::jwt_keyset {

namespace {

using nlohmann::json;

[[noreturn]] void bad(const std::string &msg, const std::string &detail = {}) {
  throw nova::Error(nova::sqlstate::kInvalidParameterValue, msg, detail);
}

enum class Family { kHmac, kRsa, kEc, kEd };

struct AlgInfo {
  const char *name;
  Family family;
  size_t bytes;       // HMAC: minimum secret length (hash length)
  const char *curve;  // EC: JOSE crv
  const char *group;  // EC: OpenSSL group name
};

const AlgInfo kAlgs[] = {
    {"HS256", Family::kHmac, 32, nullptr, nullptr}, {"HS384", Family::kHmac, 48, nullptr, nullptr},
    {"HS512", Family::kHmac, 64, nullptr, nullptr}, {"RS256", Family::kRsa, 0, nullptr, nullptr},
    {"RS384", Family::kRsa, 0, nullptr, nullptr},   {"RS512", Family::kRsa, 0, nullptr, nullptr},
    {"PS256", Family::kRsa, 0, nullptr, nullptr},   {"PS384", Family::kRsa, 0, nullptr, nullptr},
    {"PS512", Family::kRsa, 0, nullptr, nullptr},   {"ES256", Family::kEc, 0, "P-256", "prime256v1"},
    {"ES384", Family::kEc, 0, "P-384", "secp384r1"}, {"ES512", Family::kEc, 0, "P-521", "secp521r1"},
    {"EdDSA", Family::kEd, 0, nullptr, nullptr},
};

const AlgInfo *find_alg(std::string_view alg) {
  for (const auto &a : kAlgs)
    if (alg == a.name) return &a;
  return nullptr;
}

// Strict base64url (no padding) decode; false on any other character.
bool b64url_decode(const std::string &in, std::string *out) {
  out->clear();
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '-') v = 62;
    else if (c == '_') v = 63;
    else return false;
    acc = (acc << 6) | uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(char((acc >> bits) & 0xff));
    }
  }
  return in.size() % 4 != 1;
}

std::string member(const json &j, const char *name, const char *what) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_string() || it->get<std::string>().empty())
    bad(std::string("jwk ") + what + " requires \"" + name + "\"");
  return it->get<std::string>();
}

size_t decoded_len(const json &j, const char *name, const char *what) {
  std::string raw;
  if (!b64url_decode(member(j, name, what), &raw))
    bad(std::string("jwk member \"") + name + "\" is not base64url");
  return raw.size();
}

struct PkeyFree {
  void operator()(EVP_PKEY *p) const { EVP_PKEY_free(p); }
};

int no_passphrase(char *, int, int, void *) { return -1; }

std::unique_ptr<EVP_PKEY, PkeyFree> read_pem(std::string_view pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), int(pem.size())), BIO_free);
  EVP_PKEY *k = bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, no_passphrase, nullptr) : nullptr;
  if (!k && bio) {
    ERR_clear_error();
    BIO_reset(bio.get());
    k = PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr);
  }
  ERR_clear_error();
  return std::unique_ptr<EVP_PKEY, PkeyFree>(k);
}

void check_pem(const AlgInfo &a, std::string_view pem) {
  if (a.family == Family::kHmac) bad("an hmac key must be a secret, not a pem key", std::string("algorithm ") + a.name);
  auto k = read_pem(pem);
  if (!k) bad("key is not a valid pem public key", std::string("algorithm ") + a.name);
  switch (a.family) {
    case Family::kRsa:
      if (!EVP_PKEY_is_a(k.get(), "RSA") && !EVP_PKEY_is_a(k.get(), "RSA-PSS"))
        bad("key type does not match the algorithm", std::string("algorithm ") + a.name + " needs an RSA key");
      if (EVP_PKEY_get_bits(k.get()) < 2048)
        bad("rsa key too short", "at least 2048 bits are required, the key has " +
                                     std::to_string(EVP_PKEY_get_bits(k.get())));
      break;
    case Family::kEc: {
      char group[64] = {0};
      size_t glen = 0;
      if (!EVP_PKEY_is_a(k.get(), "EC") ||
          !EVP_PKEY_get_utf8_string_param(k.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &glen))
        bad("key type does not match the algorithm", std::string("algorithm ") + a.name + " needs an EC key");
      ERR_clear_error();
      if (std::string(group) != a.group)
        bad("key curve does not match the algorithm", std::string("algorithm ") + a.name + " needs curve " + a.curve);
      break;
    }
    case Family::kEd:
      if (!EVP_PKEY_is_a(k.get(), "ED25519"))
        bad("key type does not match the algorithm", "algorithm EdDSA needs an Ed25519 key");
      break;
    case Family::kHmac:
      break;
  }
}

void check_jwk(const AlgInfo &a, const json &j) {
  if (!j.is_object()) bad("jwk must be a json object");
  if (j.contains("keys")) bad("a jwks holds several keys; a nova.jwt_keys row holds one", "use nova.jwks_import");
  std::string kty = member(j, "kty", "key");
  if (auto it = j.find("alg"); it != j.end()) {
    if (!it->is_string() || it->get<std::string>() != a.name)
      bad("jwk alg does not match the algorithm", std::string("algorithm ") + a.name);
  }
  switch (a.family) {
    case Family::kHmac:
      if (kty != "oct") bad("key type does not match the algorithm", std::string("algorithm ") + a.name + " needs kty oct");
      {
        std::string raw;
        if (!b64url_decode(member(j, "k", "oct"), &raw)) bad("jwk member \"k\" is not base64url");
        require_plain_secret(raw);
      }
      if (decoded_len(j, "k", "oct") < a.bytes)
        bad("hmac key shorter than the hash", std::string("algorithm ") + a.name + " needs at least " +
                                                  std::to_string(a.bytes) + " bytes");
      break;
    case Family::kRsa:
      if (kty != "RSA") bad("key type does not match the algorithm", std::string("algorithm ") + a.name + " needs kty RSA");
      if (decoded_len(j, "n", "RSA") < 256) bad("rsa key too short", "at least 2048 bits are required");
      decoded_len(j, "e", "RSA");
      break;
    case Family::kEc:
      if (kty != "EC") bad("key type does not match the algorithm", std::string("algorithm ") + a.name + " needs kty EC");
      if (member(j, "crv", "EC") != a.curve)
        bad("key curve does not match the algorithm", std::string("algorithm ") + a.name + " needs curve " + a.curve);
      decoded_len(j, "x", "EC");
      decoded_len(j, "y", "EC");
      break;
    case Family::kEd:
      if (kty != "OKP" || member(j, "crv", "OKP") != "Ed25519")
        bad("key type does not match the algorithm", "algorithm EdDSA needs kty OKP, crv Ed25519");
      if (decoded_len(j, "x", "OKP") != 32) bad("jwk member \"x\" is not an Ed25519 public key");
      break;
  }
}

}  // namespace

bool known_algorithm(std::string_view alg) { return find_alg(alg) != nullptr; }

KeyText classify_key_text(std::string_view text) {
  std::string_view t = text;
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; };
  while (!t.empty() && is_space(t.front())) t.remove_prefix(1);
  if (t.substr(0, 3) == "\xEF\xBB\xBF") {
    t.remove_prefix(3);
    while (!t.empty() && is_space(t.front())) t.remove_prefix(1);
  }
  while (!t.empty() && is_space(t.back())) t.remove_suffix(1);
  if (t.substr(0, 10) == "-----BEGIN") return {KeyTextKind::kPem, t};
  if (!t.empty() && t.front() == '{') return {KeyTextKind::kJson, t};
  if (text.find("-----BEGIN ") != std::string_view::npos)
    bad("key text holds a pem block inside other text",
        "a pem key may only be surrounded by whitespace; it is never used as an hmac secret");
  if (text.find("\"kty\"") != std::string_view::npos)
    bad("key text looks like a jwk but is not a json object",
        "a jwk may only be surrounded by whitespace; it is never used as an hmac secret");
  return {KeyTextKind::kSecret, text};
}

void check_key(std::string_view alg, std::string_view key_text) {
  const AlgInfo *a = find_alg(alg);
  if (!a)
    bad("unknown jwt algorithm", "algorithm \"" + std::string(alg.substr(0, 32)) +
                                     "\"; known: HS256 HS384 HS512 RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 "
                                     "ES512 EdDSA");
  KeyText kt = classify_key_text(key_text);
  if (kt.kind == KeyTextKind::kPem) return check_pem(*a, kt.text);
  if (kt.kind == KeyTextKind::kJson) {
    json j = json::parse(kt.text.begin(), kt.text.end(), nullptr, false);
    if (j.is_discarded()) bad("key is not valid jwk json");
    return check_jwk(*a, j);
  }
  if (a->family != Family::kHmac)
    bad("key is not a pem key or a jwk", std::string("algorithm ") + a->name + " needs a public key");
  if (key_text.size() < a->bytes)
    bad("hmac key shorter than the hash", std::string("algorithm ") + a->name + " needs at least " +
                                              std::to_string(a->bytes) + " bytes");
}

void require_plain_secret(std::string_view secret) {
  if (classify_key_text(secret).kind != KeyTextKind::kSecret)
    bad("an hmac key must be a secret, not a pem key or jwk",
        "the oct key's bytes are a public key text; anyone holding it could sign tokens");
}

std::vector<ImportedKey> parse_jwks(std::string_view text) {
  json doc = json::parse(text.begin(), text.end(), nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) bad("jwks must be a json object");
  std::vector<json> keys;
  if (auto it = doc.find("keys"); it != doc.end()) {
    if (!it->is_array()) bad("jwks \"keys\" must be an array");
    for (const auto &k : *it) keys.push_back(k);
  } else if (doc.contains("kty")) {
    keys.push_back(doc);
  } else {
    bad("jwks must have a \"keys\" array (or be a single jwk)");
  }
  std::vector<ImportedKey> out;
  std::set<std::string> seen;
  for (size_t i = 0; i < keys.size(); i++) {
    json k = keys[i];
    std::string where = "key " + std::to_string(i);
    if (!k.is_object()) bad("jwk must be a json object", where);
    if (auto u = k.find("use"); u != k.end() && !(u->is_string() && u->get<std::string>() == "sig")) continue;
    auto kid_it = k.find("kid");
    if (kid_it == k.end() || !kid_it->is_string() || kid_it->get<std::string>().empty())
      bad("jwk without kid", where + ": nova.jwt_keys is keyed by kid");
    std::string kid = kid_it->get<std::string>();
    if (!seen.insert(kid).second) bad("duplicate kid in jwks", "kid \"" + kid + "\"");
    std::string alg;
    if (auto a = k.find("alg"); a != k.end()) {
      if (!a->is_string() || !known_algorithm(a->get<std::string>()))
        bad("unknown jwt algorithm", "kid \"" + kid + "\"");
      alg = a->get<std::string>();
    } else {
      std::string kty = k.contains("kty") && k["kty"].is_string() ? k["kty"].get<std::string>() : "";
      std::string crv = k.contains("crv") && k["crv"].is_string() ? k["crv"].get<std::string>() : "";
      if (kty == "OKP" && crv == "Ed25519") alg = "EdDSA";
      else if (kty == "EC" && crv == "P-256") alg = "ES256";
      else if (kty == "EC" && crv == "P-384") alg = "ES384";
      else if (kty == "EC" && crv == "P-521") alg = "ES512";
      else
        bad("jwk alg required", "kid \"" + kid + "\": the algorithm cannot be inferred from kty \"" + kty + "\"");
      k["alg"] = alg;
    }
    try {
      check_jwk(*find_alg(alg), k);
    } catch (const nova::Error &e) {
      bad(e.what(), "kid \"" + kid + "\"");
    }
    out.push_back(ImportedKey{kid, alg, k.dump()});
  }
  return out;
}

}  // namespace nova::jwt_keyset
