// Shared circuit breakers (docs/breakers.md): a fixed table of named breakers in
// shared memory, each a core::Breaker (plain POD) under its own LWLock.
//
//  * Namespaces: a slot is keyed by (database oid, name); every SQL function and
//    nova.breakers see the current database's breakers only, so a role in one
//    database cannot touch another database's breakers.
//  * Reserved names: `kafka` (the relay's) and names starting with `nova.` may be
//    allowed/recorded/forced/configured from SQL only by superusers and the
//    extension's owner (42501 for everyone else); the relay worker uses them
//    through breaker_api.h.
//  * Reclaiming: when the table is full, an unpinned breaker (no nova.breaker_config
//    row, not forced, no reserved name, no half-open permit out) is reclaimed:
//    from the database holding the most slots (the caller's own when it holds as
//    many as any other), preferring CLOSED breakers with no calls in the window,
//    then CLOSED ones, then the rest, least recently used first. So no role can
//    exhaust the table.
//  * Locking: the directory lock guards slot identity (db, name, status); a slot's
//    lock guards its breaker. A slot is found under the directory lock and its lock
//    taken before the directory lock is released; reclaiming needs the directory
//    lock exclusively and the slot's lock, so a slot cannot change identity while
//    someone holds its lock.
// Configuration lives in nova.breaker_config, read (as the extension owner, through
// nova::pg::run_as) the first time a transaction uses the breaker after a restart
// and applied at commit of nova.breaker_configure. Half-open permits are tracked by
// backend pid and given back when the backend exits or is found dead.
#include "pg/test_hooks.h"
#include "pg/breaker_api.h"

#include <cstring>
#include <optional>
#include <string>
#include <type_traits>

#include "core/breaker.h"
#include "pg/boundary.h"
#include "pg/metrics.h"
#include "pg/module.h"
#include "pg/run_as.h"

extern "C" {
#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "common/pg_prng.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "storage/shmem.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
}

namespace core = nova::breaker;

