// Schema evolution rules (docs/schemas.md), after Confluent Schema Registry's JSON
// Schema compatibility model.
//
// diff(writer, reader) lists every difference between the schema data was
// written with and the schema a consumer reads it with, each marked `breaking`
// when the reader may reject a value the writer accepted. Content models:
// a closed object (additionalProperties: false) rejects unknown properties, an
// open one (the default) accepts them with any value — so adding a typed
// property to an open model is breaking (old data may carry that name with any
// value), while adding an optional property to a closed model is not.
//
// Modes: BACKWARD (the new schema reads data written with the old), FORWARD
// (the old reads the new), FULL (both); *_TRANSITIVE checks every previous
// version, the plain forms only the latest; NONE checks nothing.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/json_schema.h"

namespace nova::schema {

enum class Compatibility { kNone, kBackward, kBackwardTransitive, kForward, kForwardTransitive, kFull, kFullTransitive };

// Case-insensitive; throws nova::Error(22023) for anything else.
Compatibility parse_compatibility(std::string_view name);
const char *compatibility_name(Compatibility mode);  // upper case, e.g. "FULL_TRANSITIVE"

// Change codes (stable; documented in docs/schemas.md). Breaking unless noted.
//   TYPE_EXTENDED (ok) TYPE_NARROWED TYPE_CHANGED
//   ENUM_ARRAY_ADDED ENUM_ARRAY_REMOVED (ok) ENUM_ARRAY_EXTENDED (ok) ENUM_ARRAY_NARROWED ENUM_ARRAY_CHANGED
//   CONST_ADDED CONST_REMOVED (ok) CONST_CHANGED
//   FORMAT_ADDED FORMAT_REMOVED (ok) FORMAT_CHANGED
//   MIN_LENGTH_ADDED MIN_LENGTH_REMOVED (ok) MIN_LENGTH_INCREASED MIN_LENGTH_DECREASED (ok)
//   MAX_LENGTH_ADDED MAX_LENGTH_REMOVED (ok) MAX_LENGTH_INCREASED (ok) MAX_LENGTH_DECREASED
//   MINIMUM_ADDED MINIMUM_REMOVED (ok) MINIMUM_INCREASED MINIMUM_DECREASED (ok)
//   MAXIMUM_ADDED MAXIMUM_REMOVED (ok) MAXIMUM_INCREASED (ok) MAXIMUM_DECREASED
//   ADDITIONAL_PROPERTIES_NARROWED ADDITIONAL_PROPERTIES_EXTENDED (ok)
//   PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL (ok)
//   OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL (ok) REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL
//   PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL (ok) PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL
//   REQUIRED_ATTRIBUTE_ADDED REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED (ok) REQUIRED_ATTRIBUTE_REMOVED (ok)
//   ITEMS_ADDED ITEMS_REMOVED (ok)
//   SCHEMA_NARROWED_TO_FALSE
struct Difference {
  std::string path;    // data path: $, $.author.id, $.tags[*]
  std::string change;  // code above
  std::string message;
  bool breaking;
};

std::vector<Difference> diff(const Node &writer, const Node &reader);

struct CompatViolation {
  std::string path;
  std::string change;
  std::string message;  // says which version and direction failed
};

struct PriorVersion {
  int version;
  const Schema *schema;
};

// Breaking differences between `candidate` and the prior versions (ascending by
// version; the last is the latest) under `mode`. Empty = compatible.
std::vector<CompatViolation> check_compatibility(const Schema &candidate, const std::vector<PriorVersion> &prior,
                                                 Compatibility mode);

}  // namespace nova::schema
