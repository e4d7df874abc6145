// nova's JSON Schema subset (docs/schemas.md): compile a schema document, validate
// instances against it, report the JSON path of the first violation.
//
// Supported keywords: type (a name or an array of names), properties, required,
// additionalProperties (boolean only), items (one schema), enum, const, format
// (date-time, uuid, email — asserted), minimum, maximum, minLength, maxLength
// (Unicode code points); annotations default, $schema, $id, title, description.
// The boolean schemas `true` and `false` are accepted wherever a schema is.
// Any other keyword is rejected by compile() with its name and path.
//
// Plain C++ (no postgres.h); failures throw nova::Error (SQLSTATE 22023).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace nova::schema {

using json = nlohmann::json;

// JSON types as a bit set. kNumber includes integers (see expand_types()).
enum TypeBit : unsigned {
  kString = 1u << 0,
  kNumber = 1u << 1,
  kInteger = 1u << 2,
  kBoolean = 1u << 3,
  kObject = 1u << 4,
  kArray = 1u << 5,
  kNull = 1u << 6,
  kAnyType = (1u << 7) - 1,
};

// Adds kInteger wherever kNumber is present: the set of values the bits accept.
inline unsigned expand_types(unsigned t) { return (t & kNumber) ? (t | kInteger) : t; }
// "string", "string or null", "integer, number or null" …
std::string type_names(unsigned types);

// JSON numbers compared exactly: integers within 64 bits (signed or unsigned)
// compare as integers, never through double (9007199254740993 > 9007199254740992);
// an integer against a fraction compares exactly too. Returns <0, 0, >0.
// Both arguments must be numbers.
int compare_numbers(const json &a, const json &b);
// Deep equality of JSON values with numbers compared by compare_numbers()
// (nlohmann's operator== compares an integer and a float through double).
bool json_equal(const json &a, const json &b);

// A bound (minimum, maximum) kept as the number the schema wrote.
struct Number {
  json value = 0;
  Number() = default;
  explicit Number(json v) : value(std::move(v)) {}
  std::string text() const { return value.dump(); }
  friend bool operator<(const Number &a, const Number &b) { return compare_numbers(a.value, b.value) < 0; }
  friend bool operator>(const Number &a, const Number &b) { return compare_numbers(a.value, b.value) > 0; }
  friend bool operator<=(const Number &a, const Number &b) { return compare_numbers(a.value, b.value) <= 0; }
  friend bool operator==(const Number &a, const Number &b) { return compare_numbers(a.value, b.value) == 0; }
  friend bool operator!=(const Number &a, const Number &b) { return !(a == b); }
};

// `s` when it has at most `max_bytes` bytes, else its start cut on a UTF-8
// character boundary followed by "...", at most `max_bytes` bytes in all (so an
// error message never ends in half a character). max_bytes must be >= 3.
std::string utf8_truncate(const std::string &s, size_t max_bytes);

enum class Format { kNone, kDateTime, kUuid, kEmail };
const char *format_name(Format f);

// One compiled (sub)schema.
struct Node {
  bool never = false;        // the boolean schema `false`: no value is valid
  bool has_type = false;     // `type` present
  unsigned types = kAnyType; // accepted types (before expand_types)
  std::map<std::string, std::unique_ptr<Node>> properties;
  std::set<std::string> required;
  bool additional_properties = true;  // false = closed content model
  std::unique_ptr<Node> items;
  std::optional<std::vector<json>> enum_values;
  std::optional<json> const_value;
  std::optional<json> default_value;  // annotation only
  Format format = Format::kNone;
  std::optional<Number> minimum, maximum;
  std::optional<uint64_t> min_length, max_length;

  // True when the node accepts every JSON value (`true`, `{}`, annotations only).
  bool accepts_anything() const;
};

// The first way an instance fails its schema.
struct Violation {
  std::string path;     // JSON path of the offending value: $, $.author.id, $.tags[2]
  std::string message;  // e.g. "expected integer, got string"
  std::string to_string() const { return path + ": " + message; }
};

class Schema {
 public:
  // Compile a schema document. Throws nova::Error(22023) naming the offending keyword and its path.
  static Schema compile(const json &document);
  // Parse JSON text, then compile.
  static Schema parse(std::string_view text);

  const Node &root() const { return *root_; }
  const json &document() const { return document_; }

  // nullopt when valid, else the first violation (depth first, properties in key order).
  std::optional<Violation> validate(const json &instance) const;

 private:
  std::shared_ptr<const Node> root_;
  json document_;
};

// Path rendering shared by the validator and the compatibility checker.
std::string path_key(std::string_view parent, std::string_view key);  // $.a or $["a b"]
std::string path_index(std::string_view parent, size_t index);         // $.a[3]

// Format checks (exposed for tests).
bool is_date_time(std::string_view s);  // RFC 3339 date-time
bool is_uuid(std::string_view s);       // 8-4-4-4-12 hex digits, any case
bool is_email(std::string_view s);      // dot-atom local part @ host name or [address literal]
// Number of Unicode code points in UTF-8 text (invalid bytes count one each).
size_t utf8_length(std::string_view s);

// Schemas may nest at most this deep (guards the recursion).
inline constexpr int kMaxSchemaDepth = 64;

}  // namespace nova::schema