namespace {

constexpr int kSlots = 256;          // named breakers per cluster, all databases together
constexpr int kNameLen = 64;         // name bytes incl. NUL (NAMEDATALEN)
constexpr int64 kReclaimEveryUs = 100 * 1000;
const char *const kTranche = "nova_breakers";

enum SlotStatus : uint8 { kEmpty = 0, kUsed, kFreed };  // kFreed: reclaimed (keeps probe chains intact)

struct Slot {
  // Identity: written under the directory lock held exclusively.
  uint8 status;
  Oid db;
  uint32 hash;
  char name[kNameLen];
  // Under the slot lock.
  bool config_loaded;        // nova.breaker_config has been consulted
  bool pinned_by_config;     // it has a row there: never reclaimed
  int64 last_reclaim_us;     // dead permit holders last looked for
  int64 last_used_us;        // for least-recently-used reclaiming
  // Monotonic counters for nova.metrics (docs/operations.md); they live and are
  // reclaimed with the slot, so junk names cannot crowd real breakers out of them.
  uint64 calls[nova::pg::breaker::kCallOutcomes];     // success, failure, not permitted
  uint64 entered[nova::pg::breaker::kCounterStates];  // transitions, by the state entered
  core::Breaker b;
};

struct Shared {
  pg_atomic_uint64 clock_offset_us;  // test-only clock shift (nova._breaker_clock_advance)
  int nused;                         // under the directory lock
  uint64 reclaimed;                  // under the directory lock
  Slot slots[kSlots];
};

Shared *g_shared = nullptr;
LWLockPadded *g_locks = nullptr;  // kSlots slot locks, then the directory lock

// Under the slot lock.
void count_entered(Slot &s, core::State before, core::State after) {
  int k = static_cast<int>(after);
  if (before != after && k >= 0 && k < nova::pg::breaker::kCounterStates) s.entered[k]++;
}
bool g_exit_hook = false;

Size shmem_size() { return sizeof(Shared); }

void shmem_startup(void *mem, bool found) {
  g_shared = static_cast<Shared *>(mem);
  g_locks = GetNamedLWLockTranche(kTranche);
  if (!found) {
    memset(mem, 0, sizeof(Shared));
    pg_atomic_init_u64(&g_shared->clock_offset_us, 0);
  }
}

NOVA_SHMEM_REGISTER(breakers, shmem_size, shmem_startup, kTranche, kSlots + 1);

LWLock *slot_lock(int i) { return &g_locks[i].lock; }
LWLock *directory_lock() { return &g_locks[kSlots].lock; }

bool shmem_ready() { return nova::pg::shmem_available() && g_shared != nullptr; }

void require_shmem() {
  if (!shmem_ready())
    throw nova::Error(nova::sqlstate::kObjectNotInPrerequisiteState, "circuit breakers are not available",
                      "nova is not loaded through shared_preload_libraries, so breakers cannot be shared.",
                      "Add nova to shared_preload_libraries and restart the server.");
}

int64 now_us() {
  return static_cast<int64>(GetCurrentTimestamp()) + static_cast<int64>(pg_atomic_read_u64(&g_shared->clock_offset_us));
}

double random01() { return pg_prng_double(&pg_global_prng_state); }

void check_name(const char *name) {
  size_t len = strlen(name);
  if (len == 0 || len >= static_cast<size_t>(kNameLen))
    throw nova::Error(nova::sqlstate::kInvalidParameterValue, "invalid circuit breaker name",
                      "A breaker name is 1 to " + std::to_string(kNameLen - 1) + " bytes long; got " +
                          std::to_string(len) + " bytes.");
}

// `kafka` (the relay's breaker) and names starting with `nova.` (docs/breakers.md).
bool reserved_name(const char *name) { return strcmp(name, "kafka") == 0 || strncmp(name, "nova.", 5) == 0; }

// SQL entry points only: reserved names are for superusers and the extension owner.
void check_reserved(const char *name) {
  if (!reserved_name(name)) return;
  Oid me = GetUserId();
  bool ok = false;
  nova::pg::guard([&] { ok = superuser_arg(me) || has_privs_of_role(me, nova::pg::extension_owner()); });
  if (!ok)
    throw nova::Error("42501", "permission denied for circuit breaker \"" + std::string(name) + "\"",
                      "The breaker \"kafka\" and names starting with \"nova.\" are reserved for the relay worker, "
                      "superusers and the owner of the nova extension.",
                      "Use a name of your own.");
}

uint32 name_hash(Oid db, const char *name) {
  uint32 h = 2166136261u;
  for (int i = 0; i < 4; i++) h = (h ^ ((db >> (8 * i)) & 0xff)) * 16777619u;
  for (const unsigned char *p = reinterpret_cast<const unsigned char *>(name); *p; p++) h = (h ^ *p) * 16777619u;
  return h;
}

// Caller holds the directory lock (either mode).
int find_slot(Oid db, const char *name, uint32 h) {
  uint32 start = h % kSlots;
  for (int k = 0; k < kSlots; k++) {
    int i = static_cast<int>((start + k) % kSlots);
    const Slot &s = g_shared->slots[i];
    if (s.status == kEmpty) return -1;
    if (s.status == kUsed && s.db == db && s.hash == h && strcmp(s.name, name) == 0) return i;
  }
  return -1;
}

// The slot of (db, name) with its lock held exclusively, or -1 (no lock held).
int lock_existing(Oid db, const char *name, uint32 h) {
  LWLockAcquire(directory_lock(), LW_SHARED);
  int idx = find_slot(db, name, h);
  if (idx >= 0) LWLockAcquire(slot_lock(idx), LW_EXCLUSIVE);
  LWLockRelease(directory_lock());
  return idx;
}

// ---- reclaiming -------------------------------------------------------------------------

// Reclaim order within a database: 1 = CLOSED with no calls in the window and
// nothing else to keep, 2 = CLOSED, 3 = OPEN/HALF_OPEN; 0 = pinned, never reclaimed.
int reclaim_tier(const Slot &s, int64 now) {
  if (s.pinned_by_config || reserved_name(s.name)) return 0;
  const core::Breaker &b = s.b;
  if (b.nholders > 0) return 0;
  if (b.state == core::State::kForcedOpen || b.state == core::State::kDisabled ||
      b.state == core::State::kMetricsOnly)
    return 0;  // set by an administrator (nova.breaker_force)
  if (b.state != core::State::kClosed) return 3;
  core::Metrics m = core::metrics(b, now);
  if (m.calls == 0 && b.consecutive_failures == 0 && b.not_permitted_calls == 0) return 1;
  return 2;
}

// Frees one slot for `db`; caller holds the directory lock exclusively. False when
// every breaker is pinned.
bool reclaim_one(Oid db) {
  // Slots per database; the victim database is the one holding the most (the
  // caller's own when it holds as many as any other).
  Oid dbs[kSlots];
  int counts[kSlots];
  int ndb = 0;
  for (int i = 0; i < kSlots; i++) {
    const Slot &s = g_shared->slots[i];
    if (s.status != kUsed) continue;
    int k = 0;
    while (k < ndb && dbs[k] != s.db) k++;
    if (k == ndb) {
      dbs[ndb] = s.db;
      counts[ndb++] = 0;
    }
    counts[k]++;
  }
  int own = 0, most = 0;
  Oid most_db = db;
  for (int k = 0; k < ndb; k++) {
    if (dbs[k] == db) own = counts[k];
    else if (counts[k] > most) most = counts[k], most_db = dbs[k];
  }
  Oid victim_db = own >= most ? db : most_db;
  for (int pass = 0; pass < 2; pass++) {  // the victim database first, then any
    int best = -1, best_tier = 0;
    int64 best_used = 0;
    int64 now = now_us();
    for (int i = 0; i < kSlots; i++) {
      Slot &s = g_shared->slots[i];
      if (s.status != kUsed || (pass == 0 && s.db != victim_db)) continue;
      if (!LWLockConditionalAcquire(slot_lock(i), LW_SHARED)) continue;  // busy: not idle
      int tier = reclaim_tier(s, now);
      int64 used = s.last_used_us;
      LWLockRelease(slot_lock(i));
      if (tier == 0) continue;
      if (best < 0 || tier < best_tier || (tier == best_tier && used < best_used)) {
        best = i;
        best_tier = tier;
        best_used = used;
      }
    }
    if (best < 0) continue;
    Slot &v = g_shared->slots[best];
    LWLockAcquire(slot_lock(best), LW_EXCLUSIVE);
    bool still = reclaim_tier(v, now_us()) != 0;
    if (still) {
      v.status = kFreed;
      g_shared->nused--;
      g_shared->reclaimed++;
    }
    LWLockRelease(slot_lock(best));
    if (still) return true;
  }
  return false;
}

// ---- configuration from nova.breaker_config -------------------------------------------

struct ConfigRow {
  bool consulted;  // the table was read (we are in a transaction of a database with nova)
  char *options;   // palloc'd JSON text, nullptr when the breaker has no row
};

struct ConfigQuery {
  const char *name;
  MemoryContext cxt;
  char *options;
};

// Plain C frame, run as the extension owner (services that may call
// breaker_allow need not read the owner's configuration table).
void config_query_body(void *arg) {
  auto *q = static_cast<ConfigQuery *>(arg);
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "SPI_connect failed");
  Oid types[1] = {TEXTOID};
  Datum values[1] = {CStringGetTextDatum(q->name)};
  SPIPlanPtr plan = SPI_prepare(
      "SELECT c.options::pg_catalog.text FROM nova.breaker_config AS c WHERE c.name OPERATOR(pg_catalog.=) $1", 1,
      types);
  if (!plan) elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
  int rc = SPI_execute_snapshot(plan, values, nullptr, GetLatestSnapshot(), InvalidSnapshot, true, false, 1);
  if (rc != SPI_OK_SELECT) elog(ERROR, "breaker configuration lookup failed: %s", SPI_result_code_string(rc));
  if (SPI_processed > 0) {
    char *v = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
    if (v) q->options = MemoryContextStrdup(q->cxt, v);
  }
  SPI_freeplan(plan);
  SPI_finish();
}

