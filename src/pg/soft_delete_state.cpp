// Soft delete: the state of the current nova operation (operation id, actor, mode),
// nova's own row UPDATEs, and running plans as another role (docs/soft-delete.md).
//
// All of it is backend-local and only nova's C++ code sets it; it is reset at
// transaction end. Acting as another role goes through nova::pg::run_as only.
#include "pg/soft_delete.h"
#include "pg/soft_delete_actor.h"

#include "pg/identity.h"
#include "pg/module.h"
#include "pg/run_as.h"

extern "C" {
#include "access/xact.h"
#include "commands/sequence.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/snapmgr.h"
}

namespace nova::pg::sd {

OpState g_state = {0, 0, nullptr, Mode::kSoftDelete, 0, 0};

namespace {

// The statement a top-level operation id belongs to.
LocalTransactionId g_key_lxid = InvalidLocalTransactionId;
CommandId g_key_cid = InvalidCommandId;
int64 g_key_op = 0;

// Innermost of nova's own row UPDATEs running now (frames live on the C stack).
OwnUpdate *g_own = nullptr;

void xact_cb(XactEvent event, void *) {
  if (event == XACT_EVENT_ABORT || event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_ABORT ||
      event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PREPARE) {
    g_state.depth = 0;
    g_state.op = 0;
    g_state.by = nullptr;
    g_state.mode = Mode::kSoftDelete;
    g_own = nullptr;
  }
}

void state_init() { nova::pg::register_xact_callback(xact_cb, nullptr); }

struct ExecPlan {
  SPIPlanPtr plan;
  Datum *values;
  const char *nulls;
  int rc;
  uint64 processed;
};

void run_plan(void *p) {
  auto *a = static_cast<ExecPlan *>(p);
  a->rc = SPI_execute_plan(a->plan, a->values, a->nulls, false, 0);
  a->processed = SPI_processed;
}

}  // namespace

NOVA_MODULE_INIT(state_init);

int64 current_op(Table *t) {
  if (g_state.depth > 0) return g_state.op;
#if PG_VERSION_NUM >= 170000
  LocalTransactionId lxid = MyProc->vxid.lxid;
#else
  LocalTransactionId lxid = MyProc->lxid;
#endif
  CommandId cid = ActiveSnapshotSet() ? GetActiveSnapshot()->curcid : InvalidCommandId;
  if (cid != InvalidCommandId && lxid == g_key_lxid && cid == g_key_cid) return g_key_op;
  int64 op = nextval_internal(t->op_seq, false);
  g_key_lxid = lxid;
  g_key_cid = cid;
  g_key_op = op;
  return op;
}

char *current_by() {
  if (g_state.depth > 0 && g_state.by) return g_state.by;
  return current_actor();
}

void with_op(int64 op, char *by, Mode mode, void (*fn)(void *), void *arg) {
  OpState saved = g_state;
  g_state.op = op;
  g_state.by = by;
  g_state.mode = mode;
  g_state.depth++;
  PG_TRY();
  {
    fn(arg);
  }
  PG_FINALLY();
  {
    g_state.op = saved.op;
    g_state.by = saved.by;
    g_state.mode = saved.mode;
    g_state.depth = saved.depth;
  }
  PG_END_TRY();
}

uint64 exec_as(Oid user, SPIPlanPtr plan, Datum *values, const char *nulls) {
  ExecPlan a = {plan, values, nulls, 0, 0};
  nova::pg::run_as(user, run_plan, &a, SECURITY_NOFORCE_RLS);
  if (a.rc < 0) elog(ERROR, "nova: SPI_execute_plan failed: %s", SPI_result_code_string(a.rc));
  return a.processed;
}

uint64 exec_own_update(OwnUpdate *own, Oid user, SPIPlanPtr plan, Datum *values, const char *nulls) {
  OwnUpdate *saved = g_own;
  own->outer = saved;
  g_own = own;
  volatile uint64 n = 0;
  PG_TRY();
  {
    n = exec_as(user, plan, values, nulls);
  }
  PG_FINALLY();
  {
    g_own = saved;
  }
  PG_END_TRY();
  return n;
}

bool is_own_update(Oid relid, ItemPointer old_tid) {
  // Only the innermost frame: its AFTER events fire at the end of its own UPDATE,
  // before control returns to any outer frame.
  return g_own != nullptr && g_own->relid == relid && ItemPointerEquals(&g_own->tid, old_tid);
}

}  // namespace nova::pg::sd

namespace nova::pg {
const char *soft_delete_actor() {
  return sd::g_state.depth > 0 && sd::g_state.mode == sd::Mode::kSoftDelete ? sd::g_state.by : nullptr;
}
}  // namespace nova::pg
