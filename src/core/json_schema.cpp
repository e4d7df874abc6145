// nova's JSON Schema subset: compiler and validator (see json_schema.h).
#define NOVA_CORE_TRANSLATION_UNIT
#include "core/json_schema.h"

#include <cmath>
#include <cstring>

namespace nova::schema {

namespace {

[[noreturn]] void invalid(const std::string &message, const std::string &hint = {}) {
  throw Error(sqlstate::kInvalidParameterValue, "invalid schema: " + message, {}, hint);
}

constexpr const char *kSupportedKeywords =
    "type, properties, required, additionalProperties (boolean), items (one schema), enum, const, default, "
    "format (date-time, uuid, email), minimum, maximum, minLength, maxLength, $schema, $id, title, description";

bool is_identifier(std::string_view k) {
  if (k.empty()) return false;
  for (size_t i = 0; i < k.size(); i++) {
    unsigned char c = static_cast<unsigned char>(k[i]);
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

unsigned type_bit(std::string_view name) {
  if (name == "string") return kString;
  if (name == "number") return kNumber;
  if (name == "integer") return kInteger;
  if (name == "boolean") return kBoolean;
  if (name == "object") return kObject;
  if (name == "array") return kArray;
  if (name == "null") return kNull;
  return 0;
}

bool is_integral(const json &v) {
  if (v.is_number_integer()) return true;
  if (!v.is_number_float()) return false;
  double d = v.get<double>();
  return std::isfinite(d) && std::floor(d) == d;
}

// The type an instance reports in messages.
const char *instance_type(const json &v) {
  switch (v.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return "boolean";
    case json::value_t::string: return "string";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "integer";
    case json::value_t::number_float: return "number";
    case json::value_t::object: return "object";
    case json::value_t::array: return "array";
    default: return "unknown";
  }
}

// Does the instance have one of the accepted types?
bool type_matches(unsigned types, const json &v) {
  switch (v.type()) {
    case json::value_t::null: return types & kNull;
    case json::value_t::boolean: return types & kBoolean;
    case json::value_t::string: return types & kString;
    case json::value_t::object: return types & kObject;
    case json::value_t::array: return types & kArray;
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      if (types & kNumber) return true;
      return (types & kInteger) && is_integral(v);
    default: return false;
  }
}

std::string short_value(const json &v) {
  return utf8_truncate(v.dump(-1, ' ', false, json::error_handler_t::replace), 60);
}

std::string number_text(const Number &n) { return n.text(); }

uint64_t length_value(const json &v, const std::string &kw, const std::string &path) {
  if (!v.is_number() || !is_integral(v) || (v.is_number_integer() && !v.is_number_unsigned() && v.get<int64_t>() < 0) ||
      (v.is_number_float() && v.get<double>() < 0))
    invalid("\"" + kw + "\" at " + path + " must be a non-negative integer, got " + short_value(v));
  if (v.is_number_float()) {
    double d = v.get<double>();
    return d >= 1.8e19 ? UINT64_MAX : static_cast<uint64_t>(d);
  }
  return v.get<uint64_t>();
}

std::unique_ptr<Node> compile_node(const json &doc, const std::string &path, int depth) {
  if (depth > kMaxSchemaDepth)
    invalid("schema nested deeper than " + std::to_string(kMaxSchemaDepth) + " levels at " + path);
  auto node = std::make_unique<Node>();
  if (doc.is_boolean()) {
    node->never = !doc.get<bool>();
    return node;
  }
  if (!doc.is_object())
    invalid("a schema must be a JSON object or a boolean, got " + std::string(instance_type(doc)) + " at " + path);

  for (const auto &[kw, v] : doc.items()) {
    if (kw == "type") {
      auto add = [&](const json &name) {
        unsigned bit = name.is_string() ? type_bit(name.get_ref<const std::string &>()) : 0;
        if (!bit)
          invalid("unknown type " + short_value(name) + " at " + path +
                  " (expected string, number, integer, boolean, object, array or null)");
        if (node->has_type && (node->types & bit)) invalid("duplicate type " + short_value(name) + " at " + path);
        node->types = (node->has_type ? node->types : 0) | bit;
        node->has_type = true;
      };
      if (v.is_array()) {
        if (v.empty()) invalid("\"type\" at " + path + " must not be an empty array");
        for (const auto &t : v) add(t);
      } else {
        add(v);
      }
    } else if (kw == "properties") {
      if (!v.is_object()) invalid("\"properties\" at " + path + " must be an object");
      for (const auto &[name, sub] : v.items())
        node->properties.emplace(name, compile_node(sub, path_key(path_key(path, "properties"), name), depth + 1));
    } else if (kw == "required") {
      if (!v.is_array()) invalid("\"required\" at " + path + " must be an array of property names");
      for (const auto &r : v) {
        if (!r.is_string()) invalid("\"required\" at " + path + " must contain only strings, got " + short_value(r));
        if (!node->required.insert(r.get<std::string>()).second)
          invalid("\"required\" at " + path + " lists " + short_value(r) + " twice");
      }
    } else if (kw == "additionalProperties") {
      if (!v.is_boolean())
        invalid("\"additionalProperties\" at " + path + " must be true or false (schemas are not supported)",
                "nova supports closed (false) and open (true, the default) content models only");
      node->additional_properties = v.get<bool>();
    } else if (kw == "items") {
      if (v.is_array())
        invalid("\"items\" at " + path + " must be one schema (tuple validation with an array is not supported)");
      node->items = compile_node(v, path_key(path, "items"), depth + 1);
    } else if (kw == "enum") {
      if (!v.is_array() || v.empty()) invalid("\"enum\" at " + path + " must be a non-empty array");
      std::vector<json> values;
      for (const auto &e : v) {
        for (const auto &seen : values)
          if (seen == e) invalid("\"enum\" at " + path + " lists " + short_value(e) + " twice");
        values.push_back(e);
      }
      node->enum_values = std::move(values);
    } else if (kw == "const") {
      node->const_value = v;
    } else if (kw == "default") {
      node->default_value = v;
    } else if (kw == "format") {
      if (!v.is_string()) invalid("\"format\" at " + path + " must be a string");
      const std::string &f = v.get_ref<const std::string &>();
      if (f == "date-time") node->format = Format::kDateTime;
      else if (f == "uuid") node->format = Format::kUuid;
      else if (f == "email") node->format = Format::kEmail;
      else invalid("unsupported format \"" + f + "\" at " + path, "supported formats: date-time, uuid, email");
    } else if (kw == "minimum" || kw == "maximum") {
      if (!v.is_number()) invalid("\"" + kw + "\" at " + path + " must be a number, got " + short_value(v));
      (kw == "minimum" ? node->minimum : node->maximum) = Number(v);
    } else if (kw == "minLength" || kw == "maxLength") {
      (kw == "minLength" ? node->min_length : node->max_length) = length_value(v, kw, path);
    } else if (kw == "$schema" || kw == "$id" || kw == "title" || kw == "description") {
      if (!v.is_string()) invalid("\"" + kw + "\" at " + path + " must be a string");
    } else {
      invalid("unsupported keyword \"" + kw + "\" at " + path, std::string("supported keywords: ") + kSupportedKeywords);
    }
  }
  return node;
}

// ---------------------------------------------------------------------------
// Validation. The path is kept as a stack of segments and rendered only when a
// violation is found, so valid instances cost no string building.
struct Segment {
  const std::string *key;  // nullptr for an array index
  size_t index;
};

std::string render(const std::vector<Segment> &segs) {
  std::string p = "$";
  for (const auto &s : segs) p = s.key ? path_key(p, *s.key) : path_index(p, s.index);
  return p;
}

bool in_enum(const std::vector<json> &values, const json &v) {
  for (const auto &e : values)
    if (json_equal(e, v)) return true;
  return false;
}

std::optional<Violation> fail(const std::vector<Segment> &segs, std::string message) {
  return Violation{render(segs), std::move(message)};
}

std::optional<Violation> check(const Node &n, const json &v, std::vector<Segment> &segs) {
  if (n.never) return fail(segs, "no value is allowed here (schema is false)");
  if (n.has_type && !type_matches(n.types, v))
    return fail(segs, "expected " + type_names(n.types) + ", got " + instance_type(v));
  if (n.const_value && !json_equal(*n.const_value, v))
    return fail(segs, "value " + short_value(v) + " does not equal const " + short_value(*n.const_value));
  if (n.enum_values && !in_enum(*n.enum_values, v)) {
    std::string allowed;
    for (const auto &e : *n.enum_values) allowed += (allowed.empty() ? "" : ", ") + short_value(e);
    allowed = utf8_truncate(allowed, 200);
    return fail(segs, "value " + short_value(v) + " is not one of the enum values [" + allowed + "]");
  }
  if (v.is_string()) {
    const std::string &s = v.get_ref<const std::string &>();
    if (n.min_length || n.max_length) {
      size_t len = utf8_length(s);
      if (n.min_length && len < *n.min_length)
        return fail(segs, "string of " + std::to_string(len) + " characters is shorter than minLength " +
                              std::to_string(*n.min_length));
      if (n.max_length && len > *n.max_length)
        return fail(segs, "string of " + std::to_string(len) + " characters is longer than maxLength " +
                              std::to_string(*n.max_length));
    }
    if (n.format != Format::kNone) {
      bool ok = n.format == Format::kDateTime ? is_date_time(s) : n.format == Format::kUuid ? is_uuid(s) : is_email(s);
      if (!ok) return fail(segs, "value " + short_value(v) + " is not a valid " + format_name(n.format));
    }
  } else if (v.is_number()) {
    if (n.minimum || n.maximum) {
      if (n.minimum && compare_numbers(v, n.minimum->value) < 0)
        return fail(segs, short_value(v) + " is less than minimum " + number_text(*n.minimum));
      if (n.maximum && compare_numbers(v, n.maximum->value) > 0)
        return fail(segs, short_value(v) + " is greater than maximum " + number_text(*n.maximum));
    }
  } else if (v.is_object()) {
    for (const auto &r : n.required)
      if (!v.contains(r)) return fail(segs, "missing required property " + json(r).dump());
    if (!n.properties.empty() || !n.additional_properties) {
      for (auto member = v.begin(); member != v.end(); ++member) {
        const std::string &k = member.key();
        const json &sub = member.value();
        auto it = n.properties.find(k);
        if (it == n.properties.end()) {
          if (n.additional_properties) continue;
          segs.push_back({&k, 0});
          auto r = fail(segs, "property " + json(k).dump() + " is not allowed (additionalProperties is false)");
          segs.pop_back();
          return r;
        }
        segs.push_back({&k, 0});
        auto r = check(*it->second, sub, segs);
        segs.pop_back();
        if (r) return r;
      }
    }
  } else if (v.is_array() && n.items) {
    for (size_t i = 0; i < v.size(); i++) {
      segs.push_back({nullptr, i});
      auto r = check(*n.items, v[i], segs);
      segs.pop_back();
      if (r) return r;
    }
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------
// Formats.
bool digits(std::string_view s, size_t pos, size_t n, int *out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

int days_in_month(int year, int month) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month == 2 && ((year % 4 == 0 && year % 100 != 0) || year % 400 == 0)) return 29;
  return kDays[month - 1];
}

bool is_atext(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         (c != 0 && std::strchr("!#$%&'*+-/=?^_`{|}~", c) != nullptr);
}

bool is_hostname(std::string_view h) {
  if (h.empty() || h.size() > 253) return false;
  size_t start = 0;
  while (true) {
    size_t dot = h.find('.', start);
    std::string_view label = h.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    for (unsigned char c : label)
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-')) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

}  // namespace

std::string type_names(unsigned types) {
  static const std::pair<unsigned, const char *> kNames[] = {{kString, "string"}, {kInteger, "integer"},
                                                             {kNumber, "number"},  {kBoolean, "boolean"},
                                                             {kObject, "object"},  {kArray, "array"},
                                                             {kNull, "null"}};
  std::vector<const char *> names;
  for (const auto &[bit, name] : kNames)
    if (types & bit) names.push_back(name);
  std::string out;
  for (size_t i = 0; i < names.size(); i++) {
    if (i > 0) out += (i + 1 == names.size()) ? " or " : ", ";
    out += names[i];
  }
  return out;
}

const char *format_name(Format f) {
  switch (f) {
    case Format::kDateTime: return "date-time";
    case Format::kUuid: return "uuid";
    case Format::kEmail: return "email";
    default: return "none";
  }
}

bool Node::accepts_anything() const {
  return !never && !has_type && properties.empty() && required.empty() && additional_properties && !items &&
         !enum_values && !const_value && format == Format::kNone && !minimum && !maximum && !min_length &&
         !max_length;
}

Schema Schema::compile(const json &document) {
  Schema s;
  s.root_ = compile_node(document, "$", 0);
  s.document_ = document;
  return s;
}

Schema Schema::parse(std::string_view text) {
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded()) invalid("not valid JSON");
  return compile(doc);
}

std::optional<Violation> Schema::validate(const json &instance) const {
  std::vector<Segment> segs;
  return check(*root_, instance, segs);
}

std::string path_key(std::string_view parent, std::string_view key) {
  std::string p(parent);
  if (is_identifier(key)) {
    p += '.';
    p += key;
  } else {
    p += '[';
    p += json(std::string(key)).dump(-1, ' ', false, json::error_handler_t::replace);
    p += ']';
  }
  return p;
}

std::string path_index(std::string_view parent, size_t index) {
  return std::string(parent) + "[" + std::to_string(index) + "]";
}

size_t utf8_length(std::string_view s) {
  size_t n = 0;
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 1;
    size_t j = 1;
    while (j < len && i + j < s.size() && (static_cast<unsigned char>(s[i + j]) & 0xc0) == 0x80) j++;
    i += j;
    n++;
  }
  return n;
}

bool is_date_time(std::string_view s) {
  int year, month, day, hour, minute, second;
  if (!digits(s, 0, 4, &year) || s.size() < 20 || s[4] != '-' || !digits(s, 5, 2, &month) || s[7] != '-' ||
      !digits(s, 8, 2, &day) || (s[10] != 'T' && s[10] != 't') || !digits(s, 11, 2, &hour) || s[13] != ':' ||
      !digits(s, 14, 2, &minute) || s[16] != ':' || !digits(s, 17, 2, &second))
    return false;
  if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month)) return false;
  if (hour > 23 || minute > 59 || second > 60) return false;
  size_t pos = 19;
  if (pos < s.size() && s[pos] == '.') {
    size_t start = ++pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') pos++;
    if (pos == start) return false;
  }
  if (pos >= s.size()) return false;
  int offset_minutes = 0;
  if (s[pos] == 'Z' || s[pos] == 'z') {
    pos++;
  } else if (s[pos] == '+' || s[pos] == '-') {
    int oh, om;
    if (!digits(s, pos + 1, 2, &oh) || pos + 3 >= s.size() || s[pos + 3] != ':' || !digits(s, pos + 4, 2, &om))
      return false;
    if (oh > 23 || om > 59) return false;
    offset_minutes = (s[pos] == '+' ? 1 : -1) * (oh * 60 + om);
    pos += 6;
  } else {
    return false;
  }
  if (pos != s.size()) return false;
  if (second == 60) {  // a leap second happens at 23:59:60 UTC only
    int utc = ((hour * 60 + minute - offset_minutes) % 1440 + 1440) % 1440;
    if (utc != 23 * 60 + 59) return false;
  }
  return true;
}

bool is_uuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); i++) {
    char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}

