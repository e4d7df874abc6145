// Every verification rule of docs/jwt.md / docs/jwt.md, one or more cases each.
#include <gtest/gtest.h>

#include <functional>

#include "core/base64url.h"
#include "core/jwt.h"
#include "jwt_test_util.h"

using namespace nova::jwt;
using namespace jwt_test;

namespace {
const std::string kKey(32, 'k');
constexpr double kNow = 1700000000;

VerifyOptions at(double now = kNow, double leeway = 30) {
  VerifyOptions o;
  o.now = now;
  o.leeway = leeway;
  return o;
}

struct Err {
  std::string message, detail, sqlstate;
};
Err error_of(const std::function<void()> &f) {
  try {
    f();
  } catch (const nova::Error &e) {
    return {e.what(), e.detail(), e.sqlstate()};
  }
  return {"no error", "", ""};
}
std::string msg(const std::function<void()> &f) {
  Err e = error_of(f);
  if (e.message != "no error") {
    EXPECT_EQ(e.sqlstate, "28000") << e.message;
  }
  return e.message;
}

std::string tok(const std::string &payload, const std::string &header = R"({"alg":"HS256"})") {
  return hs_token(header, payload, kKey);
}
}  // namespace

TEST(JwtRules, Rfc7515AppendixA1) {
  const std::string token =
      "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9."
      "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ."
      "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
  const std::string jwk_text =
      R"({"kty":"oct","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"})";
  Verified v = verify(token, jwk_text, at(1300819370));
  EXPECT_EQ(v.payload_json, "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}");
  EXPECT_EQ(v.header_json, "{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}");
  EXPECT_EQ(v.alg, "HS256");
  // 2011: expired today
  EXPECT_EQ(msg([&] { verify(token, jwk_text, at(kNow)); }), "jwt expired");
  VerifyOptions o = at(1300819370);
  o.issuer = "joe";
  EXPECT_NO_THROW(verify(token, jwk_text, o));
  o.issuer = "Joe";
  EXPECT_EQ(msg([&] { verify(token, jwk_text, o); }), "jwt issuer invalid");
}

TEST(JwtRules, Structure) {
  std::string good = tok(R"({"sub":"a"})");
  EXPECT_NO_THROW(verify(good, kKey, at()));
  EXPECT_EQ(msg([&] { verify("", kKey, at()); }), "jwt malformed: expected three dot-separated parts (JWS compact serialization)");
  EXPECT_EQ(msg([&] { verify("a.b", kKey, at()); }), "jwt malformed: expected three dot-separated parts (JWS compact serialization)");
  EXPECT_EQ(msg([&] { verify(good + ".", kKey, at()); }), "jwt malformed: expected three dot-separated parts (JWS compact serialization)");
  EXPECT_EQ(msg([&] { verify(good.substr(good.find('.')), kKey, at()); }), "jwt malformed: empty header");
  EXPECT_EQ(msg([&] { verify(good.substr(0, good.rfind('.') + 1), kKey, at()); }), "jwt malformed: empty signature");
  // size limit: 16 KiB exactly is fine structurally, one byte more is not
  std::string big = tok("{\"pad\":\"" + std::string(12000, 'x') + "\"}");
  EXPECT_LE(big.size(), kMaxTokenBytes);
  EXPECT_NO_THROW(verify(big, kKey, at()));
  std::string huge = tok("{\"pad\":\"" + std::string(12300, 'x') + "\"}");
  EXPECT_GT(huge.size(), kMaxTokenBytes);
  EXPECT_EQ(msg([&] { verify(huge, kKey, at()); }), "jwt malformed: token exceeds 16384 bytes");
  EXPECT_EQ(msg([&] { decode_unverified(huge); }), "jwt malformed: token exceeds 16384 bytes");
  // JSON serialization is not accepted
  EXPECT_EQ(msg([&] { verify(R"({"payload":"e30","signatures":[]})", kKey, at()); }),
            "jwt malformed: expected three dot-separated parts (JWS compact serialization)");
}

