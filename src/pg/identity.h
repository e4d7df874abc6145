// The transaction's authenticated identity (docs/jwt.md), owned by src/pg/identity.cpp.
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

// For nova.authenticate only (src/pg/jwt_auth.cpp): install a verified identity
// (copies both; claims is a jsonb varlena) or drop it. Neither raises an error
// other than out-of-memory.
void identity_set(const char *subject, size_t subject_len, const void *claims_jsonb);
void identity_clear();
}  // namespace nova::pg
