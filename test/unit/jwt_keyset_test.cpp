// nova.jwt_keys row checks and JWKS import (core/jwt_keyset.h).
#include <gtest/gtest.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <string>

#include "core/jwt_keyset.h"

using nova::jwt_keyset::check_key;
using nova::jwt_keyset::parse_jwks;

namespace {

std::string pem_public(EVP_PKEY *k) {
  BIO *b = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(b, k);
  char *p = nullptr;
  long n = BIO_get_mem_data(b, &p);
  std::string s(p, size_t(n));
  BIO_free(b);
  EVP_PKEY_free(k);
  return s;
}

std::string msg_of(std::string_view alg, std::string_view key) {
  try {
    check_key(alg, key);
  } catch (const nova::Error &e) {
    EXPECT_STREQ(e.sqlstate(), "22023");
    return e.what();
  }
  return "ok";
}

}  // namespace

TEST(JwtKeyset, KnownAlgorithmsAreCaseSensitive) {
  EXPECT_TRUE(nova::jwt_keyset::known_algorithm("HS256"));
  EXPECT_TRUE(nova::jwt_keyset::known_algorithm("EdDSA"));
  EXPECT_FALSE(nova::jwt_keyset::known_algorithm("hs256"));
  EXPECT_FALSE(nova::jwt_keyset::known_algorithm("none"));
  EXPECT_EQ(msg_of("none", "x"), "unknown jwt algorithm");
}

TEST(JwtKeyset, HmacSecrets) {
  EXPECT_EQ(msg_of("HS256", std::string(32, 's')), "ok");
  EXPECT_EQ(msg_of("HS256", std::string(31, 's')), "hmac key shorter than the hash");
  EXPECT_EQ(msg_of("HS512", std::string(63, 's')), "hmac key shorter than the hash");
  // 32 bytes base64url-encoded = 43 characters
  EXPECT_EQ(msg_of("HS256", R"({"kty":"oct","k":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"})"), "ok");
  EXPECT_EQ(msg_of("HS256", R"({"kty":"oct","k":"AAAA"})"), "hmac key shorter than the hash");
  EXPECT_EQ(msg_of("HS256", R"({"kty":"oct","k":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","alg":"HS512"})"),
            "jwk alg does not match the algorithm");
  EXPECT_EQ(msg_of("HS256", "{not json"), "key is not valid jwk json");
}

TEST(JwtKeyset, PemKeysMatchTheirAlgorithm) {
  std::string rsa = pem_public(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t(2048)));
  std::string rsa_small = pem_public(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t(1024)));
  std::string p256 = pem_public(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  std::string ed = pem_public(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  EXPECT_EQ(msg_of("RS256", rsa), "ok");
  EXPECT_EQ(msg_of("PS512", rsa), "ok");
  EXPECT_EQ(msg_of("RS256", rsa_small), "rsa key too short");
  EXPECT_EQ(msg_of("ES256", p256), "ok");
  EXPECT_EQ(msg_of("ES384", p256), "key curve does not match the algorithm");
  EXPECT_EQ(msg_of("RS256", p256), "key type does not match the algorithm");
  EXPECT_EQ(msg_of("EdDSA", ed), "ok");
  EXPECT_EQ(msg_of("ES256", ed), "key type does not match the algorithm");
  // No HS/RS confusion: a public key is never an HMAC secret.
  EXPECT_EQ(msg_of("HS256", rsa), "an hmac key must be a secret, not a pem key");
  EXPECT_EQ(msg_of("RS256", "-----BEGIN PUBLIC KEY-----\ngarbage\n-----END PUBLIC KEY-----\n"),
            "key is not a valid pem public key");
  EXPECT_EQ(msg_of("RS256", "just a secret"), "key is not a pem key or a jwk");
}

TEST(JwtKeyset, JwksImportInfersOnlyUnambiguousAlgorithms) {
  auto keys = parse_jwks(R"({"keys":[
    {"kty":"OKP","crv":"Ed25519","kid":"ed","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
    {"kty":"EC","crv":"P-256","kid":"ec","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
    {"kty":"oct","kid":"enc","use":"enc","k":"AAAA"}
  ]})");
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].kid, "ed");
  EXPECT_EQ(keys[0].alg, "EdDSA");
  EXPECT_NE(keys[0].jwk_json.find("\"alg\":\"EdDSA\""), std::string::npos);
  EXPECT_EQ(keys[1].alg, "ES256");
  EXPECT_NO_THROW(check_key(keys[1].alg, keys[1].jwk_json));

  EXPECT_THROW(parse_jwks(R"({"keys":[{"kty":"RSA","kid":"r","n":"AQAB","e":"AQAB"}]})"), nova::Error);  // alg required
  EXPECT_THROW(parse_jwks(R"({"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]})"),
               nova::Error);  // kid required
  EXPECT_THROW(parse_jwks(R"({"keys":[{"kty":"OKP","crv":"Ed25519","kid":"a","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
                                      {"kty":"OKP","crv":"Ed25519","kid":"a","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]})"),
               nova::Error);  // duplicate kid
  EXPECT_THROW(parse_jwks(R"([1,2])"), nova::Error);
  EXPECT_THROW(parse_jwks(R"({"keys":{}})"), nova::Error);
  EXPECT_THROW(parse_jwks(R"({"keys":[{"kty":5,"kid":"x"}]})"), nova::Error);
  EXPECT_THROW(parse_jwks(R"({"keys":[{"kty":"EC","crv":"P-256","kid":"x","alg":"ES384","x":"AA","y":"AA"}]})"),
               nova::Error);  // alg contradicts crv
  EXPECT_EQ(parse_jwks(R"({"keys":[]})").size(), 0u);
}