bool is_email(std::string_view s) {
  size_t at = s.rfind('@');
  if (at == std::string_view::npos || at == 0 || at > 64 || at + 1 >= s.size()) return false;
  std::string_view local = s.substr(0, at), domain = s.substr(at + 1);
  if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos) return false;
  for (unsigned char c : local)
    if (c != '.' && !is_atext(c)) return false;
  if (domain.front() == '[') {  // address literal: [192.0.2.1] or [IPv6:2001:db8::1]
    if (domain.back() != ']' || domain.size() < 3) return false;
    std::string_view lit = domain.substr(1, domain.size() - 2);
    if (lit.substr(0, 5) == "IPv6:") lit.remove_prefix(5);
    for (unsigned char c : lit)
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == '.' || c == ':'))
        return false;
    return !lit.empty();
  }
  return is_hostname(domain);
}

namespace {

// An integer as sign and magnitude (covers int64 and uint64).
struct Int {
  bool neg;
  uint64_t mag;
};

Int as_int(const json &v) {
  if (v.is_number_unsigned()) return {false, v.get<uint64_t>()};
  int64_t i = v.get<int64_t>();
  if (i >= 0) return {false, static_cast<uint64_t>(i)};
  return {true, static_cast<uint64_t>(-(i + 1)) + 1};
}

int cmp_mag(uint64_t a, uint64_t b) { return a < b ? -1 : (a > b ? 1 : 0); }

int cmp_int(Int a, Int b) {
  if (a.neg != b.neg) return a.neg ? -1 : 1;
  return a.neg ? -cmp_mag(a.mag, b.mag) : cmp_mag(a.mag, b.mag);
}

// A finite double against an integer, exactly.
int cmp_double_int(double d, Int i) {
  constexpr double kTwo64 = 18446744073709551616.0;
  if (d >= kTwo64) return 1;
  if (d <= -kTwo64) return -1;
  double ad = std::fabs(d);
  double whole = std::floor(ad);  // an integer below 2^64: exact in uint64
  uint64_t m = static_cast<uint64_t>(whole);
  bool frac = ad != whole;
  bool neg = d < 0 && (m != 0 || frac);
  if (neg != i.neg) return neg ? -1 : 1;
  int c = m != i.mag ? cmp_mag(m, i.mag) : (frac ? 1 : 0);
  return neg ? -c : c;
}

}  // namespace