ConfigRow read_config_row(const char *name) {
  ConfigRow row{false, nullptr};
  if (!IsTransactionState()) return row;
  nova::pg::guard([&] {
    Oid nsp = get_namespace_oid("nova", true);
    if (!OidIsValid(nsp) || !OidIsValid(get_relname_relid("breaker_config", nsp))) return;
    ConfigQuery q{name, CurrentMemoryContext, nullptr};
    nova::pg::run_as(nova::pg::extension_owner(), config_query_body, &q);
    row.options = q.options;
    row.consulted = true;
  });
  return row;
}

std::optional<int64_t> parse_duration(const std::string &text) { return core::parse_interval_us(text); }

core::Config parse_options(const char *name, const char *json) {
  return core::parse_config(json, parse_duration, core::default_config_for(name));
}

core::Config parse_stored_options(const char *name, const char *json) {
  try {
    return parse_options(name, json);
  } catch (const nova::Error &e) {
    throw nova::Error(e.sqlstate(), std::string(e.what()) + " in nova.breaker_config for breaker \"" + name + "\"",
                      e.detail(), "Fix it with nova.breaker_configure().");
  }
}

// The slot of (db, name), created when missing (reclaiming one when the table is
// full), returned with its lock held exclusively.
int create_or_lock(Oid db, const char *name, uint32 h, const core::Config &cfg, const ConfigRow &row) {
  LWLockAcquire(directory_lock(), LW_EXCLUSIVE);
  int found = find_slot(db, name, h);
  if (found >= 0) {
    LWLockAcquire(slot_lock(found), LW_EXCLUSIVE);
    LWLockRelease(directory_lock());
    return found;
  }
  if (g_shared->nused >= kSlots && !reclaim_one(db)) {
    LWLockRelease(directory_lock());
    throw nova::Error("53400", "too many circuit breakers",
                      "All " + std::to_string(kSlots) +
                          " shared breaker slots hold configured, forced, reserved or probing breakers.",
                      "Delete rows of nova.breaker_config that are no longer needed, or force unused breakers closed.");
  }
  uint32 start = h % kSlots;
  int idx = -1;
  for (int k = 0; k < kSlots && idx < 0; k++) {
    int i = static_cast<int>((start + k) % kSlots);
    if (g_shared->slots[i].status != kUsed) idx = i;
  }
  Slot &s = g_shared->slots[idx];
  LWLockAcquire(slot_lock(idx), LW_EXCLUSIVE);
  s.db = db;
  s.hash = h;
  strlcpy(s.name, name, kNameLen);
  int64 now = now_us();
  core::init(s.b, cfg, now);
  s.config_loaded = row.consulted;
  s.pinned_by_config = row.options != nullptr;
  s.last_reclaim_us = 0;
  s.last_used_us = now;
  memset(s.calls, 0, sizeof s.calls);
  memset(s.entered, 0, sizeof s.entered);
  s.status = kUsed;
  g_shared->nused++;
  LWLockRelease(directory_lock());
  return idx;
}

