// The version of nova's catalog (the SQL objects) installed in this database,
// which can lag behind the library: after the 1.1 library is installed and the
// server restarted, every database still has the 1.0 objects until someone runs
// ALTER EXTENSION nova UPDATE there (docs/operations.md, "Upgrading").
//
// Code that needs an object added after 1.0 asks first:
//
//   nova::pg::require_catalog("1.1", "nova.foo()");   // throws 55000 on a 1.0 catalog
//   if (nova::pg::catalog_at_least("1.1")) { ... } else { ... 1.0 behaviour ... }
//
// require_catalog throws nova::Error, so call it from a NOVA_FUNCTION body (or
// catch it); the message names the command to run. The version is read from
// pg_extension once per backend and re-read after any change to pg_extension
// (a syscache invalidation, e.g. ALTER EXTENSION UPDATE in another session).
// Must be called inside a transaction. See src/sql/README.md.
#pragma once

namespace nova::pg {

// extversion of nova in the current database, or nullptr when not installed.
// The pointer stays valid until the next invalidation; copy it if you keep it.
const char *catalog_version();

// True when nova is installed here at `version` or later ("1.1" style versions).
bool catalog_at_least(const char *version);

// Throws nova::Error 55000 unless the catalog is at `version` or later:
//   "nova's catalog is at version 1.0; run ALTER EXTENSION nova UPDATE"
// `feature` goes in the detail (what needed the newer catalog).
void require_catalog(const char *version, const char *feature);

// Compares "1.10" > "1.9" numerically, component by component; exposed for tests.
int compare_versions(const char *a, const char *b);

}  // namespace nova::pg
