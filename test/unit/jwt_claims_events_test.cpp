// Differential check of the claims event stream (src/core/json_events.h) that the SQL layer
// turns into jsonb: for random documents, the events rebuild exactly the value the strict
// DOM parser (jwt_json::parse, the parse the old text path relied on) gives, and a document
// the one rejects the other rejects too. docs/jwt.md, "Performance".
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "core/jwt.h"
#include "core/jwt_json.h"
#include "jwt_test_util.h"

namespace {
using nlohmann::json;
using nova::json_events::Event;
using nova::json_events::Events;

// Rebuilds a value from events; numbers as the DOM parser reads their text.
json rebuild(const Events &ev) {
  std::vector<json> stack;
  std::vector<std::string> keys;
  json result;
  auto text = [&](const Event &e) { return ev.text.substr(e.offset, e.length); };
  auto add = [&](json v) {
    if (stack.empty()) {
      result = std::move(v);
    } else if (stack.back().is_array()) {
      stack.back().push_back(std::move(v));
    } else {
      stack.back()[keys.back()] = std::move(v);
      keys.pop_back();
    }
  };
  for (const auto &e : ev.events) {
    switch (e.kind) {
      case Event::Kind::kBeginObject: stack.push_back(json::object()); break;
      case Event::Kind::kBeginArray: stack.push_back(json::array()); break;
      case Event::Kind::kEndObject:
      case Event::Kind::kEndArray: {
        json v = std::move(stack.back());
        stack.pop_back();
        add(std::move(v));
        break;
      }
      case Event::Kind::kKey: keys.push_back(text(e)); break;
      case Event::Kind::kString: add(json(text(e))); break;
      case Event::Kind::kInteger: add(json(e.integer)); break;
      case Event::Kind::kNumber:
        EXPECT_EQ(ev.text[e.offset + e.length], '\0');
        add(json::parse(text(e)));
        break;
      case Event::Kind::kTrue: add(json(true)); break;
      case Event::Kind::kFalse: add(json(false)); break;
      case Event::Kind::kNull: add(json(nullptr)); break;
    }
  }
  EXPECT_TRUE(stack.empty());
  return result;
}

// Random JSON text: nested values, escapes, non-ASCII, every number form, whitespace, and now
// and then a duplicate name, a U+0000 or a syntax slip.
struct Gen {
  std::mt19937 rng;
  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); }
  std::string ws() { return pick(4) == 0 ? std::string(" \n\t\r").substr(static_cast<size_t>(pick(4)), 1) : ""; }
  std::string str() {
    static const char *pieces[] = {"a", "sub", "\\\"", "\\\\", "\\/", "\\n", "\\u00e9", "\\ud83d\\ude00", "é", "😀",
                                   "x y", "\\t", "\\u0041", "exp", "aud", "-", "0"};
    std::string s = "\"";
    for (int n = pick(5); n > 0; n--) s += pieces[pick(sizeof pieces / sizeof pieces[0])];
    if (pick(200) == 0) s += "\\u0000";
    return s + "\"";
  }
  std::string number() {
    static const char *nums[] = {"0", "-0", "1", "-1", "42", "1.50", "1e3", "1E+3", "-2.5e-3", "0.0", "1700000000",
                                 "9223372036854775807", "-9223372036854775808", "9223372036854775808",
                                 "18446744073709551615", "18446744073709551616", "123456789012345678901234567890",
                                 "3.141592653589793238462643383279", "1e400" /* out of range: rejected by both */, "4000000000.000"};
    return nums[pick(sizeof nums / sizeof nums[0])];
  }
  std::string value(int depth) {
    int k = pick(depth > 4 ? 5 : 7);
    switch (k) {
      case 0: return str();
      case 1: return number();
      case 2: return pick(2) ? "true" : "false";
      case 3: return "null";
      case 4: return pick(2) ? str() : number();
      case 5: {
        std::string s = "[" + ws();
        for (int n = pick(4), i = 0; i < n; i++) s += (i ? "," : "") + ws() + value(depth + 1) + ws();
        return s + "]";
      }
      default: return object(depth + 1);
    }
  }
  std::string object(int depth) {
    std::string s = "{" + ws();
    std::vector<std::string> names;
    for (int n = pick(6), i = 0; i < n; i++) {
      std::string name = pick(30) == 0 && !names.empty() ? names[static_cast<size_t>(pick(static_cast<int>(names.size())))]
                                                         : "\"k" + std::to_string(i) + (pick(3) ? "" : "\\u00e9") + "\"";
      names.push_back(name);
      s += (i ? "," : "") + ws() + name + ws() + ":" + ws() + value(depth) + ws();
    }
    s += "}";
    if (pick(100) == 0) s.insert(static_cast<size_t>(pick(static_cast<int>(s.size()))), 1, ",]}\"1x"[pick(6)]);
    return s;
  }
};

TEST(JwtClaimsEvents, SameValueAsTheDomParserForRandomDocuments) {
  Gen g{std::mt19937(20261202)};
  int accepted = 0;
  for (int i = 0; i < 20000; i++) {
    std::string doc = g.ws() + g.object(0) + g.ws();
    nova::jwt_json::Top top;
    Events ev;
    auto scanned = nova::jwt_json::scan(doc, top, &ev);
    json dom;
    auto parsed = nova::jwt_json::parse(doc, dom);
    // Both accept or both reject (which problem comes first may differ: the scan checks a
    // level's names when it closes, the DOM parser as each name arrives).
    ASSERT_EQ(scanned == nova::jwt_json::Problem::kNone, parsed == nova::jwt_json::Problem::kNone) << doc;
    if (scanned != nova::jwt_json::Problem::kNone) continue;
    accepted++;
    ASSERT_EQ(rebuild(ev), dom) << doc;
  }
  EXPECT_GT(accepted, 15000);  // the generator mostly makes valid documents
}

