// Instruction-count harness for the core HS256 verifier (docs/benchmarks.md, "JWT verification"):
// N verifications of distinct tokens shaped like bench/jwt_verify.sh's bench.hs (sub, jti and iat
// differ per token), no PostgreSQL. Built and run under callgrind by bench/jwt_core_callgrind.sh.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/jwt.h"

int main(int argc, char **argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 20000;
  const char *secret = "bench-secret-0123456789abcdef-32b";
  nova::jwt::KeySet sign_key = nova::jwt::parse_keys(secret, nova::jwt::KeyPurpose::kSign);
  std::vector<std::string> tokens;
  tokens.reserve(static_cast<size_t>(n));
  for (int i = 1; i <= n; i++) {
    char claims[256];
    std::snprintf(claims, sizeof claims,
                  R"({"aud":"api","exp":4000000000,"iat":%d,"iss":"https://idp.example","jti":"%032x","roles":["reader","writer"],"sub":"user-%d"})",
                  1700000000 + i, static_cast<unsigned>(i) * 2654435761u, i);
    tokens.push_back(nova::jwt::sign(claims, sign_key, "HS256", ""));
  }
  nova::jwt::KeySet keys = nova::jwt::parse_keys(secret, nova::jwt::KeyPurpose::kVerify);
  nova::jwt::VerifyOptions opts;
  opts.now = 1800000000;
  size_t events = 0;
  for (const auto &t : tokens) events += nova::jwt::verify(t, keys, opts).claims.events.size();
  std::printf("%d tokens verified, %zu events\n", n, events);
  return events == 0;
}
