#define NOVA_CORE_TRANSLATION_UNIT 1
#include "core/jwt_json.h"

#include <algorithm>
#include <charconv>
#include <limits>
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

namespace nova::jwt_json {
namespace {

class ScanHandler : public nlohmann::json_sax<nlohmann::json> {
 public:
  // Scratch buffers kept per thread between scans (their capacity is what is reused).
  struct State {
    std::vector<char> containers;
    std::vector<std::vector<std::string>> levels;
    std::vector<std::string_view> names;
  };
  ScanHandler(Top &out, State &state, json_events::Events *events)
      : out_(out), state_(state), containers_(state.containers), levels_(state.levels), events_(events) {
    containers_.clear();
  }
  Problem problem = Problem::kNone;

  bool null() override {
    emit(Ev::kNull);
    return scalar(TopValue::Kind::kNull);
  }
  bool boolean(bool v) override {
    emit(v ? Ev::kTrue : Ev::kFalse);
    if (TopValue *t = scalar_target()) { t->kind = TopValue::Kind::kBool; t->boolean = v; }
    return true;
  }
  bool number_integer(number_integer_t v) override {
    if (events_) events_->events.push_back({Ev::kInteger, 0, 0, static_cast<int64_t>(v)});
    return number(static_cast<double>(v));
  }
  bool number_unsigned(number_unsigned_t v) override {
    if (events_) {
      if (v <= static_cast<number_unsigned_t>(std::numeric_limits<int64_t>::max())) {
        events_->events.push_back({Ev::kInteger, 0, 0, static_cast<int64_t>(v)});
      } else {
        char buf[24];
        auto r = std::to_chars(buf, buf + sizeof buf, v);
        emit_number(std::string_view(buf, static_cast<size_t>(r.ptr - buf)));
      }
    }
    return number(static_cast<double>(v));
  }
  bool number_float(number_float_t v, const string_t &text) override {
    // `text` is the number exactly as written (nlohmann's token buffer): jsonb keeps its scale.
    if (events_) emit_number(text);
    return number(v);
  }
  bool string(string_t &v) override {
    if (v.find('\0') != std::string::npos) return fail(Problem::kNulCharacter);
    emit_text(Ev::kString, v);
    if (TopValue *t = scalar_target()) {
      t->kind = TopValue::Kind::kString;
      t->string = std::move(v);
    } else if (containers_.size() == 2 && containers_[1] == 'a' && member_ != nullptr) {
      member_->strings.push_back(std::move(v));
    }
    return true;
  }
  bool binary(binary_t &) override { return fail(Problem::kSyntax); }
  bool start_object(std::size_t) override {
    emit(Ev::kBeginObject);
    if (containers_.empty()) out_.is_object = true;
    else if (TopValue *t = scalar_target()) t->kind = TopValue::Kind::kObject;
    containers_.push_back('o');
    if (levels_.size() < containers_.size()) levels_.resize(containers_.size());
    levels_[containers_.size() - 1].clear();
    return true;
  }
  bool key(string_t &k) override {
    if (k.find('\0') != std::string::npos) return fail(Problem::kNulCharacter);
    emit_text(Ev::kKey, k);
    if (containers_.size() == 1) {
      // Top-level names are kept in out_.members only; end_object checks them for duplicates.
      out_.members.emplace_back(std::move(k), TopValue{});
      member_ = &out_.members.back().second;
      pending_ = true;
    } else {
      levels_[containers_.size() - 1].push_back(k);
    }
    return true;
  }
  bool end_object() override {
    if (containers_.size() == 1) {
      if (out_.members.size() > 1) {
        // The member strings no longer move (no more emplace_back at this level), so views are stable.
        auto &names = state_.names;
        names.clear();
        for (const auto &m : out_.members) names.emplace_back(m.first);
        std::sort(names.begin(), names.end());
        if (std::adjacent_find(names.begin(), names.end()) != names.end()) return fail(Problem::kDuplicateKey);
      }
    } else {
      auto &level = levels_[containers_.size() - 1];
      if (level.size() > 1) {
        std::sort(level.begin(), level.end());
        if (std::adjacent_find(level.begin(), level.end()) != level.end()) return fail(Problem::kDuplicateKey);
      }
    }
    containers_.pop_back();
    emit(Ev::kEndObject);
    return true;
  }
  bool start_array(std::size_t) override {
    emit(Ev::kBeginArray);
    if (TopValue *t = scalar_target()) t->kind = TopValue::Kind::kArray;
    containers_.push_back('a');
    return true;
  }
  bool end_array() override {
    containers_.pop_back();
    emit(Ev::kEndArray);
    return true;
  }
  bool parse_error(std::size_t, const std::string &, const nlohmann::detail::exception &) override {
    return fail(Problem::kSyntax);
  }

 private:
  using Ev = json_events::Event::Kind;
  void emit(Ev kind) {
    if (events_) events_->events.push_back({kind, 0, 0, 0});
  }
  void emit_text(Ev kind, std::string_view v) {
    if (!events_) return;
    events_->events.push_back({kind, static_cast<uint32_t>(events_->text.size()), static_cast<uint32_t>(v.size()), 0});
    events_->text.append(v);
  }
  void emit_number(std::string_view v) {
    emit_text(Ev::kNumber, v);
    events_->text.push_back('\0');  // numeric_in wants a C string
  }
  // The member a value directly inside the top-level object belongs to (once).
  TopValue *scalar_target() {
    if (containers_.size() == 1 && containers_[0] == 'o' && pending_) {
      pending_ = false;
      return member_;
    }
    return nullptr;
  }
  bool scalar(TopValue::Kind kind) {
    if (TopValue *t = scalar_target()) t->kind = kind;
    return true;
  }
  bool number(double v) {
    if (TopValue *t = scalar_target()) { t->kind = TopValue::Kind::kNumber; t->number = v; }
    return true;
  }
  bool fail(Problem p) {
    if (problem == Problem::kNone) problem = p;
    return false;
  }

  Top &out_;
  State &state_;
  std::vector<char> &containers_;                 // 'o' / 'a' from the outside in
  std::vector<std::vector<std::string>> &levels_;  // member names per open nested object (index ≥ 1)
  json_events::Events *events_;
  TopValue *member_ = nullptr;  // the last top-level member, re-taken after every emplace_back
  bool pending_ = false;
};

}  // namespace

Problem scan(std::string_view text, Top &out, json_events::Events *events) {
  out.is_object = false;
  out.members.clear();
  out.members.reserve(16);
  thread_local ScanHandler::State state;
  if (events) {
    events->clear();
    events->events.reserve(32);
    events->text.reserve(text.size());
  }
  ScanHandler h(out, state, events);
  bool ok;
  try {
    ok = nlohmann::json::sax_parse(text.begin(), text.end(), &h, nlohmann::json::input_format_t::json, true, false);
  } catch (const nlohmann::json::exception &) {
    return Problem::kSyntax;
  }
  if (!ok) return h.problem == Problem::kNone ? Problem::kSyntax : h.problem;
  if (!out.is_object) return Problem::kNotObject;
  return Problem::kNone;
}

}  // namespace nova::jwt_json
