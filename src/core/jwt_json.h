// Strict JSON parsing for JOSE headers, JWT claims and JWKs: parse() on nlohmann-json (a DOM),
// scan() on simdjson On Demand (the verification path).
// Rejects duplicate member names at any depth and strings holding U+0000
// (PostgreSQL's jsonb cannot store them), so what nova checks is exactly
// what jsonb later shows.
#pragma once

#include <nlohmann/json.hpp>

#include "core/json_events.h"
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nova::jwt_json {

enum class Problem { kNone, kSyntax, kDuplicateKey, kNulCharacter, kNotObject };

// Parses `text`; on failure returns the problem and leaves `out` unspecified.
Problem parse(std::string_view text, nlohmann::json &out, bool require_object = true);

const char *describe(Problem p);

}  // namespace nova::jwt_json

namespace nova::jwt_json {

// A fast validating scan (simdjson On Demand, no DOM) that applies the same rules as
// parse() and captures the top-level members: scalars, and the string elements of
// top-level arrays. Used for JOSE headers and JWT claims on the verification path.
// The strings view the scanner's per-thread buffer: they stay valid until the next scan()
// on the same thread (read them, or copy them, before scanning again).
struct TopValue {
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject } kind = Kind::kNull;
  bool boolean = false;
  double number = 0;
  std::string_view string;
  std::vector<std::string_view> strings;  // kArray: its string elements (others are skipped)
};
// Whether two member names are equal (cheap tests first: most names here are short and
// many have the same length).
inline bool same_name(std::string_view a, std::string_view b) {
  return a.size() == b.size() && (a.empty() || (a[0] == b[0] && a.compare(b) == 0));
}
struct Top {
  bool is_object = false;
  std::vector<std::pair<std::string, TopValue>> members;
  const TopValue *find(std::string_view name) const {
    for (const auto &m : members)
      if (same_name(m.first, name)) return &m.second;
    return nullptr;
  }
};
// With `events`, also records every value of the document, in order (strings unescaped,
// numbers as their JSON text unless they fit int64); on failure the events are unspecified.
// With `wanted` (n_wanted names), only top-level members of those names are captured in
// `out` (the whole document is checked all the same).
// Nesting deeper than 1000 levels is reported as kSyntax.
Problem scan(std::string_view text, Top &out, json_events::Events *events = nullptr,
             const std::string_view *wanted = nullptr, size_t n_wanted = 0);

}  // namespace nova::jwt_json