TEST(JwtRules, CanonicalBase64url) {
  std::string out;
  EXPECT_TRUE(nova::b64url::decode("", out));
  EXPECT_TRUE(nova::b64url::decode("Zm9v", out));
  out.clear();
  EXPECT_TRUE(nova::b64url::decode("Zm8", out));
  EXPECT_EQ(out, "fo");
  EXPECT_FALSE(nova::b64url::decode("Zm9", out));    // non-zero trailing bits
  EXPECT_FALSE(nova::b64url::decode("Zg=", out));    // padding
  EXPECT_FALSE(nova::b64url::decode("Zg==", out));
  EXPECT_FALSE(nova::b64url::decode("Zm9v+", out));  // base64 (not url) alphabet
  EXPECT_FALSE(nova::b64url::decode("Zm/v", out));
  EXPECT_FALSE(nova::b64url::decode("Zm 9v", out));
  EXPECT_FALSE(nova::b64url::decode("Z", out));      // impossible length
  for (int len = 0; len < 40; len++) {
    std::string s;
    for (int i = 0; i < len; i++) s += static_cast<char>(i * 37 + len);
    std::string enc = nova::b64url::encode(s), dec;
    ASSERT_TRUE(nova::b64url::decode(enc, dec));
    EXPECT_EQ(dec, s);
  }
  std::string good = tok(R"({"sub":"a"})");
  size_t d1 = good.find('.'), d2 = good.rfind('.');
  std::string padded_sig = good + "=";
  EXPECT_EQ(msg([&] { verify(padded_sig, kKey, at()); }), "jwt malformed: invalid base64url in signature");
  std::string plus = good.substr(0, d1) + "+" + good.substr(d1);
  EXPECT_EQ(msg([&] { verify(plus, kKey, at()); }), "jwt malformed: invalid base64url in header");
  // flip the unused low bits of the payload's last character ("e30" → "e31")
  std::string p = tok("{}");
  std::string bits = p.substr(0, p.find('.') + 1) + "e31" + p.substr(p.rfind('.'));
  EXPECT_EQ(msg([&] { verify(bits, kKey, at()); }), "jwt malformed: invalid base64url in payload");
  (void)d2;
}

TEST(JwtRules, HeaderRules) {
  EXPECT_EQ(msg([&] { verify(tok("{}", R"({"alg":"HS256","alg":"none"})"), kKey, at()); }),
            "jwt malformed: header: duplicate member name");
  EXPECT_EQ(msg([&] { verify(tok("{}", R"({"alg":"HS256","x":{"a":1,"a":2}})"), kKey, at()); }),
            "jwt malformed: header: duplicate member name");
  EXPECT_EQ(msg([&] { verify(tok("{}", R"(["HS256"])"), kKey, at()); }), "jwt malformed: header: not a JSON object");
  EXPECT_EQ(msg([&] { verify(tok("{}", R"({"alg":"HS256")"), kKey, at()); }), "jwt malformed: header: invalid JSON");
  EXPECT_EQ(msg([&] { verify(tok("{}", R"({"typ":"JWT"})"), kKey, at()); }), "jwt malformed: header alg missing or not a string");
  EXPECT_EQ(msg([&] { verify(tok("{}", R"({"alg":256})"), kKey, at()); }), "jwt malformed: header alg missing or not a string");
  EXPECT_EQ(msg([&] { verify(tok("{}", R"({"alg":"HS256","crit":["exp"],"exp":1})"), kKey, at()); }),
            "jwt malformed: crit header parameters are not supported");
  EXPECT_EQ(msg([&] { verify(tok("{}", R"({"alg":"HS256","crit":[]})"), kKey, at()); }),
            "jwt malformed: crit header parameters are not supported");
  EXPECT_EQ(msg([&] { verify(tok("{}", R"({"alg":"HS256","crit":"b64"})"), kKey, at()); }),
            "jwt malformed: crit header parameters are not supported");
  EXPECT_EQ(msg([&] { verify(tok("{}", R"({"alg":"HS256","b64":false})"), kKey, at()); }),
            "jwt malformed: unencoded payloads (b64) are not supported");
  EXPECT_EQ(msg([&] { verify(tok("{}", R"({"alg":"HS256","b64":"no"})"), kKey, at()); }),
            "jwt malformed: unencoded payloads (b64) are not supported");
  EXPECT_NO_THROW(verify(tok("{}", R"({"alg":"HS256","b64":true})"), kKey, at()));
  EXPECT_EQ(msg([&] { verify(tok("{}", R"({"alg":"HS256","kid":7})"), kKey, at()); }), "jwt malformed: header kid is not a string");
  // alg none, in any spelling, and unknown or differently-cased names
  for (const char *a : {"none", "None", "NONE", "hs256", "HS256 ", "RS1", "ES256K", "Ed25519", ""}) {
    std::string t = b64(std::string(R"({"alg":")") + a + "\"}") + "." + b64("{}") + ".";
    EXPECT_EQ(msg([&] { verify(t, kKey, at()); }), "jwt algorithm not allowed") << a;
    EXPECT_EQ(msg([&] { verify(tok("{}", std::string(R"({"alg":")") + a + "\"}"), kKey, at()); }),
              "jwt algorithm not allowed") << a;
  }
  // whitespace inside the header JSON is fine
  EXPECT_NO_THROW(verify(tok("{}", "{ \"alg\" :\n\"HS256\" }"), kKey, at()));
}

