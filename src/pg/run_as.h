// The one way nova acts as another role (docs/security.md).
//
// nova::pg::run_as(role, fn, arg) calls fn(arg) with
//   * the current user switched to `role` (SECURITY_LOCAL_USERID_CHANGE), so
//     SET ROLE / SET SESSION AUTHORIZATION cannot be used from inside;
//   * SECURITY_RESTRICTED_OPERATION, so code reached from inside (a user's
//     trigger, an index expression) cannot create temporary objects, change
//     session state or run DDL that would outlive the call as `role`;
//   * search_path pinned to "pg_catalog, pg_temp" in a new GUC nest level, so
//     no schema a caller controls can shadow a function, operator or type that
//     nova's SQL uses (every SQL text nova runs is schema-qualified as well);
// and restores all three when fn returns or raises (the error propagates).
//
// This is the only SetUserIdAndSecContext in the tree (test/e2e/90_one_run_as.sh
// checks it, also as part of tools/test.sh hostile). fn runs in plain C frames: it must not keep C++ objects with
// destructors alive across calls that can raise a PostgreSQL error.
#pragma once

#include <type_traits>

extern "C" {
#include "postgres.h"
}

namespace nova::pg {

// extra_sec_flags: further SECURITY_* bits (e.g. SECURITY_NOFORCE_RLS).
void run_as(Oid role, void (*fn)(void *), void *arg, int extra_sec_flags = 0);

// Convenience for a lambda: run_as(role, [&] { ... }). The lambda's captures
// must be plain data (see above).
template <typename F>
void run_as(Oid role, F &&f, int extra_sec_flags = 0) {
  auto thunk = [](void *p) { (*static_cast<std::remove_reference_t<F> *>(p))(); };
  run_as(role, thunk, &f, extra_sec_flags);
}

// The owner of the extension (pg_extension.extowner of nova), cached per
// transaction; raises 55000 when the extension is not installed.
Oid extension_owner();

}  // namespace nova::pg