// The current database's slot for `name`, created on first use, with its lock held
// exclusively; its configuration is read from nova.breaker_config the first time a
// transaction uses it. No lock is held while the table is read.
int ensure_locked(const char *name) {
  Oid db = MyDatabaseId;
  uint32 h = name_hash(db, name);
  int idx = lock_existing(db, name, h);
  if (idx >= 0 && g_shared->slots[idx].config_loaded) return idx;
  if (idx >= 0) LWLockRelease(slot_lock(idx));
  ConfigRow row = read_config_row(name);
  core::Config cfg = row.options ? parse_stored_options(name, row.options) : core::default_config_for(name);
  idx = create_or_lock(db, name, h, cfg, row);
  Slot &s = g_shared->slots[idx];
  if (row.consulted && !s.config_loaded) {
    core::reconfigure(s.b, cfg, now_us());
    s.config_loaded = true;
    s.pinned_by_config = row.options != nullptr;
  }
  return idx;
}

int ensure_locked_checked(const char *name) {
  require_shmem();
  check_name(name);
  return ensure_locked(name);
}

// ---- half-open permits of exiting or dead backends ---------------------------------------

void release_my_permits(int, Datum) {
  if (g_shared == nullptr) return;
  for (int i = 0; i < kSlots; i++) {
    Slot &s = g_shared->slots[i];
    if (s.status != kUsed) continue;
    if (LWLockHeldByMe(slot_lock(i))) LWLockRelease(slot_lock(i));
    LWLockAcquire(slot_lock(i), LW_EXCLUSIVE);
    core::release_owner(s.b, MyProcPid);
    LWLockRelease(slot_lock(i));
  }
}