TEST(JwtRules, EmbeddedKeysAreNeverUsed) {
  // A token signed with the attacker's secret, announcing it in jwk / jku / x5u / x5c.
  std::string attacker(32, 'a');
  for (const char *h : {R"({"alg":"HS256","jwk":{"kty":"oct","k":"YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE"}})",
                        R"({"alg":"HS256","jku":"https://evil.example/jwks"})", R"({"alg":"HS256","x5u":"https://evil"})",
                        R"({"alg":"HS256","x5c":["MIIB"]})"}) {
    std::string t = hs_token(h, "{}", attacker);
    EXPECT_EQ(msg([&] { verify(t, kKey, at()); }), "jwt signature invalid") << h;
    EXPECT_NO_THROW(verify(hs_token(h, "{}", kKey), kKey, at())) << h;  // present but ignored
  }
}

TEST(JwtRules, AlgorithmsList) {
  std::string t = tok("{}");
  VerifyOptions o = at();
  o.algorithms = {"HS384", "RS256"};
  EXPECT_EQ(msg([&] { verify(t, kKey, o); }), "jwt algorithm not allowed");
  o.algorithms = {"hs256"};
  EXPECT_EQ(msg([&] { verify(t, kKey, o); }), "jwt algorithm not allowed");
  o.algorithms = {"RS256", "HS256"};
  EXPECT_NO_THROW(verify(t, kKey, o));
  // empty list: what the key supports (a 32-byte secret supports HS256 only)
  EXPECT_EQ(msg([&] { verify(hs_token(R"({"alg":"HS384"})", "{}", kKey, Alg::HS384), kKey, at()); }),
            "jwt key invalid: hmac key shorter than the hash output");
  std::string long_key(64, 'L');
  EXPECT_NO_THROW(verify(hs_token(R"({"alg":"HS512"})", "{}", long_key, Alg::HS512), long_key, at()));
}

TEST(JwtRules, HmacKeyLength) {
  for (auto [alg, name, need] : {std::tuple{Alg::HS256, "HS256", 32}, {Alg::HS384, "HS384", 48}, {Alg::HS512, "HS512", 64}}) {
    std::string ok(static_cast<size_t>(need), 'q'), short_key(static_cast<size_t>(need - 1), 'q');
    std::string h = std::string(R"({"alg":")") + name + "\"}";
    EXPECT_NO_THROW(verify(hs_token(h, "{}", ok, alg), ok, at()));
    Err e = error_of([&] { verify(hs_token(h, "{}", short_key, alg), short_key, at()); });
    EXPECT_EQ(e.message, "jwt key invalid: hmac key shorter than the hash output") << name;
    EXPECT_EQ(e.detail.find(short_key), std::string::npos);
  }
}

