#define NOVA_CORE_TRANSLATION_UNIT 1
#include "core/base64url.h"

#include <array>
#include <cstdint>

namespace nova::b64url {
namespace {
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr std::array<int8_t, 256> make_table() {
  std::array<int8_t, 256> t{};
  for (auto &v : t) v = -1;
  for (int i = 0; i < 64; i++) t[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int8_t>(i);
  return t;
}
constexpr std::array<int8_t, 256> kTable = make_table();
}  // namespace

std::string encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() * 4 + 2) / 3);
  const auto *p = reinterpret_cast<const unsigned char *>(in.data());
  size_t n = in.size(), i = 0;
  for (; i + 3 <= n; i += 3) {
    uint32_t v = (uint32_t(p[i]) << 16) | (uint32_t(p[i + 1]) << 8) | p[i + 2];
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (n - i == 1) {
    uint32_t v = uint32_t(p[i]) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
  } else if (n - i == 2) {
    uint32_t v = (uint32_t(p[i]) << 16) | (uint32_t(p[i + 1]) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
  }
  return out;
}

bool decode(std::string_view in, std::string &out) {
  size_t n = in.size();
  if (n % 4 == 1) return false;
  out.reserve(out.size() + n * 3 / 4);
  const auto *p = reinterpret_cast<const unsigned char *>(in.data());
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    int a = kTable[p[i]], b = kTable[p[i + 1]], c = kTable[p[i + 2]], d = kTable[p[i + 3]];
    if ((a | b | c | d) < 0) return false;
    uint32_t v = (uint32_t(a) << 18) | (uint32_t(b) << 12) | (uint32_t(c) << 6) | uint32_t(d);
    out += char(v >> 16);
    out += char((v >> 8) & 0xff);
    out += char(v & 0xff);
  }
  size_t rest = n - i;
  if (rest == 2) {
    int a = kTable[p[i]], b = kTable[p[i + 1]];
    if ((a | b) < 0 || (b & 0x0f) != 0) return false;  // 4 unused bits must be zero
    out += char((a << 2) | (b >> 4));
  } else if (rest == 3) {
    int a = kTable[p[i]], b = kTable[p[i + 1]], c = kTable[p[i + 2]];
    if ((a | b | c) < 0 || (c & 0x03) != 0) return false;  // 2 unused bits must be zero
    uint32_t v = (uint32_t(a) << 12) | (uint32_t(b) << 6) | uint32_t(c);
    out += char(v >> 10);
    out += char((v >> 2) & 0xff);
  }
  return true;
}

}  // namespace nova::b64url
