// The role the relay worker's SQL runs as (docs/security.md, "The relay's role").
// Used by the relay loop (relay_worker.cpp) and the snapshot step (snapshot.cpp);
// every statement goes through nova::pg::run_as with this role.
#pragma once

extern "C" {
#include "postgres.h"
}

namespace nova::relay {

// nova_relay; the extension owner on a 1.0 catalog not yet updated (no nova_relay,
// or one without privileges on nova.outbox); InvalidOid when an existing nova_relay
// has more rights than the relay needs (superuser, CREATEROLE, CREATEDB,
// REPLICATION, BYPASSRLS, LOGIN, a member of another role, or the database's owner):
// then the relay runs nothing, shows state `role_refused` and says why in
// last_error. Decided once per transaction; call inside one. Logs a WARNING (0P000)
// when it starts refusing and a LOG line when the role is accepted again.
Oid relay_role();

// relay_role(), raising ERROR 0P000 when the role is refused.
Oid relay_role_required();

}  // namespace nova::relay