void register_exit_hook() {
  if (g_exit_hook) return;
  before_shmem_exit(release_my_permits, 0);
  g_exit_hook = true;
}

bool backend_alive(int64_t pid) { return pid == MyProcPid || BackendPidGetProc(static_cast<int>(pid)) != nullptr; }

// ---- operations (the current database's breakers) -------------------------------------------

bool do_allow(const char *name) {
  require_shmem();
  check_name(name);
  register_exit_hook();
  int idx = ensure_locked(name);
  Slot &s = g_shared->slots[idx];
  int64 now = now_us();
  const core::Breaker &b = s.b;
  // All permits taken: reclaim those of backends that died without running their exit hook.
  if (b.state == core::State::kHalfOpen && b.nholders > 0 &&
      b.nholders + b.ho_recorded >= b.config.permitted_calls_in_half_open_state &&
      now - s.last_reclaim_us >= kReclaimEveryUs) {
    s.last_reclaim_us = now;
    core::release_dead(s.b, backend_alive);
  }
  core::State before = s.b.state;
  core::Permit p = core::allow(s.b, now, random01(), MyProcPid);
  core::State after = s.b.state;
  s.last_used_us = now;
  if (p == core::Permit::kDenied) s.calls[2]++;
  count_entered(s, before, after);
  LWLockRelease(slot_lock(idx));
  if (before != after)
    elog(LOG, "nova: circuit breaker \"%s\" changed from %s to %s", name, core::state_name(before),
         core::state_name(after));
  return p != core::Permit::kDenied;
}

const char *do_record(const char *name, bool success, int64 duration_us) {
  int idx = ensure_locked_checked(name);
  Slot &s = g_shared->slots[idx];
  int64 now = now_us();
  core::State before = s.b.state;
  core::State after = core::record(s.b, success, duration_us, now, random01(), MyProcPid);
  s.last_used_us = now;
  s.calls[success ? 0 : 1]++;
  count_entered(s, before, after);
  LWLockRelease(slot_lock(idx));
  if (before != after)
    elog(LOG, "nova: circuit breaker \"%s\" changed from %s to %s", name, core::state_name(before),
         core::state_name(after));
  return core::state_name(after);
}

// Does not create the breaker: one never used is CLOSED.
const char *do_state(const char *name) {
  if (!shmem_ready()) return "UNAVAILABLE";
  check_name(name);
  int idx = lock_existing(MyDatabaseId, name, name_hash(MyDatabaseId, name));
  if (idx < 0) return core::state_name(core::State::kClosed);
  core::State st = g_shared->slots[idx].b.state;
  LWLockRelease(slot_lock(idx));
  return core::state_name(st);
}

// ---- configuration applied at commit -------------------------------------------------------

struct PendingConfig {
  char name[kNameLen];
  core::Config cfg;
  SubTransactionId subid;
  bool live;
};
// Kept in TopTransactionContext; reset at the end of every transaction.
PendingConfig *g_pending = nullptr;
int g_npending = 0, g_pending_cap = 0;

void add_pending(const char *name, const core::Config &cfg) {
  if (g_npending == g_pending_cap) {
    int cap = g_pending_cap ? g_pending_cap * 2 : 8;
    auto *n = static_cast<PendingConfig *>(MemoryContextAllocZero(TopTransactionContext, sizeof(PendingConfig) * cap));
    if (g_npending) memcpy(n, g_pending, sizeof(PendingConfig) * g_npending);
    g_pending = n;
    g_pending_cap = cap;
  }
  PendingConfig &p = g_pending[g_npending++];
  strlcpy(p.name, name, kNameLen);
  p.cfg = cfg;
  p.subid = GetCurrentSubTransactionId();
  p.live = true;
}

void apply_pending(bool reload_instead) {
  if (g_shared == nullptr) return;
  for (int k = 0; k < g_npending; k++) {
    const PendingConfig &p = g_pending[k];
    if (!p.live) continue;
    // Created by _breaker_prepare_config; if reclaimed since, the first use reads the row.
    int idx = lock_existing(MyDatabaseId, p.name, name_hash(MyDatabaseId, p.name));
    if (idx < 0) continue;
    Slot &s = g_shared->slots[idx];
    if (reload_instead) {
      s.config_loaded = false;
    } else {
      core::reconfigure(s.b, p.cfg, now_us());
      s.config_loaded = true;
    }
    s.pinned_by_config = true;
    LWLockRelease(slot_lock(idx));
  }
}

