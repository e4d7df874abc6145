// Sign → verify round trips for every algorithm and key format; key/alg confusion.
#include <gtest/gtest.h>

#include "core/jwt.h"
#include "jwt_test_util.h"

using namespace nova::jwt;
using namespace jwt_test;

namespace {
const std::string kSecret64(64, 's');  // long enough for HS512
const std::string kClaims = R"({"sub":"user-1","exp":2000000000,"iat":1600000000,"aud":["api","web"],"iss":"https://issuer"})";

VerifyOptions opts() {
  VerifyOptions o;
  o.now = 1700000000;
  return o;
}

std::string error_of(const std::function<void()> &f) {
  try {
    f();
  } catch (const nova::Error &e) {
    EXPECT_STREQ(e.sqlstate(), "28000") << e.what();
    return e.what();
  }
  return "no error";
}

struct AlgCase {
  const char *alg;
  const KeyPair *(*key)();
};
const KeyPair *k_rsa() { return &rsa2048(); }
const KeyPair *k_p256() { return &ec("P-256"); }
const KeyPair *k_p384() { return &ec("P-384"); }
const KeyPair *k_p521() { return &ec("P-521"); }
const KeyPair *k_ed() { return &ed25519(); }

const AlgCase kAsym[] = {{"RS256", k_rsa}, {"RS384", k_rsa}, {"RS512", k_rsa}, {"PS256", k_rsa}, {"PS384", k_rsa},
                         {"PS512", k_rsa}, {"ES256", k_p256}, {"ES384", k_p384}, {"ES512", k_p521}, {"EdDSA", k_ed}};
}  // namespace

TEST(JwtSignVerify, HmacRoundTrips) {
  for (const char *alg : {"HS256", "HS384", "HS512"}) {
    std::string t = sign(kClaims, kSecret64, alg, "");
    Verified v = verify(t, kSecret64, opts());
    EXPECT_EQ(v.payload_json, kClaims) << alg;
    EXPECT_EQ(v.alg, alg);
    EXPECT_EQ(v.sub, "user-1");
    ASSERT_TRUE(v.exp.has_value());
    EXPECT_EQ(*v.exp, 2000000000);
    // the same secret as an oct JWK
    std::string j = "{\"kty\":\"oct\",\"k\":\"" + b64(kSecret64) + "\"}";
    EXPECT_EQ(verify(t, j, opts()).payload_json, kClaims) << alg;
    EXPECT_EQ(verify(sign(kClaims, j, alg, ""), kSecret64, opts()).payload_json, kClaims);
  }
}

TEST(JwtSignVerify, AsymmetricRoundTripsPemAndJwk) {
  for (const auto &c : kAsym) {
    const KeyPair &kp = *c.key();
    std::string t = sign(kClaims, kp.private_pem, c.alg, "");
    EXPECT_EQ(verify(t, kp.public_pem, opts()).payload_json, kClaims) << c.alg;
    EXPECT_EQ(verify(t, kp.private_pem, opts()).payload_json, kClaims) << c.alg;  // the public half of a private key
    EXPECT_EQ(verify(t, jwk(kp, false), opts()).payload_json, kClaims) << c.alg;
    std::string t2 = sign(kClaims, jwk(kp, true), c.alg, "");
    EXPECT_EQ(verify(t2, kp.public_pem, opts()).payload_json, kClaims) << c.alg;
    // tampering with any part fails
    std::string bad = t;
    bad[bad.size() - 5] = bad[bad.size() - 5] == 'A' ? 'B' : 'A';
    std::string e = error_of([&] { verify(bad, kp.public_pem, opts()); });
    EXPECT_TRUE(e == "jwt signature invalid" || e.rfind("jwt malformed", 0) == 0) << c.alg << ": " << e;
    std::string other = sign(R"({"sub":"admin","exp":2000000000})", kp.private_pem, c.alg, "");
    std::string spliced = t.substr(0, t.find('.')) + other.substr(other.find('.'), other.rfind('.') - other.find('.')) +
                          t.substr(t.rfind('.'));
    EXPECT_EQ(error_of([&] { verify(spliced, kp.public_pem, opts()); }), "jwt signature invalid") << c.alg;
  }
}

TEST(JwtSignVerify, EcdsaSignaturesAreFixedLengthRawRS) {
  for (const auto &[alg, curve, len] : {std::tuple{"ES256", "P-256", 64}, {"ES384", "P-384", 96}, {"ES512", "P-521", 132}}) {
    for (int i = 0; i < 8; i++) {
      std::string t = sign(kClaims, ec(curve).private_pem, alg, "");
      std::string sig;
      ASSERT_TRUE(nova::b64url::decode(t.substr(t.rfind('.') + 1), sig));
      EXPECT_EQ(sig.size(), static_cast<size_t>(len)) << alg;
    }
  }
}

