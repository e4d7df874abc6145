// nova._selftest_boundary(kind): raises each kind of failure through the entry
// wrapper so the regression suite proves the C++/PostgreSQL boundary holds, and
// exercises the catalog-version helper (pg/catalog_version.h).
// A test hook: the SQL function exists only in test builds (pg/test_hooks.h).
// Not granted to PUBLIC.
#include "pg/boundary.h"
#include "pg/catalog_version.h"
#include "pg/module.h"
#include "pg/test_hooks.h"

#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

extern "C" {
#include "utils/builtins.h"
}

namespace {
// Counts live guards so a test can see destructors ran when an exception unwound.
int g_live_guards = 0;
struct LiveGuard {
  LiveGuard() { g_live_guards++; }
  ~LiveGuard() { g_live_guards--; }
};
void noop_relcache_callback(Datum, Oid) {}
}  // namespace

NOVA_FUNCTION(nova_selftest_boundary) {
  nova::pg::require_test_hooks("nova._selftest_boundary");
  std::string kind = text_to_cstring(PG_GETARG_TEXT_PP(0));
  LiveGuard guard;
  std::vector<std::string> owned(4, std::string(64, 'x'));  // destructors must run on every path
  if (kind == "nova_error")
    throw nova::Error(nova::sqlstate::kInvalidParameterValue, "selftest: nova error", "the detail", "the hint");
  if (kind == "std_exception") throw std::runtime_error("selftest: std exception");
  if (kind == "bad_alloc") throw std::bad_alloc();
  if (kind == "unknown") throw 42;
  if (kind == "pg_error") {
    // A PostgreSQL ERROR raised under guard() crosses C++ frames as an exception.
    nova::pg::guard([&] { (void)DirectFunctionCall1(int4in, CStringGetDatum("not a number")); });
  }
  if (kind == "cpp_in_guard") {
    // A C++ exception thrown inside guard() leaves PG_TRY cleanly and arrives as itself.
    nova::pg::guard([&] { throw nova::Error(nova::sqlstate::kDataException, "selftest: c++ exception inside guard"); });
  }
  if (kind == "cpp_through_pg_try") {
    // The mistake the entry wrapper defends against: a C++ exception leaving a
    // PG_TRY block (PG_exception_stack then points into this dead frame).
    PG_TRY();
    {
      throw std::runtime_error("selftest: thrown through PG_TRY");
    }
    PG_CATCH();
    {
      PG_RE_THROW();
    }
    PG_END_TRY();
  }
  if (kind == "callback_overflow") {
    // Fill the relcache dispatch table of this backend until it refuses.
    // The registry raises a PostgreSQL ERROR, so call it under guard() (C++ objects are alive).
    nova::pg::guard([&] {
      for (int i = 0; i < 1000; i++) nova::pg::register_relcache_callback(noop_relcache_callback, (Datum)0);
    });
  }
  if (kind == "live_guards") PG_RETURN_INT32(g_live_guards);
  // The catalog-version helper: "require_catalog:1.1" passes on a 1.1 catalog and
  // raises 55000 on a 1.0 one; returns the major*100+minor of the installed version.
  if (kind.rfind("require_catalog:", 0) == 0) {
    nova::pg::require_catalog(kind.c_str() + 16, "nova._selftest_boundary");
    const char *v = nullptr;
    nova::pg::guard([&] { v = nova::pg::catalog_version(); });
    int major = 0, minor = 0;
    if (v) sscanf(v, "%d.%d", &major, &minor);
    PG_RETURN_INT32(major * 100 + minor);
  }
  if (kind == "compare_versions") {
    using nova::pg::compare_versions;
    int bad = 0;
    bad += compare_versions("1.0", "1.1") != -1;
    bad += compare_versions("1.1", "1.1") != 0;
    bad += compare_versions("1.10", "1.9") != 1;
    bad += compare_versions("2", "1.9") != 1;
    bad += compare_versions("1", "1.0") != 0;
    bad += compare_versions("1.1.1", "1.1") != 1;
    bad += compare_versions("", "0") != 0;
    PG_RETURN_INT32(bad);  // 0 = every comparison right
  }
  if (kind == "ok") PG_RETURN_INT32(0);
  throw nova::Error(nova::sqlstate::kInvalidParameterValue, "unknown selftest kind", "kind: " + kind);
}