TEST(JwtRules, PayloadRules) {
  EXPECT_EQ(msg([&] { verify(tok("[1,2]"), kKey, at()); }), "jwt malformed: payload: not a JSON object");
  EXPECT_EQ(msg([&] { verify(tok(""), kKey, at()); }), "jwt malformed: payload: invalid JSON");
  EXPECT_EQ(msg([&] { verify(tok("foo"), kKey, at()); }), "jwt malformed: payload: invalid JSON");
  EXPECT_EQ(msg([&] { verify(tok(R"({"sub":"a","sub":"b"})"), kKey, at()); }), "jwt malformed: payload: duplicate member name");
  EXPECT_EQ(msg([&] { verify(tok(R"({"a":"\u0000"})"), kKey, at()); }), "jwt malformed: payload: string contains U+0000");
  EXPECT_EQ(msg([&] { verify(tok("{\"a\":\"\xff\"}"), kKey, at()); }), "jwt malformed: payload: invalid JSON");
  EXPECT_EQ(msg([&] { verify(tok(R"({"sub":1})"), kKey, at()); }), "jwt malformed: sub is not a string");
  EXPECT_EQ(msg([&] { verify(tok(R"({"jti":[]})"), kKey, at()); }), "jwt malformed: jti is not a string");
  EXPECT_EQ(msg([&] { verify(tok(R"({"iss":null})"), kKey, at()); }), "jwt malformed: iss is not a string");
  // returned exactly, whitespace and key order included
  std::string payload = "{ \"z\": 1,\n \"a\": [true, null], \"n\": 1.50 }";
  EXPECT_EQ(verify(tok(payload), kKey, at()).payload_json, payload);
  // signature is checked before the payload is interpreted
  std::string bad = tok("[1]");
  bad[bad.size() - 3] = bad[bad.size() - 3] == 'A' ? 'B' : 'A';
  EXPECT_EQ(msg([&] { verify(bad, kKey, at()); }), "jwt signature invalid");
}

TEST(JwtRules, TimeClaims) {
  auto v = [&](const std::string &payload, double now, double leeway = 30) { verify(tok(payload), kKey, at(now, leeway)); };
  // exp: valid while now < exp + leeway
  EXPECT_NO_THROW(v(R"({"exp":1000})", 1029));
  EXPECT_EQ(msg([&] { v(R"({"exp":1000})", 1030); }), "jwt expired");
  EXPECT_EQ(msg([&] { v(R"({"exp":1000})", 1000, 0); }), "jwt expired");
  EXPECT_NO_THROW(v(R"({"exp":1000.5})", 1000, 0));
  // nbf: valid once now + leeway >= nbf
  EXPECT_NO_THROW(v(R"({"nbf":1030})", 1000));
  EXPECT_EQ(msg([&] { v(R"({"nbf":1030.25})", 1000); }), "jwt not yet valid");
  EXPECT_NO_THROW(v(R"({"nbf":1000})", 1000, 0));
  // iat in the future (beyond leeway)
  EXPECT_NO_THROW(v(R"({"iat":1030})", 1000));
  EXPECT_EQ(msg([&] { v(R"({"iat":1031})", 1000); }), "jwt issued in the future");
  // must be JSON numbers
  for (const char *c : {"exp", "nbf", "iat"}) {
    for (const char *val : {"\"1000\"", "null", "true", "[1]", "{}"}) {
      EXPECT_EQ(msg([&] { v(std::string("{\"") + c + "\":" + val + "}", 1000); }), std::string("jwt malformed: ") + c + " is not a number")
          << c << "=" << val;
    }
  }
  EXPECT_NO_THROW(v(R"({"exp":1e10,"nbf":-5,"iat":0})", 1000));
  // the cache-hit entry point applies the same rules
  EXPECT_EQ(msg([&] { check_time_claims(1000.0, std::nullopt, std::nullopt, 2000, 30); }), "jwt expired");
  EXPECT_EQ(msg([&] { check_time_claims(std::nullopt, 3000.0, std::nullopt, 2000, 30); }), "jwt not yet valid");
  EXPECT_NO_THROW(check_time_claims(std::nullopt, std::nullopt, std::nullopt, 2000, 30));
  Verified vv = verify(tok(R"({"exp":2000000000,"nbf":1,"iat":2,"sub":"s","jti":"j"})"), kKey, at());
  EXPECT_EQ(*vv.exp, 2000000000);
  EXPECT_EQ(*vv.nbf, 1);
  EXPECT_EQ(*vv.iat, 2);
  EXPECT_EQ(vv.sub, "s");
  EXPECT_EQ(vv.jti, "j");
}

