// Per-transaction identity. Placeholder until the JWT feature lands: no subject yet.
#include "pg/identity.h"

extern "C" {
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
}

namespace nova::pg {

const char *identity_subject() { return nullptr; }

char *current_actor() {
  const char *sub = identity_subject();
  if (sub) return pstrdup(sub);
  return GetUserNameFromId(GetUserId(), false);
}

}  // namespace nova::pg
