// nova's one random-UUID (version 4) generator (docs/architecture.md, "Random
// ids"). Every random id nova makes — generated correlation ids, outbox event
// ids, and any new id — comes from here; do not add another pg_strong_random /
// RAND_bytes / gen_random_uuid path, and do not add a second id buffer: call
// nova::uuid::v4().
//
// Random bytes come from a per-thread buffer (a backend is one thread) refilled
// from a CSPRNG (OpenSSL RAND_bytes by default, or the source given to
// set_random_source) kBufferBytes at a time, so generating a UUID makes no
// system call. Fork safety: a pthread_atfork child handler wipes the buffer, so
// a backend never hands out bytes its postmaster parent (or a sibling forked
// from the same parent) could also hand out. Plain C++: no postgres.h.
#pragma once

#include <cstddef>
#include <cstdint>

namespace nova::uuid {

constexpr size_t kBufferBytes = 1024;  // 64 UUIDs per CSPRNG call

// A CSPRNG: fills `len` bytes, false on failure.
using RandomSource = bool (*)(void *buf, size_t len);

// Replaces the CSPRNG (nullptr restores RAND_bytes) and discards buffered bytes.
// For tests and for callers that must use their host's CSPRNG.
void set_random_source(RandomSource source) noexcept;

// 16 random bytes with the version (4) and RFC 4122/9562 variant bits set.
// False only when the CSPRNG failed (then `out` is unspecified).
bool v4(uint8_t out[16]) noexcept;

// The canonical lower-case text form, 36 characters + NUL.
void format(const uint8_t bytes[16], char out[37]) noexcept;

// v4() in text form; false when the CSPRNG failed.
bool v4_text(char out[37]) noexcept;

// Discards this thread's buffered bytes (also done automatically in a forked child).
void discard_buffer() noexcept;

}  // namespace nova::uuid