TEST(JwtRules, AudienceAndIssuer) {
  VerifyOptions o = at();
  o.audience = "api";
  EXPECT_NO_THROW(verify(tok(R"({"aud":"api"})"), kKey, o));
  EXPECT_NO_THROW(verify(tok(R"({"aud":["web","api"]})"), kKey, o));
  EXPECT_EQ(msg([&] { verify(tok(R"({"aud":"API"})"), kKey, o); }), "jwt audience invalid");
  EXPECT_EQ(msg([&] { verify(tok(R"({"aud":["web"]})"), kKey, o); }), "jwt audience invalid");
  EXPECT_EQ(msg([&] { verify(tok(R"({"aud":[]})"), kKey, o); }), "jwt audience invalid");
  EXPECT_EQ(msg([&] { verify(tok(R"({})"), kKey, o); }), "jwt audience invalid");
  EXPECT_EQ(msg([&] { verify(tok(R"({"aud":[1,"apix"]})"), kKey, o); }), "jwt audience invalid");
  EXPECT_EQ(msg([&] { verify(tok(R"({"aud":5})"), kKey, o); }), "jwt malformed: aud is not a string or an array");
  // no audience demanded: aud is not checked
  EXPECT_NO_THROW(verify(tok(R"({"aud":"other"})"), kKey, at()));
  VerifyOptions i = at();
  i.issuer = "https://idp";
  EXPECT_NO_THROW(verify(tok(R"({"iss":"https://idp"})"), kKey, i));
  EXPECT_EQ(msg([&] { verify(tok(R"({"iss":"https://idp/"})"), kKey, i); }), "jwt issuer invalid");
  EXPECT_EQ(msg([&] { verify(tok(R"({})"), kKey, i); }), "jwt issuer invalid");
  // order: expiry is reported before audience/issuer
  EXPECT_EQ(msg([&] { verify(tok(R"({"exp":1,"iss":"x"})"), kKey, i); }), "jwt expired");
}

TEST(JwtRules, DecodeUnverified) {
  Decoded d = decode_unverified(tok(R"({"sub":"a"})", R"({"alg":"HS256","kid":"k"})"));
  EXPECT_EQ(d.header_json, R"({"alg":"HS256","kid":"k"})");
  EXPECT_EQ(d.payload_json, R"({"sub":"a"})");
  // unsigned tokens can be inspected, not verified
  std::string none = b64(R"({"alg":"none"})") + "." + b64(R"({"sub":"a"})") + ".";
  EXPECT_EQ(decode_unverified(none).payload_json, R"({"sub":"a"})");
  EXPECT_EQ(msg([&] { decode_unverified(b64(R"({"alg":"none","alg":"x"})") + "." + b64("{}") + "."); }),
            "jwt malformed: header: duplicate member name");
  EXPECT_EQ(msg([&] { decode_unverified(b64(R"({"alg":"none"})") + "." + b64("1") + "."); }), "jwt malformed: payload: not a JSON object");
  EXPECT_EQ(msg([&] { decode_unverified("abc"); }), "jwt malformed: expected three dot-separated parts (JWS compact serialization)");
}

TEST(JwtRules, JwksSelection) {
  std::string k1 = b64(std::string(32, '1')), k2 = b64(std::string(32, '2'));
  std::string set = R"({"keys":[{"kty":"oct","kid":"one","k":")" + k1 + R"("},{"kty":"oct","kid":"two","k":")" + k2 + R"("}]})";
  std::string t2 = hs_token(R"({"alg":"HS256","kid":"two"})", "{}", std::string(32, '2'));
  EXPECT_NO_THROW(verify(t2, set, at()));
  EXPECT_EQ(verify(t2, set, at()).kid, "two");
  std::string wrong_kid = hs_token(R"({"alg":"HS256","kid":"one"})", "{}", std::string(32, '2'));
  EXPECT_EQ(msg([&] { verify(wrong_kid, set, at()); }), "jwt signature invalid");
  EXPECT_EQ(msg([&] { verify(hs_token(R"({"alg":"HS256","kid":"TWO"})", "{}", std::string(32, '2')), set, at()); }),
            "jwt key not found");
  EXPECT_EQ(msg([&] { verify(hs_token(R"({"alg":"HS256"})", "{}", std::string(32, '2')), set, at()); }), "jwt key not found");
  // duplicate kid, mixed key kinds
  std::string dup = R"({"keys":[{"kty":"oct","kid":"one","k":")" + k1 + R"("},{"kty":"oct","kid":"one","k":")" + k2 + R"("}]})";
  EXPECT_EQ(msg([&] { verify(t2, dup, at()); }), "jwt key invalid: JWKS has two keys with the same kid");
  std::string mixed = "{\"keys\":[" + jwk(ec("P-256"), false, "\"kid\":\"e\",") + R"(,{"kty":"oct","kid":"one","k":")" + k1 + "\"}]}";
  EXPECT_EQ(msg([&] { verify(t2, mixed, at()); }), "jwt key invalid: JWKS mixes symmetric and asymmetric keys");
  // encryption keys and unknown key types are skipped; a bad signing key spoils the set
  std::string with_enc = R"({"keys":[{"kty":"oct","use":"enc","kid":"two","k":")" + k1 + R"("},{"kty":"AKP","kid":"x"},{"kty":"oct","kid":"two","k":")" + k2 + R"("}]})";
  EXPECT_NO_THROW(verify(t2, with_enc, at()));
  std::string bad = R"({"keys":[{"kty":"oct","kid":"two","k":")" + k2 + R"("},{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}]})";
  Err e = error_of([&] { verify(t2, bad, at()); });
  EXPECT_EQ(e.message, "jwt key invalid: EC JWK coordinates have the wrong length for the curve");
  EXPECT_EQ(e.detail, "keys[1]");
  EXPECT_EQ(msg([&] { verify(t2, R"({"keys":{}})", at()); }), "jwt key invalid: JWKS member \"keys\" is not an array");
  EXPECT_EQ(msg([&] { verify(t2, R"({"keys":[]})", at()); }), "jwt key not found");
  // a single JWK with a kid must match a token kid when both exist
  std::string single = R"({"kty":"oct","kid":"two","k":")" + k2 + "\"}";
  EXPECT_NO_THROW(verify(t2, single, at()));
  EXPECT_NO_THROW(verify(hs_token(R"({"alg":"HS256"})", "{}", std::string(32, '2')), single, at()));
  EXPECT_EQ(msg([&] { verify(wrong_kid, single, at()); }), "jwt key not found");
}

TEST(JwtRules, JwkMembers) {
  std::string k = b64(std::string(32, 'k'));
  std::string t = tok("{}");
  EXPECT_NO_THROW(verify(t, R"({"kty":"oct","use":"sig","key_ops":["verify"],"alg":"HS256","k":")" + k + "\"}", at()));
  EXPECT_EQ(msg([&] { verify(t, R"({"kty":"oct","use":"enc","k":")" + k + "\"}", at()); }), "jwt key invalid: JWK not usable for signatures");
  EXPECT_EQ(msg([&] { verify(t, R"({"kty":"oct","key_ops":["sign"],"k":")" + k + "\"}", at()); }), "jwt key invalid: JWK not usable for signatures");
  EXPECT_EQ(msg([&] { verify(t, R"({"kty":"oct","alg":"A256GCM","k":")" + k + "\"}", at()); }), "jwt key invalid: JWK not usable for signatures");
  EXPECT_EQ(msg([&] { verify(t, R"({"kty":"oct","alg":"HS384","k":")" + k + "\"}", at()); }), "jwt key invalid: hmac key shorter than the hash output");
  std::string k64 = b64(std::string(64, 'k'));
  EXPECT_EQ(msg([&] { verify(t, R"({"kty":"oct","alg":"HS512","k":")" + k64 + "\"}", at()); }), "jwt algorithm not allowed");
  EXPECT_EQ(msg([&] { verify(t, R"({"kty":"oct","k":"a+b/"})", at()); }), "jwt key invalid: JWK member \"k\" is not canonical base64url");
  EXPECT_EQ(msg([&] { verify(t, R"({"kty":"oct","k":""})", at()); }), "jwt key invalid: empty HMAC key");
  EXPECT_EQ(msg([&] { verify(t, R"({"k":"abc"})", at()); }), "jwt key invalid: JWK member \"kty\" missing");
  EXPECT_EQ(msg([&] { verify(t, R"({"kty":"oct","k":")" + k + R"(","kty":"RSA"})", at()); }), "jwt key invalid: JWK: duplicate member name");
  EXPECT_EQ(msg([&] { verify(t, "{not json", at()); }), "jwt key invalid: JWK: invalid JSON");
  EXPECT_EQ(msg([&] { verify(t, R"({"kty":"OKP","crv":"X25519","x":"AA"})", at()); }), "jwt key invalid: unsupported OKP curve");
  EXPECT_EQ(msg([&] { verify(t, R"({"kty":"EC","crv":"secp256k1","x":"AA","y":"AA"})", at()); }), "jwt key invalid: unsupported EC curve");
  EXPECT_EQ(msg([&] { verify(t, R"({"kty":"EC","crv":"P-256"})", at()); }), "jwt key invalid: JWK member \"x\" missing");
  // EC point not on the curve
  std::string p256 = jwk(ec("P-256"), false);
  std::string moved = p256;
  size_t ypos = moved.find("\"y\":\"") + 6;
  moved[ypos] = moved[ypos] == 'A' ? 'B' : 'A';
  std::string es = sign("{}", ec("P-256").private_pem, "ES256", "");
  EXPECT_EQ(msg([&] { verify(es, moved, at()); }), "jwt key invalid: EC public key is not a valid point on its curve");
  // alg pin: RS256-pinned RSA key refuses PS256 tokens
  std::string ps = sign("{}", rsa2048().private_pem, "PS256", "");
  EXPECT_EQ(msg([&] { verify(ps, jwk(rsa2048(), false, "\"alg\":\"RS256\","), at()); }), "jwt algorithm not allowed");
  EXPECT_NO_THROW(verify(ps, jwk(rsa2048(), false, "\"alg\":\"PS256\","), at()));
  // EC alg pin that contradicts the curve
  EXPECT_EQ(msg([&] { verify(es, jwk(ec("P-256"), false, "\"alg\":\"ES384\","), at()); }), "jwt key invalid: JWK \"alg\" does not fit the key");
}

