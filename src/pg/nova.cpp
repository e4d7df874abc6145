// Library entry point: _PG_init, the module registry and shared memory hooks.
#include "pg/module.h"

extern "C" {
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
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
  if (g_nmodules >= kMaxModules) return false;
  g_modules[g_nmodules++] = ModuleEntry{name, fn};
  return true;
}

bool register_shmem_user(const ShmemUser &user) {
  if (g_nshmem_users >= kMaxModules) return false;
  g_shmem_users[g_nshmem_users++] = user;
  return true;
}

bool shmem_available() { return g_shmem_attached; }

}  // namespace nova::pg

void _PG_init(void) {
  using namespace nova::pg;
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
