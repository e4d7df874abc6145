// Feature modules register themselves here instead of editing _PG_init.
//
//   NOVA_MODULE_INIT(outbox_init)            — called from _PG_init (after GUCs exist)
//   NOVA_SHMEM_REGISTER(jwt_cache, size_fn, startup_fn, "nova_jwt_cache", nlocks)
//        size_fn()        — bytes of shared memory needed (shmem_request_hook)
//        startup_fn(mem, found) — called in shmem_startup_hook under AddinShmemInitLock
//                           with the segment ShmemInitStruct(tranche, size) returned;
//                           initialise it when !found, remember the pointer.
//        a named LWLock tranche with nlocks locks is requested (0 = none);
//        get them with GetNamedLWLockTranche(tranche) inside startup_fn.
//
// Registration happens in static constructors (plain C++, no PostgreSQL calls).
// A full registry is a build defect: _PG_init then refuses to load the library.
//
// Invalidation and transaction callbacks (docs/architecture.md, "callbacks"):
// a backend has a fixed number of relcache callback slots shared with every
// other extension, so nova registers ONE relcache, one transaction and one
// subtransaction callback with PostgreSQL, in _PG_init,
// and dispatches to its modules from nova.cpp. Modules register with
//
//   nova::pg::register_relcache_callback(fn, arg)   same signature as CacheRegisterRelcacheCallback
//   nova::pg::register_xact_callback(fn, arg)       same as RegisterXactCallback
//   nova::pg::register_subxact_callback(fn, arg)    same as RegisterSubXactCallback
//
// from their NOVA_MODULE_INIT function or lazily (once) later. Callbacks run
// in registration order (module inits run in link order, i.e. sorted file
// names); a full table raises an ERROR instead of dropping the callback.
#pragma once

extern "C" {
#include "postgres.h"
#include "access/xact.h"
#include "utils/inval.h"
}

namespace nova::pg {

using ModuleInitFn = void (*)();
using ShmemSizeFn = Size (*)();
using ShmemStartupFn = void (*)(void *mem, bool found);

struct ShmemUser {
  const char *name;
  ShmemSizeFn size;
  ShmemStartupFn startup;
  int nlocks;
};

bool register_module_init(const char *name, ModuleInitFn fn);
bool register_shmem_user(const ShmemUser &user);

void register_relcache_callback(RelcacheCallbackFunction fn, Datum arg);
void register_xact_callback(XactCallback fn, void *arg);
void register_subxact_callback(SubXactCallback fn, void *arg);

// True when nova was loaded by shared_preload_libraries and shared memory is attached.
bool shmem_available();

}  // namespace nova::pg

#define NOVA_MODULE_INIT(fn) \
  static const bool nova_module_init_##fn = ::nova::pg::register_module_init(#fn, fn)

#define NOVA_SHMEM_REGISTER(tag, size_fn, startup_fn, tranche, nlocks) \
  static const bool nova_shmem_##tag =                                 \
      ::nova::pg::register_shmem_user(::nova::pg::ShmemUser{tranche, size_fn, startup_fn, nlocks})