TEST(JwtRules, PemKeys) {
  std::string rs = sign("{}", rsa2048().private_pem, "RS256", "");
  // PKCS#1 "RSA PUBLIC KEY"
  BIO *b = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(b, rsa2048().pkey);
  EVP_PKEY *pk = PEM_read_bio_PUBKEY(b, nullptr, nullptr, nullptr);
  BIO_free(b);
  OSSL_ENCODER_CTX *ectx = OSSL_ENCODER_CTX_new_for_pkey(pk, EVP_PKEY_PUBLIC_KEY, "PEM", "type-specific", nullptr);
  unsigned char *data = nullptr;
  size_t len = 0;
  ASSERT_EQ(OSSL_ENCODER_to_data(ectx, &data, &len), 1);
  std::string pkcs1(reinterpret_cast<char *>(data), len);
  OPENSSL_free(data);
  OSSL_ENCODER_CTX_free(ectx);
  EVP_PKEY_free(pk);
  ASSERT_EQ(pkcs1.rfind("-----BEGIN RSA PUBLIC KEY-----", 0), 0u) << pkcs1;
  EXPECT_NO_THROW(verify(rs, pkcs1, at()));
  // a self-signed certificate
  X509 *cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, rsa2048().pkey);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char *>("t"), -1, -1, 0);
  X509_set_issuer_name(cert, X509_get_subject_name(cert));
  X509_sign(cert, rsa2048().pkey, EVP_sha256());
  b = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(b, cert);
  std::string cert_pem = bio_string(b);
  BIO_free(b);
  X509_free(cert);
  EXPECT_NO_THROW(verify(rs, cert_pem, at()));
  EXPECT_EQ(msg([&] { sign("{}", cert_pem, "RS256", ""); }), "jwt key invalid: signing needs a private key, not a certificate");
  // weak or unsupported keys
  EXPECT_EQ(msg([&] { verify(rs, rsa1024().public_pem, at()); }), "jwt key invalid: RSA key too small");
  EXPECT_EQ(msg([&] { verify(rs, ec("secp256k1").public_pem, at()); }), "jwt key invalid: unsupported EC curve");
  EXPECT_EQ(msg([&] { verify(rs, ed448().public_pem, at()); }), "jwt key invalid: unsupported key type");
  EXPECT_EQ(msg([&] { verify(rs, "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", at()); }), "jwt key invalid: unreadable PEM key");
  EXPECT_EQ(msg([&] { verify(rs, "-----BEGIN", at()); }), "jwt key invalid: unreadable PEM key");
  EXPECT_EQ(msg([&] { verify(rs, "", at()); }), "jwt key invalid: empty key");
  // encrypted private keys are refused without prompting
  b = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(b, rsa2048().pkey, EVP_aes_128_cbc(), reinterpret_cast<const unsigned char *>("pw"), 2, nullptr, nullptr);
  std::string enc = bio_string(b);
  BIO_free(b);
  EXPECT_EQ(msg([&] { sign("{}", enc, "RS256", ""); }), "jwt key invalid: encrypted PEM keys are not supported");
}

