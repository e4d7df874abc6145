// Helpers for the JWT unit tests: fresh OpenSSL keys as PEM and JWK text.
#pragma once

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/encoder.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <string>

#include "core/base64url.h"
#include "core/jwt.h"

namespace jwt_test {

struct KeyPair {
  std::string private_pem, public_pem;
  EVP_PKEY *pkey = nullptr;
};

inline std::string bio_string(BIO *b) {
  char *data = nullptr;
  long n = BIO_get_mem_data(b, &data);
  return std::string(data, static_cast<size_t>(n));
}

inline KeyPair make_pem(EVP_PKEY *k) {
  KeyPair kp;
  BIO *b = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(b, k, nullptr, nullptr, 0, nullptr, nullptr);
  kp.private_pem = bio_string(b);
  BIO_free(b);
  b = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(b, k);
  kp.public_pem = bio_string(b);
  BIO_free(b);
  kp.pkey = k;
  return kp;
}

// Keys are generated once per process (RSA generation is slow under ASan).
inline const KeyPair &rsa2048() { static KeyPair k = make_pem(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048})); return k; }
inline const KeyPair &rsa1024() { static KeyPair k = make_pem(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{1024})); return k; }
inline const KeyPair &ec(const char *curve) {
  static KeyPair p256 = make_pem(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  static KeyPair p384 = make_pem(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"));
  static KeyPair p521 = make_pem(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-521"));
  static KeyPair k256 = make_pem(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "secp256k1"));
  std::string c = curve;
  return c == "P-256" ? p256 : c == "P-384" ? p384 : c == "P-521" ? p521 : k256;
}
inline const KeyPair &ed25519() { static KeyPair k = make_pem(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")); return k; }
inline const KeyPair &ed448() { static KeyPair k = make_pem(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED448")); return k; }

inline std::string bn_b64(EVP_PKEY *k, const char *param, size_t pad = 0) {
  BIGNUM *bn = nullptr;
  EVP_PKEY_get_bn_param(k, param, &bn);
  std::string out(pad ? pad : static_cast<size_t>(BN_num_bytes(bn)), '\0');
  BN_bn2binpad(bn, reinterpret_cast<unsigned char *>(out.data()), static_cast<int>(out.size()));
  BN_free(bn);
  return nova::b64url::encode(out);
}

// JWK text for a key; extra is inserted verbatim (e.g. "\"kid\":\"a\",").
inline std::string jwk(const KeyPair &kp, bool with_private, const std::string &extra = "") {
  EVP_PKEY *k = kp.pkey;
  std::string s = "{" + extra;
  int id = EVP_PKEY_get_base_id(k);
  if (id == EVP_PKEY_RSA) {
    s += "\"kty\":\"RSA\",\"n\":\"" + bn_b64(k, OSSL_PKEY_PARAM_RSA_N) + "\",\"e\":\"" + bn_b64(k, OSSL_PKEY_PARAM_RSA_E) + "\"";
    if (with_private) {
      s += ",\"d\":\"" + bn_b64(k, OSSL_PKEY_PARAM_RSA_D) + "\",\"p\":\"" + bn_b64(k, OSSL_PKEY_PARAM_RSA_FACTOR1) +
           "\",\"q\":\"" + bn_b64(k, OSSL_PKEY_PARAM_RSA_FACTOR2) + "\",\"dp\":\"" + bn_b64(k, OSSL_PKEY_PARAM_RSA_EXPONENT1) +
           "\",\"dq\":\"" + bn_b64(k, OSSL_PKEY_PARAM_RSA_EXPONENT2) + "\",\"qi\":\"" +
           bn_b64(k, OSSL_PKEY_PARAM_RSA_COEFFICIENT1) + "\"";
    }
  } else if (id == EVP_PKEY_EC) {
    char group[64];
    size_t gl = 0;
    EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &gl);
    std::string g = group;
    std::string crv = g == "prime256v1" ? "P-256" : g == "secp384r1" ? "P-384" : g == "secp521r1" ? "P-521" : g;
    size_t nb = crv == "P-256" ? 32 : crv == "P-384" ? 48 : crv == "P-521" ? 66 : 32;
    s += "\"kty\":\"EC\",\"crv\":\"" + crv + "\",\"x\":\"" + bn_b64(k, OSSL_PKEY_PARAM_EC_PUB_X, nb) + "\",\"y\":\"" +
         bn_b64(k, OSSL_PKEY_PARAM_EC_PUB_Y, nb) + "\"";
    if (with_private) s += ",\"d\":\"" + bn_b64(k, OSSL_PKEY_PARAM_PRIV_KEY, nb) + "\"";
  } else {
    unsigned char buf[64];
    size_t n = sizeof buf;
    EVP_PKEY_get_raw_public_key(k, buf, &n);
    s += "\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" + nova::b64url::encode(std::string(reinterpret_cast<char *>(buf), n)) + "\"";
    if (with_private) {
      n = sizeof buf;
      EVP_PKEY_get_raw_private_key(k, buf, &n);
      s += ",\"d\":\"" + nova::b64url::encode(std::string(reinterpret_cast<char *>(buf), n)) + "\"";
    }
  }
  return s + "}";
}

inline std::string b64(const std::string &s) { return nova::b64url::encode(s); }

// Builds a token from raw header/payload JSON, HMAC-signed with `secret` under `alg` (HS*).
inline std::string hs_token(const std::string &header, const std::string &payload, const std::string &secret,
                            nova::jwt::Alg alg = nova::jwt::Alg::HS256) {
  std::string input = b64(header) + "." + b64(payload);
  auto key = nova::jwt::primitive::hmac_key(secret);
  return input + "." + b64(nova::jwt::primitive::sign(*key, alg, input));
}

}  // namespace jwt_test
