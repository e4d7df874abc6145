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

// The same table four times, each value already shifted to its place in a 24-bit group, and
// kBad (a bit no valid group has) for characters outside the alphabet: one OR per character
// and one test per group of four.
constexpr uint32_t kBad = 1u << 31;
constexpr std::array<uint32_t, 256> make_shifted(int shift) {
  std::array<uint32_t, 256> t{};
  for (int i = 0; i < 256; i++) t[i] = kTable[i] < 0 ? kBad : static_cast<uint32_t>(kTable[i]) << shift;
  return t;
}
constexpr std::array<uint32_t, 256> kShift18 = make_shifted(18), kShift12 = make_shifted(12),
                                    kShift6 = make_shifted(6), kShift0 = make_shifted(0);
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
  size_t start = out.size();
  out.resize(start + n / 4 * 3 + (n % 4 == 0 ? 0 : n % 4 - 1));
  auto *o = reinterpret_cast<unsigned char *>(out.data()) + start;
  const auto *p = reinterpret_cast<const unsigned char *>(in.data());
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    uint32_t v = kShift18[p[i]] | kShift12[p[i + 1]] | kShift6[p[i + 2]] | kShift0[p[i + 3]];
    if (v & kBad) return false;
    *o++ = static_cast<unsigned char>(v >> 16);
    *o++ = static_cast<unsigned char>((v >> 8) & 0xff);
    *o++ = static_cast<unsigned char>(v & 0xff);
  }
  size_t rest = n - i;
  if (rest == 2) {
    int a = kTable[p[i]], b = kTable[p[i + 1]];
    if ((a | b) < 0 || (b & 0x0f) != 0) return false;  // 4 unused bits must be zero
    *o++ = static_cast<unsigned char>((a << 2) | (b >> 4));
  } else if (rest == 3) {
    int a = kTable[p[i]], b = kTable[p[i + 1]], c = kTable[p[i + 2]];
    if ((a | b | c) < 0 || (c & 0x03) != 0) return false;  // 2 unused bits must be zero
    uint32_t v = (uint32_t(a) << 12) | (uint32_t(b) << 6) | uint32_t(c);
    *o++ = static_cast<unsigned char>(v >> 10);
    *o++ = static_cast<unsigned char>((v >> 2) & 0xff);
  }
  return true;
}

}  // namespace nova::b64url
