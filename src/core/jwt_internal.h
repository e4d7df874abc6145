// Internals shared by src/core/jwt*.cpp (not part of the contract).
#pragma once

#include <string>

#include "core/error.h"

namespace nova::jwt::internal {

[[noreturn]] inline void fail(const std::string &message, std::string detail = {}) {
  throw nova::Error(nova::sqlstate::kInvalidAuthorization, message, std::move(detail));
}
[[noreturn]] inline void malformed(const std::string &what, std::string detail = {}) {
  fail("jwt malformed: " + what, std::move(detail));
}
[[noreturn]] inline void key_invalid(const std::string &what, std::string detail = {}) {
  fail("jwt key invalid: " + what, std::move(detail));
}

size_t hash_bytes(int alg_index);

}  // namespace nova::jwt::internal
