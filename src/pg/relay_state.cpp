// Shared-memory segment of the relay and the functions backends use to reach it:
// the commit-time wake-up, the active outbox partition, and the status row behind
// nova.status() / view nova.relay. See relay_state.h.
#include "pg/relay_state.h"

extern "C" {
#include "access/htup_details.h"
#include "access/xlog.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
}

#include "pg/boundary.h"
#include "pg/breaker_api.h"
#include "pg/guc.h"
#include "pg/module.h"

namespace nova::relay {

namespace {

Shared *g_shared = nullptr;

Size shared_size() { return sizeof(Shared); }

void shared_startup(void *mem, bool found) {
  g_shared = static_cast<Shared *>(mem);
  if (!found) {
    memset(g_shared, 0, sizeof(Shared));
    SpinLockInit(&g_shared->mutex);
    g_shared->worker_latch = nullptr;
    g_shared->active_slot = 0;
    g_shared->state = State::kStopped;
    pg_atomic_init_u32(&g_shared->sleeping, 0);
  }
  g_shared->status_lock = &GetNamedLWLockTranche("nova_relay")[0].lock;
}

}  // namespace

NOVA_SHMEM_REGISTER(relay, shared_size, shared_startup, "nova_relay", 1);

const char *state_name(State s) {
  switch (s) {
    case State::kStopped: return "stopped";
    case State::kStarting: return "starting";
    case State::kWaitingDatabase: return "waiting_for_database";
    case State::kWaitingExtension: return "waiting_for_extension";
    case State::kUnconfigured: return "unconfigured";
    case State::kIdle: return "idle";
    case State::kRunning: return "running";
    case State::kBrokerDown: return "broker_down";
    case State::kBreakerOpen: return "breaker_open";
    case State::kRoleRefused: return "role_refused";
    case State::kStopping: return "stopping";
  }
  return "unknown";
}

Shared *shared() { return g_shared; }

// A lost wake-up is impossible: the committing backend makes its commit visible,
// then (full barrier) reads `sleeping`; the worker sets `sleeping`, then (full
// barrier) takes its snapshot. If the backend reads 0, the worker's snapshot sees
// the commit; if it reads 1, it (or another backend) sets the latch after the
// worker's ResetLatch, so the worker's next wait returns at once (docs/relay.md).
// Before this, every commit took the spinlock and called SetLatch even while the
// relay was unconfigured or busy: about 14% of a trigger-heavy backend's time.
void wake() {
  if (!g_shared) return;
  pg_memory_barrier();
  if (pg_atomic_read_u32(&g_shared->sleeping) == 0) return;
  if (pg_atomic_exchange_u32(&g_shared->sleeping, 0) == 0) return;  // another backend wakes it
  SpinLockAcquire(&g_shared->mutex);
  Latch *latch = g_shared->worker_latch;
  SpinLockRelease(&g_shared->mutex);
  if (latch) SetLatch(latch);
}

void set_sleeping(bool sleeping) {
  if (!g_shared) return;
  pg_atomic_write_u32(&g_shared->sleeping, sleeping ? 1 : 0);
  pg_memory_barrier();
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

// nova._relay_status(): the shared-memory half of view nova.relay (the outbox half is SQL).
// Plain C-style body: the breaker call may ereport, so no C++ objects live in this frame.
NOVA_FUNCTION(nova_relay_status) {
  using namespace nova::relay;
  TupleDesc tupdesc;
  if (get_call_result_type(fcinfo, nullptr, &tupdesc) != TYPEFUNC_COMPOSITE)
    ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("function returning record called in context "
                                                                   "that cannot accept type record")));
  tupdesc = BlessTupleDesc(tupdesc);
  // 1.0's nova._relay_status() has 13 columns, 1.1's a 14th (role). heap_form_tuple
  // reads as many values as the caller's definition has, so the frozen 1.0 install
  // script keeps working with this library.
  constexpr int kCols = 14;
  if (tupdesc->natts > kCols)
    ereport(ERROR, (errcode(ERRCODE_DATATYPE_MISMATCH), errmsg("nova._relay_status() has an unexpected definition")));
  Datum values[kCols];
  bool nulls[kCols];
  for (int i = 0; i < kCols; i++) {
    values[i] = 0;
    nulls[i] = true;
  }
  Shared *sh = shared();
  if (!sh || !nova::pg::shmem_available()) {
    values[0] = CStringGetTextDatum("not_loaded");
    nulls[0] = false;
  } else {
    // The status is copied under its LWLock (about 1.8 kB); the spinlock covers a few words.
    Shared *snapp = static_cast<Shared *>(palloc(sizeof(Shared)));
    Shared &snap = *snapp;
    LWLockAcquire(sh->status_lock, LW_SHARED);
    memcpy(&snap, sh, sizeof(Shared));
    LWLockRelease(sh->status_lock);
    SpinLockAcquire(&sh->mutex);
    snap.state = sh->state;
    snap.worker_pid = sh->worker_pid;
    snap.active_slot = sh->active_slot;
    SpinLockRelease(&sh->mutex);
    snap.role[kRoleLen - 1] = '\0';
    snap.last_error[kErrorLen - 1] = '\0';
    snap.brokers[kBrokersLen - 1] = '\0';
    // An empty nova.kafka_brokers means unconfigured whatever the worker is doing (it
    // may still wait for its database); this backend sees the same value after a reload.
    const char *st = state_name(snap.state);
    if (RecoveryInProgress())
      st = "standby";
    else if ((nova_guc_kafka_brokers == nullptr || nova_guc_kafka_brokers[0] == '\0') && snap.state != State::kStopping)
      st = "unconfigured";
    values[0] = CStringGetTextDatum(st);
    nulls[0] = false;
    if (snap.worker_pid != 0) {
      values[1] = Int32GetDatum(snap.worker_pid);
      nulls[1] = false;
    }
    values[2] = Int64GetDatum(static_cast<int64>(snap.delivered));
    values[3] = Int64GetDatum(static_cast<int64>(snap.failed));
    values[4] = Int64GetDatum(static_cast<int64>(snap.dead));
    nulls[2] = nulls[3] = nulls[4] = false;
    if (snap.last_error[0]) {
      values[5] = CStringGetTextDatum(snap.last_error);
      nulls[5] = false;
    }
    if (snap.last_delivery_at != 0) {
      values[6] = TimestampTzGetDatum(snap.last_delivery_at);
      nulls[6] = false;
    }
    if (snap.started_at != 0) {
      values[7] = TimestampTzGetDatum(snap.started_at);
      nulls[7] = false;
    }
    values[8] = CStringGetTextDatum(nova::pg::breaker::state("kafka"));
    nulls[8] = false;
    // Events per second over the last full minute (the current second is still filling).
    int64 now_sec = static_cast<int64>(time(nullptr));
    uint64 sum = 0;
    for (int i = 0; i < kRateSeconds; i++)
      if (snap.rate_second[i] >= now_sec - kRateSeconds && snap.rate_second[i] < now_sec) sum += snap.rate_count[i];
    values[9] = Float8GetDatum(static_cast<double>(sum) / kRateSeconds);
    nulls[9] = false;
    if (snap.brokers[0]) {
      values[10] = CStringGetTextDatum(snap.brokers);
      nulls[10] = false;
    }
    values[11] = Int32GetDatum(snap.active_slot);
    nulls[11] = false;
    values[12] = Int64GetDatum(static_cast<int64>(snap.rotations));
    nulls[12] = false;
    if (snap.role[0]) {
      values[13] = CStringGetTextDatum(snap.role);
      nulls[13] = false;
    }
  }
  HeapTuple tuple = heap_form_tuple(tupdesc, values, nulls);
  PG_RETURN_DATUM(HeapTupleGetDatum(tuple));
}
