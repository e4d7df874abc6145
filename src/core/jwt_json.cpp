#define NOVA_CORE_TRANSLATION_UNIT 1
#include "core/jwt_json.h"

// simdjson's own internal consistency asserts cost about a tenth of a scan; they are
// compiled out here whatever the build's NDEBUG (only this file includes simdjson).
#ifndef NDEBUG
#define NDEBUG 1
#define NOVA_RESTORE_ASSERT 1
#endif
#include <simdjson.h>
#ifdef NOVA_RESTORE_ASSERT
#undef NDEBUG
#undef NOVA_RESTORE_ASSERT
#include <cassert>  // assert() is live again for the rest of this file
#endif

#include <algorithm>
#include <charconv>
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

// The verification-path scan (scan()) uses simdjson's On Demand parser (libsimdjson): it
// validates UTF-8 and string contents for the whole text up front, and every value is then
// visited, so everything nlohmann's strict parse rejects is rejected here too
// (test/unit/jwt_claims_events_test.cpp checks both agree). simdjson does not look for
// duplicate member names; the walk below collects each object's names (views into the
// parser's string buffer) and compares them when the object closes.
namespace nova::jwt_json {
namespace {
namespace od = simdjson::ondemand;
using Ev = json_events::Event::Kind;

// Nesting deeper than this is rejected as invalid JSON (the walk recurses once per level).
constexpr size_t kMaxDepth = 1000;

class Walker {
 public:
  // Scratch kept per thread between scans (their capacity is what is reused).
  struct State {
    od::parser parser;  // grows to the largest text seen (JWT parts are at most 16 KiB)
    std::string padded;                   // the text plus SIMDJSON_PADDING bytes
    std::vector<std::string_view> names;  // member names of the open objects, outermost first
  };

  // may_hold_nul: whether the text contains the escape \u0000, the only way a string can hold
  // U+0000 (stage 1 rejects raw control characters); without it no string needs checking.
  Walker(Top &out, State &state, json_events::Events *events, const std::string_view *wanted, size_t n_wanted,
         bool may_hold_nul)
      : out_(out), names_(state.names), events_(events), wanted_(wanted), n_wanted_(n_wanted),
        may_hold_nul_(may_hold_nul) {
    names_.clear();
  }

  // The document's root, which must be an object for the result to be kNone.
  Problem root(od::document &doc) {
    od::json_type type;
    if (doc.type().get(type) != simdjson::SUCCESS) return Problem::kSyntax;
    if (type == od::json_type::object) {
      od::object obj;
      if (doc.get_object().get(obj) != simdjson::SUCCESS) return Problem::kSyntax;
      out_.is_object = true;
      if (Problem p = object(obj, 0); p != Problem::kNone) return p;
    } else if (type == od::json_type::array) {
      od::array arr;
      if (doc.get_array().get(arr) != simdjson::SUCCESS) return Problem::kSyntax;
      if (Problem p = array(arr, 0); p != Problem::kNone) return p;
    } else {
      // A lone scalar: valid JSON but not an object. The document-level getters also
      // reject anything after the scalar.
      simdjson::error_code e = simdjson::SUCCESS;
      switch (type) {
        case od::json_type::string: e = doc.get_string().error(); break;
        case od::json_type::number: e = doc.get_double().error(); break;
        case od::json_type::boolean: e = doc.get_bool().error(); break;
        default: {
          bool is_null = false;
          e = doc.is_null().get(is_null);
          if (e == simdjson::SUCCESS && !is_null) e = simdjson::N_ATOM_ERROR;
        }
      }
      return e == simdjson::SUCCESS ? Problem::kNotObject : Problem::kSyntax;
    }
    // Nothing may follow the root value.
    if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS) return Problem::kSyntax;
    return out_.is_object ? Problem::kNone : Problem::kNotObject;
  }

 private:
  Problem object(od::object &obj, size_t depth) {
    if (depth >= kMaxDepth) return Problem::kSyntax;
    emit(Ev::kBeginObject);
    const size_t first = names_.size();
    for (auto field : obj) {
      if (field.error() != simdjson::SUCCESS) return Problem::kSyntax;
      std::string_view name;
      if (field.unescaped_key().get(name) != simdjson::SUCCESS) return Problem::kSyntax;
      if (may_hold_nul_ && name.find('\0') != std::string_view::npos) return Problem::kNulCharacter;
      emit_text(Ev::kKey, name);
      names_.push_back(name);
      TopValue *member = nullptr;
      if (depth == 0 && is_wanted(name)) {
        out_.members.emplace_back(std::string(name), TopValue{});
        member = &out_.members.back().second;
      }
      od::value v;
      if (field.value().get(v) != simdjson::SUCCESS) return Problem::kSyntax;
      if (Problem p = value(v, depth + 1, member); p != Problem::kNone) return p;
    }
    if (!unique(first)) return Problem::kDuplicateKey;
    names_.resize(first);
    emit(Ev::kEndObject);
    return Problem::kNone;
  }

  Problem array(od::array &arr, size_t depth, TopValue *member = nullptr) {
    if (depth >= kMaxDepth) return Problem::kSyntax;
    emit(Ev::kBeginArray);
    for (auto element : arr) {
      od::value v;
      if (element.get(v) != simdjson::SUCCESS) return Problem::kSyntax;
      if (Problem p = value(v, depth + 1, nullptr, member); p != Problem::kNone) return p;
    }
    emit(Ev::kEndArray);
    return Problem::kNone;
  }

