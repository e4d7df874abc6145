// Fuzz the schema compiler, the validator and the compatibility rules.
// Input: "<schema JSON>\n<instance JSON>". Any input must either be rejected with
// nova::Error or processed; nothing may crash, leak or hit undefined behaviour.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/json_schema.h"
#include "core/schema_compat.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string in(reinterpret_cast<const char *>(data), size);
  size_t nl = in.find('\n');
  std::string schema_text = in.substr(0, nl);
  std::string instance_text = nl == std::string::npos ? "null" : in.substr(nl + 1);
  try {
    nova::schema::Schema s = nova::schema::Schema::parse(schema_text);
    auto instance = nova::schema::json::parse(instance_text, nullptr, false);
    if (!instance.is_discarded()) {
      auto v = s.validate(instance);
      if (v) (void)v->to_string();
      // The instance as a schema, when it is one: diff both ways.
      try {
        nova::schema::Schema t = nova::schema::Schema::compile(instance);
        (void)nova::schema::diff(s.root(), t.root());
        (void)nova::schema::diff(t.root(), s.root());
      } catch (const nova::Error &) {
      }
    }
    if (!nova::schema::diff(s.root(), s.root()).empty()) __builtin_trap();  // a schema never differs from itself
  } catch (const nova::Error &) {
  }
  return 0;
}
