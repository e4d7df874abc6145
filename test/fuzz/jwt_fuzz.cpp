// libFuzzer target for the JWT core: structural decoding, verification with fixed
// HS256 / ES256 / Ed25519 keys, key parsing (JWK, JWKS, PEM, secrets), and
// verification against a fuzzer-chosen key. The first input byte picks the mode.
// Any exception other than nova::Error, any crash or sanitizer report is a bug.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/jwt.h"

namespace {
using namespace nova::jwt;

const KeySet &hs_key() {
  static KeySet k = parse_keys("nova-fuzz-hmac-secret-0123456789abcdef", KeyPurpose::kVerify);
  return k;
}
const KeySet &ec_key() {
  static KeySet k = parse_keys(
      R"({"kty":"EC","crv":"P-256","kid":"fz-ec","x":"xfCjr7gd3YO8mVG9tyFja9Ql4qZI5W0UpWPK50K4S0I","y":"d1ecOVwEcYrsXQswh-Y3cpRQ7a45z1X9rB3vbCAYLkY"})",
      KeyPurpose::kVerify);
  return k;
}
const KeySet &ed_key() {
  static KeySet k = parse_keys(R"({"kty":"OKP","crv":"Ed25519","kid":"fz-ed","x":"9sRCWt2WAou2_2lcMIo-pjWp7LjapEikhS54mo1cj9Y"})",
                               KeyPurpose::kVerify);
  return k;
}

VerifyOptions options(uint8_t flags) {
  VerifyOptions o;
  o.now = 1700000000;
  o.leeway = flags & 1 ? 0 : 30;
  if (flags & 2) o.audience = "api";
  if (flags & 4) o.issuer = "https://idp";
  if (flags & 8) o.algorithms = {"HS256", "ES256", "EdDSA"};
  return o;
}

void run(uint8_t mode, std::string_view in) {
  uint8_t flags = static_cast<uint8_t>(mode >> 3);
  switch (mode % 6) {
    case 0: {
      Decoded d = decode_unverified(in);
      (void)d;
      break;
    }
    case 1: verify(in, hs_key(), options(flags)); break;
    case 2: verify(in, ec_key(), options(flags)); break;
    case 3: verify(in, ed_key(), options(flags)); break;
    case 4: {
      KeySet k = parse_keys(in, flags & 1 ? KeyPurpose::kSign : KeyPurpose::kVerify);
      // Signing with a huge fuzzer-made RSA key is merely slow; keep runs fast.
      if (flags & 1 && !k.keys.empty() && k.keys.front()->bits <= 4096) {
        for (const char *alg : {"HS256", "RS256", "PS256", "ES256", "ES384", "ES512", "EdDSA"}) {
          try {
            std::string t = sign(R"({"sub":"f"})", k, alg, k.is_set ? R"({"kid":"fz-ec"})" : "");
            verify(t, k, options(0));
          } catch (const nova::Error &) {
          }
        }
      }
      break;
    }
    case 5: {  // "<key text>\n<token>"
      size_t nl = in.find('\n');
      if (nl == std::string_view::npos) break;
      verify(in.substr(nl + 1), parse_keys(in.substr(0, nl), KeyPurpose::kVerify), options(flags));
      break;
    }
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  std::string_view in(reinterpret_cast<const char *>(data) + 1, size - 1);
  try {
    run(data[0], in);
  } catch (const nova::Error &) {
  }
  return 0;
}
