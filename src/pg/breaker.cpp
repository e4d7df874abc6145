// Shared circuit breakers (SPEC §7): a fixed table of named breakers in shared
// memory, one state per name per cluster, each a core::Breaker (plain POD) under
// its own LWLock. Configuration lives in nova.breaker_config and is loaded into
// shared memory lazily (first use after a restart) and at commit of
// nova.breaker_configure. Half-open permits are tracked by backend pid and given
// back when the backend exits (before_shmem_exit) or is found dead.
#include "pg/test_hooks.h"
#include "pg/breaker_api.h"

#include <cstring>
#include <optional>
#include <string>

#include "core/breaker.h"
#include "pg/boundary.h"
#include "pg/module.h"

extern "C" {
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "common/pg_prng.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "storage/shmem.h"
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

constexpr int kSlots = 256;          // named breakers per cluster
constexpr int kNameLen = 64;         // name bytes incl. NUL (NAMEDATALEN)
constexpr int64 kReclaimEveryUs = 100 * 1000;
const char *const kTranche = "nova_breakers";

struct Slot {
  char name[kNameLen];       // written once before `used` is set, never changed
  volatile bool used;
  bool config_loaded;        // under the slot lock: nova.breaker_config has been consulted
  int64 last_reclaim_us;     // under the slot lock
  core::Breaker b;           // under the slot lock
};

struct Shared {
  pg_atomic_uint64 clock_offset_us;  // test-only clock shift (nova._breaker_clock_advance)
  int nused;                         // under the directory lock
  Slot slots[kSlots];
};

Shared *g_shared = nullptr;
LWLockPadded *g_locks = nullptr;  // kSlots slot locks, then the directory lock
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

void require_shmem() {
  if (!nova::pg::shmem_available() || g_shared == nullptr)
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

uint32 name_hash(const char *name) {
  uint32 h = 2166136261u;
  for (const unsigned char *p = reinterpret_cast<const unsigned char *>(name); *p; p++) h = (h ^ *p) * 16777619u;
  return h;
}

// Lock-free: slots are never freed and a name is written before `used` is published.
int find_slot(const char *name) {
  uint32 start = name_hash(name) % kSlots;
  for (int k = 0; k < kSlots; k++) {
    int i = static_cast<int>((start + k) % kSlots);
    Slot &s = g_shared->slots[i];
    if (!s.used) return -1;
    pg_read_barrier();
    if (strcmp(s.name, name) == 0) return i;
  }
  return -1;
}

// ---- configuration from nova.breaker_config -------------------------------------------

struct ConfigRow {
  bool consulted;  // the table was read (we are in a transaction of a database with nova)
  char *options;   // palloc'd JSON text, nullptr when the breaker has no row
};

// Reads the row directly (no SPI, no permission check: services that may call
// breaker_allow need not read the owner's configuration table).
ConfigRow read_config_row(const char *name) {
  ConfigRow row{false, nullptr};
  if (!IsTransactionState()) return row;
  nova::pg::guard([&] {
    Oid nsp = get_namespace_oid("nova", true);
    if (!OidIsValid(nsp)) return;
    Oid relid = get_relname_relid("breaker_config", nsp);
    if (!OidIsValid(relid)) return;
    AttrNumber name_att = get_attnum(relid, "name");
    AttrNumber options_att = get_attnum(relid, "options");
    if (name_att == InvalidAttrNumber || options_att == InvalidAttrNumber) return;
    Relation rel = table_open(relid, AccessShareLock);
    Snapshot snap = RegisterSnapshot(GetLatestSnapshot());
    TableScanDesc scan = table_beginscan(rel, snap, 0, nullptr);
    HeapTuple tup;
    while ((tup = heap_getnext(scan, ForwardScanDirection)) != nullptr) {
      bool isnull = false;
      Datum d = heap_getattr(tup, name_att, RelationGetDescr(rel), &isnull);
      if (isnull) continue;
      char *n = TextDatumGetCString(d);
      bool match = strcmp(n, name) == 0;
      pfree(n);
      if (!match) continue;
      Datum o = heap_getattr(tup, options_att, RelationGetDescr(rel), &isnull);
      if (!isnull) {
        Jsonb *jb = DatumGetJsonbP(o);
        row.options = JsonbToCString(nullptr, &jb->root, VARSIZE(jb));
      }
      break;
    }
    table_endscan(scan);
    UnregisterSnapshot(snap);
    table_close(rel, AccessShareLock);
    row.consulted = true;
  });
  return row;
}

int64 interval_us(const Interval *iv);

// Interval text → microseconds via PostgreSQL's own interval parser (months count 30 days).
std::optional<int64_t> parse_duration(const std::string &text) {
  Interval *iv = nullptr;
  try {
    // interval_in is a pure function: catching its error leaves no resource behind.
    nova::pg::guard([&] {
      iv = DatumGetIntervalP(DirectFunctionCall3(interval_in, CStringGetDatum(text.c_str()),
                                                 ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
    });
  } catch (const nova::pg::PgError &) {
    return std::nullopt;
  }
  return interval_us(iv);
}

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

// Creates the slot for `name` (or finds it when another backend just did).
int create_slot(const char *name, const core::Config &cfg, bool loaded) {
  LWLockAcquire(directory_lock(), LW_EXCLUSIVE);
  int found = find_slot(name);
  if (found >= 0) {
    LWLockRelease(directory_lock());
    return found;
  }
  if (g_shared->nused >= kSlots) {
    LWLockRelease(directory_lock());
    throw nova::Error("53400", "too many circuit breakers",
                      "All " + std::to_string(kSlots) + " shared breaker slots are in use.",
                      "Breakers live until the server restarts; reuse names.");
  }
  uint32 start = name_hash(name) % kSlots;
  int idx = -1;
  for (int k = 0; k < kSlots; k++) {
    int i = static_cast<int>((start + k) % kSlots);
    if (!g_shared->slots[i].used) {
      idx = i;
      break;
    }
  }
  Slot &s = g_shared->slots[idx];
  strlcpy(s.name, name, kNameLen);
  core::init(s.b, cfg, now_us());
  s.config_loaded = loaded;
  s.last_reclaim_us = 0;
  pg_write_barrier();
  s.used = true;
  g_shared->nused++;
  LWLockRelease(directory_lock());
  return idx;
}

// The slot of `name`, created on first use; its configuration is read from
// nova.breaker_config the first time a transaction in a nova database uses it.
int ensure_slot(const char *name) {
  int idx = find_slot(name);
  if (idx >= 0 && g_shared->slots[idx].config_loaded) return idx;
  ConfigRow row = read_config_row(name);
  core::Config cfg = row.options ? parse_stored_options(name, row.options) : core::default_config_for(name);
  if (idx < 0) idx = create_slot(name, cfg, row.consulted);
  if (row.consulted) {
    Slot &s = g_shared->slots[idx];
    LWLockAcquire(slot_lock(idx), LW_EXCLUSIVE);
    if (!s.config_loaded) {
      core::reconfigure(s.b, cfg, now_us());
      s.config_loaded = true;
    }
    LWLockRelease(slot_lock(idx));
  }
  return idx;
}

int ensure_slot_checked(const char *name) {
  require_shmem();
  check_name(name);
  return ensure_slot(name);
}

// ---- half-open permits of exiting or dead backends ---------------------------------------

void release_my_permits(int, Datum) {
  if (g_shared == nullptr) return;
  for (int i = 0; i < kSlots; i++) {
    Slot &s = g_shared->slots[i];
    if (!s.used) continue;
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

// ---- operations ------------------------------------------------------------------------------

bool do_allow(const char *name) {
  int idx = ensure_slot_checked(name);
  register_exit_hook();
  Slot &s = g_shared->slots[idx];
  LWLockAcquire(slot_lock(idx), LW_EXCLUSIVE);
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
  LWLockRelease(slot_lock(idx));
  if (before != after)
    elog(LOG, "nova: circuit breaker \"%s\" changed from %s to %s", name, core::state_name(before),
         core::state_name(after));
  return p != core::Permit::kDenied;
}

const char *do_record(const char *name, bool success, int64 duration_us) {
  int idx = ensure_slot_checked(name);
  Slot &s = g_shared->slots[idx];
  LWLockAcquire(slot_lock(idx), LW_EXCLUSIVE);
  core::State before = s.b.state;
  core::State after = core::record(s.b, success, duration_us, now_us(), random01(), MyProcPid);
  LWLockRelease(slot_lock(idx));
  if (before != after)
    elog(LOG, "nova: circuit breaker \"%s\" changed from %s to %s", name, core::state_name(before),
         core::state_name(after));
  return core::state_name(after);
}

const char *do_state(const char *name) {
  if (!nova::pg::shmem_available() || g_shared == nullptr) return "UNAVAILABLE";
  int idx = ensure_slot_checked(name);
  LWLockAcquire(slot_lock(idx), LW_SHARED);
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
    int idx = find_slot(p.name);  // created by _breaker_prepare_config
    if (idx < 0) continue;
    Slot &s = g_shared->slots[idx];
    LWLockAcquire(slot_lock(idx), LW_EXCLUSIVE);
    if (reload_instead) {
      s.config_loaded = false;
    } else {
      core::reconfigure(s.b, p.cfg, now_us());
      s.config_loaded = true;
    }
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

// ---- C++ API error handling: exceptions become ereport once the C++ frames are gone ----------

struct Raised {
  bool any = false;
  ErrorData *edata = nullptr;
  int code = ERRCODE_INTERNAL_ERROR;
  char *message = nullptr, *detail = nullptr, *hint = nullptr;
};

template <typename F>
void api_call(F &&f) {
  Raised r;
  try {
    f();
  } catch (const nova::pg::PgError &e) {
    r.any = true;
    r.edata = e.edata();
  } catch (const nova::Error &e) {
    r.any = true;
    const char *st = e.sqlstate();
    r.code = MAKE_SQLSTATE(st[0], st[1], st[2], st[3], st[4]);
    r.message = pstrdup(e.what());
    r.detail = e.detail().empty() ? nullptr : pstrdup(e.detail().c_str());
    r.hint = e.hint().empty() ? nullptr : pstrdup(e.hint().c_str());
  } catch (const std::exception &e) {
    r.any = true;
    r.message = pstrdup(e.what());
  } catch (...) {
    r.any = true;
    r.message = pstrdup("unknown C++ exception in circuit breaker");
  }
  if (!r.any) return;
  if (r.edata) ReThrowError(r.edata);
  ereport(ERROR, (errcode(r.code), errmsg_internal("%s", r.message), r.detail ? errdetail_internal("%s", r.detail) : 0,
                  r.hint ? errhint("%s", r.hint) : 0));
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

// ---- the C++ API (breaker_api.h) ------------------------------------------------------------

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

bool available() { return nova::pg::shmem_available() && g_shared != nullptr; }

}  // namespace nova::pg::breaker

// ---- SQL functions ---------------------------------------------------------------------------

NOVA_FUNCTION(nova_breaker_allow) {
  char *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
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
  const char *st = do_record(name, success, duration);
  PG_RETURN_TEXT_P(cstring_to_text(st));
}

NOVA_FUNCTION(nova_breaker_force) {
  char *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
  char *word = text_to_cstring(PG_GETARG_TEXT_PP(1));
  std::optional<core::State> target = core::parse_force_word(word);
  if (!target)
    throw nova::Error(nova::sqlstate::kInvalidParameterValue, "invalid circuit breaker state \"" + std::string(word) + "\"",
                      "", "Use closed, open (= forced_open), forced_open, half_open, disabled or metrics_only.");
  int idx = ensure_slot_checked(name);
  Slot &s = g_shared->slots[idx];
  LWLockAcquire(slot_lock(idx), LW_EXCLUSIVE);
  core::State before = s.b.state;
  core::force(s.b, *target, now_us(), random01());
  LWLockRelease(slot_lock(idx));
  elog(LOG, "nova: circuit breaker \"%s\" forced from %s to %s", name, core::state_name(before),
       core::state_name(*target));
  PG_RETURN_VOID();
}

// Validates the options and queues them for shared memory at commit (the SQL
// wrapper nova.breaker_configure stores them in nova.breaker_config).
NOVA_FUNCTION(nova_breaker_prepare_config) {
  char *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
  check_name(name);
  Jsonb *jb = PG_GETARG_JSONB_P(1);
  char *json = JsonbToCString(nullptr, &jb->root, VARSIZE(jb));
  core::Config cfg = parse_options(name, json);
  if (nova::pg::shmem_available() && g_shared != nullptr) {
    ensure_slot(name);  // a full table is an error now, not at commit
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
  char config[1024];
};

NOVA_FUNCTION(nova_breaker_states) {
  require_shmem();
  // Load the configuration of breakers first used outside a transaction (e.g. by the relay).
  for (int i = 0; i < kSlots; i++) {
    Slot &s = g_shared->slots[i];
    if (s.used && !s.config_loaded) ensure_slot(s.name);
  }
  // Snapshot every breaker into plain memory; no PostgreSQL call while C++ objects live.
  auto *rows = static_cast<StateRow *>(palloc0(sizeof(StateRow) * kSlots));
  int nrows = 0;
  for (int i = 0; i < kSlots; i++) {
    Slot &s = g_shared->slots[i];
    if (!s.used) continue;
    pg_read_barrier();
    StateRow &r = rows[nrows++];
    strlcpy(r.name, s.name, kNameLen);
    LWLockAcquire(slot_lock(i), LW_SHARED);
    r.now = now_us();
    r.m = core::metrics(s.b, r.now);
    core::Config cfg = s.b.config;
    LWLockRelease(slot_lock(i));
    std::string j = core::config_to_json(cfg);
    strlcpy(r.config, j.c_str(), sizeof r.config);
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
