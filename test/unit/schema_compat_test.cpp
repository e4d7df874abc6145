// Schema evolution rules: each change classified as breaking or not, in both
// directions, and the modes (BACKWARD/FORWARD/FULL, transitive or not).
#include <gtest/gtest.h>

#include <algorithm>

#include "core/schema_compat.h"

using namespace nova::schema;

namespace {

// Breaking change codes (with paths) when a reader with schema `reader` reads data written with `writer`.
std::vector<std::string> Breaking(const char *writer, const char *reader) {
  Schema w = Schema::parse(writer), r = Schema::parse(reader);
  std::vector<std::string> out;
  for (const auto &d : diff(w.root(), r.root()))
    if (d.breaking) out.push_back(d.path + " " + d.change);
  return out;
}

// Every change code, breaking or not.
std::vector<std::string> All(const char *writer, const char *reader) {
  Schema w = Schema::parse(writer), r = Schema::parse(reader);
  std::vector<std::string> out;
  for (const auto &d : diff(w.root(), r.root())) out.push_back(d.path + " " + d.change + (d.breaking ? "!" : ""));
  return out;
}

using V = std::vector<std::string>;

// Backward compatibility of old → new: the new schema reads old data.
V Backward(const char *old_schema, const char *new_schema) { return Breaking(old_schema, new_schema); }

const char *kClosed = R"({"type": "object", "additionalProperties": false,
  "properties": {"id": {"type": "integer"}, "body": {"type": "string"}}, "required": ["id"]})";

}  // namespace

TEST(SchemaCompat, IdenticalSchemasHaveNoDifferences) {
  EXPECT_EQ(All(kClosed, kClosed), V{});
  EXPECT_EQ(All("{}", "true"), V{});
}

TEST(SchemaCompat, ClosedModelOptionalPropertyAddedIsBackwardCompatible) {
  const char *added = R"({"type": "object", "additionalProperties": false, "required": ["id"],
    "properties": {"id": {"type": "integer"}, "body": {"type": "string"}, "title": {"type": "string"}}})";
  EXPECT_EQ(Backward(kClosed, added), V{});
  EXPECT_EQ(All(kClosed, added), V{"$.title OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL"});
  // …but not forward compatible: the old closed schema rejects new data carrying `title`.
  EXPECT_EQ(Breaking(added, kClosed), V{"$.title PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL"});
}

TEST(SchemaCompat, ClosedModelPropertyRemovedIsNotBackwardCompatible) {
  const char *removed = R"({"type": "object", "additionalProperties": false, "required": ["id"],
    "properties": {"id": {"type": "integer"}}})";
  EXPECT_EQ(Backward(kClosed, removed), V{"$.body PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL"});
}

TEST(SchemaCompat, OpenModel) {
  const char *open = R"({"type": "object", "properties": {"id": {"type": "integer"}, "body": {"type": "string"}}})";
  const char *removed = R"({"type": "object", "properties": {"id": {"type": "integer"}}})";
  const char *added_typed = R"({"type": "object", "properties": {"id": {"type": "integer"}, "body": {"type": "string"},
    "title": {"type": "string"}}})";
  const char *added_empty = R"({"type": "object", "properties": {"id": {"type": "integer"}, "body": {"type": "string"},
    "title": {"description": "anything"}}})";
  EXPECT_EQ(All(open, removed), V{"$.body PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL"});
  EXPECT_EQ(Backward(open, added_typed), V{"$.title PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL"});
  EXPECT_EQ(All(open, added_empty), V{"$.title PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL"});
  // closing an open model breaks readers of old data; opening a closed one does not
  const char *closed = R"({"type": "object", "additionalProperties": false,
    "properties": {"id": {"type": "integer"}, "body": {"type": "string"}}})";
  EXPECT_EQ(Backward(open, closed), V{"$ ADDITIONAL_PROPERTIES_NARROWED"});
  EXPECT_EQ(All(closed, open), V{"$ ADDITIONAL_PROPERTIES_EXTENDED"});
}