void xact_callback(XactEvent event, void *) {
  if (g_npending == 0) return;
  switch (event) {
    case XACT_EVENT_COMMIT:
      apply_pending(false);
      break;
    case XACT_EVENT_PREPARE:
      // Takes effect when a later transaction reads the committed row.
      apply_pending(true);
      break;
    case XACT_EVENT_ABORT:
    case XACT_EVENT_PARALLEL_ABORT:
    case XACT_EVENT_PARALLEL_COMMIT:
      break;
    default:
      return;
  }
  g_pending = nullptr;
  g_npending = g_pending_cap = 0;
}

void subxact_callback(SubXactEvent event, SubTransactionId mySubid, SubTransactionId parentSubid, void *) {
  for (int k = 0; k < g_npending; k++) {
    PendingConfig &p = g_pending[k];
    if (p.subid != mySubid) continue;
    if (event == SUBXACT_EVENT_ABORT_SUB) p.live = false;
    else if (event == SUBXACT_EVENT_COMMIT_SUB) p.subid = parentSubid;
  }
}

void breaker_init() {
  nova::pg::register_xact_callback(xact_callback, nullptr);
  nova::pg::register_subxact_callback(subxact_callback, nullptr);
}
NOVA_MODULE_INIT(breaker_init);

// ---- C++ API error handling ------------------------------------------------------------------

// Runs f through the common boundary (src/pg/boundary.h): a C++ exception becomes
// a PostgreSQL ERROR once f's frames are unwound, a PgError is re-raised unchanged.
template <typename F>
void api_call(F &&f) {
  using Fn = std::remove_reference_t<F>;
  LOCAL_FCINFO(fcinfo, 0);
  InitFunctionCallInfoData(*fcinfo, nullptr, 0, InvalidOid, nullptr, nullptr);
  fcinfo->context = reinterpret_cast<Node *>(&f);
  (void)nova::pg::call_guarded(
      [](FunctionCallInfo fc) -> Datum {
        (*reinterpret_cast<Fn *>(fc->context))();
        return static_cast<Datum>(0);
      },
      fcinfo);
}

// Interval → microseconds (a month counts 30 days), saturating instead of overflowing.
int64 interval_us(const Interval *iv) {
  double us = static_cast<double>(iv->time) + static_cast<double>(iv->day) * USECS_PER_DAY +
              static_cast<double>(iv->month) * DAYS_PER_MONTH * USECS_PER_DAY;
  if (us >= 9.2e18) return PG_INT64_MAX;
  if (us <= -9.2e18) return PG_INT64_MIN;
  return iv->time + static_cast<int64>(iv->day) * USECS_PER_DAY +
         static_cast<int64>(iv->month) * DAYS_PER_MONTH * USECS_PER_DAY;
}

[[noreturn]] void null_argument(const char *what) {
  throw nova::Error("22004", std::string(what) + " must not be null");
}

}  // namespace

// ---- the C++ API (breaker_api.h): the relay worker, in its own database ----------------------

