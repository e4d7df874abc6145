// nova's JSON Schema subset: compilation (what is accepted and rejected, with
// which message) and validation (first violation and its JSON path).
#include <gtest/gtest.h>

#include "core/json_schema.h"

using nova::schema::json;
using nova::schema::Schema;

namespace {

Schema S(const char *text) { return Schema::parse(text); }

// "" when valid, else "path: message".
std::string V(const Schema &s, const char *instance) {
  auto v = s.validate(json::parse(instance));
  return v ? v->to_string() : "";
}

// The error message compile() gives, or "" when it compiles.
std::string CompileError(const char *text) {
  try {
    Schema::parse(text);
  } catch (const nova::Error &e) {
    EXPECT_STREQ(e.sqlstate(), "22023");
    return e.what();
  }
  return "";
}

const char *kPost = R"({
  "$schema": "http://json-schema.org/draft-07/schema#",
  "$id": "https://nova.example/schemas/PostCreated.json",
  "title": "PostCreated", "description": "a post was created",
  "type": "object",
  "additionalProperties": false,
  "required": ["id", "author", "body", "created_at"],
  "properties": {
    "id": {"type": "integer", "minimum": 1},
    "author": {"type": "object", "required": ["id"], "properties": {
      "id": {"type": "integer"}, "email": {"type": ["string", "null"], "format": "email"}}},
    "body": {"type": "string", "minLength": 1, "maxLength": 5},
    "visibility": {"enum": ["public", "followers", "private"], "default": "public"},
    "kind": {"const": "post"},
    "tags": {"type": "array", "items": {"type": "string", "maxLength": 3}},
    "score": {"type": "number", "minimum": -1.5, "maximum": 1.5},
    "request_id": {"type": "string", "format": "uuid"},
    "created_at": {"type": "string", "format": "date-time"}
  }
})";

const char *kGoodPost = R"({"id": 1, "author": {"id": 7, "email": null}, "body": "héllo",
  "created_at": "2026-11-27T04:42:54.123Z", "tags": ["a", "b"], "visibility": "public", "kind": "post",
  "score": 1.5, "request_id": "0f8fad5b-d9cb-469f-a165-70867728950e"})";

}  // namespace

TEST(JsonSchemaCompile, AcceptsTheSubsetAndAnnotations) {
  EXPECT_EQ(CompileError(kPost), "");
  EXPECT_EQ(CompileError("true"), "");
  EXPECT_EQ(CompileError("false"), "");
  EXPECT_EQ(CompileError("{}"), "");
  EXPECT_EQ(CompileError(R"({"properties": {"a": true, "b": false}, "items": {}})"), "");
  EXPECT_EQ(CompileError(R"({"maxLength": 2.0, "minLength": 0})"), "");
}