TEST(SchemaCompat, RequiredProperties) {
  const char *base = R"({"type": "object", "additionalProperties": false, "properties": {"id": {"type": "integer"}}})";
  const char *new_required = R"({"type": "object", "additionalProperties": false, "required": ["lang"],
    "properties": {"id": {"type": "integer"}, "lang": {"type": "string"}}})";
  const char *new_required_default = R"({"type": "object", "additionalProperties": false, "required": ["lang"],
    "properties": {"id": {"type": "integer"}, "lang": {"type": "string", "default": "en"}}})";
  EXPECT_EQ(Backward(base, new_required), V{"$.lang REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL"});
  EXPECT_EQ(Backward(base, new_required_default), V{});
  EXPECT_EQ(All(base, new_required_default),
            (V{"$.lang OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL", "$.lang REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED"}));
  // an existing optional property becoming required
  const char *id_required = R"({"type": "object", "additionalProperties": false, "required": ["id"],
    "properties": {"id": {"type": "integer"}}})";
  EXPECT_EQ(Backward(base, id_required), V{"$.id REQUIRED_ATTRIBUTE_ADDED"});
  EXPECT_EQ(All(id_required, base), V{"$.id REQUIRED_ATTRIBUTE_REMOVED"});
  // open model: a new typed required property is breaking twice over
  EXPECT_EQ(Backward(R"({"properties": {}})", R"({"required": ["x"], "properties": {"x": {"type": "string"}}})"),
            (V{"$.x PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL", "$.x REQUIRED_ATTRIBUTE_ADDED"}));
}

TEST(SchemaCompat, TypeNarrowingAndWidening) {
  EXPECT_EQ(Backward(R"({"type": ["string", "null"]})", R"({"type": "string"})"), V{"$ TYPE_NARROWED"});
  EXPECT_EQ(All(R"({"type": "string"})", R"({"type": ["string", "null"]})"), V{"$ TYPE_EXTENDED"});
  EXPECT_EQ(Backward(R"({"type": "number"})", R"({"type": "integer"})"), V{"$ TYPE_NARROWED"});
  EXPECT_EQ(All(R"({"type": "integer"})", R"({"type": "number"})"), V{"$ TYPE_EXTENDED"});
  EXPECT_EQ(All(R"({"type": ["integer", "number"]})", R"({"type": "number"})"), V{});
  EXPECT_EQ(Backward(R"({"type": "string"})", R"({"type": "integer"})"), V{"$ TYPE_CHANGED"});
  EXPECT_EQ(Backward(R"({})", R"({"type": "string"})"), V{"$ TYPE_NARROWED"});
  EXPECT_EQ(All(R"({"type": "string"})", R"({})"), V{"$ TYPE_EXTENDED"});
  EXPECT_EQ(Backward(R"({"type": "string"})", "false"), V{"$ SCHEMA_NARROWED_TO_FALSE"});
  EXPECT_EQ(All("false", R"({"type": "string"})"), V{});
}

TEST(SchemaCompat, NestedPathsAndItems) {
  const char *w = R"({"properties": {"author": {"properties": {"id": {"type": "number"}}},
    "tags": {"type": "array", "items": {"type": "string", "maxLength": 10}}}})";
  const char *r = R"({"properties": {"author": {"properties": {"id": {"type": "integer"}}},
    "tags": {"type": "array", "items": {"type": "string", "maxLength": 5}}}})";
  EXPECT_EQ(Backward(w, r), (V{"$.author.id TYPE_NARROWED", "$.tags[*] MAX_LENGTH_DECREASED"}));
  EXPECT_EQ(Breaking(r, w), V{});
  EXPECT_EQ(Backward(R"({"type": "array"})", R"({"type": "array", "items": {"type": "string"}})"),
            V{"$[*] ITEMS_ADDED"});
  EXPECT_EQ(All(R"({"type": "array", "items": {"type": "string"}})", R"({"type": "array"})"), V{"$[*] ITEMS_REMOVED"});
  EXPECT_EQ(All(R"({"type": "array"})", R"({"type": "array", "items": true})"), V{});
}

