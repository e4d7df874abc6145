// nova.jwt_keys row checks and JWKS import (core/jwt_keyset.h).
#include <gtest/gtest.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <string>
#include <utility>

#include "core/jwt.h"
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

// A public key never becomes an HMAC secret, whatever whitespace surrounds it
// (docs/jwt.md, "Key texts"): with algorithms unconstrained, anyone holding the
// public key could otherwise sign HS256 tokens with it.
TEST(JwtKeyset, KeyTextDetectionIgnoresSurroundingWhitespace) {
  using nova::jwt_keyset::classify_key_text;
  using nova::jwt_keyset::KeyTextKind;
  std::string rsa = pem_public(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t(2048)));
  const std::pair<std::string, std::string> pads[] = {
      {"\n", "\n"}, {" ", " "}, {"\r\n", "\r\n\r\n"}, {"\t \n", ""}, {"\xEF\xBB\xBF", "\n"}, {"\xEF\xBB\xBF\n", ""}};
  for (const auto &[before, after] : pads) {
    std::string padded = before + rsa + after;
    EXPECT_EQ(classify_key_text(padded).kind, KeyTextKind::kPem);
    EXPECT_EQ(classify_key_text(padded).text.substr(0, 10), "-----BEGIN");
    EXPECT_EQ(msg_of("HS256", padded), "an hmac key must be a secret, not a pem key");
    EXPECT_EQ(msg_of("RS256", padded), "ok");
    nova::jwt::KeySet ks = nova::jwt::parse_keys(padded, nova::jwt::KeyPurpose::kVerify);
    ASSERT_EQ(ks.keys.size(), 1u);
    EXPECT_NE(ks.keys[0]->type, nova::jwt::Key::Type::kOct);
    std::string jwk = before + R"({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})" + after;
    EXPECT_EQ(classify_key_text(jwk).kind, KeyTextKind::kJson);
    EXPECT_EQ(msg_of("HS256", jwk), "key type does not match the algorithm");
    ks = nova::jwt::parse_keys(jwk, nova::jwt::KeyPurpose::kVerify);
    ASSERT_EQ(ks.keys.size(), 1u);
    EXPECT_EQ(ks.keys[0]->type, nova::jwt::Key::Type::kOKP);
  }
  // Embedded in other text: refused (22023), never a secret.
  EXPECT_EQ(msg_of("HS256", "x" + rsa), "key text holds a pem block inside other text");
  EXPECT_EQ(msg_of("HS256", R"(x{"kty":"oct","k":"AAAA"})"), "key text looks like a jwk but is not a json object");
  try {
    nova::jwt::parse_keys("secret:" + rsa, nova::jwt::KeyPurpose::kVerify);
    ADD_FAILURE() << "an embedded pem block was accepted";
  } catch (const nova::Error &e) {
    EXPECT_STREQ(e.sqlstate(), "22023");
  }
  // A secret is taken byte for byte: surrounding whitespace is part of it.
  auto s = classify_key_text(" a-32-byte-secret-for-hs256-tests ");
  EXPECT_EQ(s.kind, KeyTextKind::kSecret);
  EXPECT_EQ(s.text, " a-32-byte-secret-for-hs256-tests ");
}

TEST(JwtKeyset, OctJwkWrappingAPublicKeyIsRefused) {
  std::string rsa = pem_public(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t(2048)));
  std::string raw = "\n" + rsa;
  std::string b64(4 * ((raw.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char *>(b64.data()),
                          reinterpret_cast<const unsigned char *>(raw.data()), int(raw.size()));
  b64.resize(size_t(n));
  while (!b64.empty() && b64.back() == '=') b64.pop_back();
  for (char &c : b64) c = c == '+' ? '-' : c == '/' ? '_' : c;
  std::string jwk = R"({"kty":"oct","kid":"wrapped","alg":"HS256","k":")" + b64 + "\"}";
  EXPECT_EQ(msg_of("HS256", jwk), "an hmac key must be a secret, not a pem key or jwk");
  EXPECT_THROW(parse_jwks("{\"keys\":[" + jwk + "]}"), nova::Error);
  EXPECT_THROW(nova::jwt::parse_keys(jwk, nova::jwt::KeyPurpose::kVerify), nova::Error);
}