TEST(JsonSchemaCompile, RejectsUnsupportedKeywordsWithNameAndPath) {
  EXPECT_EQ(CompileError(R"({"pattern": "^a"})"), "invalid schema: unsupported keyword \"pattern\" at $");
  EXPECT_EQ(CompileError(R"({"properties": {"author": {"properties": {"id": {"$ref": "#/x"}}}}})"),
            "invalid schema: unsupported keyword \"$ref\" at $.properties.author.properties.id");
  EXPECT_EQ(CompileError(R"({"properties": {"a b": {"oneOf": []}}})"),
            "invalid schema: unsupported keyword \"oneOf\" at $.properties[\"a b\"]");
  EXPECT_EQ(CompileError(R"({"items": {"uniqueItems": true}})"),
            "invalid schema: unsupported keyword \"uniqueItems\" at $.items");
  for (const char *kw : {"allOf", "anyOf", "not", "if", "then", "else", "patternProperties", "definitions",
                         "dependencies", "propertyNames", "minItems", "maxItems", "contains", "multipleOf",
                         "exclusiveMinimum", "exclusiveMaximum", "minProperties", "maxProperties", "additionalItems",
                         "$comment", "examples"}) {
    std::string doc = std::string("{\"") + kw + "\": 1}";
    EXPECT_EQ(CompileError(doc.c_str()), std::string("invalid schema: unsupported keyword \"") + kw + "\" at $");
  }
}

TEST(JsonSchemaCompile, RejectsMalformedKeywordValues) {
  EXPECT_NE(CompileError(R"({"additionalProperties": {"type": "string"}})").find("must be true or false"),
            std::string::npos);
  EXPECT_NE(CompileError(R"({"items": [{"type": "string"}]})").find("must be one schema"), std::string::npos);
  EXPECT_NE(CompileError(R"({"type": "text"})").find("unknown type \"text\" at $"), std::string::npos);
  EXPECT_NE(CompileError(R"({"type": ["string", "string"]})").find("duplicate type"), std::string::npos);
  EXPECT_NE(CompileError(R"({"type": []})").find("must not be an empty array"), std::string::npos);
  EXPECT_NE(CompileError(R"({"required": "id"})").find("\"required\" at $ must be an array"), std::string::npos);
  EXPECT_NE(CompileError(R"({"required": ["a", "a"]})").find("twice"), std::string::npos);
  EXPECT_NE(CompileError(R"({"required": [1]})").find("only strings"), std::string::npos);
  EXPECT_NE(CompileError(R"({"enum": []})").find("non-empty array"), std::string::npos);
  EXPECT_NE(CompileError(R"({"enum": [1, 1.0]})").find("twice"), std::string::npos);
  EXPECT_NE(CompileError(R"({"format": "hostname"})").find("unsupported format \"hostname\" at $"), std::string::npos);
  EXPECT_NE(CompileError(R"({"format": 1})").find("must be a string"), std::string::npos);
  EXPECT_NE(CompileError(R"({"minimum": "1"})").find("must be a number"), std::string::npos);
  EXPECT_NE(CompileError(R"({"maxLength": -1})").find("non-negative integer"), std::string::npos);
  EXPECT_NE(CompileError(R"({"minLength": 1.5})").find("non-negative integer"), std::string::npos);
  EXPECT_NE(CompileError(R"({"title": 3})").find("must be a string"), std::string::npos);
  EXPECT_NE(CompileError(R"({"properties": []})").find("must be an object"), std::string::npos);
  EXPECT_NE(CompileError(R"({"properties": {"a": 1}})").find("must be a JSON object or a boolean, got integer at $.properties.a"),
            std::string::npos);
  EXPECT_NE(CompileError("[]").find("must be a JSON object or a boolean"), std::string::npos);
  EXPECT_NE(CompileError("{").find("not valid JSON"), std::string::npos);
}

TEST(JsonSchemaCompile, LimitsNestingDepth) {
  std::string deep;
  for (int i = 0; i < 100; i++) deep += R"({"items": )";
  deep += "{}";
  for (int i = 0; i < 100; i++) deep += "}";
  EXPECT_NE(CompileError(deep.c_str()).find("nested deeper than"), std::string::npos);
}

TEST(JsonSchemaValidate, AcceptsAValidEvent) {
  Schema s = S(kPost);
  EXPECT_EQ(V(s, kGoodPost), "");
}

TEST(JsonSchemaValidate, ReportsThePathOfTheFirstViolation) {
  Schema s = S(kPost);
  EXPECT_EQ(V(s, R"({"id": 1, "author": {"id": "7"}, "body": "x", "created_at": "2026-01-01T00:00:00Z"})"),
            "$.author.id: expected integer, got string");
  EXPECT_EQ(V(s, R"({"id": 1, "author": {}, "body": "x", "created_at": "2026-01-01T00:00:00Z"})"),
            "$.author: missing required property \"id\"");
  EXPECT_EQ(V(s, R"({"id": 1, "body": "x", "created_at": "2026-01-01T00:00:00Z"})"),
            "$: missing required property \"author\"");
  EXPECT_EQ(V(s, R"({"id": 1, "author": {"id": 1}, "body": "x", "created_at": "2026-01-01T00:00:00Z", "extra": 1})"),
            "$.extra: property \"extra\" is not allowed (additionalProperties is false)");
  EXPECT_EQ(V(s, R"({"id": 1, "author": {"id": 1}, "body": "x", "created_at": "2026-01-01T00:00:00Z", "tags": ["ab", "abcd"]})"),
            "$.tags[1]: string of 4 characters is longer than maxLength 3");
  EXPECT_EQ(V(s, R"({"id": 0, "author": {"id": 1}, "body": "x", "created_at": "2026-01-01T00:00:00Z"})"),
            "$.id: 0 is less than minimum 1");
  EXPECT_EQ(V(s, R"({"id": 1, "author": {"id": 1}, "body": "", "created_at": "2026-01-01T00:00:00Z"})"),
            "$.body: string of 0 characters is shorter than minLength 1");
  EXPECT_EQ(V(s, R"({"id": 1, "author": {"id": 1}, "body": "x", "created_at": "yesterday"})"),
            "$.created_at: value \"yesterday\" is not a valid date-time");
  EXPECT_EQ(V(s, R"({"id": 1, "author": {"id": 1, "email": "nope"}, "body": "x", "created_at": "2026-01-01T00:00:00Z"})"),
            "$.author.email: value \"nope\" is not a valid email");
  EXPECT_EQ(V(s, R"({"id": 1, "author": {"id": 1}, "body": "x", "created_at": "2026-01-01T00:00:00Z", "visibility": "secret"})"),
            "$.visibility: value \"secret\" is not one of the enum values [\"public\", \"followers\", \"private\"]");
  EXPECT_EQ(V(s, R"({"id": 1, "author": {"id": 1}, "body": "x", "created_at": "2026-01-01T00:00:00Z", "kind": "comment"})"),
            "$.kind: value \"comment\" does not equal const \"post\"");
  EXPECT_EQ(V(s, R"({"id": 1, "author": {"id": 1}, "body": "x", "created_at": "2026-01-01T00:00:00Z", "score": 2})"),
            "$.score: 2 is greater than maximum 1.5");
  EXPECT_EQ(V(s, R"({"id": 1, "author": {"id": 1}, "body": "x", "created_at": "2026-01-01T00:00:00Z", "request_id": "x"})"),
            "$.request_id: value \"x\" is not a valid uuid");
  EXPECT_EQ(V(s, "[]"), "$: expected object, got array");
  EXPECT_EQ(V(s, "null"), "$: expected object, got null");
}

TEST(JsonSchemaValidate, TypesIncludingNullableAndIntegers) {
  Schema nullable = S(R"({"type": ["string", "null"]})");
  EXPECT_EQ(V(nullable, "null"), "");
  EXPECT_EQ(V(nullable, "\"x\""), "");
  EXPECT_EQ(V(nullable, "1"), "$: expected string or null, got integer");
  Schema integer = S(R"({"type": "integer"})");
  EXPECT_EQ(V(integer, "1"), "");
  EXPECT_EQ(V(integer, "1.0"), "");  // draft 6+: a float with zero fraction is an integer
  EXPECT_EQ(V(integer, "-9223372036854775808"), "");
  EXPECT_EQ(V(integer, "18446744073709551615"), "");
  EXPECT_EQ(V(integer, "1.5"), "$: expected integer, got number");
  EXPECT_EQ(V(integer, "true"), "$: expected integer, got boolean");
  Schema number = S(R"({"type": "number"})");
  EXPECT_EQ(V(number, "1"), "");
  EXPECT_EQ(V(number, "1e300"), "");
  EXPECT_EQ(V(number, "\"1\""), "$: expected number, got string");
  Schema boolean = S(R"({"type": "boolean"})");
  EXPECT_EQ(V(boolean, "0"), "$: expected boolean, got integer");
  EXPECT_EQ(V(S("false"), "1"), "$: no value is allowed here (schema is false)");
  EXPECT_EQ(V(S("true"), "1"), "");
}

TEST(JsonSchemaValidate, KeywordsApplyOnlyToTheirTypes) {
  Schema s = S(R"({"minLength": 2, "minimum": 5, "required": ["a"], "items": {"type": "string"}, "format": "email"})");
  EXPECT_EQ(V(s, "1"), "$: 1 is less than minimum 5");
  EXPECT_EQ(V(s, "7"), "");
  EXPECT_EQ(V(s, "[]"), "");
  EXPECT_EQ(V(s, "{}"), "$: missing required property \"a\"");
  EXPECT_EQ(V(s, "null"), "");
  EXPECT_EQ(V(s, "[1]"), "$[0]: expected string, got integer");
}

TEST(JsonSchemaValidate, EnumAndConstUseJsonEquality) {
  Schema e = S(R"({"enum": [1, "a", {"k": [false]}, null]})");
  EXPECT_EQ(V(e, "1.0"), "");
  EXPECT_EQ(V(e, R"({"k": [false]})"), "");
  EXPECT_EQ(V(e, "null"), "");
  EXPECT_NE(V(e, R"({"k": [0]})"), "");
  EXPECT_NE(V(e, "true"), "");
  Schema c = S(R"({"const": {"a": 1, "b": [1, 2]}})");
  EXPECT_EQ(V(c, R"({"b": [1, 2.0], "a": 1})"), "");
  EXPECT_NE(V(c, R"({"b": [2, 1], "a": 1})"), "");
  Schema f = S(R"({"const": false})");
  EXPECT_NE(V(f, "0"), "");
}

TEST(JsonSchemaValidate, LengthsCountCodePoints) {
  Schema s = S(R"({"minLength": 2, "maxLength": 3})");
  EXPECT_EQ(V(s, "\"\xF0\x9F\x92\xA9\""), "$: string of 1 characters is shorter than minLength 2");  // one emoji
  EXPECT_EQ(V(s, "\"\xC3\xA9\xC3\xA9\xC3\xA9\""), "");                                              // three é
  EXPECT_EQ(nova::schema::utf8_length("h\xC3\xA9llo"), 5u);
  EXPECT_EQ(nova::schema::utf8_length(""), 0u);
}

TEST(JsonSchemaValidate, PathsEscapeUnusualKeys) {
  Schema s = S(R"({"properties": {"a b": {"properties": {"x.y": {"type": "string"}}}}})");
  EXPECT_EQ(V(s, R"({"a b": {"x.y": 1}})"), "$[\"a b\"][\"x.y\"]: expected string, got integer");
  Schema arr = S(R"({"items": {"items": {"type": "null"}}})");
  EXPECT_EQ(V(arr, "[[null], [null, 0]]"), "$[1][1]: expected null, got integer");
}

TEST(JsonSchemaValidate, DefaultIsOnlyAnAnnotation) {
  Schema s = S(R"({"properties": {"a": {"type": "string", "default": 5}}})");
  EXPECT_EQ(V(s, "{}"), "");
  EXPECT_EQ(V(s, R"({"a": 5})"), "$.a: expected string, got integer");
}

TEST(JsonSchemaFormat, DateTime) {
  using nova::schema::is_date_time;
  EXPECT_TRUE(is_date_time("2026-11-27T04:42:54Z"));
  EXPECT_TRUE(is_date_time("2026-11-27t04:42:54.5z"));
  EXPECT_TRUE(is_date_time("1937-01-01T12:00:27.87+00:20"));
  EXPECT_TRUE(is_date_time("2024-02-29T00:00:00-08:00"));
  EXPECT_TRUE(is_date_time("1998-12-31T23:59:60Z"));
  EXPECT_TRUE(is_date_time("1998-12-31T15:59:60.123-08:00"));
  EXPECT_FALSE(is_date_time("1998-12-31T23:58:60Z"));
  EXPECT_FALSE(is_date_time("2023-02-29T00:00:00Z"));
  EXPECT_FALSE(is_date_time("2026-13-01T00:00:00Z"));
  EXPECT_FALSE(is_date_time("2026-11-27T24:00:00Z"));
  EXPECT_FALSE(is_date_time("2026-11-27T04:42:54"));
  EXPECT_FALSE(is_date_time("2026-11-27 04:42:54Z"));
  EXPECT_FALSE(is_date_time("2026-11-27T04:42:54.Z"));
  EXPECT_FALSE(is_date_time("2026-11-27T04:42:54+0100"));
  EXPECT_FALSE(is_date_time("1990-12-31T15:59:60-24:00"));
  EXPECT_FALSE(is_date_time("2013-350T01:01:01"));
  EXPECT_FALSE(is_date_time("2026-11-27T04:42:54Z "));
  EXPECT_FALSE(is_date_time("2026-1-27T04:42:54Z"));
  EXPECT_FALSE(is_date_time(""));
}

TEST(JsonSchemaFormat, Uuid) {
  using nova::schema::is_uuid;
  EXPECT_TRUE(is_uuid("0f8fad5b-d9cb-469f-a165-70867728950e"));
  EXPECT_TRUE(is_uuid("0F8FAD5B-D9CB-469F-A165-70867728950E"));
  EXPECT_TRUE(is_uuid("00000000-0000-0000-0000-000000000000"));
  EXPECT_FALSE(is_uuid("0f8fad5bd9cb469fa16570867728950e"));
  EXPECT_FALSE(is_uuid("0f8fad5b-d9cb-469f-a165-70867728950"));
  EXPECT_FALSE(is_uuid("0f8fad5b-d9cb-469f-a165-70867728950g"));
  EXPECT_FALSE(is_uuid("{0f8fad5b-d9cb-469f-a165-70867728950e}"));
}

TEST(JsonSchemaFormat, Email) {
  using nova::schema::is_email;
  EXPECT_TRUE(is_email("joe.bloggs@example.com"));
  EXPECT_TRUE(is_email("a+tag@sub.example.org"));
  EXPECT_TRUE(is_email("root@localhost"));
  EXPECT_TRUE(is_email("x@[192.0.2.1]"));
  EXPECT_FALSE(is_email("2962"));
  EXPECT_FALSE(is_email("@example.com"));
  EXPECT_FALSE(is_email("joe@"));
  EXPECT_FALSE(is_email(".joe@example.com"));
  EXPECT_FALSE(is_email("jo..e@example.com"));
  EXPECT_FALSE(is_email("joe@-example.com"));
  EXPECT_FALSE(is_email("joe@exa mple.com"));
  EXPECT_FALSE(is_email("joe bloggs@example.com"));
}

namespace {
bool ValidUtf8(const std::string &s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; k++)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    i += n;
  }
  return true;
}
}  // namespace

