// Strict JSON parsing for JOSE headers, JWT claims and JWKs (nlohmann-json).
// Rejects duplicate member names at any depth and strings holding U+0000
// (PostgreSQL's jsonb cannot store them), so what nova checks is exactly
// what jsonb later shows.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace nova::jwt_json {

enum class Problem { kNone, kSyntax, kDuplicateKey, kNulCharacter, kNotObject };

// Parses `text`; on failure returns the problem and leaves `out` unspecified.
Problem parse(std::string_view text, nlohmann::json &out, bool require_object = true);

const char *describe(Problem p);

}  // namespace nova::jwt_json