int compare_numbers(const json &a, const json &b) {
  bool ai = a.is_number_integer(), bi = b.is_number_integer();  // true for unsigned too
  if (ai && bi) return cmp_int(as_int(a), as_int(b));
  if (!ai && !bi) {
    double x = a.get<double>(), y = b.get<double>();
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (!ai) return cmp_double_int(a.get<double>(), as_int(b));
  return -cmp_double_int(b.get<double>(), as_int(a));
}

bool json_equal(const json &a, const json &b) {
  if (a.is_number() && b.is_number()) return compare_numbers(a, b) == 0;
  if (a.type() != b.type()) return false;
  if (a.is_array()) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); i++)
      if (!json_equal(a[i], b[i])) return false;
    return true;
  }
  if (a.is_object()) {
    if (a.size() != b.size()) return false;
    for (auto it = a.begin(); it != a.end(); ++it) {
      auto other = b.find(it.key());
      if (other == b.end() || !json_equal(it.value(), *other)) return false;
    }
    return true;
  }
  return a == b;
}

std::string utf8_truncate(const std::string &s, size_t max_bytes) {
  if (s.size() <= max_bytes) return s;
  size_t cut = max_bytes >= 3 ? max_bytes - 3 : 0;
  // Back up over continuation bytes (10xxxxxx) to the start of the character.
  size_t back = cut;
  while (back > 0 && cut - back < 4 && (static_cast<unsigned char>(s[back]) & 0xC0) == 0x80) back--;
  if ((static_cast<unsigned char>(s[back]) & 0xC0) != 0x80) cut = back;
  return s.substr(0, cut) + "...";
}

}  // namespace nova::schema
