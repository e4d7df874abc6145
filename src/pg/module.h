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
#pragma once

extern "C" {
#include "postgres.h"
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

// True when nova was loaded by shared_preload_libraries and shared memory is attached.
bool shmem_available();

}  // namespace nova::pg

#define NOVA_MODULE_INIT(fn) \
  static const bool nova_module_init_##fn = ::nova::pg::register_module_init(#fn, fn)

#define NOVA_SHMEM_REGISTER(tag, size_fn, startup_fn, tranche, nlocks) \
  static const bool nova_shmem_##tag =                                 \
      ::nova::pg::register_shmem_user(::nova::pg::ShmemUser{tranche, size_fn, startup_fn, nlocks})
