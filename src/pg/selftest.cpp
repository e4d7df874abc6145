// nova._selftest_boundary(kind): raises each kind of failure through the entry
// wrapper so the regression suite proves the C++/PostgreSQL boundary holds.
// Not granted to PUBLIC.
#include "pg/boundary.h"

#include <memory>
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
}  // namespace

NOVA_FUNCTION(nova_selftest_boundary) {
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
  if (kind == "live_guards") PG_RETURN_INT32(g_live_guards);
  if (kind == "ok") PG_RETURN_INT32(0);
  throw nova::Error(nova::sqlstate::kInvalidParameterValue, "unknown selftest kind", "kind: " + kind);
}
