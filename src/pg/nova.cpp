// Library entry point: _PG_init, the module registry and shared memory hooks.
#include "pg/module.h"

extern "C" {
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/inval.h"
}

#include "pg/guc.h"

extern "C" {
PG_MODULE_MAGIC;
void _PG_init(void);
}

namespace nova::pg {

namespace {

// Fixed-size registries filled by static constructors (no heap, no PostgreSQL calls).
constexpr int kMaxModules = 32;
struct ModuleEntry {
  const char *name;
  ModuleInitFn fn;
};
ModuleEntry g_modules[kMaxModules];
int g_nmodules = 0;
ShmemUser g_shmem_users[kMaxModules];
int g_nshmem_users = 0;
// Registrations refused because a registry was full (checked in _PG_init).
const char *g_overflowed = nullptr;

// The one relcache / transaction / subtransaction callback nova gives PostgreSQL,
// and the modules' callbacks it dispatches to, in registration order.
constexpr int kMaxCallbacks = 16;
struct RelcacheEntry {
  RelcacheCallbackFunction fn;
  Datum arg;
};
struct XactEntry {
  XactCallback fn;
  void *arg;
};
struct SubXactEntry {
  SubXactCallback fn;
  void *arg;
};
RelcacheEntry g_relcache_cbs[kMaxCallbacks];
int g_nrelcache_cbs = 0;
XactEntry g_xact_cbs[kMaxCallbacks];
int g_nxact_cbs = 0;
SubXactEntry g_subxact_cbs[kMaxCallbacks];
int g_nsubxact_cbs = 0;

// The counts are re-read on every iteration: a callback may register another
// module lazily; the tables never move.
void dispatch_relcache(Datum, Oid relid) {
  for (int i = 0; i < g_nrelcache_cbs; i++) g_relcache_cbs[i].fn(g_relcache_cbs[i].arg, relid);
}
void dispatch_xact(XactEvent event, void *) {
  for (int i = 0; i < g_nxact_cbs; i++) g_xact_cbs[i].fn(event, g_xact_cbs[i].arg);
}
void dispatch_subxact(SubXactEvent event, SubTransactionId my_subid, SubTransactionId parent_subid, void *) {
  for (int i = 0; i < g_nsubxact_cbs; i++) g_subxact_cbs[i].fn(event, my_subid, parent_subid, g_subxact_cbs[i].arg);
}

[[noreturn]] void callback_table_full(const char *what) {
  ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED), errmsg("nova: too many %s callbacks", what),
                  errdetail("nova dispatches at most %d callbacks of each kind (src/pg/nova.cpp)", kMaxCallbacks)));
  pg_unreachable();
}

bool g_shmem_attached = false;

#if PG_VERSION_NUM >= 150000
shmem_request_hook_type prev_shmem_request_hook = nullptr;
#endif
shmem_startup_hook_type prev_shmem_startup_hook = nullptr;

void request_shmem() {
  for (int i = 0; i < g_nshmem_users; i++) {
    const ShmemUser &u = g_shmem_users[i];
    RequestAddinShmemSpace(MAXALIGN(u.size()));
    if (u.nlocks > 0) RequestNamedLWLockTranche(u.name, u.nlocks);
  }
}

#if PG_VERSION_NUM >= 150000
void nova_shmem_request() {
  if (prev_shmem_request_hook) prev_shmem_request_hook();
  request_shmem();
}
#endif

void nova_shmem_startup() {
  if (prev_shmem_startup_hook) prev_shmem_startup_hook();
  LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
  for (int i = 0; i < g_nshmem_users; i++) {
    const ShmemUser &u = g_shmem_users[i];
    bool found = false;
    void *mem = ShmemInitStruct(u.name, MAXALIGN(u.size()), &found);
    u.startup(mem, found);
  }
  LWLockRelease(AddinShmemInitLock);
  g_shmem_attached = true;
}

}  // namespace

bool register_module_init(const char *name, ModuleInitFn fn) {
  if (g_nmodules >= kMaxModules) {
    g_overflowed = name;
    return false;
  }
  g_modules[g_nmodules++] = ModuleEntry{name, fn};
  return true;
}

bool register_shmem_user(const ShmemUser &user) {
  if (g_nshmem_users >= kMaxModules) {
    g_overflowed = user.name;
    return false;
  }
  g_shmem_users[g_nshmem_users++] = user;
  return true;
}

void register_relcache_callback(RelcacheCallbackFunction fn, Datum arg) {
  if (g_nrelcache_cbs >= kMaxCallbacks) callback_table_full("relcache");
  g_relcache_cbs[g_nrelcache_cbs] = RelcacheEntry{fn, arg};
  g_nrelcache_cbs++;
}

void register_xact_callback(XactCallback fn, void *arg) {
  if (g_nxact_cbs >= kMaxCallbacks) callback_table_full("transaction");
  g_xact_cbs[g_nxact_cbs] = XactEntry{fn, arg};
  g_nxact_cbs++;
}

void register_subxact_callback(SubXactCallback fn, void *arg) {
  if (g_nsubxact_cbs >= kMaxCallbacks) callback_table_full("subtransaction");
  g_subxact_cbs[g_nsubxact_cbs] = SubXactEntry{fn, arg};
  g_nsubxact_cbs++;
}

bool shmem_available() { return g_shmem_attached; }

}  // namespace nova::pg

void _PG_init(void) {
  using namespace nova::pg;
  if (g_overflowed)
    ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED), errmsg("nova: module registry full at \"%s\"", g_overflowed),
                    errdetail("raise kMaxModules in src/pg/nova.cpp")));
  // The only invalidation / transaction callbacks nova registers with PostgreSQL.
  CacheRegisterRelcacheCallback(dispatch_relcache, (Datum)0);
  RegisterXactCallback(dispatch_xact, nullptr);
  RegisterSubXactCallback(dispatch_subxact, nullptr);
  define_gucs();
  if (process_shared_preload_libraries_in_progress) {
#if PG_VERSION_NUM >= 150000
    prev_shmem_request_hook = shmem_request_hook;
    shmem_request_hook = nova_shmem_request;
#else
    request_shmem();
#endif
    prev_shmem_startup_hook = shmem_startup_hook;
    shmem_startup_hook = nova_shmem_startup;
  }
  for (int i = 0; i < g_nmodules; i++) g_modules[i].fn();
}
