// A JSON value as the flat stream of events a strict parser saw (docs/jwt.md, "Performance"):
// the verified claims travel from src/core to src/pg this way, so the SQL layer builds its
// jsonb result directly from them instead of handing the payload text to jsonb_in (a second
// parse of the same text). Plain data, no PostgreSQL.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace nova::json_events {

struct Event {
  enum class Kind : uint8_t {
    kBeginObject, kEndObject, kBeginArray, kEndArray,
    kKey,      // a member name: text[offset, offset + length), unescaped UTF-8
    kString,   // a string value: same
    kInteger,  // an integer that fits int64: `integer`
    kNumber,   // any other number: its JSON text at text[offset], NUL-terminated, `length` bytes
    kTrue, kFalse, kNull
  } kind;
  uint32_t offset = 0;
  uint32_t length = 0;
  int64_t integer = 0;
};

struct Events {
  std::vector<Event> events;
  std::string text;  // the bytes Event::offset points into
  void clear() {
    events.clear();
    text.clear();
  }
};

}  // namespace nova::json_events
