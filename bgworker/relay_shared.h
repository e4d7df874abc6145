// State shared between backends and the relay worker (shared memory).
#pragma once

extern "C" {
#include "postgres.h"
#include "storage/latch.h"
#include "storage/spin.h"
}

namespace nova::relay {

struct Shared {
  slock_t mutex;          // protects the fields below; never held across anything that can ERROR
  Latch *worker_latch;    // the relay's latch while it runs, else nullptr
  int active_slot;        // outbox partition new events go to (0 or 1)
};

// nullptr when nova is not in shared_preload_libraries.
Shared *shared();

// Wake the relay (coalesced: setting a set latch is a no-op). Safe to call at commit.
void wake();

// The outbox partition that new rows go to; 0 when not preloaded.
int current_slot();

}  // namespace nova::relay