TEST(SchemaCompat, EnumAndConst) {
  EXPECT_EQ(Backward(R"({"enum": ["a", "b", "c"]})", R"({"enum": ["a", "b"]})"), V{"$ ENUM_ARRAY_NARROWED"});
  EXPECT_EQ(All(R"({"enum": ["a", "b"]})", R"({"enum": ["b", "a", "c"]})"), V{"$ ENUM_ARRAY_EXTENDED"});
  EXPECT_EQ(Backward(R"({"enum": ["a", "b"]})", R"({"enum": ["a", "c"]})"), V{"$ ENUM_ARRAY_CHANGED"});
  EXPECT_EQ(Backward(R"({"type": "string"})", R"({"type": "string", "enum": ["a"]})"), V{"$ ENUM_ARRAY_ADDED"});
  EXPECT_EQ(All(R"({"enum": ["a"]})", R"({})"), V{"$ ENUM_ARRAY_REMOVED"});
  EXPECT_EQ(All(R"({"enum": [1, 2]})", R"({"enum": [2.0, 1.0]})"), V{});
  EXPECT_EQ(Backward(R"({})", R"({"const": 1})"), V{"$ CONST_ADDED"});
  EXPECT_EQ(Backward(R"({"const": 1})", R"({"const": 2})"), V{"$ CONST_CHANGED"});
  EXPECT_EQ(All(R"({"const": 1})", R"({})"), V{"$ CONST_REMOVED"});
  EXPECT_EQ(All(R"({"const": "a"})", R"({"enum": ["a", "b"]})"), V{"$ ENUM_ARRAY_EXTENDED"});
  EXPECT_EQ(Backward(R"({"enum": ["a", "b"]})", R"({"const": "a"})"), V{"$ ENUM_ARRAY_NARROWED"});
}

TEST(SchemaCompat, NumericAndLengthBounds) {
  EXPECT_EQ(Backward(R"({"type": "integer"})", R"({"type": "integer", "minimum": 0})"), V{"$ MINIMUM_ADDED"});
  EXPECT_EQ(Backward(R"({"minimum": 0})", R"({"minimum": 1})"), V{"$ MINIMUM_INCREASED"});
  EXPECT_EQ(All(R"({"minimum": 1})", R"({"minimum": 0.5})"), V{"$ MINIMUM_DECREASED"});
  EXPECT_EQ(All(R"({"minimum": 1})", R"({})"), V{"$ MINIMUM_REMOVED"});
  EXPECT_EQ(Backward(R"({})", R"({"maximum": 9})"), V{"$ MAXIMUM_ADDED"});
  EXPECT_EQ(Backward(R"({"maximum": 9})", R"({"maximum": 8})"), V{"$ MAXIMUM_DECREASED"});
  EXPECT_EQ(All(R"({"maximum": 9})", R"({"maximum": 10})"), V{"$ MAXIMUM_INCREASED"});
  EXPECT_EQ(All(R"({"maximum": 9})", R"({})"), V{"$ MAXIMUM_REMOVED"});
  EXPECT_EQ(Backward(R"({})", R"({"minLength": 1})"), V{"$ MIN_LENGTH_ADDED"});
  EXPECT_EQ(Breaking(R"({})", R"({"minLength": 0})"), V{});
  EXPECT_EQ(Backward(R"({"minLength": 1})", R"({"minLength": 2})"), V{"$ MIN_LENGTH_INCREASED"});
  EXPECT_EQ(All(R"({"minLength": 2})", R"({"minLength": 1})"), V{"$ MIN_LENGTH_DECREASED"});
  EXPECT_EQ(All(R"({"minLength": 2})", R"({})"), V{"$ MIN_LENGTH_REMOVED"});
  EXPECT_EQ(Backward(R"({})", R"({"maxLength": 100})"), V{"$ MAX_LENGTH_ADDED"});
  EXPECT_EQ(Backward(R"({"maxLength": 100})", R"({"maxLength": 99})"), V{"$ MAX_LENGTH_DECREASED"});
  EXPECT_EQ(All(R"({"maxLength": 100})", R"({"maxLength": 101})"), V{"$ MAX_LENGTH_INCREASED"});
  EXPECT_EQ(All(R"({"maxLength": 100})", R"({})"), V{"$ MAX_LENGTH_REMOVED"});
  // bounds of a type the schemas do not share are irrelevant
  EXPECT_EQ(Breaking(R"({"type": "integer"})", R"({"type": "integer", "maxLength": 1})"), V{});
}

TEST(SchemaCompat, Formats) {
  EXPECT_EQ(Backward(R"({"type": "string"})", R"({"type": "string", "format": "uuid"})"), V{"$ FORMAT_ADDED"});
  EXPECT_EQ(All(R"({"type": "string", "format": "uuid"})", R"({"type": "string"})"), V{"$ FORMAT_REMOVED"});
  EXPECT_EQ(Backward(R"({"format": "uuid"})", R"({"format": "email"})"), V{"$ FORMAT_CHANGED"});
}

TEST(SchemaCompat, AnnotationsDoNotMatter) {
  EXPECT_EQ(All(R"({"title": "a", "description": "x", "default": 1, "$id": "u"})", R"({"title": "b", "default": 2})"),
            V{});
}

