// Event-schema registry. Placeholder until the registry feature lands: no schemas.
#include "pg/schema_api.h"

namespace nova::pg {
int32 schema_check_event(const char *, Jsonb *) { return 0; }
}  // namespace nova::pg