  // `member`: the top-level member this value is (its TopValue); `array_of`: the top-level
  // member whose array holds this value (string elements are captured).
  Problem value(od::value &v, size_t depth, TopValue *member, TopValue *array_of = nullptr) {
    od::json_type type;
    if (v.type().get(type) != simdjson::SUCCESS) return Problem::kSyntax;
    switch (type) {
      case od::json_type::object: {
        od::object obj;
        if (v.get_object().get(obj) != simdjson::SUCCESS) return Problem::kSyntax;
        if (member) member->kind = TopValue::Kind::kObject;
        return object(obj, depth);
      }
      case od::json_type::array: {
        od::array arr;
        if (v.get_array().get(arr) != simdjson::SUCCESS) return Problem::kSyntax;
        if (member) member->kind = TopValue::Kind::kArray;
        return array(arr, depth, member);
      }
      case od::json_type::string: {
        std::string_view s;
        if (v.get_string().get(s) != simdjson::SUCCESS) return Problem::kSyntax;
        if (may_hold_nul_ && s.find('\0') != std::string_view::npos) return Problem::kNulCharacter;
        emit_text(Ev::kString, s);
        if (member) {
          member->kind = TopValue::Kind::kString;
          member->string = s;
        } else if (array_of) {
          array_of->strings.push_back(s);
        }
        return Problem::kNone;
      }
      case od::json_type::number: return number(v, member);
      case od::json_type::boolean: {
        bool b;
        if (v.get_bool().get(b) != simdjson::SUCCESS) return Problem::kSyntax;
        emit(b ? Ev::kTrue : Ev::kFalse);
        if (member) {
          member->kind = TopValue::Kind::kBool;
          member->boolean = b;
        }
        return Problem::kNone;
      }
      case od::json_type::null: {
        bool is_null = false;
        if (v.is_null().get(is_null) != simdjson::SUCCESS || !is_null) return Problem::kSyntax;
        emit(Ev::kNull);
        if (member) member->kind = TopValue::Kind::kNull;
        return Problem::kNone;
      }
    }
    return Problem::kSyntax;
  }

  // A number keeps its text exactly (jsonb's numeric_in reads it: scale and digits survive);
  // an integer that fits int64 travels as its value. simdjson's parse checks the grammar.
  Problem number(od::value &v, TopValue *member) {
    std::string_view text = v.raw_json_token();  // may carry the whitespace that follows
    while (!text.empty() && (text.back() == ' ' || text.back() == '\n' || text.back() == '\r' || text.back() == '\t'))
      text.remove_suffix(1);
    double d;
    if (v.get_double().get(d) != simdjson::SUCCESS) return Problem::kSyntax;
    if (member) {
      member->kind = TopValue::Kind::kNumber;
      member->number = d;
    }
    if (events_ == nullptr) return Problem::kNone;
    if (text.find_first_of(".eE") == std::string_view::npos) {
      int64_t i;
      auto r = std::from_chars(text.data(), text.data() + text.size(), i);
      if (r.ec == std::errc() && r.ptr == text.data() + text.size()) {
        events_->events.push_back({Ev::kInteger, 0, 0, i});
        return Problem::kNone;
      }
    }
    emit_text(Ev::kNumber, text);
    events_->text.push_back('\0');  // numeric_in wants a C string
    return Problem::kNone;
  }

  // Whether the names of the object that began at names_[first] are all different.
  bool unique(size_t first) const {
    const size_t n = names_.size() - first;
    if (n < 2) return true;
    if (n <= 16) {
      for (size_t i = first; i < names_.size(); i++)
        for (size_t j = i + 1; j < names_.size(); j++)
          if (same_name(names_[i], names_[j])) return false;
      return true;
    }
    std::vector<std::string_view> sorted(names_.begin() + static_cast<std::ptrdiff_t>(first), names_.end());
    std::sort(sorted.begin(), sorted.end());
    return std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end();
  }

  bool is_wanted(std::string_view name) const {
    if (wanted_ == nullptr) return true;
    for (size_t i = 0; i < n_wanted_; i++)
      if (same_name(name, wanted_[i])) return true;
    return false;
  }

  void emit(Ev kind) {
    if (events_) events_->events.push_back({kind, 0, 0, 0});
  }
  void emit_text(Ev kind, std::string_view v) {
    if (!events_) return;
    events_->events.push_back({kind, static_cast<uint32_t>(events_->text.size()), static_cast<uint32_t>(v.size()), 0});
    events_->text.append(v);
  }

  Top &out_;
  std::vector<std::string_view> &names_;
  json_events::Events *events_;
  const std::string_view *wanted_;
  size_t n_wanted_;
  bool may_hold_nul_;
};

}  // namespace

Problem scan(std::string_view text, Top &out, json_events::Events *events, const std::string_view *wanted,
             size_t n_wanted) {
  out.is_object = false;
  out.members.clear();
  out.members.reserve(wanted ? 8 : 16);
  thread_local Walker::State state;
  if (events) {
    events->clear();
    events->events.reserve(32);
    events->text.reserve(text.size() + 16);
  }
  // simdjson reads up to SIMDJSON_PADDING bytes past the text; they are kept in a reused buffer.
  state.padded.assign(text.data(), text.size());
  state.padded.append(simdjson::SIMDJSON_PADDING, ' ');
  od::document doc;
  if (state.parser.iterate(state.padded.data(), text.size(), state.padded.size()).get(doc) != simdjson::SUCCESS)
    return Problem::kSyntax;
  Walker w(out, state, events, wanted, n_wanted, text.find("\\u0000") != std::string_view::npos);
  return w.root(doc);
}

}  // namespace nova::jwt_json
