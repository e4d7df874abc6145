// Random UUIDv4 from a buffered CSPRNG (see uuid.h).
#include "core/uuid.h"

#include <pthread.h>

#include <cstring>
#include <mutex>

#include <openssl/crypto.h>
#include <openssl/rand.h>

namespace nova::uuid {

namespace {

bool openssl_source(void *buf, size_t len) {
  return RAND_bytes(static_cast<unsigned char *>(buf), static_cast<int>(len)) == 1;
}

RandomSource g_source = openssl_source;

struct Buffer {
  uint8_t bytes[kBufferBytes];
  size_t used = kBufferBytes;  // kBufferBytes = empty
};
thread_local Buffer t_buffer;

void wipe(Buffer &b) noexcept {
  OPENSSL_cleanse(b.bytes, sizeof b.bytes);
  b.used = kBufferBytes;
}

// Runs in the child of fork(), in the (only) thread that forked.
void after_fork_in_child() { wipe(t_buffer); }

std::once_flag g_atfork_once;

bool take(uint8_t *out, size_t n) noexcept {
  std::call_once(g_atfork_once, [] { pthread_atfork(nullptr, nullptr, after_fork_in_child); });
  Buffer &b = t_buffer;
  if (kBufferBytes - b.used < n) {
    if (!g_source(b.bytes, sizeof b.bytes)) {
      wipe(b);
      return false;
    }
    b.used = 0;
  }
  std::memcpy(out, b.bytes + b.used, n);
  std::memset(b.bytes + b.used, 0, n);  // handed-out bytes are never kept
  b.used += n;
  return true;
}

}  // namespace

void set_random_source(RandomSource source) noexcept {
  g_source = source ? source : openssl_source;
  wipe(t_buffer);
}

void discard_buffer() noexcept { wipe(t_buffer); }

bool v4(uint8_t out[16]) noexcept {
  if (!take(out, 16)) return false;
  out[6] = static_cast<uint8_t>((out[6] & 0x0f) | 0x40);  // version 4
  out[8] = static_cast<uint8_t>((out[8] & 0x3f) | 0x80);  // RFC 4122 variant
  return true;
}

void format(const uint8_t b[16], char out[37]) noexcept {
  static const char hex[] = "0123456789abcdef";
  int o = 0;
  for (int i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
    out[o++] = hex[b[i] >> 4];
    out[o++] = hex[b[i] & 0x0f];
  }
  out[o] = '\0';
}

bool v4_text(char out[37]) noexcept {
  uint8_t b[16];
  if (!v4(b)) return false;
  format(b, out);
  return true;
}

}  // namespace nova::uuid