TEST(JwtSignVerify, KeyFamilyConfusionIsImpossible) {
  const KeyPair &rsa = rsa2048();
  // The classic attack: HS256 token keyed with the RSA public key PEM.
  std::string forged = hs_token(R"({"alg":"HS256"})", R"({"sub":"admin"})", rsa.public_pem);
  EXPECT_EQ(error_of([&] { verify(forged, rsa.public_pem, opts()); }), "jwt algorithm not allowed");
  VerifyOptions o = opts();
  o.algorithms = {"HS256", "RS256"};
  EXPECT_EQ(error_of([&] { verify(forged, rsa.public_pem, o); }), "jwt algorithm not allowed");
  // EC curve must match the alg
  std::string t = sign(kClaims, ec("P-256").private_pem, "ES256", "");
  std::string relabeled = b64(R"({"alg":"ES384","typ":"JWT"})") + t.substr(t.find('.'));
  EXPECT_EQ(error_of([&] { verify(relabeled, ec("P-256").public_pem, opts()); }), "jwt algorithm not allowed");
  EXPECT_EQ(error_of([&] { sign(kClaims, ec("P-256").private_pem, "ES512", ""); }), "jwt algorithm not allowed");
  // RS and PS share keys but not signatures
  std::string rs = sign(kClaims, rsa.private_pem, "RS256", "");
  std::string as_ps = b64(R"({"alg":"PS256","typ":"JWT"})") + rs.substr(rs.find('.'));
  EXPECT_EQ(error_of([&] { verify(as_ps, rsa.public_pem, opts()); }), "jwt signature invalid");
  // Ed25519 key with an ES token, HMAC secret with an RS token
  EXPECT_EQ(error_of([&] { verify(relabeled, ed25519().public_pem, opts()); }), "jwt algorithm not allowed");
  EXPECT_EQ(error_of([&] { verify(rs, kSecret64, opts()); }), "jwt algorithm not allowed");
}

TEST(JwtSignVerify, HeaderFromCallerAndKidFromJwk) {
  std::string j = jwk(ec("P-256"), true, "\"kid\":\"k1\",\"alg\":\"ES256\",");
  std::string t = sign(kClaims, j, "ES256", R"({"typ":"at+jwt","x-extra":1,"alg":"HS256"})");
  Decoded d = decode_unverified(t);
  EXPECT_NE(d.header_json.find("\"alg\":\"ES256\""), std::string::npos) << d.header_json;
  EXPECT_NE(d.header_json.find("\"kid\":\"k1\""), std::string::npos) << d.header_json;
  EXPECT_NE(d.header_json.find("\"typ\":\"at+jwt\""), std::string::npos) << d.header_json;
  Verified v = verify(t, jwk(ec("P-256"), false, "\"kid\":\"k1\","), opts());
  EXPECT_EQ(v.kid, "k1");
  EXPECT_EQ(error_of([&] { sign(kClaims, j, "ES384", ""); }), "jwt algorithm not allowed");
  EXPECT_EQ(error_of([&] { sign(kClaims, j, "ES256", R"({"crit":["x"]})"); }), "jwt header invalid: crit is not supported");
  EXPECT_EQ(error_of([&] { sign("[1]", j, "ES256", ""); }), "jwt claims invalid: not a JSON object");
  EXPECT_EQ(error_of([&] { sign(R"({"exp":"soon"})", j, "ES256", ""); }), "jwt claims invalid: exp is not a number");
  EXPECT_EQ(error_of([&] { sign(kClaims, ec("P-256").public_pem, "ES256", ""); }), "jwt key invalid: signing needs a private key");
  EXPECT_EQ(error_of([&] { sign(kClaims, jwk(ec("P-256"), false), "ES256", ""); }),
            "jwt key invalid: JWK member \"d\" missing");
  EXPECT_EQ(error_of([&] { sign(kClaims, "short", "HS256", ""); }), "jwt key invalid: hmac key shorter than the hash output");
  EXPECT_EQ(error_of([&] { sign(kClaims, kSecret64, "none", ""); }), "jwt algorithm not allowed");
  EXPECT_EQ(error_of([&] { sign(kClaims, kSecret64, "hs256", ""); }), "jwt algorithm not allowed");
}

TEST(JwtSignVerify, SignWithKeySetSelectsByKid) {
  std::string set = "{\"keys\":[" + jwk(ec("P-256"), true, "\"kid\":\"a\",") + "," + jwk(ed25519(), true, "\"kid\":\"b\",") + "]}";
  std::string t = sign(kClaims, set, "EdDSA", R"({"kid":"b"})");
  std::string pub = "{\"keys\":[" + jwk(ec("P-256"), false, "\"kid\":\"a\",") + "," + jwk(ed25519(), false, "\"kid\":\"b\",") + "]}";
  EXPECT_EQ(verify(t, pub, opts()).kid, "b");
  EXPECT_EQ(error_of([&] { sign(kClaims, set, "EdDSA", ""); }), "jwt key not found");
  EXPECT_EQ(error_of([&] { sign(kClaims, set, "EdDSA", R"({"kid":"a"})"); }), "jwt algorithm not allowed");
}
