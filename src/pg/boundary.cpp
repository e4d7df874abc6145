// Implementation of the C++ / PostgreSQL error boundary (see boundary.h).
#include "pg/boundary.h"

#include <new>
#include <string>

extern "C" {
#include "utils/memutils.h"
}

namespace nova::pg {

namespace {

struct PendingError {
  int sqlerrcode = ERRCODE_INTERNAL_ERROR;
  char *message = nullptr;
  char *detail = nullptr;
  char *hint = nullptr;
  ErrorData *edata = nullptr;  // a PostgreSQL error to re-raise unchanged
};

char *pstrdup_or_null(const std::string &s) { return s.empty() ? nullptr : pstrdup(s.c_str()); }

int to_errcode(const char *s) { return MAKE_SQLSTATE(s[0], s[1], s[2], s[3], s[4]); }

// Copy the in-flight exception into palloc'd memory. Must be called from a catch block.
PendingError capture_current_exception() noexcept {
  PendingError pe;
  try {
    throw;
  } catch (const PgError &e) {
    pe.edata = e.edata();
  } catch (const nova::Error &e) {
    // palloc may itself ERROR (out of memory); a longjmp from here would skip
    // nothing but this frame's trivially destructible locals.
    pe.sqlerrcode = to_errcode(e.sqlstate());
    pe.message = pstrdup(e.what());
    pe.detail = pstrdup_or_null(e.detail());
    pe.hint = pstrdup_or_null(e.hint());
  } catch (const std::bad_alloc &) {
    pe.sqlerrcode = ERRCODE_OUT_OF_MEMORY;
    pe.message = nullptr;
  } catch (const std::exception &e) {
    pe.sqlerrcode = ERRCODE_INTERNAL_ERROR;
    pe.message = pstrdup(e.what());
  } catch (...) {
    pe.sqlerrcode = ERRCODE_INTERNAL_ERROR;
    pe.message = pstrdup("unknown C++ exception");
  }
  return pe;
}

[[noreturn]] void raise(const PendingError &pe) {
  if (pe.edata) ReThrowError(pe.edata);
  if (pe.sqlerrcode == ERRCODE_OUT_OF_MEMORY && pe.message == nullptr)
    ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory in nova")));
  ereport(ERROR, (errcode(pe.sqlerrcode), errmsg_internal("%s", pe.message ? pe.message : "nova error"),
                  pe.detail ? errdetail_internal("%s", pe.detail) : 0, pe.hint ? errhint("%s", pe.hint) : 0));
  pg_unreachable();
}

}  // namespace

Datum call_guarded(Datum (*body)(FunctionCallInfo), FunctionCallInfo fcinfo) {
  sigjmp_buf *const saved_stack = PG_exception_stack;
  ErrorContextCallback *const saved_context = error_context_stack;
  PendingError pe;
  Datum result = (Datum)0;
  bool returned = false;
  try {
    result = body(fcinfo);
    returned = true;
  } catch (...) {
    pe = capture_current_exception();
  }
  // All C++ frames of the body are unwound here. A C++ exception that left a
  // PG_TRY block without PG_END_TRY (even one caught again inside the body)
  // leaves PostgreSQL's handler pointing into a dead frame: put back what was
  // current on entry, and say so.
  if (unlikely(PG_exception_stack != saved_stack || error_context_stack != saved_context)) {
    PG_exception_stack = saved_stack;
    error_context_stack = saved_context;
    ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
                    errmsg("nova: a c++ exception crossed a postgres error handler"),
                    errdetail_internal("original error: %s", pe.edata && pe.edata->message ? pe.edata->message
                                                             : pe.message ? pe.message : "none")));
  }
  if (returned) return result;
  raise(pe);
}

void guard_impl(GuardThunk thunk, void *arg) {
  MemoryContext oldcxt = CurrentMemoryContext;
  ErrorData *volatile edata = nullptr;
  std::exception_ptr escaped;  // lives in this frame, outside the setjmp region's locals
  PG_TRY();
  {
    thunk(arg, &escaped);  // noexcept: never unwinds through PG_TRY
  }
  PG_CATCH();
  {
    MemoryContextSwitchTo(oldcxt);
    edata = CopyErrorData();
    FlushErrorState();
  }
  PG_END_TRY();
  if (edata) throw PgError(edata);
  if (escaped) std::rethrow_exception(escaped);
}

}  // namespace nova::pg