TEST(SchemaCompat, ModeParsing) {
  EXPECT_EQ(parse_compatibility("backward"), Compatibility::kBackward);
  EXPECT_EQ(parse_compatibility("FULL_TRANSITIVE"), Compatibility::kFullTransitive);
  EXPECT_STREQ(compatibility_name(Compatibility::kForwardTransitive), "FORWARD_TRANSITIVE");
  try {
    parse_compatibility("SIDEWAYS");
    FAIL();
  } catch (const nova::Error &e) {
    EXPECT_STREQ(e.sqlstate(), "22023");
    EXPECT_STREQ(e.what(), "invalid compatibility mode: \"SIDEWAYS\"");
  }
}

namespace {
std::vector<std::string> Check(const char *candidate, std::vector<const char *> prior, Compatibility mode) {
  std::vector<Schema> schemas;
  for (const char *p : prior) schemas.push_back(Schema::parse(p));
  std::vector<PriorVersion> pv;
  for (size_t i = 0; i < schemas.size(); i++) pv.push_back({static_cast<int>(i + 1), &schemas[i]});
  Schema c = Schema::parse(candidate);
  std::vector<std::string> out;
  for (const auto &v : check_compatibility(c, pv, mode)) out.push_back(v.path + " " + v.change + " | " + v.message);
  return out;
}
}  // namespace

TEST(SchemaCompat, ModesAndTransitivity) {
  // v1 has {a}; v2 drops a (open model: fine); the candidate re-adds `a` as an integer.
  const char *v1 = R"({"properties": {"a": {"type": "string"}}})";
  const char *v2 = R"({"properties": {}})";
  const char *cand = R"({"properties": {"a": {"type": "integer"}}})";
  // BACKWARD looks at v2 only: adding a typed property to an open model is breaking.
  EXPECT_EQ(Check(cand, {v1, v2}, Compatibility::kBackward),
            V{"$.a PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL | new schema cannot read version 2 data: property \"a\" added "
              "to an open content model: earlier data may carry it with any value (close the model with "
              "additionalProperties: false, or give it an empty schema)"});
  // BACKWARD_TRANSITIVE also checks v1, where `a` changed type.
  auto t = Check(cand, {v1, v2}, Compatibility::kBackwardTransitive);
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[1], "$.a TYPE_CHANGED | new schema cannot read version 1 data: type changed from string to integer");
  EXPECT_EQ(Check(cand, {v1, v2}, Compatibility::kNone), V{});
  EXPECT_EQ(Check(cand, {}, Compatibility::kFullTransitive), V{});

  // FORWARD: the old schema must read new data.
  const char *closed1 = R"({"type": "object", "additionalProperties": false, "properties": {"a": {"type": "string"}}})";
  const char *closed2 = R"({"type": "object", "additionalProperties": false,
    "properties": {"a": {"type": "string"}, "b": {"type": "string"}}})";
  EXPECT_EQ(Check(closed2, {closed1}, Compatibility::kBackward), V{});
  auto f = Check(closed2, {closed1}, Compatibility::kForward);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].substr(0, f[0].find(" | ")), "$.b PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL");
  EXPECT_NE(f[0].find("version 1 cannot read data of the new schema"), std::string::npos);
  EXPECT_EQ(Check(closed2, {closed1}, Compatibility::kFull).size(), 1u);
  // FULL: widening a type is backward- but not forward-compatible.
  EXPECT_EQ(Check(R"({"type": ["string", "null"]})", {R"({"type": "string"})"}, Compatibility::kBackward), V{});
  EXPECT_EQ(Check(R"({"type": ["string", "null"]})", {R"({"type": "string"})"}, Compatibility::kFull).size(), 1u);
  // FORWARD_TRANSITIVE checks every version, newest first.
  auto ft = Check(R"({"maximum": 5})", {R"({"maximum": 3})", R"({"maximum": 4})"}, Compatibility::kForwardTransitive);
  ASSERT_EQ(ft.size(), 2u);
  EXPECT_NE(ft[0].find("version 2"), std::string::npos);
  EXPECT_NE(ft[1].find("version 1"), std::string::npos);
  EXPECT_EQ(Check(R"({"maximum": 5})", {R"({"maximum": 3})", R"({"maximum": 5})"}, Compatibility::kForward), V{});
}