namespace nova::pg::breaker {

bool allow(const char *name) {
  bool ok = false;
  api_call([&] { ok = do_allow(name); });
  return ok;
}

const char *record(const char *name, bool success, int64 duration_us) {
  const char *st = nullptr;
  api_call([&] { st = do_record(name, success, duration_us); });
  return st;
}

const char *state(const char *name) {
  const char *st = nullptr;
  api_call([&] { st = do_state(name); });
  return st;
}

bool available() { return shmem_ready(); }

int counters(CounterRow *rows, int max) {
  if (!shmem_ready()) return 0;
  int n = 0;
  Oid db = MyDatabaseId;
  LWLockAcquire(directory_lock(), LW_SHARED);
  for (int i = 0; i < kSlots && n < max; i++) {
    Slot &s = g_shared->slots[i];
    if (s.status != kUsed || s.db != db) continue;
    CounterRow &r = rows[n++];
    LWLockAcquire(slot_lock(i), LW_SHARED);
    strlcpy(r.name, s.name, sizeof r.name);
    r.state = core::state_name(s.b.state);
    memcpy(r.calls, s.calls, sizeof r.calls);
    memcpy(r.entered, s.entered, sizeof r.entered);
    LWLockRelease(slot_lock(i));
  }
  LWLockRelease(directory_lock());
  return n;
}

void reset_counters() {
  if (!shmem_ready()) return;
  LWLockAcquire(directory_lock(), LW_SHARED);
  for (int i = 0; i < kSlots; i++) {
    Slot &s = g_shared->slots[i];
    if (s.status != kUsed) continue;
    LWLockAcquire(slot_lock(i), LW_EXCLUSIVE);
    memset(s.calls, 0, sizeof s.calls);
    memset(s.entered, 0, sizeof s.entered);
    LWLockRelease(slot_lock(i));
  }
  LWLockRelease(directory_lock());
}

}  // namespace nova::pg::breaker

// ---- SQL functions ---------------------------------------------------------------------------

NOVA_FUNCTION(nova_breaker_allow) {
  char *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
  check_name(name);
  check_reserved(name);
  PG_RETURN_BOOL(do_allow(name));
}

NOVA_FUNCTION(nova_breaker_record) {
  if (PG_ARGISNULL(0)) null_argument("breaker name");
  if (PG_ARGISNULL(1)) null_argument("success");
  char *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
  bool success = PG_GETARG_BOOL(1);
  int64 duration = -1;
  if (!PG_ARGISNULL(2)) {
    duration = interval_us(PG_GETARG_INTERVAL_P(2));
    if (duration < 0)
      throw nova::Error(nova::sqlstate::kInvalidParameterValue, "call duration must not be negative");
  }
  check_name(name);
  check_reserved(name);
  const char *st = do_record(name, success, duration);
  text *out = nullptr;
  nova::pg::guard([&] { out = cstring_to_text(st); });
  PG_RETURN_TEXT_P(out);
}

NOVA_FUNCTION(nova_breaker_force) {
  char *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
  char *word = text_to_cstring(PG_GETARG_TEXT_PP(1));
  std::optional<core::State> target = core::parse_force_word(word);
  if (!target)
    throw nova::Error(nova::sqlstate::kInvalidParameterValue, "invalid circuit breaker state \"" + std::string(word) + "\"",
                      "", "Use closed, open (= forced_open), forced_open, half_open, disabled or metrics_only.");
  check_name(name);
  check_reserved(name);
  int idx = ensure_locked_checked(name);
  Slot &s = g_shared->slots[idx];
  int64 now = now_us();
  core::State before = s.b.state;
  core::force(s.b, *target, now, random01());
  s.last_used_us = now;
  count_entered(s, before, s.b.state);
  LWLockRelease(slot_lock(idx));
  elog(LOG, "nova: circuit breaker \"%s\" forced from %s to %s", name, core::state_name(before),
       core::state_name(*target));
  PG_RETURN_VOID();
}

// Validates the options and queues them for shared memory at commit (the SQL
// wrapper nova.breaker_configure stores them in nova.breaker_config).
NOVA_FUNCTION(nova_breaker_prepare_config) {
  char *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
  Jsonb *jb = PG_GETARG_JSONB_P(1);
  char *json = JsonbToCString(nullptr, &jb->root, VARSIZE(jb));
  check_name(name);
  check_reserved(name);
  core::Config cfg = parse_options(name, json);
  if (shmem_ready()) {
    int idx = ensure_locked(name);  // a full table is an error now, not at commit
    LWLockRelease(slot_lock(idx));
    add_pending(name, cfg);
  }
  PG_RETURN_VOID();
}

NOVA_FUNCTION(nova_breaker_clock_advance) {
  nova::pg::require_test_hooks("nova._breaker_clock_advance");
  if (!superuser())
    throw nova::Error("42501", "only superusers may move the circuit breaker clock");
  require_shmem();
  int64 us = interval_us(PG_GETARG_INTERVAL_P(0));
  if (us < 0) throw nova::Error(nova::sqlstate::kInvalidParameterValue, "the breaker clock only moves forward");
  if (us > 10 * 366 * USECS_PER_DAY)
    throw nova::Error(nova::sqlstate::kInvalidParameterValue, "the breaker clock moves at most 10 years at a time");
  pg_atomic_fetch_add_u64(&g_shared->clock_offset_us, static_cast<uint64>(us));
  PG_RETURN_VOID();
}