// Integer bounds, const and enum compare exactly within 64 bits, not through double.
TEST(JsonSchemaNumbers, IntegerBoundsAreExact) {
  Schema max = S(R"({"type": "integer", "maximum": 9007199254740992})");
  EXPECT_EQ(V(max, "9007199254740992"), "");
  EXPECT_EQ(V(max, "9007199254740993"), "$: 9007199254740993 is greater than maximum 9007199254740992");
  Schema min = S(R"({"type": "integer", "minimum": -9223372036854775807})");
  EXPECT_EQ(V(min, "-9223372036854775808"), "$: -9223372036854775808 is less than minimum -9223372036854775807");
  EXPECT_EQ(V(min, "-9223372036854775807"), "");
  Schema umax = S(R"({"maximum": 18446744073709551614})");
  EXPECT_EQ(V(umax, "18446744073709551615"), "$: 18446744073709551615 is greater than maximum 18446744073709551614");
  EXPECT_EQ(V(umax, "18446744073709551614"), "");
  // integers against fractions, exactly
  Schema frac = S(R"({"minimum": 4503599627370495.5, "maximum": 9.223372036854775808e18})");
  EXPECT_NE(V(frac, "4503599627370495"), "");
  EXPECT_EQ(V(frac, "9223372036854775808"), "");
  EXPECT_NE(V(frac, "9223372036854775809"), "");  // equal to the bound as a double, greater exactly
  EXPECT_EQ(V(S(R"({"maximum": 2.5})"), "2"), "");
  EXPECT_NE(V(S(R"({"maximum": 2.5})"), "3"), "");
  EXPECT_NE(V(S(R"({"minimum": -2.5})"), "-3"), "");
  EXPECT_EQ(V(S(R"({"minimum": -2.5})"), "-2"), "");
  EXPECT_EQ(V(S(R"({"minimum": 0})"), "-0.0"), "");
}

