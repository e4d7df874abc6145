// Test-only hooks (nova._selftest_boundary, nova._breaker_clock_advance) exist
// as SQL functions only in a test build: `make NOVA_TEST_HOOKS=1` (tools/test.sh
// sets it). Their C entry points stay in every build because the frozen 1.0
// install script names them; in a release build they refuse to run.
// See src/sql/README.md, "Test hooks".
#pragma once

#include <string>

#include "core/error.h"

namespace nova::pg {

#if defined(NOVA_TEST_HOOKS) && NOVA_TEST_HOOKS
inline constexpr bool kTestHooks = true;
#else
inline constexpr bool kTestHooks = false;
#endif

// Call first in a test hook's body.
inline void require_test_hooks(const char *function) {
  if (!kTestHooks)
    throw nova::Error(nova::sqlstate::kFeatureNotSupported, std::string(function) + " is not available in this build",
                      "test hooks are compiled only into test builds",
                      "build with make NOVA_TEST_HOOKS=1, as tools/test.sh does");
}

}  // namespace nova::pg
