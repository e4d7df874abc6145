// Schema evolution rules (see schema_compat.h).
#define NOVA_CORE_TRANSLATION_UNIT
#include "core/schema_compat.h"

#include <algorithm>
#include <cctype>

namespace nova::schema {

namespace {

struct Ctx {
  std::vector<Difference> *out;
  void add(const std::string &path, const char *change, std::string message, bool breaking) {
    out->push_back(Difference{path, change, std::move(message), breaking});
  }
};

std::string types_text(const Node &n) { return n.has_type ? type_names(n.types) : "any type"; }

std::string value_text(const json &v) {
  return utf8_truncate(v.dump(-1, ' ', false, json::error_handler_t::replace), 60);
}

// The values a node restricts to through enum/const, or nullopt when unrestricted.
std::optional<std::vector<json>> allowed_values(const Node &n) {
  if (n.const_value && n.enum_values) {
    std::vector<json> both;
    for (const auto &e : *n.enum_values)
      if (json_equal(e, *n.const_value)) both.push_back(e);
    return both;
  }
  if (n.const_value) return std::vector<json>{*n.const_value};
  if (n.enum_values) return *n.enum_values;
  return std::nullopt;
}

bool contains(const std::vector<json> &set, const json &v) {
  return std::any_of(set.begin(), set.end(), [&](const json &e) { return json_equal(e, v); });
}

bool subset(const std::vector<json> &a, const std::vector<json> &b) {
  return std::all_of(a.begin(), a.end(), [&](const json &e) { return contains(b, e); });
}

void diff_values(const Node &w, const Node &r, const std::string &path, Ctx &ctx) {
  auto aw = allowed_values(w), ar = allowed_values(r);
  bool const_only = !w.enum_values && !r.enum_values;
  if (!aw && !ar) return;
  if (!aw) {
    if (const_only)
      ctx.add(path, "CONST_ADDED", "const " + value_text(*r.const_value) + " added: other values are rejected", true);
    else
      ctx.add(path, "ENUM_ARRAY_ADDED", "enum added: values outside it are rejected", true);
    return;
  }
  if (!ar) {
    ctx.add(path, const_only ? "CONST_REMOVED" : "ENUM_ARRAY_REMOVED",
            const_only ? "const removed" : "enum removed", false);
    return;
  }
  bool w_in_r = subset(*aw, *ar), r_in_w = subset(*ar, *aw);
  if (w_in_r && r_in_w) return;
  if (const_only) {
    ctx.add(path, "CONST_CHANGED",
            "const changed from " + value_text(*w.const_value) + " to " + value_text(*r.const_value), true);
    return;
  }
  if (w_in_r) {
    ctx.add(path, "ENUM_ARRAY_EXTENDED", "enum extended", false);
  } else {
    std::string missing;
    for (const auto &e : *aw)
      if (!contains(*ar, e)) missing += (missing.empty() ? "" : ", ") + value_text(e);
    if (r_in_w)
      ctx.add(path, "ENUM_ARRAY_NARROWED", "enum narrowed: no longer accepts " + missing, true);
    else
      ctx.add(path, "ENUM_ARRAY_CHANGED", "enum changed: no longer accepts " + missing, true);
  }
}

// minimum-like bounds: `lower` = true when a larger value is stricter.
template <typename T, typename Fmt>
void diff_bound(const std::optional<T> &w, const std::optional<T> &r, bool lower, const char *keyword,
                const char *code_prefix, const std::string &path, Fmt fmt, Ctx &ctx) {
  std::string prefix = code_prefix;
  if (!w && !r) return;
  if (!w) {
    bool noop = lower && *r <= T{} && std::string(keyword).find("Length") != std::string::npos;  // minLength 0
    ctx.add(path, (prefix + "_ADDED").c_str(), std::string(keyword) + " " + fmt(*r) + " added", !noop);
    return;
  }
  if (!r) {
    ctx.add(path, (prefix + "_REMOVED").c_str(), std::string(keyword) + " " + fmt(*w) + " removed", false);
    return;
  }
  if (*w == *r) return;
  bool increased = *r > *w;
  bool breaking = lower ? increased : !increased;
  ctx.add(path, (prefix + (increased ? "_INCREASED" : "_DECREASED")).c_str(),
          std::string(keyword) + (increased ? " increased" : " decreased") + " from " + fmt(*w) + " to " + fmt(*r),
          breaking);
}

void diff_node(const Node &w, const Node &r, const std::string &path, Ctx &ctx);

void diff_object(const Node &w, const Node &r, const std::string &path, Ctx &ctx) {
  if (w.additional_properties && !r.additional_properties)
    ctx.add(path, "ADDITIONAL_PROPERTIES_NARROWED",
            "additionalProperties changed to false: properties not listed are now rejected", true);
  else if (!w.additional_properties && r.additional_properties)
    ctx.add(path, "ADDITIONAL_PROPERTIES_EXTENDED", "additionalProperties no longer false", false);

  std::set<std::string> reported_required;
  for (const auto &[name, wp] : w.properties) {
    std::string p = path_key(path, name);
    auto it = r.properties.find(name);
    if (it != r.properties.end()) {
      diff_node(*wp, *it->second, p, ctx);
    } else if (!r.additional_properties && !wp->never) {
      ctx.add(p, "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL",
              "property " + json(name).dump() +
                  " is gone from the reading schema, whose additionalProperties is false: data carrying it is rejected",
              true);
    } else {
      ctx.add(p, "PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL", "property " + json(name).dump() + " removed", false);
    }
  }
  for (const auto &[name, rp] : r.properties) {
    if (w.properties.count(name)) continue;
    std::string p = path_key(path, name);
    bool required = r.required.count(name) && !w.required.count(name);
    if (!w.additional_properties) {
      if (required && !rp->default_value) {
        ctx.add(p, "REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL",
                "required property " + json(name).dump() + " added without a default: data written without it is rejected",
                true);
        reported_required.insert(name);
      } else {
        ctx.add(p, "OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL",
                "property " + json(name).dump() + " added" + (required ? " (required, with a default)" : ""), false);
      }
    } else if (rp->accepts_anything()) {
      ctx.add(p, "PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL",
              "property " + json(name).dump() + " added with an empty schema", false);
    } else {
      ctx.add(p, "PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL",
              "property " + json(name).dump() +
                  " added to an open content model: earlier data may carry it with any value (close the model with "
                  "additionalProperties: false, or give it an empty schema)",
              true);
    }
  }
  for (const auto &name : r.required) {
    if (w.required.count(name) || reported_required.count(name)) continue;
    auto it = r.properties.find(name);
    bool has_default = it != r.properties.end() && it->second->default_value.has_value();
    if (has_default)
      ctx.add(path_key(path, name), "REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED",
              "property " + json(name).dump() + " became required (it has a default)", false);
    else
      ctx.add(path_key(path, name), "REQUIRED_ATTRIBUTE_ADDED",
              "property " + json(name).dump() + " became required without a default: data written without it is rejected",
              true);
  }
  for (const auto &name : w.required)
    if (!r.required.count(name))
      ctx.add(path_key(path, name), "REQUIRED_ATTRIBUTE_REMOVED", "property " + json(name).dump() + " no longer required",
              false);
}

void diff_node(const Node &w, const Node &r, const std::string &path, Ctx &ctx) {
  if (w.never) return;  // the writer produced no value here: anything reads it
  if (r.never) {
    ctx.add(path, "SCHEMA_NARROWED_TO_FALSE", "schema changed to false: every value is rejected", true);
    return;
  }
  unsigned wt = expand_types(w.types), rt = expand_types(r.types);
  if (wt != rt) {
    std::string what = "type changed from " + types_text(w) + " to " + types_text(r);
    if ((wt & ~rt) == 0)
      ctx.add(path, "TYPE_EXTENDED", "type widened from " + types_text(w) + " to " + types_text(r), false);
    else if ((rt & ~wt) == 0)
      ctx.add(path, "TYPE_NARROWED", "type narrowed from " + types_text(w) + " to " + types_text(r), true);
    else
      ctx.add(path, "TYPE_CHANGED", what, true);
  }
  diff_values(w, r, path, ctx);

  unsigned common = wt & rt;
  auto as_num = [](const Number &n) { return n.text(); };
  auto as_len = [](uint64_t n) { return std::to_string(n); };
  if (common & kString) {
    if (w.format != r.format) {
      if (w.format == Format::kNone)
        ctx.add(path, "FORMAT_ADDED", std::string("format ") + format_name(r.format) + " added", true);
      else if (r.format == Format::kNone)
        ctx.add(path, "FORMAT_REMOVED", std::string("format ") + format_name(w.format) + " removed", false);
      else
        ctx.add(path, "FORMAT_CHANGED",
                std::string("format changed from ") + format_name(w.format) + " to " + format_name(r.format), true);
    }
    diff_bound(w.min_length, r.min_length, true, "minLength", "MIN_LENGTH", path, as_len, ctx);
    diff_bound(w.max_length, r.max_length, false, "maxLength", "MAX_LENGTH", path, as_len, ctx);
  }
  if (common & (kNumber | kInteger)) {
    diff_bound(w.minimum, r.minimum, true, "minimum", "MINIMUM", path, as_num, ctx);
    diff_bound(w.maximum, r.maximum, false, "maximum", "MAXIMUM", path, as_num, ctx);
  }
  if (common & kObject) diff_object(w, r, path, ctx);
  if (common & kArray) {
    std::string p = path + "[*]";
    if (w.items && r.items)
      diff_node(*w.items, *r.items, p, ctx);
    else if (r.items && !r.items->accepts_anything())
      ctx.add(p, "ITEMS_ADDED", "items schema added: array elements are now constrained", true);
    else if (w.items && !r.items)
      ctx.add(p, "ITEMS_REMOVED", "items schema removed", false);
  }
}

}  // namespace

Compatibility parse_compatibility(std::string_view name) {
  std::string up;
  for (char c : name) up += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  static const std::pair<const char *, Compatibility> kModes[] = {
      {"NONE", Compatibility::kNone},
      {"BACKWARD", Compatibility::kBackward},
      {"BACKWARD_TRANSITIVE", Compatibility::kBackwardTransitive},
      {"FORWARD", Compatibility::kForward},
      {"FORWARD_TRANSITIVE", Compatibility::kForwardTransitive},
      {"FULL", Compatibility::kFull},
      {"FULL_TRANSITIVE", Compatibility::kFullTransitive},
  };
  for (const auto &[n, m] : kModes)
    if (up == n) return m;
  throw Error(sqlstate::kInvalidParameterValue, "invalid compatibility mode: \"" + std::string(name) + "\"", {},
              "use NONE, BACKWARD, BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, FULL or FULL_TRANSITIVE");
}

const char *compatibility_name(Compatibility mode) {
  switch (mode) {
    case Compatibility::kNone: return "NONE";
    case Compatibility::kBackward: return "BACKWARD";
    case Compatibility::kBackwardTransitive: return "BACKWARD_TRANSITIVE";
    case Compatibility::kForward: return "FORWARD";
    case Compatibility::kForwardTransitive: return "FORWARD_TRANSITIVE";
    case Compatibility::kFull: return "FULL";
    case Compatibility::kFullTransitive: return "FULL_TRANSITIVE";
  }
  return "NONE";
}

std::vector<Difference> diff(const Node &writer, const Node &reader) {
  std::vector<Difference> out;
  Ctx ctx{&out};
  diff_node(writer, reader, "$", ctx);
  return out;
}

std::vector<CompatViolation> check_compatibility(const Schema &candidate, const std::vector<PriorVersion> &prior,
                                                 Compatibility mode) {
  std::vector<CompatViolation> out;
  if (mode == Compatibility::kNone || prior.empty()) return out;
  bool backward = mode == Compatibility::kBackward || mode == Compatibility::kBackwardTransitive ||
                  mode == Compatibility::kFull || mode == Compatibility::kFullTransitive;
  bool forward = mode == Compatibility::kForward || mode == Compatibility::kForwardTransitive ||
                 mode == Compatibility::kFull || mode == Compatibility::kFullTransitive;
  bool transitive = mode == Compatibility::kBackwardTransitive || mode == Compatibility::kForwardTransitive ||
                    mode == Compatibility::kFullTransitive;
  size_t first = transitive ? 0 : prior.size() - 1;
  for (size_t i = prior.size(); i-- > first;) {  // newest first
    const PriorVersion &pv = prior[i];
    std::string v = std::to_string(pv.version);
    if (backward)
      for (auto &d : diff(pv.schema->root(), candidate.root()))
        if (d.breaking)
          out.push_back({d.path, d.change, "new schema cannot read version " + v + " data: " + d.message});
    if (forward)
      for (auto &d : diff(candidate.root(), pv.schema->root()))
        if (d.breaking)
          out.push_back({d.path, d.change, "version " + v + " cannot read data of the new schema: " + d.message});
  }
  return out;
}

}  // namespace nova::schema
