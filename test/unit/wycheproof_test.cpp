// Wycheproof conformance (C2SP/wycheproof, Apache-2.0; vectors vendored in test/data/wycheproof, see SOURCE there).
//
// Every case of json_web_signature_test.json and json_web_key_test.json goes through
// nova::jwt::verify_jws with the group's key (public JWK when present, else the private
// one); every case of the per-algorithm files goes through the matching primitive.
//
// Policy:
//   valid      → must verify;  invalid → must be rejected;
//   acceptable → either outcome is fine; both are counted and printed.
//   A few "valid" JWS vectors conflict with rules nova applies on purpose (docs/jwt.md);
//   they are listed in kDeliberate with the rule, must be rejected, and are counted apart.
// Any other disagreement fails the test. Counts are printed for docs/jwt.md.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/jwt.h"

using nlohmann::json;
using namespace nova::jwt;

namespace {

std::string vectors_dir() {
  if (const char *s = std::getenv("NOVA_WYCHEPROOF_DIR"); s && *s) return s;
  // build/unit_tests lives in <repo>/build: the vectors are in <repo>/test/data/wycheproof.
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {
    std::string p(exe, static_cast<size_t>(n));
    p = p.substr(0, p.rfind('/'));  // <repo>/build
    p = p.substr(0, p.rfind('/'));  // <repo>
    return p + "/test/data/wycheproof";
  }
  return "test/data/wycheproof";
}

json load(const std::string &name) {
  std::string path = vectors_dir() + "/" + name;
  std::ifstream in(path);
  if (!in) {
    ADD_FAILURE() << "cannot open " << path << " (set NOVA_WYCHEPROOF_DIR)";
    return json();
  }
  return json::parse(in);
}

std::string unhex(const std::string &h) {
  std::string out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) out += static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16));
  return out;
}

struct Counts {
  int valid_ok = 0, invalid_rejected = 0, acceptable_accepted = 0, acceptable_rejected = 0, deliberate = 0, failures = 0;
  int contradictory = 0;  // "invalid" vectors byte-identical to a "valid" one of the same group
  int total() const {
    return valid_ok + invalid_rejected + acceptable_accepted + acceptable_rejected + deliberate + contradictory + failures;
  }
};

void record(Counts &c, const std::string &file, int tc, const std::string &result, bool accepted, bool deliberate,
            const std::string &why) {
  if (deliberate) {
    if (accepted) {
      c.failures++;
      ADD_FAILURE() << file << " tcId " << tc << ": deliberate rejection expected";
    } else {
      c.deliberate++;
    }
    return;
  }
  if (result == "valid") {
    if (accepted) c.valid_ok++;
    else { c.failures++; ADD_FAILURE() << file << " tcId " << tc << ": valid vector rejected: " << why; }
  } else if (result == "invalid") {
    if (!accepted) c.invalid_rejected++;
    else { c.failures++; ADD_FAILURE() << file << " tcId " << tc << ": invalid vector accepted"; }
  } else {
    (accepted ? c.acceptable_accepted : c.acceptable_rejected)++;
  }
}

void print(const std::string &file, const Counts &c) {
  std::printf("[wycheproof] %-42s cases %4d: valid ok %d, invalid rejected %d, acceptable accepted/rejected %d/%d, "
              "deliberately rejected valid %d, contradictory %d, failures %d\n",
              file.c_str(), c.total(), c.valid_ok, c.invalid_rejected, c.acceptable_accepted, c.acceptable_rejected,
              c.deliberate, c.contradictory, c.failures);
  std::fflush(stdout);
}

// "valid" JWS vectors nova rejects on purpose, with the rule (docs/jwt.md).
const std::map<std::pair<std::string, int>, const char *> kDeliberate = {
    {{"json_web_signature_test.json", 346}, "a JWK's alg pins the algorithm: PS384 token, key alg PS256"},
    {{"json_web_signature_test.json", 350}, "a JWK's alg pins the algorithm: PS384 token, key alg PS256"},
    {{"json_web_signature_test.json", 347}, "key alg \"ES521\" is not a JWS algorithm (ES512 is)"},
    {{"json_web_signature_test.json", 351}, "key alg \"ES521\" is not a JWS algorithm (ES512 is)"},
    {{"json_web_signature_test.json", 372}, "canonical base64url only: '?' inside the header"},
    {{"json_web_signature_test.json", 373}, "canonical base64url only: '?' inside the payload"},
};

