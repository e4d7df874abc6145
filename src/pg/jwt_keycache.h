// Parsed JWT keys per backend, shared by nova.jwt_verify/jwt_sign and
// nova.authenticate: a PEM or JWKS text is decoded once, not on every call.
#pragma once

#include <string_view>

#include "core/jwt.h"

namespace nova::pg {
// The parsed form of `text` (exact text match on the last few texts seen).
nova::jwt::KeySet cached_keys(std::string_view text, nova::jwt::KeyPurpose purpose);
}  // namespace nova::pg
