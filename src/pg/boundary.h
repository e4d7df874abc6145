// The C++ / PostgreSQL error boundary (docs/architecture.md, "The C++ / PostgreSQL boundary").
//
// PostgreSQL reports errors with longjmp, which skips C++ destructors; C++
// exceptions must never unwind through PostgreSQL frames. Therefore:
//
//  * Every SQL-callable function and trigger is defined with NOVA_FUNCTION.
//    Its body runs inside try/catch; a C++ exception is copied into palloc'd
//    memory and raised with ereport(ERROR) only after all C++ frames are gone.
//
//  * C++ code that calls a PostgreSQL function which may ERROR while C++
//    objects with destructors are alive wraps the call in nova::pg::guard():
//    the PostgreSQL error is caught (PG_TRY), copied, and rethrown as
//    nova::pg::PgError; the entry wrapper re-raises the original error data
//    unchanged (SQLSTATE, message, detail, context). No database work may be
//    done between catching a PgError and letting it reach the wrapper.
//
//  * Both directions check PostgreSQL's error-handler stack: guard() runs its
//    body noexcept inside PG_TRY, and the entry wrapper verifies that
//    PG_exception_stack and error_context_stack are what they were on entry
//    when a C++ exception reaches it (a C++ exception thrown through a PG_TRY
//    block elsewhere would leave them dangling); it restores them and reports
//    an internal error instead of letting a later ERROR jump into a dead frame.
#pragma once

extern "C" {
#include "postgres.h"
#include "fmgr.h"
#include "utils/elog.h"
}

#include <exception>
#include <type_traits>
#include <utility>

#include "core/error.h"

namespace nova::pg {

// A PostgreSQL error caught by guard(), carried across C++ frames.
class PgError : public std::exception {
 public:
  explicit PgError(ErrorData *edata) : edata_(edata) {}
  ErrorData *edata() const noexcept { return edata_; }
  const char *what() const noexcept override { return edata_ && edata_->message ? edata_->message : "postgres error"; }

 private:
  ErrorData *edata_;  // palloc'd in the caller's memory context by CopyErrorData
};

// Run a C++ entry body; convert any exception into a PostgreSQL ERROR.
Datum call_guarded(Datum (*body)(FunctionCallInfo), FunctionCallInfo fcinfo);

// Run f(); a PostgreSQL ERROR raised inside becomes a C++ PgError.
//
// The code between PG_TRY and PG_END_TRY must never be left by a C++ exception:
// PG_exception_stack would keep pointing into a dead frame and the next ERROR
// would longjmp there. The thunk run inside PG_TRY is therefore noexcept; a C++
// exception thrown by f is caught inside it, carried out as an exception_ptr and
// rethrown after PG_END_TRY has restored PostgreSQL's handler.
using GuardThunk = void (*)(void *arg, std::exception_ptr *escaped) noexcept;
void guard_impl(GuardThunk thunk, void *arg);

template <typename F>
void guard(F &&f) {
  GuardThunk thunk = [](void *p, std::exception_ptr *escaped) noexcept {
    try {
      (*static_cast<std::remove_reference_t<F> *>(p))();
    } catch (...) {
      *escaped = std::current_exception();
    }
  };
  guard_impl(thunk, &f);
}

}  // namespace nova::pg

// Define a SQL-callable function (V1 calling convention) whose body is C++.
// Usage:   NOVA_FUNCTION(nova_cache_get) { ...; PG_RETURN_TEXT_P(t); }
#define NOVA_FUNCTION(name)                                                   \
  extern "C" {                                                                \
  PG_FUNCTION_INFO_V1(name);                                                  \
  }                                                                           \
  static Datum name##_body(PG_FUNCTION_ARGS);                                 \
  extern "C" Datum name(PG_FUNCTION_ARGS) {                                   \
    return nova::pg::call_guarded(name##_body, fcinfo);                       \
  }                                                                           \
  static Datum name##_body(PG_FUNCTION_ARGS)