struct StateRow {
  char name[kNameLen];
  core::Metrics m;
  int64 now;
  core::Config cfg;
  char *config;  // palloc'd JSON
};

// The current database's breakers (nova.breakers).
NOVA_FUNCTION(nova_breaker_states) {
  require_shmem();
  Oid db = MyDatabaseId;
  // Names of this database's breakers whose configuration is not loaded yet (e.g.
  // first used by the relay outside a transaction): load it now.
  auto *names = static_cast<char(*)[kNameLen]>(palloc0(sizeof(char[kNameLen]) * kSlots));
  int nnames = 0;
  LWLockAcquire(directory_lock(), LW_SHARED);
  for (int i = 0; i < kSlots; i++) {
    const Slot &s = g_shared->slots[i];
    if (s.status == kUsed && s.db == db && !s.config_loaded) strlcpy(names[nnames++], s.name, kNameLen);
  }
  LWLockRelease(directory_lock());
  for (int k = 0; k < nnames; k++) LWLockRelease(slot_lock(ensure_locked(names[k])));
  // Snapshot into plain memory under the locks; no PostgreSQL call while C++ objects live.
  auto *rows = static_cast<StateRow *>(palloc0(sizeof(StateRow) * kSlots));
  int nrows = 0;
  LWLockAcquire(directory_lock(), LW_SHARED);
  for (int i = 0; i < kSlots; i++) {
    Slot &s = g_shared->slots[i];
    if (s.status != kUsed || s.db != db) continue;
    StateRow &r = rows[nrows++];
    strlcpy(r.name, s.name, kNameLen);
    LWLockAcquire(slot_lock(i), LW_SHARED);
    r.now = now_us();
    r.m = core::metrics(s.b, r.now);
    r.cfg = s.b.config;
    LWLockRelease(slot_lock(i));
  }
  LWLockRelease(directory_lock());
  for (int k = 0; k < nrows; k++) {
    std::string j = core::config_to_json(rows[k].cfg);
    const char *js = j.c_str();
    nova::pg::guard([&] { rows[k].config = pstrdup(js); });
  }
  nova::pg::guard([&] {
    InitMaterializedSRF(fcinfo, 0);
    ReturnSetInfo *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
    for (int k = 0; k < nrows; k++) {
      const StateRow &r = rows[k];
      const core::Metrics &m = r.m;
      Datum values[14];
      bool nulls[14];
      memset(nulls, 0, sizeof nulls);
      values[0] = CStringGetTextDatum(r.name);
      values[1] = CStringGetTextDatum(core::state_name(m.state));
      if (m.failure_rate >= 0) values[2] = Float8GetDatum(m.failure_rate);
      else nulls[2] = true;
      if (m.slow_call_rate >= 0) values[3] = Float8GetDatum(m.slow_call_rate);
      else nulls[3] = true;
      values[4] = Int32GetDatum(static_cast<int32>(m.calls));
      values[5] = Int32GetDatum(static_cast<int32>(m.failed_calls));
      values[6] = Int32GetDatum(static_cast<int32>(m.slow_calls));
      values[7] = Int64GetDatum(m.not_permitted_calls);
      values[8] = Int32GetDatum(m.consecutive_failures);
      values[9] = Int32GetDatum(m.permits_in_use);
      if (m.opened_at_us) values[10] = TimestampTzGetDatum(m.opened_at_us);
      else nulls[10] = true;
      if (m.open_until_us) {
        values[11] = TimestampTzGetDatum(m.open_until_us);
        Interval *iv = static_cast<Interval *>(palloc0(sizeof(Interval)));
        iv->time = m.open_until_us > r.now ? m.open_until_us - r.now : 0;
        values[12] = IntervalPGetDatum(iv);
      } else {
        nulls[11] = nulls[12] = true;
      }
      values[13] = DirectFunctionCall1(jsonb_in, CStringGetDatum(r.config));
      tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
    }
  });
  return (Datum)0;
}