void run_jose_file(const std::string &file) {
  json doc = load(file);
  Counts c;
  for (const auto &g : doc["testGroups"]) {
    const json &keyj = g.contains("public") ? g["public"] : g["private"];
    std::string key_text = keyj.dump();
    std::set<std::string> valid_tokens;
    for (const auto &t : g["tests"])
      if (t["result"] == "valid" && t["jws"].is_string()) valid_tokens.insert(t["jws"].get<std::string>());
    for (const auto &t : g["tests"]) {
      int tc = t["tcId"].get<int>();
      std::string token = t["jws"].is_string() ? t["jws"].get<std::string>() : t["jws"].dump();
      bool accepted = false;
      std::string why;
      try {
        KeySet keys = parse_keys(key_text, KeyPurpose::kVerify);
        verify_jws(token, keys, {});
        accepted = true;
      } catch (const nova::Error &e) {
        why = e.what();
        EXPECT_STREQ(e.sqlstate(), "28000") << file << " tcId " << tc;
      }
      if (std::getenv("NOVA_WYCHEPROOF_VERBOSE"))
        std::printf("  tcId %d %s (%s): %s\n", tc, t["result"].get<std::string>().c_str(),
                    t["comment"].get<std::string>().c_str(), accepted ? "accepted" : why.c_str());
      if (t["result"] == "invalid" && valid_tokens.count(token)) {
        // The file's tcIds 367 and 370 ("invalidBase64Padding…") carry exactly the token of
        // valid tcId 357 (the padding they describe is not in the file): no verifier can
        // reject one and accept the other. nova must treat them like tcId 357.
        if (accepted) c.contradictory++;
        else { c.failures++; ADD_FAILURE() << file << " tcId " << tc << ": rejected a token identical to a valid vector"; }
        continue;
      }
      record(c, file, tc, t["result"].get<std::string>(), accepted, kDeliberate.count({file, tc}) > 0, why);
    }
  }
  print(file, c);
  EXPECT_EQ(c.failures, 0);
  EXPECT_EQ(c.total(), doc["numberOfTests"].get<int>());
}

void run_primitive_file(const std::string &file, Alg alg) {
  json doc = load(file);
  Counts c;
  for (const auto &g : doc["testGroups"]) {
    KeyPtr key;
    std::string key_error;
    try {
      key = primitive::public_key_from_der(unhex(g["publicKeyDer"].get<std::string>()));
    } catch (const nova::Error &e) {
      key_error = e.what();
    }
    for (const auto &t : g["tests"]) {
      bool accepted = key && primitive::verify(*key, alg, unhex(t["msg"].get<std::string>()), unhex(t["sig"].get<std::string>()));
      record(c, file, t["tcId"].get<int>(), t["result"].get<std::string>(), accepted, false, key ? "signature" : key_error);
    }
  }
  print(file, c);
  EXPECT_EQ(c.failures, 0);
  EXPECT_EQ(c.total(), doc["numberOfTests"].get<int>());
}

}  // namespace

TEST(Wycheproof, JsonWebSignature) { run_jose_file("json_web_signature_test.json"); }
TEST(Wycheproof, JsonWebKey) { run_jose_file("json_web_key_test.json"); }
TEST(Wycheproof, EcdsaP256) { run_primitive_file("ecdsa_secp256r1_sha256_p1363_test.json", Alg::ES256); }
TEST(Wycheproof, EcdsaP384) { run_primitive_file("ecdsa_secp384r1_sha384_p1363_test.json", Alg::ES384); }
TEST(Wycheproof, EcdsaP521) { run_primitive_file("ecdsa_secp521r1_sha512_p1363_test.json", Alg::ES512); }
TEST(Wycheproof, RsaPkcs1Sha256) { run_primitive_file("rsa_signature_2048_sha256_test.json", Alg::RS256); }
TEST(Wycheproof, RsaPssSha256) { run_primitive_file("rsa_pss_2048_sha256_mgf1_32_test.json", Alg::PS256); }
TEST(Wycheproof, Ed25519) { run_primitive_file("ed25519_test.json", Alg::EdDSA); }

// HMAC: groups with a full 256-bit tag go through primitive::verify (JWS never truncates a
// MAC, so the verifier demands the full tag); truncated-tag groups check primitive::sign's
// output prefix, and the verifier must reject the truncated tags of their valid cases.
TEST(Wycheproof, HmacSha256) {
  const std::string file = "hmac_sha256_test.json";
  json doc = load(file);
  Counts c;
  int truncated_rejected = 0;
  for (const auto &g : doc["testGroups"]) {
    int tag_bits = g["tagSize"].get<int>();
    for (const auto &t : g["tests"]) {
      KeyPtr key = primitive::hmac_key(unhex(t["key"].get<std::string>()));
      std::string msg = unhex(t["msg"].get<std::string>()), tag = unhex(t["tag"].get<std::string>());
      bool accepted;
      if (tag_bits == 256) {
        accepted = primitive::verify(*key, Alg::HS256, msg, tag);
      } else {
        std::string full = primitive::sign(*key, Alg::HS256, msg);
        accepted = full.compare(0, tag.size(), tag) == 0 && tag.size() * 8 == static_cast<size_t>(tag_bits);
        if (primitive::verify(*key, Alg::HS256, msg, tag)) ADD_FAILURE() << "truncated tag accepted, tcId " << t["tcId"];
        else truncated_rejected++;
      }
      record(c, file, t["tcId"].get<int>(), t["result"].get<std::string>(), accepted, false, "mac");
    }
  }
  print(file, c);
  std::printf("[wycheproof] %-42s truncated tags rejected by the JWS verifier: %d\n", file.c_str(), truncated_rejected);
  EXPECT_EQ(c.failures, 0);
  EXPECT_EQ(c.total(), doc["numberOfTests"].get<int>());
}
