#define NOVA_CORE_TRANSLATION_UNIT 1
#include "core/jwt_json.h"

#include <set>
#include <vector>

namespace nova::jwt_json {
namespace {
struct Abort {
  Problem problem;
};
}  // namespace

Problem parse(std::string_view text, nlohmann::json &out, bool require_object) {
  using nlohmann::json;
  std::vector<std::set<std::string>> keys;  // one set per open object
  auto cb = [&keys](int /*depth*/, json::parse_event_t ev, json &parsed) -> bool {
    switch (ev) {
      case json::parse_event_t::object_start:
        keys.emplace_back();
        break;
      case json::parse_event_t::object_end:
        if (!keys.empty()) keys.pop_back();
        break;
      case json::parse_event_t::key: {
        const auto &k = parsed.get_ref<const std::string &>();
        if (k.find('\0') != std::string::npos) throw Abort{Problem::kNulCharacter};
        if (keys.empty() || !keys.back().insert(k).second) throw Abort{Problem::kDuplicateKey};
        break;
      }
      case json::parse_event_t::value:
        if (parsed.is_string() && parsed.get_ref<const std::string &>().find('\0') != std::string::npos)
          throw Abort{Problem::kNulCharacter};
        break;
      default:
        break;
    }
    return true;
  };
  try {
    out = json::parse(text.begin(), text.end(), cb, /*allow_exceptions=*/true, /*ignore_comments=*/false);
  } catch (const Abort &a) {
    return a.problem;
  } catch (const json::exception &) {
    return Problem::kSyntax;
  }
  if (require_object && !out.is_object()) return Problem::kNotObject;
  return Problem::kNone;
}

const char *describe(Problem p) {
  switch (p) {
    case Problem::kNone: return "ok";
    case Problem::kSyntax: return "invalid JSON";
    case Problem::kDuplicateKey: return "duplicate member name";
    case Problem::kNulCharacter: return "string contains U+0000";
    case Problem::kNotObject: return "not a JSON object";
  }
  return "invalid JSON";
}

}  // namespace nova::jwt_json