TEST(JwtRules, ErrorsNeverContainKeyMaterial) {
  std::string secret = "correct horse battery staple, very secret";
  std::string t = hs_token(R"({"alg":"HS256"})", "{}", secret + "x");
  std::vector<std::pair<std::string, std::string>> cases = {
      {t, secret},
      {t, "{\"kty\":\"oct\",\"k\":\"" + b64(secret) + "\",\"alg\":\"HS512\"}"},
      {t, "{\"kty\":\"oct\",\"k\":\"" + b64(secret) + "\",\"use\":\"enc\"}"},
      {t, "-----BEGIN PUBLIC KEY-----\n" + secret + "\n-----END PUBLIC KEY-----\n"},
      {t, rsa2048().private_pem},
      {t, jwk(rsa2048(), true)},
  };
  for (const auto &[token, key] : cases) {
    Err e = error_of([&] { verify(token, key, at()); });
    EXPECT_NE(e.message, "no error");
    for (const std::string &s : {e.message, e.detail}) {
      EXPECT_EQ(s.find("horse"), std::string::npos) << s;
      EXPECT_EQ(s.find(b64(secret).substr(4, 12)), std::string::npos) << s;
      EXPECT_EQ(s.find("MII"), std::string::npos) << s;
      EXPECT_EQ(s.find(token.substr(token.rfind('.') + 1, 10)), std::string::npos) << s;
    }
  }
}