TEST(JwtClaimsEvents, NumbersKeepTheirText) {
  nova::jwt_json::Top top;
  Events ev;
  ASSERT_EQ(nova::jwt_json::scan(R"({"a":1.50,"b":-7,"c":18446744073709551615,"d":1e300})", top, &ev),
            nova::jwt_json::Problem::kNone);
  std::vector<std::string> numbers;
  std::vector<int64_t> integers;
  for (const auto &e : ev.events) {
    if (e.kind == Event::Kind::kNumber) numbers.push_back(ev.text.substr(e.offset, e.length));
    if (e.kind == Event::Kind::kInteger) integers.push_back(e.integer);
  }
  EXPECT_EQ(numbers, (std::vector<std::string>{"1.50", "18446744073709551615", "1e300"}));
  EXPECT_EQ(integers, (std::vector<int64_t>{-7}));
}

TEST(JwtClaimsEvents, NulOnlyThroughTheEscape) {
  using nova::jwt_json::Problem;
  nova::jwt_json::Top top;
  Events ev;
  EXPECT_EQ(nova::jwt_json::scan(R"({"a":"x\u0000"})", top, &ev), Problem::kNulCharacter);
  EXPECT_EQ(nova::jwt_json::scan(R"({"a\u0000":1})", top, &ev), Problem::kNulCharacter);
  EXPECT_EQ(nova::jwt_json::scan(R"({"a":{"b":["\u0000"]}})", top, &ev), Problem::kNulCharacter);
  // An escaped backslash followed by the text u0000: no U+0000 in the value.
  ASSERT_EQ(nova::jwt_json::scan(R"({"a":"\\u0000","b":"\u0000"})", top, &ev), Problem::kNulCharacter);
  ASSERT_EQ(nova::jwt_json::scan(R"({"a":"\\u0000"})", top, &ev), Problem::kNone);
  ASSERT_NE(top.find("a"), nullptr);
  EXPECT_EQ(top.find("a")->string, "\\u0000");
}

TEST(JwtClaimsEvents, DuplicatesInLargeObjectsAndDeepNesting) {
  using nova::jwt_json::Problem;
  nova::jwt_json::Top top;
  std::string many = "{";
  for (int i = 0; i < 40; i++) many += (i ? ",\"n" : "\"n") + std::to_string(i) + "\":" + std::to_string(i);
  EXPECT_EQ(nova::jwt_json::scan(many + "}", top), Problem::kNone);
  EXPECT_EQ(top.members.size(), 40u);
  EXPECT_EQ(nova::jwt_json::scan(many + ",\"n17\":0}", top), Problem::kDuplicateKey);
  EXPECT_EQ(nova::jwt_json::scan(R"({"a":[{"x":1,"y":{"z":1,"z":2}}]})", top), Problem::kDuplicateKey);
  // Nesting: 900 levels are fine, 1001 are reported as invalid JSON.
  auto nested = [](int levels) {
    return "{\"a\":" + std::string(static_cast<size_t>(levels - 1), '[') + std::string(static_cast<size_t>(levels - 1), ']') + "}";
  };
  EXPECT_EQ(nova::jwt_json::scan(nested(900), top), Problem::kNone);
  EXPECT_EQ(nova::jwt_json::scan(nested(1001), top), Problem::kSyntax);
  // Nothing may follow the object; a non-object document is named as such.
  EXPECT_EQ(nova::jwt_json::scan(R"({"a":1} {})", top), Problem::kSyntax);
  EXPECT_EQ(nova::jwt_json::scan(R"({"a":1}})", top), Problem::kSyntax);
  EXPECT_EQ(nova::jwt_json::scan(R"([1,2])", top), Problem::kNotObject);
  EXPECT_EQ(nova::jwt_json::scan(R"("x")", top), Problem::kNotObject);
  EXPECT_EQ(nova::jwt_json::scan(R"(nul)", top), Problem::kSyntax);
  EXPECT_EQ(nova::jwt_json::scan(R"([1,])", top), Problem::kSyntax);
}

TEST(JwtClaimsEvents, VerifyCarriesTheClaimsAsEvents) {
  const std::string key(32, 'k');
  Gen g{std::mt19937(7)};
  nova::jwt::VerifyOptions opts;
  opts.now = 1700000000;
  for (int i = 0; i < 500; i++) {
    std::string payload = g.object(0);
    json dom;
    if (nova::jwt_json::parse(payload, dom) != nova::jwt_json::Problem::kNone) continue;
    for (const char *c : {"exp", "nbf", "iat", "sub", "jti", "iss", "aud"}) dom.erase(c);
    payload = dom.dump();  // without claims that verify interprets
    auto v = nova::jwt::verify(jwt_test::hs_token(R"({"alg":"HS256"})", payload, key), key, opts);
    ASSERT_EQ(rebuild(v.claims), dom) << payload;
    ASSERT_EQ(v.payload_json, payload);
  }
}

}  // namespace
