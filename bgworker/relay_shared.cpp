// Shared-memory segment of the relay and the functions backends use to reach it.
#include "bgworker/relay_shared.h"

#include "pg/boundary.h"
#include "pg/module.h"

namespace nova::relay {

namespace {

Shared *g_shared = nullptr;

Size shared_size() { return sizeof(Shared); }

void shared_startup(void *mem, bool found) {
  g_shared = static_cast<Shared *>(mem);
  if (!found) {
    SpinLockInit(&g_shared->mutex);
    g_shared->worker_latch = nullptr;
    g_shared->active_slot = 0;
  }
}

}  // namespace

NOVA_SHMEM_REGISTER(relay, shared_size, shared_startup, "nova_relay", 0);

Shared *shared() { return g_shared; }

void wake() {
  if (!g_shared) return;
  SpinLockAcquire(&g_shared->mutex);
  Latch *latch = g_shared->worker_latch;
  SpinLockRelease(&g_shared->mutex);
  if (latch) SetLatch(latch);
}

int current_slot() {
  if (!g_shared) return 0;
  SpinLockAcquire(&g_shared->mutex);
  int slot = g_shared->active_slot;
  SpinLockRelease(&g_shared->mutex);
  return slot;
}

}  // namespace nova::relay

// nova._outbox_slot(): default of nova.outbox.slot.
NOVA_FUNCTION(nova_outbox_slot) { PG_RETURN_INT16(static_cast<int16>(nova::relay::current_slot())); }
