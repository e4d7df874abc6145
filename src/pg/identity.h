// The transaction's authenticated identity (SPEC §6), owned by src/pg/identity.cpp.
// Set only by nova.authenticate() after a verified token; cleared at transaction end.
#pragma once

extern "C" {
#include "postgres.h"
}

namespace nova::pg {
// The `sub` claim of the token verified in this transaction, or nullptr.
const char *identity_subject();
// The subject when authenticated, else current_user. palloc'd in CurrentMemoryContext.
char *current_actor();
}  // namespace nova::pg