TEST(JsonSchemaNumbers, ConstAndEnumAreExact) {
  Schema c = S(R"({"const": 9007199254740993})");
  EXPECT_EQ(V(c, "9007199254740993"), "");
  EXPECT_NE(V(c, "9007199254740992"), "");
  EXPECT_NE(V(c, "9007199254740992.0"), "");
  Schema e = S(R"({"enum": [9007199254740993, [1, {"a": 18446744073709551615}]]})");
  EXPECT_NE(V(e, "9007199254740992"), "");
  EXPECT_EQ(V(e, R"([1, {"a": 18446744073709551615}])"), "");
  EXPECT_NE(V(e, R"([1, {"a": 18446744073709551614}])"), "");
  EXPECT_EQ(V(S(R"({"const": 1})"), "1.0"), "");  // 1.0 is the integer 1 in JSON Schema
  EXPECT_EQ(nova::schema::compare_numbers(json::parse("-1"), json::parse("18446744073709551615")), -1);
  EXPECT_EQ(nova::schema::compare_numbers(json::parse("1e20"), json::parse("18446744073709551615")), 1);
}

// Messages cut long values on a UTF-8 character boundary.
TEST(JsonSchemaMessages, CutOnCharacterBoundaries) {
  for (int pad = 0; pad < 8; pad++) {
    std::string value = "\"" + std::string(pad, 'x');
    for (int i = 0; i < 40; i++) value += "\xE2\x82\xAC";  // €
    value += "\"";
    auto v = S(R"({"const": "a"})").validate(json::parse(value));
    ASSERT_TRUE(v.has_value());
    EXPECT_TRUE(ValidUtf8(v->message)) << "pad " << pad << ": " << v->message;
    EXPECT_NE(v->message.find("... does not equal"), std::string::npos) << v->message;
    auto e = S(R"({"enum": ["a"]})").validate(json::parse(value));
    EXPECT_TRUE(ValidUtf8(e->message)) << "pad " << pad;
  }
  EXPECT_EQ(nova::schema::utf8_truncate("abc", 3), "abc");
  EXPECT_EQ(nova::schema::utf8_truncate("abcd\xE2\x82\xAC", 6), "abc...");
  EXPECT_EQ(nova::schema::utf8_truncate("a\xE2\x82\xAC" "bcdef", 6), "a...");
  EXPECT_EQ(nova::schema::utf8_truncate("a\xE2\x82\xAC" "bcdef", 7), "a\xE2\x82\xAC...");
}
