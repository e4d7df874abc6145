// The relay worker (docs/relay.md): moves committed nova.outbox events to Kafka, at
// least once, in order per key, and keeps the outbox small.
//
// One loop (docs/architecture.md): wait on the latch (woken at commit by writers) or
// the idle timeout → interrupts → reload → one batch in its own transaction →
// partition rotation now and then → reset the per-loop memory context.
//
// A batch has four steps, each its own function so that they can later overlap
// (pipelining): claim (SQL: due events, per-key order), build (rows → Kafka
// messages), deliver (librdkafka; no SQL), record (SQL: delete what Kafka
// acknowledged, reschedule or dead-letter message-level failures). Failures that say
// nothing about the message (docs/relay.md, "Which failures spend attempts") leave
// the rows untouched and put the relay into outage mode: it asks Kafka for metadata
// once a second and, when a broker answers, sends ONE event as the probe. An idle
// relay polls the producer and asks for metadata when Kafka has been silent for half
// of message.timeout.ms (idle_kafka_reachable), so it enters outage mode too.
//
// All SQL runs as the role nova_relay through nova::pg::run_as (pinned search_path,
// restricted operation; docs/security.md) and is schema-qualified, operators included.
// An over-privileged nova_relay is refused and nothing runs (relay_role.h).
//
// Frames in this file hold no C++ objects with destructors: everything is palloc'd
// in the loop context or plain stack data, so PostgreSQL errors may longjmp through
// them. The C++ parts (KafkaSink, relay_util) never call PostgreSQL.
#include "bgworker/kafka_sink.h"
#include "pg/metrics.h"
#include "pg/relay_state.h"
#include "bgworker/relay_role.h"
#include "bgworker/snapshot.h"

extern "C" {
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_auth_members.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_database.h"
#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#if PG_VERSION_NUM >= 150000
#include "common/pg_prng.h"
#endif
#include "commands/dbcommands.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"
#include "utils/uuid.h"
#include "utils/datetime.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/catcache.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"
}

#include <algorithm>
#include <cstdlib>

#include "core/relay_util.h"
#include "core/uuid.h"
#include "pg/breaker_api.h"
#include "pg/guc.h"
#include "pg/module.h"
#include "pg/run_as.h"

extern "C" {
PGDLLEXPORT void nova_relay_main(Datum arg);
// nova.breaker_force(name, state) (src/pg/breaker.cpp): the relay moves its OPEN
// breaker to HALF_OPEN when the brokers it could not reach answer again.
Datum nova_breaker_force(PG_FUNCTION_ARGS);
}

namespace nova::relay {

namespace {

constexpr int kShutdownFlushMs = 5000;     // SIGTERM: at most this long for outstanding reports
constexpr int kRotateIntervalMs = 10000;   // partition rotation: at least this often …
constexpr uint64 kRotateEvents = 200000;   // … or after this many deliveries
constexpr int64 kTruncatedSize = 64 * 1024;  // a partition this small needs no TRUNCATE
constexpr int kBreakerPollMs = 250;        // breaker open (not an outage): ask again this often
constexpr int kOutagePollMs = 1000;        // outage: ask the brokers for metadata this often
constexpr int kReachTimeoutMs = 1000;      // … waiting at most this long for an answer
constexpr int kIdleCheckMs = 1000;         // idle: make sure a broker answers at least this often
constexpr int kMaxErrorBackoffMs = 30000;  // database errors in a batch: back off up to this
constexpr const char *kRelayRole = "nova_relay";

// ---- shared state helpers ----------------------------------------------------

void set_state(State s) {
  Shared *sh = shared();
  SpinLockAcquire(&sh->mutex);
  sh->state = s;
  SpinLockRelease(&sh->mutex);
}

void set_error(const char *msg) {
  Shared *sh = shared();
  LWLockAcquire(sh->status_lock, LW_EXCLUSIVE);
  strlcpy(sh->last_error, msg ? msg : "", kErrorLen);
  LWLockRelease(sh->status_lock);
}

void set_brokers(const char *b) {
  Shared *sh = shared();
  LWLockAcquire(sh->status_lock, LW_EXCLUSIVE);
  strlcpy(sh->brokers, b ? b : "", kBrokersLen);
  LWLockRelease(sh->status_lock);
}

void set_role_name(const char *r) {
  Shared *sh = shared();
  LWLockAcquire(sh->status_lock, LW_EXCLUSIVE);
  strlcpy(sh->role, r ? r : "", kRoleLen);
  LWLockRelease(sh->status_lock);
}

void count_results(uint64 delivered, uint64 failed, uint64 dead) {
  Shared *sh = shared();
  TimestampTz now = GetCurrentTimestamp();
  int64 sec = static_cast<int64>(time(nullptr));
  int idx = static_cast<int>(sec % kRateSeconds);
  LWLockAcquire(sh->status_lock, LW_EXCLUSIVE);
  sh->delivered += delivered;
  sh->failed += failed;
  sh->dead += dead;
  if (delivered > 0) {
    sh->last_delivery_at = now;
    if (sh->rate_second[idx] != sec) {
      sh->rate_second[idx] = sec;
      sh->rate_count[idx] = 0;
    }
    sh->rate_count[idx] += delivered;
  }
  LWLockRelease(sh->status_lock);
}

void on_worker_exit(int, Datum) {
  Shared *sh = shared();
  if (!sh) return;
  SpinLockAcquire(&sh->mutex);
  sh->worker_latch = nullptr;
  sh->worker_pid = 0;
  sh->state = State::kStopped;
  SpinLockRelease(&sh->mutex);
  set_sleeping(false);
}

// ---- the producer ------------------------------------------------------------

KafkaSink *g_sink = nullptr;
char *g_cur_brokers = nullptr;  // malloc'd copies of the GUCs the sink was made from
char *g_cur_config = nullptr;
bool g_configured = false;      // g_sink matches the GUCs (or they are empty/invalid)

bool same(const char *a, const char *b) { return strcmp(a ? a : "", b ? b : "") == 0; }

void drop_sink() {
  if (g_sink) {
    delete g_sink;  // purges anything queued: nothing is, between batches
    g_sink = nullptr;
  }
}

// (Re)create the producer when nova.kafka_brokers / nova.kafka_config changed.
void ensure_sink() {
  const char *brokers = nova_guc_kafka_brokers ? nova_guc_kafka_brokers : "";
  const char *config = nova_guc_kafka_config ? nova_guc_kafka_config : "";
  if (g_configured && same(brokers, g_cur_brokers) && same(config, g_cur_config)) return;
  drop_sink();
  free(g_cur_brokers);
  free(g_cur_config);
  g_cur_brokers = strdup(brokers);
  g_cur_config = strdup(config);
  g_configured = true;
  set_brokers(brokers);
  if (brokers[0] == '\0') {
    set_state(State::kUnconfigured);
    set_error("");
    elog(LOG, "nova relay: nova.kafka_brokers is empty; not sending (state unconfigured)");
    return;
  }
  char err[kErrorLen];
  char names[512];
  g_sink = KafkaSink::create(brokers, config, err, sizeof err, names, sizeof names);
  if (!g_sink) {
    set_state(State::kUnconfigured);
    set_error(err);
    ereport(WARNING, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("nova relay: %s", err),
                      errhint("Fix nova.kafka_config or nova.kafka_brokers and reload.")));
    return;
  }
  set_error("");
  set_state(State::kIdle);
  elog(LOG, "nova relay: producing to %s%s%s", brokers, names[0] ? " with extra properties: " : "", names);
}

// Forward what librdkafka logged (warnings and errors), at most one burst every 10 s.
TimestampTz g_last_kafka_log = 0;
void emit_kafka_logs() {
  if (!g_sink) return;
  char buf[512];
  int emitted = 0, dropped = 0;
  bool allow = TimestampDifferenceExceeds(g_last_kafka_log, GetCurrentTimestamp(), 10000);
  while (g_sink->next_log(buf, sizeof buf)) {
    if (allow && emitted < 5) {
      elog(LOG, "nova relay: %s", buf);
      emitted++;
    } else {
      dropped++;
    }
  }
  if (emitted > 0) {
    g_last_kafka_log = GetCurrentTimestamp();
    if (dropped > 0) elog(LOG, "nova relay: %d more Kafka client messages suppressed", dropped);
  }
}

// ---- breaker and outage ------------------------------------------------------------

char g_breaker_state[32] = "CLOSED";

void note_breaker_state(const char *now_state) {
  if (!now_state) return;
  if (strcmp(now_state, g_breaker_state) != 0) {
    ereport(LOG, (errcode(ERRCODE_SUCCESSFUL_COMPLETION), errmsg("nova relay: kafka circuit breaker %s -> %s", g_breaker_state, now_state)));
    strlcpy(g_breaker_state, now_state, sizeof g_breaker_state);
  }
}

bool breaker_refusing(const char *st) { return strcmp(st, "OPEN") == 0 || strcmp(st, "FORCED_OPEN") == 0; }

// Outage mode: the last delivery failed at the broker level (docs/relay.md). Rows are
// left untouched; the relay asks for metadata every kOutagePollMs and, once a broker
// answers, sends one event; when it is acknowledged, full batches resume.
bool g_outage = false;
bool g_outage_unreachable = false;  // during this outage, a metadata request went unanswered
TimestampTz g_outage_since = 0;
TimestampTz g_last_contact = 0;     // Kafka's last answer: an acknowledgement or metadata

void enter_outage(const char *why) {
  if (g_outage) return;
  g_outage = true;
  g_outage_unreachable = false;
  g_outage_since = GetCurrentTimestamp();
  ereport(LOG, (errcode(ERRCODE_CONNECTION_FAILURE), errmsg("nova relay: Kafka unreachable (%s); events wait in the outbox without spending attempts, "
                       "probing with one event",
                       why)));
}

// Kafka answered (an acknowledgement, or metadata with nothing due): note the contact
// and end an outage if there is one. probe_events: how many events the batch that
// ended it sent (the probe: 1; 0 when a broker answered and nothing was due).
void kafka_answered(int probe_events) {
  g_last_contact = GetCurrentTimestamp();
  if (!g_outage) return;
  long secs;
  int usecs;
  TimestampDifference(g_outage_since, GetCurrentTimestamp(), &secs, &usecs);
  ereport(LOG, (errcode(ERRCODE_SUCCESSFUL_COMPLETION),
                errmsg("nova relay: Kafka reachable again after %ld.%01d s (probe: %d event%s); resuming", secs,
                       usecs / 100000, probe_events, probe_events == 1 ? "" : "s")));
  g_outage = false;
  g_outage_unreachable = false;
}

// The role every statement of the relay runs as (relay_role.h, docs/security.md):
// nova_relay, or the extension's owner on a 1.0 install not yet updated (no
// nova_relay role, or one created by another database's nova 1.1 but without grants
// here); none when an existing nova_relay has more rights than the relay needs.
Oid g_role = InvalidOid;
LocalTransactionId g_role_lxid = InvalidLocalTransactionId;
bool g_warned_no_role = false;
bool g_role_refused = false;       // the last decision refused nova_relay
char g_role_refusal[kErrorLen];    // … and why (shown in last_error)

bool may_relay(Oid role) {
  Oid nsp = get_namespace_oid("nova", true);
  Oid outbox = OidIsValid(nsp) ? get_relname_relid("outbox", nsp) : InvalidOid;
  return OidIsValid(outbox) && pg_class_aclcheck(outbox, role, ACL_DELETE) == ACLCHECK_OK;
}

// What an existing nova_relay holds beyond what the relay needs, as a list
// ("SUPERUSER, LOGIN, member of \"x\""), or an empty string. The extension creates it
// NOLOGIN without attributes; an over-privileged role of that name (a DBA's, or one
// made before CREATE EXTENSION) must not run the relay's statements, since the
// relay's own safety rests on its role having nothing to lose.
void role_excess(Oid r, char *buf, size_t len) {
  StringInfoData s;
  initStringInfo(&s);
  auto add = [&](const char *what) { appendStringInfo(&s, "%s%s", s.len ? ", " : "", what); };
  HeapTuple tup = SearchSysCache1(AUTHOID, ObjectIdGetDatum(r));
  if (HeapTupleIsValid(tup)) {
    auto *a = reinterpret_cast<Form_pg_authid>(GETSTRUCT(tup));
    if (a->rolsuper) add("SUPERUSER");
    if (a->rolcreaterole) add("CREATEROLE");
    if (a->rolcreatedb) add("CREATEDB");
    if (a->rolreplication) add("REPLICATION");
    if (a->rolbypassrls) add("BYPASSRLS");
    if (a->rolcanlogin) add("LOGIN");
    ReleaseSysCache(tup);
  }
  // Memberships: a granted role's privileges (or SET ROLE to it) come with it.
  CatCList *mem = SearchSysCacheList1(AUTHMEMMEMROLE, ObjectIdGetDatum(r));
  for (int i = 0; i < mem->n_members; i++) {
    auto *m = reinterpret_cast<Form_pg_auth_members>(GETSTRUCT(&mem->members[i]->tuple));
    const char *name = GetUserNameFromId(m->roleid, true);
    add(psprintf("member of \"%s\"", name ? name : "?"));
  }
  ReleaseSysCacheList(mem);
  HeapTuple db = SearchSysCache1(DATABASEOID, ObjectIdGetDatum(MyDatabaseId));
  if (HeapTupleIsValid(db)) {
    if (reinterpret_cast<Form_pg_database>(GETSTRUCT(db))->datdba == r) add("owner of the database");
    ReleaseSysCache(db);
  }
  strlcpy(buf, s.data, len);
  pfree(s.data);
}

Oid decide_role() {
  Oid r = get_role_oid(kRelayRole, true);
  if (OidIsValid(r)) {
    char excess[160];
    role_excess(r, excess, sizeof excess);
    if (excess[0]) {
      char msg[kErrorLen];
      snprintf(msg, sizeof msg, "role \"%s\" has more rights than the relay needs (%s); not running as it", kRelayRole,
               excess);
      if (!g_role_refused || strcmp(msg, g_role_refusal) != 0)
        ereport(WARNING, (errcode(ERRCODE_INVALID_ROLE_SPECIFICATION), errmsg("nova relay: %s", msg),
                          errdetail("The relay delivers nothing until the role holds no more than the extension "
                                    "gives it (state role_refused)."),
                          errhint("ALTER ROLE %s NOSUPERUSER NOCREATEROLE NOCREATEDB NOREPLICATION NOBYPASSRLS "
                                  "NOLOGIN, and revoke its role memberships; the relay resumes by itself.",
                                  kRelayRole)));
      strlcpy(g_role_refusal, msg, sizeof g_role_refusal);
      g_role_refused = true;
      set_error(msg);
      set_role_name("");  // it runs as nobody
      return InvalidOid;
    }
    if (g_role_refused) {
      ereport(LOG, (errcode(ERRCODE_SUCCESSFUL_COMPLETION),
                    errmsg("nova relay: role \"%s\" no longer holds extra rights; resuming", kRelayRole)));
      g_role_refused = false;
      set_error("");
    }
    if (may_relay(r)) {
      if (r != g_role) set_role_name(kRelayRole);
      return r;
    }
  } else if (g_role_refused) {
    g_role_refused = false;
    set_error("");
  }
  Oid owner = nova::pg::extension_owner();
  if (!g_warned_no_role) {
    ereport(WARNING, (errcode(ERRCODE_UNDEFINED_OBJECT),
                      errmsg("nova relay: role \"%s\" does not exist or has no privileges on nova.outbox", kRelayRole),
                      errdetail("The relay runs as the extension's owner until the extension is updated."),
                      errhint("Run ALTER EXTENSION nova UPDATE.")));
    g_warned_no_role = true;
  }
  if (owner != g_role) set_role_name(GetUserNameFromId(owner, false));
  return owner;
}

}  // namespace

Oid relay_role() {
  if (g_role_lxid == MyProc->lxid && g_role_lxid != InvalidLocalTransactionId) return g_role;
  Oid r = decide_role();
  g_role = r;
  g_role_lxid = MyProc->lxid;
  return r;
}

Oid relay_role_required() {
  Oid r = relay_role();
  if (!OidIsValid(r))
    ereport(ERROR, (errcode(ERRCODE_INVALID_ROLE_SPECIFICATION), errmsg("nova relay: %s", g_role_refusal)));
  return r;
}

namespace {

// ---- SQL -----------------------------------------------------------------------
// Every statement runs as nova_relay with search_path = pg_catalog, pg_temp
// (run_as) and is schema-qualified, operators and casts included.

// Claim: due events in id order, skipping rows another relay holds, minus every event
// whose (topic, key) has an earlier pending event outside this batch: per-key order.
// NULL keys are unordered (Kafka spreads them).
// Only one claimer at a time (a transaction-level advisory lock, taken once by the
// initplan; a second relay claims nothing until the first commits). Then an earlier
// event of the key that is pending but not claimed can only be one in backoff, i.e.
// with attempts > 0: due events with attempts = 0 are claimed in id order before any
// later one (broker-level failures leave rows untouched, so this stays true). So the
// blocking lookup needs only events that failed at least once, which is what the
// partial index nova.outbox_key_idx holds — new events never enter it, keeping the
// writers' insert cost at one index (src/sql/pre/20_outbox.sql).
//
// The statement returns the columns as stored (uuid, jsonb, timestamptz): build()
// turns them into header strings in C++. Formatting them in SQL (to_char, two
// jsonb_each subqueries per row for the headers, text output functions) was most
// of the claim's cost (docs/benchmarks.md, "## Relay").
//
// The blocking lookup (blk) runs only when some event has failed at least once (the
// one-time filter on EXISTS … attempts > 0, answered from the partial index): its
// result is empty otherwise by definition, since it only considers such events.
//
// No ORDER BY on the outer query: build() puts the rows in id order (they come out of
// the hash join in cand's order; an ORDER BY copied and sorted every row once more).
// slot and ctid let record() delete the rows by TID (they are locked by this
// transaction, so their TIDs cannot change before it ends).
//
// The limit is part of the text (%d), not a parameter: a parameterised LIMIT made the
// plan cache re-plan the statement for every batch (custom plans).
const char *kClaimSqlFmt =
    "WITH cand AS MATERIALIZED ("
    "  SELECT o.id, o.attempts, o.event_id, o.topic, o.key, o.event_type, o.payload, o.headers,"
    "         o.correlation_id, o.traceparent, o.actor, o.source, o.schema_version, o.created_at, o.slot, o.ctid"
    "  FROM nova.outbox o"
    "  WHERE o.next_attempt_at OPERATOR(pg_catalog.<=) pg_catalog.now()"
    "    AND (SELECT pg_catalog.pg_try_advisory_xact_lock(1852798561, 1))"  // 'nova', relay claim
    "  ORDER BY o.id"
    "  LIMIT %d"
    "  FOR UPDATE SKIP LOCKED),"
    " ks AS (SELECT cand.topic, cand.key, pg_catalog.max(cand.id) AS maxid FROM cand"
    "        WHERE cand.key IS NOT NULL GROUP BY cand.topic, cand.key),"
    " blk AS ("
    "  SELECT ks.topic, ks.key, pg_catalog.min(o.id) AS bid"
    "  FROM ks JOIN nova.outbox o ON o.topic OPERATOR(pg_catalog.=) ks.topic AND o.key OPERATOR(pg_catalog.=) ks.key"
    "       AND o.id OPERATOR(pg_catalog.<) ks.maxid AND o.attempts OPERATOR(pg_catalog.>) 0"
    "  WHERE NOT EXISTS (SELECT 1 FROM cand c WHERE c.id OPERATOR(pg_catalog.=) o.id)"
    "    AND (SELECT EXISTS (SELECT 1 FROM nova.outbox r WHERE r.attempts OPERATOR(pg_catalog.>) 0))"
    "  GROUP BY ks.topic, ks.key)"
    " SELECT c.id, c.attempts, c.event_id, c.topic, c.key, c.event_type, c.payload, c.headers,"
    "   c.correlation_id, c.traceparent, c.actor, c.source, c.schema_version, c.created_at, c.slot, c.ctid"
    " FROM cand c LEFT JOIN blk b ON b.topic OPERATOR(pg_catalog.=) c.topic AND b.key OPERATOR(pg_catalog.=) c.key"
    " WHERE b.bid IS NULL OR c.id OPERATOR(pg_catalog.<) b.bid";
constexpr int kClaimColumns = 16;

// Delivered rows of one partition (slot), by TID: a TID scan instead of two index
// descents per id (one per partition).
const char *kDeleteSql =
    "DELETE FROM nova.outbox o WHERE o.slot OPERATOR(pg_catalog.=) $2 AND o.ctid OPERATOR(pg_catalog.=) ANY ($1)";

const char *kRetrySql =
    "UPDATE nova.outbox o SET attempts = o.attempts OPERATOR(pg_catalog.+) 1, last_error = f.err,"
    "  next_attempt_at = pg_catalog.clock_timestamp() OPERATOR(pg_catalog.+)"
    "                    pg_catalog.make_interval(secs => f.delay_ms OPERATOR(pg_catalog./) 1000)"
    " FROM ROWS FROM (pg_catalog.unnest($1::pg_catalog.int8[]), pg_catalog.unnest($2::pg_catalog.text[]),"
    "                 pg_catalog.unnest($3::pg_catalog.float8[])) AS f(id, err, delay_ms)"
    " WHERE o.id OPERATOR(pg_catalog.=) f.id";

const char *kDeadSql =
    "WITH d AS (DELETE FROM nova.outbox o"
    "           USING ROWS FROM (pg_catalog.unnest($1::pg_catalog.int8[]), pg_catalog.unnest($2::pg_catalog.text[]))"
    "                 AS f(id, err)"
    "           WHERE o.id OPERATOR(pg_catalog.=) f.id RETURNING o.*, f.err AS err)"
    " INSERT INTO nova.outbox_dead (id, event_id, topic, key, event_type, payload, headers, correlation_id,"
    "   traceparent, actor, created_at, attempts, last_error, source, schema_version)"
    " SELECT d.id, d.event_id, d.topic, d.key, d.event_type, d.payload, d.headers, d.correlation_id, d.traceparent,"
    "   d.actor, d.created_at, d.attempts OPERATOR(pg_catalog.+) 1, d.err, d.source, d.schema_version FROM d"
    " ON CONFLICT DO NOTHING";

const char *kNextDueSql =
    "SELECT (pg_catalog.date_part('epoch', pg_catalog.min(o.next_attempt_at) OPERATOR(pg_catalog.-)"
    "        pg_catalog.clock_timestamp()) OPERATOR(pg_catalog.*) 1000)::pg_catalog.float8"
    " FROM nova.outbox o"
    " WHERE o.next_attempt_at OPERATOR(pg_catalog.>) pg_catalog.now() AND o.attempts OPERATOR(pg_catalog.>) 0";

// Plans kept across batches (SPI_keepplan); freed after a failed batch, since they may
// refer to dropped objects.
struct Plans {
  SPIPlanPtr claim, probe, del, retry, dead, next;
  int claim_limit;  // the LIMIT in `claim` (nova.relay_batch_size when it was prepared)
};
Plans g_plans = {nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, 0};

void free_plans() {
  for (SPIPlanPtr *p : {&g_plans.claim, &g_plans.probe, &g_plans.del, &g_plans.retry, &g_plans.dead, &g_plans.next}) {
    if (*p) SPI_freeplan(*p);
    *p = nullptr;
  }
}

SPIPlanPtr prepare(SPIPlanPtr *slot, const char *sql, int nargs, Oid *types) {
  if (*slot) return *slot;
  SPIPlanPtr p = SPI_prepare(sql, nargs, types);
  if (!p) elog(ERROR, "nova relay: SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
  if (SPI_keepplan(p) != 0) {
    SPI_freeplan(p);
    elog(ERROR, "nova relay: SPI_keepplan failed");
  }
  *slot = p;
  return p;
}

ArrayType *int8_array(const int64 *v, int n) {
  Datum *d = static_cast<Datum *>(palloc(sizeof(Datum) * (n > 0 ? n : 1)));
  for (int i = 0; i < n; i++) d[i] = Int64GetDatum(v[i]);
  return construct_array(d, n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
}
ArrayType *float8_array(const double *v, int n) {
  Datum *d = static_cast<Datum *>(palloc(sizeof(Datum) * (n > 0 ? n : 1)));
  for (int i = 0; i < n; i++) d[i] = Float8GetDatum(v[i]);
  return construct_array(d, n, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
}
ArrayType *text_array(char **v, int n) {
  Datum *d = static_cast<Datum *>(palloc(sizeof(Datum) * (n > 0 ? n : 1)));
  for (int i = 0; i < n; i++) d[i] = CStringGetTextDatum(v[i]);
  return construct_array(d, n, TEXTOID, -1, false, TYPALIGN_INT);
}

// ---- one batch: claim → build → deliver → record ------------------------------------

struct Event {
  int64 id;
  int attempts;
  int slot;
  ItemPointerData tid;
  char *order_key;  // topic + '\x1f' + key; nullptr for NULL keys
};

// A claimed batch, palloc'd in the loop context (lives until the loop resets it).
struct Batch {
  int n;
  bool full;      // the claim hit its limit: more may be due
  Event *ev;
  OutMsg *msgs;
  bool *delivered;  // deliver(): counts as delivered (acknowledged, nothing earlier of its key failed)
  bool broker_failure;  // deliver(): some event failed at the broker level
  bool fatal;
  char fatal_err[256];
  int64 duration_us;
};

// ---- column decoding (build) ------------------------------------------------------
// The claim returns stored values; these turn them into the strings Kafka gets.

char *datum_text(Datum d, bool isnull) { return isnull ? nullptr : text_to_cstring(DatumGetTextPP(d)); }

// uuid → canonical text (8-4-4-4-12, lower case, as uuid_out writes it), by the
// project's one UUID formatter (src/core/uuid.h).
char *uuid_text(Datum d) {
  char *out = static_cast<char *>(palloc(37));
  nova::uuid::format(DatumGetUUIDP(d)->data, out);
  return out;
}

// created_at → `occurred-at` (ISO 8601 UTC with microseconds, what to_char(…,
// 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') gave) and the Kafka timestamp (Unix ms, rounded).
// A non-finite timestamp gives no header and timestamp 0 (librdkafka uses the send time).
char *timestamp_parts(TimestampTz ts, int64 *unix_ms) {
  *unix_ms = 0;
  if (TIMESTAMP_NOT_FINITE(ts)) return nullptr;
  struct pg_tm tm;
  fsec_t fsec;
  if (timestamp2tm(ts, nullptr, &tm, &fsec, nullptr, nullptr) != 0) return nullptr;  // nullptr tz: UTC
  int64 unix_us = ts + static_cast<int64>(POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY;
  *unix_ms = unix_us >= 0 ? (unix_us + 500) / 1000 : -((-unix_us + 500) / 1000);
  return psprintf("%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year, tm.tm_mon, tm.tm_mday, tm.tm_hour, tm.tm_min,
                  tm.tm_sec, static_cast<int>(fsec));
}

// A JSON string, escaped as PostgreSQL's jsonb output escapes it (escape_json), from
// a pointer and length (jsonb strings are not NUL-terminated).
void append_json_string(StringInfo out, const char *p, int len) {
  enlargeStringInfo(out, len + 2);
  appendStringInfoCharMacro(out, '"');
  int run = 0;  // start of the current run of characters copied as they are
  for (int i = 0; i < len; i++) {
    unsigned char c = static_cast<unsigned char>(p[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    appendBinaryStringInfo(out, p + run, i - run);
    run = i + 1;
    switch (c) {
      case '\b': appendBinaryStringInfo(out, "\\b", 2); break;
      case '\f': appendBinaryStringInfo(out, "\\f", 2); break;
      case '\n': appendBinaryStringInfo(out, "\\n", 2); break;
      case '\r': appendBinaryStringInfo(out, "\\r", 2); break;
      case '\t': appendBinaryStringInfo(out, "\\t", 2); break;
      case '"': appendBinaryStringInfo(out, "\\\"", 2); break;
      case '\\': appendBinaryStringInfo(out, "\\\\", 2); break;
      default: appendStringInfo(out, "\\u%04x", static_cast<int>(c)); break;
    }
  }
  appendBinaryStringInfo(out, p + run, len - run);
  appendStringInfoCharMacro(out, '"');
}

void append_json_scalar(StringInfo out, const JsonbValue *v) {
  switch (v->type) {
    case jbvString:
      append_json_string(out, v->val.string.val, v->val.string.len);
      break;
    case jbvNull:
      appendBinaryStringInfo(out, "null", 4);
      break;
    case jbvBool:
      if (v->val.boolean) appendBinaryStringInfo(out, "true", 4);
      else appendBinaryStringInfo(out, "false", 5);
      break;
    case jbvNumeric:
      appendStringInfoString(out, DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric))));
      break;
    default:
      elog(ERROR, "nova relay: unexpected jsonb value type %d", static_cast<int>(v->type));
  }
}

// A jsonb document as compact JSON in one pass: the same text as jsonb's output
// function with the whitespace after ':' and ',' removed (none outside strings, jsonb's key
// order), without building the spaced text first. Sets *len.
char *jsonb_compact(Jsonb *jb, size_t *len) {
  StringInfoData out;
  initStringInfo(&out);
  enlargeStringInfo(&out, static_cast<int>(VARSIZE(jb)));
  JsonbIterator *it = JsonbIteratorInit(&jb->root);
  JsonbValue v;
  JsonbIteratorToken tok;
  bool raw = JB_ROOT_IS_SCALAR(jb);  // a bare scalar: jsonb wraps it in a one-element array
  bool first = true;                 // no comma before the next key or element
  while ((tok = JsonbIteratorNext(&it, &v, false)) != WJB_DONE) {
    switch (tok) {
      case WJB_BEGIN_ARRAY:
        if (!first) appendStringInfoCharMacro(&out, ',');
        if (!raw) appendStringInfoCharMacro(&out, '[');
        first = true;
        break;
      case WJB_BEGIN_OBJECT:
        if (!first) appendStringInfoCharMacro(&out, ',');
        appendStringInfoCharMacro(&out, '{');
        first = true;
        break;
      case WJB_KEY:
        if (!first) appendStringInfoCharMacro(&out, ',');
        append_json_string(&out, v.val.string.val, v.val.string.len);
        appendStringInfoCharMacro(&out, ':');
        first = true;  // the value follows without a comma
        break;
      case WJB_VALUE:
      case WJB_ELEM:
        if (!first) appendStringInfoCharMacro(&out, ',');
        append_json_scalar(&out, &v);
        first = false;
        break;
      case WJB_END_ARRAY:
        if (!raw) appendStringInfoCharMacro(&out, ']');
        first = false;
        break;
      case WJB_END_OBJECT:
        appendStringInfoCharMacro(&out, '}');
        first = false;
        break;
      default:
        break;
    }
  }
  *len = static_cast<size_t>(out.len);
  return out.data;
}

// A jsonb scalar or container as text: strings as they are, anything else as its JSON
// text (what `value #>> '{}'` / `value::text` gave in SQL).
char *jsonb_value_text(const JsonbValue *v) {
  switch (v->type) {
    case jbvString:
      return pnstrdup(v->val.string.val, v->val.string.len);
    case jbvNull:
      return pstrdup("null");
    case jbvBool:
      return pstrdup(v->val.boolean ? "true" : "false");
    case jbvNumeric:
      return DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
    case jbvBinary:
      return JsonbToCString(nullptr, v->val.binary.data, v->val.binary.len);
    default:
      return pstrdup("");
  }
}

// The row's `headers` object as name/value strings sorted by name (bytewise), palloc'd.
int header_items(Datum d, bool isnull, char ***names, char ***values) {
  *names = *values = nullptr;
  if (isnull) return 0;
  Jsonb *jb = DatumGetJsonbP(d);
  if (!JB_ROOT_IS_OBJECT(jb) || JB_ROOT_IS_SCALAR(jb)) return 0;
  int cap = static_cast<int>(JB_ROOT_COUNT(jb));
  if (cap == 0) return 0;
  char **nm = static_cast<char **>(palloc(sizeof(char *) * cap));
  char **vl = static_cast<char **>(palloc(sizeof(char *) * cap));
  int n = 0;
  JsonbIterator *it = JsonbIteratorInit(&jb->root);
  JsonbValue v;
  JsonbIteratorToken tok;
  char *pending = nullptr;
  while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE) {
    if (tok == WJB_KEY) {
      pending = pnstrdup(v.val.string.val, v.val.string.len);
    } else if (tok == WJB_VALUE && pending && n < cap) {
      nm[n] = pending;
      vl[n] = jsonb_value_text(&v);
      n++;
      pending = nullptr;
    }
  }
  // jsonb keeps keys sorted by length, then bytes; the Kafka headers go by name.
  for (int i = 1; i < n; i++) {
    char *kn = nm[i], *kv = vl[i];
    int j = i - 1;
    while (j >= 0 && strcmp(nm[j], kn) > 0) {
      nm[j + 1] = nm[j];
      vl[j + 1] = vl[j];
      j--;
    }
    nm[j + 1] = kn;
    vl[j + 1] = kv;
  }
  *names = nm;
  *values = vl;
  return n;
}

// Headers nova itself sets in either format; a row's `headers` entry of that name is skipped.
bool is_standard_header(const char *name, bool cloudevents) {
  static const char *nova_names[] = {"event-id", "event-type", "correlation-id", "traceparent", "actor",
                                     "occurred-at", "source", "schema-version"};
  static const char *ce_names[] = {"ce_specversion", "ce_id", "ce_type", "ce_source", "ce_time", "ce_subject",
                                   "content-type", "correlation-id", "traceparent", "actor", "schema-version"};
  if (cloudevents) {
    for (const char *s : ce_names)
      if (strcmp(name, s) == 0) return true;
  } else {
    for (const char *s : nova_names)
      if (strcmp(name, s) == 0) return true;
  }
  return false;
}

enum class BatchResult { kIdle, kSent, kMore, kBreakerOpen, kBrokerDown, kNoExtension, kRoleRefused };

// Run one of the relay's statements on nova.outbox with the plan shape pinned. The
// outbox's statistics are nearly always stale — a partition grows from empty after each
// rotation, autovacuum last saw it small, and the statements' plans are cached — so the
// planner may pick a sequential or bitmap scan: for the claim a scan and sort of the
// whole partition per batch, for the DELETE of 1,000 TIDs a scan of the partition that
// compares every row with every TID (measured under sustained load: most of the relay's
// time; docs/benchmarks.md). So: the claim walks the primary key in id order (no seq or
// bitmap scans); the DELETE is a TID scan (no other scan allowed) with a generic plan
// (no re-planning of a 1,000-element array per batch). Settings are restored at the
// end, also by the abort of a failed batch.
enum class PlanShape { kIdOrder, kTidOnly };

template <typename F>
void with_plan_shape(PlanShape shape, F &&fn) {
  int nest = NewGUCNestLevel();
  auto off = [](const char *name, const char *value) {
    (void)set_config_option(name, value, PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
  };
  off("enable_seqscan", "off");
  off("enable_bitmapscan", "off");
  if (shape == PlanShape::kTidOnly) {
    off("enable_indexscan", "off");
    off("enable_indexonlyscan", "off");
    off("plan_cache_mode", "force_generic_plan");
  }
  fn();
  AtEOXact_GUC(true, nest);
}

// claim: up to `limit` due events, as SPI rows (nova_relay; see kClaimSqlFmt). Two
// plans: the probe's (LIMIT 1) and the batch's (LIMIT nova.relay_batch_size, prepared
// again when the setting changes).
int claim(int limit) {
  int rc = 0;
  nova::pg::run_as(relay_role_required(), [&] {
    SPIPlanPtr plan;
    if (limit == 1) {
      plan = prepare(&g_plans.probe, psprintf(kClaimSqlFmt, 1), 0, nullptr);
    } else {
      if (g_plans.claim && g_plans.claim_limit != limit) {
        SPI_freeplan(g_plans.claim);
        g_plans.claim = nullptr;
      }
      plan = prepare(&g_plans.claim, psprintf(kClaimSqlFmt, limit), 0, nullptr);
      g_plans.claim_limit = limit;
    }
    with_plan_shape(PlanShape::kIdOrder, [&] { rc = SPI_execute_plan(plan, nullptr, nullptr, false, 0); });
  });
  if (rc != SPI_OK_SELECT) elog(ERROR, "nova relay: claim failed: %s", SPI_result_code_string(rc));
  return static_cast<int>(SPI_processed);
}

// Nothing due: how long until the first event in backoff is (bounded by *wait_ms).
void wait_for_next_due(int *wait_ms) {
  int rc = 0;
  nova::pg::run_as(relay_role_required(), [&] {
    rc = SPI_execute_plan(prepare(&g_plans.next, kNextDueSql, 0, nullptr), nullptr, nullptr, true, 1);
  });
  if (rc == SPI_OK_SELECT && SPI_processed == 1) {
    bool isnull;
    Datum d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
    if (!isnull) {
      double ms = DatumGetFloat8(d);
      *wait_ms = ms < 10 ? 10 : (ms > *wait_ms ? *wait_ms : static_cast<int>(ms) + 1);
    }
  }
}

// build: the claimed rows (SPI_tuptable) as Kafka messages, headers per nova.event_format.
void build(Batch *b) {
  SPITupleTable *tt = SPI_tuptable;
  TupleDesc td = tt->tupdesc;
  if (td->natts != kClaimColumns) elog(ERROR, "nova relay: the claim returned %d columns", td->natts);
  int n = b->n;
  // Id order (the claim has no ORDER BY; see kClaimSqlFmt). Already sorted in practice.
  bool sorted = true;
  for (int i = 1; i < n && sorted; i++) {
    bool isnull;
    sorted = DatumGetInt64(heap_getattr(tt->vals[i - 1], 1, td, &isnull)) <
             DatumGetInt64(heap_getattr(tt->vals[i], 1, td, &isnull));
  }
  if (!sorted)
    std::sort(tt->vals, tt->vals + n, [td](HeapTuple x, HeapTuple y) {
      bool isnull;
      return DatumGetInt64(heap_getattr(x, 1, td, &isnull)) < DatumGetInt64(heap_getattr(y, 1, td, &isnull));
    });
  bool ce = (nova_guc_event_format == NOVA_EVENT_FORMAT_CLOUDEVENTS);
  b->ev = static_cast<Event *>(palloc(sizeof(Event) * n));
  b->msgs = static_cast<OutMsg *>(palloc0(sizeof(OutMsg) * n));
  b->delivered = static_cast<bool *>(palloc0(sizeof(bool) * n));
  for (int i = 0; i < n; i++) {
    Datum v[kClaimColumns];
    bool nul[kClaimColumns];
    heap_deform_tuple(tt->vals[i], td, v, nul);
    b->ev[i].id = DatumGetInt64(v[0]);
    b->ev[i].attempts = DatumGetInt32(v[1]);
    b->ev[i].slot = DatumGetInt16(v[14]);
    ItemPointerCopy(reinterpret_cast<ItemPointer>(DatumGetPointer(v[15])), &b->ev[i].tid);
    char *event_id = nul[2] ? nullptr : uuid_text(v[2]);
    char *topic = datum_text(v[3], nul[3]);
    char *key = datum_text(v[4], nul[4]);
    char *event_type = datum_text(v[5], nul[5]);
    size_t payload_len = 0;
    char *payload = nul[6] ? nullptr : jsonb_compact(DatumGetJsonbP(v[6]), &payload_len);
    char **hk, **hv;
    int nh = header_items(v[7], nul[7], &hk, &hv);
    char *correlation = datum_text(v[8], nul[8]);
    char *traceparent = datum_text(v[9], nul[9]);
    char *actor = datum_text(v[10], nul[10]);
    char *source = datum_text(v[11], nul[11]);
    char *schema_version = nul[12] ? nullptr : psprintf("%d", DatumGetInt32(v[12]));
    int64 ts_ms = 0;
    char *occurred = nul[13] ? nullptr : timestamp_parts(DatumGetTimestampTz(v[13]), &ts_ms);

    b->ev[i].order_key = key ? psprintf("%s\x1f%s", topic, key) : nullptr;

    OutMsg *m = &b->msgs[i];
    m->topic = topic;
    m->key = key;
    m->key_len = key ? strlen(key) : 0;
    if (payload) {  // already compact (jsonb_compact)
      m->value = payload;
      m->value_len = payload_len;
    }
    m->timestamp_ms = ts_ms;
    constexpr int kStd = 12;
    const char **names = static_cast<const char **>(palloc(sizeof(char *) * (kStd + nh)));
    const char **values = static_cast<const char **>(palloc(sizeof(char *) * (kStd + nh)));
    int h = 0;
    auto add = [&](const char *name, const char *value) {
      if (!value) return;
      names[h] = name;
      values[h] = value;
      h++;
    };
    const char *src = source && source[0] ? source : "publish";
    const char *ver = schema_version && strcmp(schema_version, "0") != 0 ? schema_version : nullptr;
    if (ce) {
      // CloudEvents 1.0, Kafka protocol binding, binary content mode (docs/relay.md).
      add("ce_specversion", "1.0");
      add("ce_id", event_id);
      add("ce_type", event_type);
      add("ce_source", src);
      add("ce_time", occurred);
      add("ce_subject", key);
      if (payload) add("content-type", "application/json");
    } else {
      add("event-id", event_id);
      add("event-type", event_type);
      add("occurred-at", occurred);
      add("source", src);
    }
    add("correlation-id", correlation && correlation[0] ? correlation : nullptr);
    add("traceparent", traceparent && traceparent[0] ? traceparent : nullptr);
    add("actor", actor && actor[0] ? actor : nullptr);
    add("schema-version", ver);
    for (int k = 0; k < nh; k++)
      if (!is_standard_header(hk[k], ce)) add(hk[k], hv[k]);
    m->nheaders = h;
    m->hnames = names;
    m->hvalues = values;
  }
}

// Wait for every delivery report, bounded by message.timeout.ms (plus slack), and by
// kShutdownFlushMs once SIGTERM arrived. Whatever is still outstanding is purged.
// Returns true when it had to give up on reports (not counting shutdown).
bool await_reports() {
  TimestampTz start = GetCurrentTimestamp();
  TimestampTz deadline = TimestampTzPlusMilliseconds(start, g_sink->message_timeout_ms() + 2000);
  TimestampTz term_deadline = 0;
  bool shown_down = false;
  while (g_sink->outstanding() > 0) {
    TimestampTz now = GetCurrentTimestamp();
    if (ShutdownRequestPending && term_deadline == 0) term_deadline = TimestampTzPlusMilliseconds(now, kShutdownFlushMs);
    if (now >= deadline || (term_deadline != 0 && now >= term_deadline)) break;
    g_sink->poll(100);
    if (!shown_down && g_sink->all_brokers_down()) {
      set_state(State::kBrokerDown);  // visible before message.timeout.ms expires
      shown_down = true;
    }
  }
  if (g_sink->outstanding() == 0) return false;
  g_sink->purge();
  return !ShutdownRequestPending;
}

// deliver: hand the batch to Kafka and wait for every report (no SQL). Decides which
// events count as delivered: per key, nothing after a failure of that key does (it is
// re-sent later, in order) — except after a failure that dead-letters the event.
void deliver(Batch *b, int max_attempts) {
  int n = b->n;
  OutMsg *msgs = b->msgs;
  set_state(g_outage ? State::kBrokerDown : State::kRunning);
  pgstat_report_activity(STATE_RUNNING, "nova relay: sending to kafka");
  TimestampTz t0 = GetCurrentTimestamp();
  g_sink->produce(msgs, n);
  bool gave_up = await_reports();
  if (gave_up) {
    // No report within message.timeout.ms: a broker-level failure of each such event.
    // The producer may be wedged (e.g. a request whose response never came): start afresh.
    for (int i = 0; i < n; i++) {
      OutMsg *m = &msgs[i];
      if (m->done) continue;
      m->done = true;
      m->ok = false;
      m->err = -192; /* __MSG_TIMED_OUT */
      m->cls = FailureClass::kBroker;
      strlcpy(m->errstr, "no delivery report within message.timeout.ms", sizeof m->errstr);
    }
    ereport(LOG, (errcode(ERRCODE_CONNECTION_FAILURE), errmsg("nova relay: Kafka did not acknowledge a batch within message.timeout.ms; recreating the "
                         "producer")));
    g_configured = false;
  }
  b->duration_us = static_cast<int64>(GetCurrentTimestamp() - t0);
  emit_kafka_logs();
  b->fatal = g_sink->fatal(b->fatal_err, sizeof b->fatal_err);

  // A small hash of failed keys; n is at most nova.relay_batch_size.
  HTAB *failed_keys = nullptr;
  HASHCTL ctl;
  memset(&ctl, 0, sizeof ctl);
  ctl.keysize = 16;
  ctl.entrysize = 16;
  ctl.hcxt = CurrentMemoryContext;
  b->broker_failure = false;
  for (int i = 0; i < n; i++) {
    OutMsg *m = &msgs[i];
    bool ok = m->done && m->ok;
    if (m->done && !m->ok && m->cls == FailureClass::kBroker) b->broker_failure = true;
    if (!b->ev[i].order_key) {
      b->delivered[i] = ok;
      continue;
    }
    // Hash on a fixed-size digest of the order key (collisions only make us more careful).
    const char *okey = b->ev[i].order_key;
    char hkey[16];
    memset(hkey, 0, sizeof hkey);
    uint32 hv1 = hash_bytes(reinterpret_cast<const unsigned char *>(okey), strlen(okey));
    uint64 hv2 = hash_bytes_extended(reinterpret_cast<const unsigned char *>(okey), strlen(okey), 0x6e6f7661);
    memcpy(hkey, &hv1, sizeof hv1);
    memcpy(hkey + sizeof hv1, &hv2, sizeof hv2);
    bool found = false;
    if (failed_keys) hash_search(failed_keys, hkey, HASH_FIND, &found);
    if (found) continue;
    bool goes_dead = m->done && !m->ok &&
                     (m->cls == FailureClass::kPoison ||
                      (m->cls == FailureClass::kMessage && b->ev[i].attempts + 1 >= max_attempts));
    if (ok) {
      b->delivered[i] = true;
    } else if (goes_dead) {
      // Goes to dead letters now: later events of its key continue (docs/relay.md).
    } else {
      if (!failed_keys)
        failed_keys = hash_create("nova relay failed keys", 64, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
      hash_search(failed_keys, hkey, HASH_ENTER, nullptr);
    }
  }
}

// record: delete what Kafka acknowledged, reschedule message-level failures with
// backoff, dead-letter poison and exhausted events (nova_relay). Broker-level
// failures, events held back behind a failure of their key, and events purged at
// shutdown stay as they are: no attempt spent.
void record(Batch *b, int max_attempts) {
  int n = b->n;
  Datum *del_tids = static_cast<Datum *>(palloc(sizeof(Datum) * n));
  int *del_slots = static_cast<int *>(palloc(sizeof(int) * n));
  int64 *retry_ids = static_cast<int64 *>(palloc(sizeof(int64) * n));
  char **retry_errs = static_cast<char **>(palloc(sizeof(char *) * n));
  double *retry_delay = static_cast<double *>(palloc(sizeof(double) * n));
  int64 *dead_ids = static_cast<int64 *>(palloc(sizeof(int64) * n));
  char **dead_errs = static_cast<char **>(palloc(sizeof(char *) * n));
  int ndel = 0, nretry = 0, ndead = 0, nbroker = 0;
  const char *first_error = nullptr;
  for (int i = 0; i < n; i++) {
    OutMsg *m = &b->msgs[i];
    if (b->delivered[i]) {
      del_tids[ndel] = PointerGetDatum(&b->ev[i].tid);
      del_slots[ndel] = b->ev[i].slot;
      ndel++;
      continue;
    }
    if (!m->done || m->ok) continue;  // held back behind a failed event of its key
    if (!first_error) first_error = m->errstr;
    if (m->cls == FailureClass::kBroker) {  // an outage (or our own purge): not the message's fault
      nbroker++;
      continue;
    }
    int attempts = b->ev[i].attempts + 1;
    if (m->cls == FailureClass::kPoison || attempts >= max_attempts) {
      dead_ids[ndead] = b->ev[i].id;
      dead_errs[ndead] = psprintf("%s%s", m->cls == FailureClass::kPoison ? "" : "max attempts reached: ", m->errstr);
      ndead++;
    } else {
      retry_ids[nretry] = b->ev[i].id;
      retry_errs[nretry] = pstrdup(m->errstr);
      double jitter = 0.8 + 0.4 * pg_prng_double(&pg_global_prng_state);
      retry_delay[nretry] = backoff_ms(attempts, jitter);
      nretry++;
    }
  }

  pgstat_report_activity(STATE_RUNNING, "nova relay: recording deliveries");
  nova::pg::run_as(relay_role_required(), [&] {
    int rc;
    // One DELETE per slot present (two at most, around a partition rotation).
    for (int slot = 0; slot <= 1 && ndel > 0; slot++) {
      Datum *tids = static_cast<Datum *>(palloc(sizeof(Datum) * ndel));
      int nt = 0;
      for (int i = 0; i < ndel; i++)
        if (del_slots[i] == slot) tids[nt++] = del_tids[i];
      if (nt == 0) continue;
      Oid t[2] = {TIDARRAYOID, INT2OID};
      Datum a[2] = {PointerGetDatum(construct_array(tids, nt, TIDOID, sizeof(ItemPointerData), false, TYPALIGN_SHORT)),
                    Int16GetDatum(static_cast<int16>(slot))};
      SPIPlanPtr plan = prepare(&g_plans.del, kDeleteSql, 2, t);
      with_plan_shape(PlanShape::kTidOnly, [&] { rc = SPI_execute_plan(plan, a, nullptr, false, 0); });
      if (rc != SPI_OK_DELETE) elog(ERROR, "nova relay: delete failed: %s", SPI_result_code_string(rc));
      // Fewer would mean a row moved despite our lock: it stays and is sent again (at least once).
      if (SPI_processed != static_cast<uint64>(nt))
        elog(LOG, "nova relay: deleted %lu of %d delivered events", static_cast<unsigned long>(SPI_processed), nt);
    }
    if (nretry > 0) {
      Oid t[3] = {INT8ARRAYOID, TEXTARRAYOID, FLOAT8ARRAYOID};
      Datum a[3] = {PointerGetDatum(int8_array(retry_ids, nretry)), PointerGetDatum(text_array(retry_errs, nretry)),
                    PointerGetDatum(float8_array(retry_delay, nretry))};
      rc = SPI_execute_plan(prepare(&g_plans.retry, kRetrySql, 3, t), a, nullptr, false, 0);
      if (rc != SPI_OK_UPDATE) elog(ERROR, "nova relay: reschedule failed: %s", SPI_result_code_string(rc));
    }
    if (ndead > 0) {
      Oid t[2] = {INT8ARRAYOID, TEXTARRAYOID};
      Datum a[2] = {PointerGetDatum(int8_array(dead_ids, ndead)), PointerGetDatum(text_array(dead_errs, ndead))};
      rc = SPI_execute_plan(prepare(&g_plans.dead, kDeadSql, 2, t), a, nullptr, false, 0);
      if (rc != SPI_OK_INSERT) elog(ERROR, "nova relay: dead-lettering failed: %s", SPI_result_code_string(rc));
    }
  });
  if (ndead > 0)
    ereport(WARNING, (errcode(ERRCODE_WARNING), errmsg("nova relay: %d event(s) moved to nova.outbox_dead", ndead),
                      errdetail("Last error: %s", dead_errs[ndead - 1]),
                      errhint("Fix the cause, then SELECT nova.retry_dead();")));

  // The breaker hears about Kafka's health: broker-level failures (and a fatal
  // producer error) fail the call; message-level errors are answers, not outages.
  bool healthy = !b->broker_failure && !b->fatal;
  note_breaker_state(nova::pg::breaker::record("kafka", healthy, b->duration_us));
  if (b->fatal) {
    set_error(b->fatal_err);
    ereport(WARNING, (errcode(ERRCODE_CONNECTION_FAILURE),
                      errmsg("nova relay: fatal Kafka producer error, recreating the producer"),
                      errdetail("%s", b->fatal_err)));
    g_configured = false;  // ensure_sink() makes a new one
  } else if (first_error) {
    set_error(first_error);
  }
  count_results(static_cast<uint64>(ndel), static_cast<uint64>(nretry + ndead + nbroker), static_cast<uint64>(ndead));
  nova::metrics::relay_batch(static_cast<uint64>(nretry), nova::metrics::delivered_bytes(b->msgs, b->n, b->delivered),
                             b->duration_us);
}

// During an outage: does a broker answer? If not, the relay waits (state broker_down
// or breaker_open) without claiming anything. When it does and the breaker is OPEN
// because of this outage, the breaker goes to HALF_OPEN at once: the probe is not
// held back by the breaker's (possibly long, backed-off) open wait (docs/relay.md).
bool outage_reachable() {
  pgstat_report_activity(STATE_RUNNING, "nova relay: asking Kafka for metadata");
  bool reachable = g_sink->brokers_reachable(kReachTimeoutMs);
  emit_kafka_logs();
  const char *st = nova::pg::breaker::state("kafka");
  note_breaker_state(st);
  if (!reachable) {
    if (!g_outage_unreachable) set_error("no Kafka broker answers (metadata request)");
    g_outage_unreachable = true;
    if (strcmp(st, "CLOSED") == 0)  // a failed call while closed: lets the breaker open
      note_breaker_state(nova::pg::breaker::record("kafka", false, kReachTimeoutMs * 1000L));
    return false;
  }
  if (g_outage_unreachable && strcmp(st, "OPEN") == 0) {
    DirectFunctionCall2(nova_breaker_force, CStringGetTextDatum("kafka"), CStringGetTextDatum("half_open"));
    note_breaker_state(nova::pg::breaker::state("kafka"));
  }
  return true;
}

// Idle (nothing due): is Kafka still reachable? Nothing is sent, so no delivery report
// would tell: the error callback's "all brokers down" (served by polling the producer
// here) or an unanswered metadata request does. Asks at most once per `interval`
// (half of message.timeout.ms, 100 ms to 1 s) since Kafka last answered, waiting up
// to half of message.timeout.ms (100 ms to 5 s) for the answer, so an idle relay
// shows broker_down within message.timeout.ms (at most 6 s) of the brokers going
// away, and a slow answer on a loaded machine is not taken for an outage
// (docs/relay.md, "Outages").
int idle_check_interval_ms() { return Max(100, Min(kIdleCheckMs, g_sink->message_timeout_ms() / 2)); }
int idle_answer_wait_ms() { return Max(100, Min(5000, g_sink->message_timeout_ms() / 2)); }

bool idle_kafka_reachable() {
  int interval = idle_check_interval_ms();
  g_sink->poll(0);  // serves librdkafka's error callback and logs
  emit_kafka_logs();
  if (g_sink->all_brokers_down()) return false;
  TimestampTz now = GetCurrentTimestamp();
  if (!TimestampDifferenceExceeds(g_last_contact, now, interval)) return true;
  pgstat_report_activity(STATE_RUNNING, "nova relay: asking Kafka for metadata (idle)");
  bool ok = g_sink->brokers_reachable(idle_answer_wait_ms());
  emit_kafka_logs();
  if (ok) g_last_contact = GetCurrentTimestamp();
  return ok;
}

BatchResult run_batch(int *wait_ms) {
  int max_attempts = nova_guc_relay_max_attempts;
  *wait_ms = nova_guc_relay_idle_timeout;

  pgstat_report_activity(STATE_RUNNING, "nova relay: claiming outbox events");
  if (!OidIsValid(get_extension_oid("nova", true))) return BatchResult::kNoExtension;
  // An over-privileged nova_relay: run nothing at all (relay_role.h).
  if (!OidIsValid(relay_role())) return BatchResult::kRoleRefused;

  if (g_outage && !outage_reachable()) {
    *wait_ms = kOutagePollMs;
    return breaker_refusing(g_breaker_state) ? BatchResult::kBreakerOpen : BatchResult::kBrokerDown;
  }

  // Probe with ONE event during an outage and while the breaker is not closed.
  const char *bst = nova::pg::breaker::state("kafka");
  bool probe = g_outage || strcmp(bst, "HALF_OPEN") == 0 || breaker_refusing(bst);
  int limit = probe ? 1 : nova_guc_relay_batch_size;
  int n = claim(limit);
  if (n == 0) {
    if (g_outage) {
      kafka_answered(0);  // a broker answers and nothing is due: nothing to probe with
    } else if (!idle_kafka_reachable()) {
      const char *why = "no Kafka broker answers while the relay is idle";
      set_error(why);
      enter_outage(why);
      g_outage_unreachable = true;  // the breaker may be cut short when a broker answers
      const char *st = nova::pg::breaker::state("kafka");
      if (strcmp(st, "CLOSED") == 0)  // an unanswered request is a failed call, as in outage mode
        st = nova::pg::breaker::record("kafka", false, idle_check_interval_ms() * 1000L);
      note_breaker_state(st);
      *wait_ms = kOutagePollMs;
      return breaker_refusing(g_breaker_state) ? BatchResult::kBreakerOpen : BatchResult::kBrokerDown;
    }
    *wait_ms = Min(*wait_ms, idle_check_interval_ms());
    wait_for_next_due(wait_ms);
    return BatchResult::kIdle;
  }

  Batch *b = static_cast<Batch *>(palloc0(sizeof(Batch)));
  b->n = n;
  b->full = (n >= limit);  // approximately: blocked rows make a full claim look smaller
  build(b);

  // The breaker decides whether Kafka gets called at all.
  bool allowed = nova::pg::breaker::allow("kafka");
  note_breaker_state(nova::pg::breaker::state("kafka"));
  if (!allowed) {
    *wait_ms = g_outage ? kOutagePollMs : kBreakerPollMs;
    return BatchResult::kBreakerOpen;
  }

  deliver(b, max_attempts);
  record(b, max_attempts);

  if (b->broker_failure) {
    const char *why = "delivery failed at the broker level";
    for (int i = 0; i < n; i++)
      if (b->msgs[i].done && !b->msgs[i].ok && b->msgs[i].cls == FailureClass::kBroker) {
        why = b->msgs[i].errstr;
        break;
      }
    enter_outage(why);
    *wait_ms = kOutagePollMs;
    return breaker_refusing(g_breaker_state) ? BatchResult::kBreakerOpen : BatchResult::kBrokerDown;
  }
  bool any_ok = false;
  for (int i = 0; i < n && !any_ok; i++) any_ok = b->msgs[i].done && b->msgs[i].ok;
  if (any_ok) kafka_answered(n);  // n: the probe batch's size (1 during an outage, see `limit`)
  if (g_outage) {
    *wait_ms = kOutagePollMs;
    return BatchResult::kBrokerDown;
  }
  return (b->full || probe) ? BatchResult::kMore : BatchResult::kSent;
}

// ---- partition rotation ----------------------------------------------------------

TimestampTz g_last_rotation = 0;
uint64 g_delivered_at_rotation = 0;

// Truncate the inactive outbox partition when it is drained, then make it the active
// one. Never waits for a lock: NOWAIT fails while an inserter still writes to it.
void maybe_rotate() {
  Shared *sh = shared();
  TimestampTz now = GetCurrentTimestamp();
  LWLockAcquire(sh->status_lock, LW_SHARED);
  uint64 delivered = sh->delivered;
  LWLockRelease(sh->status_lock);
  if (!TimestampDifferenceExceeds(g_last_rotation, now, kRotateIntervalMs) &&
      delivered - g_delivered_at_rotation < kRotateEvents)
    return;
  g_last_rotation = now;

  int active = current_slot();
  int inactive = 1 - active;
  bool flip = false;
  MemoryContext cxt = CurrentMemoryContext;
  SetCurrentStatementStartTimestamp();
  StartTransactionCommand();
  PG_TRY();
  {
    SPI_connect();
    PushActiveSnapshot(GetTransactionSnapshot());
    pgstat_report_activity(STATE_RUNNING, "nova relay: rotating outbox partitions");
    Oid role = OidIsValid(get_extension_oid("nova", true)) ? relay_role() : InvalidOid;
    if (OidIsValid(role)) {
      nova::pg::run_as(role, [&] {
        // Total size (indexes and TOAST included): autovacuum may have cut the heap to 0
        // pages while the indexes keep their pages. A freshly truncated partition is ~40 kB.
        char *sql = psprintf("SELECT pg_catalog.pg_total_relation_size('nova.outbox_%d'::pg_catalog.regclass)",
                             inactive);
        if (SPI_execute(sql, true, 1) != SPI_OK_SELECT || SPI_processed != 1) elog(ERROR, "size query failed");
        bool isnull;
        int64 size = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
        if (size <= kTruncatedSize) {
          flip = true;
          return;
        }
        // NOWAIT: raises 55P03 (caught below) while a writer or reader still uses it.
        int rc = SPI_execute(psprintf("LOCK TABLE nova.outbox_%d IN ACCESS EXCLUSIVE MODE NOWAIT", inactive), false, 0);
        if (rc != SPI_OK_UTILITY) elog(ERROR, "lock failed: %s", SPI_result_code_string(rc));
        if (SPI_execute(psprintf("SELECT 1 FROM nova.outbox_%d LIMIT 1", inactive), true, 1) != SPI_OK_SELECT)
          elog(ERROR, "emptiness check failed");
        if (SPI_processed == 0) {
          if (SPI_execute(psprintf("TRUNCATE nova.outbox_%d", inactive), false, 0) != SPI_OK_UTILITY)
            elog(ERROR, "truncate failed");
          flip = true;
        }
      });
    }
    PopActiveSnapshot();
    SPI_finish();
    CommitTransactionCommand();
  }
  PG_CATCH();
  {
    // Typically 55P03 (lock not available): someone still uses the partition. Try later.
    MemoryContextSwitchTo(cxt);
    ErrorData *ed = CopyErrorData();
    FlushErrorState();
    AbortCurrentTransaction();
    if (ed->sqlerrcode != ERRCODE_LOCK_NOT_AVAILABLE)
      ereport(LOG, (errcode(ed->sqlerrcode), errmsg("nova relay: outbox rotation postponed: %s", ed->message)));
    FreeErrorData(ed);
    flip = false;
  }
  PG_END_TRY();
  MemoryContextSwitchTo(cxt);
  pgstat_report_activity(STATE_IDLE, nullptr);
  if (flip) {
    SpinLockAcquire(&sh->mutex);
    sh->active_slot = inactive;
    SpinLockRelease(&sh->mutex);
    LWLockAcquire(sh->status_lock, LW_EXCLUSIVE);
    sh->last_rotation_at = now;
    sh->rotations++;
    LWLockRelease(sh->status_lock);
    g_delivered_at_rotation = delivered;
  }
}

// ---- waiting for the database ------------------------------------------------------

// Is there a database of that name? A plain heap scan of pg_database: without a
// database, right after startup, index scans would need non-shared catalogs.
bool database_exists(const char *name) {
  bool found = false;
  StartTransactionCommand();
  Relation rel = table_open(DatabaseRelationId, AccessShareLock);
  TableScanDesc scan = table_beginscan_catalog(rel, 0, nullptr);
  HeapTuple tup;
  while ((tup = heap_getnext(scan, ForwardScanDirection)) != nullptr) {
    auto *db = reinterpret_cast<Form_pg_database>(GETSTRUCT(tup));
    if (strcmp(NameStr(db->datname), name) == 0) {
      found = true;
      break;
    }
  }
  table_endscan(scan);
  table_close(rel, AccessShareLock);
  CommitTransactionCommand();
  return found;
}

// Connected to no database: wait (quietly) until nova.database exists, then exit so
// the postmaster restarts the worker, which connects to it.
void wait_for_database() {
  Shared *sh = shared();
  set_state(State::kWaitingDatabase);
  bool logged = false;
  for (;;) {
    if (ShutdownRequestPending) proc_exit(0);
    if (ConfigReloadPending) {
      ConfigReloadPending = false;
      ProcessConfigFile(PGC_SIGHUP);
    }
    if (database_exists(nova_guc_database)) {
      SpinLockAcquire(&sh->mutex);
      sh->database_seen = true;
      SpinLockRelease(&sh->mutex);
      elog(LOG, "nova relay: database \"%s\" exists; restarting to connect to it", nova_guc_database);
      proc_exit(1);
    }
    if (!logged) {
      elog(LOG, "nova relay: waiting for database \"%s\" (nova.database) to be created", nova_guc_database);
      logged = true;
    }
    (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 1000, PG_WAIT_EXTENSION);
    ResetLatch(MyLatch);
    CHECK_FOR_INTERRUPTS();
  }
}

void relay_module_init() {
  if (!process_shared_preload_libraries_in_progress) return;
  BackgroundWorker w;
  memset(&w, 0, sizeof w);
  w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
  w.bgw_start_time = BgWorkerStart_RecoveryFinished;  // primaries only; starts on promotion
  w.bgw_restart_time = 2;  // seconds; also the delay between "database appeared" and connecting
  strlcpy(w.bgw_library_name, "nova", BGW_MAXLEN);
  strlcpy(w.bgw_function_name, "nova_relay_main", BGW_MAXLEN);
  strlcpy(w.bgw_name, "nova relay", BGW_MAXLEN);
  strlcpy(w.bgw_type, "nova relay", BGW_MAXLEN);
  RegisterBackgroundWorker(&w);
}

}  // namespace

NOVA_MODULE_INIT(relay_module_init);

}  // namespace nova::relay

void nova_relay_main(Datum) {
  using namespace nova::relay;
  pqsignal(SIGHUP, SignalHandlerForConfigReload);
  pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
  BackgroundWorkerUnblockSignals();

  Shared *sh = shared();
  if (!sh) proc_exit(0);  // cannot happen: registered only when preloaded
  SpinLockAcquire(&sh->mutex);
  sh->worker_pid = MyProcPid;
  sh->worker_latch = MyLatch;
  sh->state = State::kStarting;
  bool seen = sh->database_seen;
  sh->database_seen = false;  // set again once connected: a failed connect falls back to waiting
  SpinLockRelease(&sh->mutex);
  LWLockAcquire(sh->status_lock, LW_EXCLUSIVE);
  sh->started_at = GetCurrentTimestamp();
  LWLockRelease(sh->status_lock);
  before_shmem_exit(on_worker_exit, 0);

  if (!seen) {
    BackgroundWorkerInitializeConnection(nullptr, nullptr, 0);
    wait_for_database();  // exits
  }
  // Connected as the bootstrap superuser (a bgworker cannot log in as a NOLOGIN role);
  // every statement then runs as nova_relay through run_as (docs/security.md).
  BackgroundWorkerInitializeConnection(nova_guc_database, nullptr, 0);
  set_role_name(kRelayRole);
  SpinLockAcquire(&sh->mutex);
  sh->database_seen = true;
  SpinLockRelease(&sh->mutex);
  pgstat_report_appname("nova relay");
  elog(LOG, "nova relay: started in database \"%s\"", nova_guc_database);

  MemoryContext loop_cxt = AllocSetContextCreate(TopMemoryContext, "nova relay loop", ALLOCSET_DEFAULT_SIZES);
  int wait_ms = 0;
  int error_backoff_ms = 0;
  bool logged_no_extension = false;
  bool caught_up = false;          // the last batch emptied the queue
  TimestampTz last_claim = 0;      // when the last batch started
  TimestampTz last_snapshot = 0;   // when the last snapshot step ran
  for (;;) {
    if (wait_ms > 0) {
      pgstat_report_activity(STATE_IDLE, nullptr);
      (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, wait_ms, PG_WAIT_EXTENSION);
    }
    // Linger (nova.relay_linger): woken by a commit soon after a batch that caught up,
    // let the interval run out first, so that a steady stream of small transactions
    // is claimed, sent and released a few at a time instead of one wake-up each
    // (each batch is a transaction, a claim, a flush and a DELETE). A backlog (full
    // batches) never waits; a lone commit after a quiet spell does not either.
    if (caught_up && nova_guc_relay_linger > 0 && last_claim != 0) {
      long since_ms = (GetCurrentTimestamp() - last_claim) / 1000;
      if (since_ms < nova_guc_relay_linger)
        (void)WaitLatch(nullptr, WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, nova_guc_relay_linger - since_ms, PG_WAIT_EXTENSION);
    }
    ResetLatch(MyLatch);
    CHECK_FOR_INTERRUPTS();
    if (ShutdownRequestPending) break;
    if (ConfigReloadPending) {
      ConfigReloadPending = false;
      ProcessConfigFile(PGC_SIGHUP);
    }
    ensure_sink();
    wait_ms = nova_guc_relay_idle_timeout;
    if (!g_sink) {  // unconfigured: commits leave it alone; the reload sets the latch
      set_sleeping(false);
      continue;
    }

    MemoryContext old = MemoryContextSwitchTo(loop_cxt);
    BatchResult result = BatchResult::kIdle;
    // Commits wake the relay only now, before the claim's snapshot (pg/relay_state.h).
    set_sleeping(true);
    last_claim = GetCurrentTimestamp();
    SetCurrentStatementStartTimestamp();
    StartTransactionCommand();
    PG_TRY();
    {
      SPI_connect();
      PushActiveSnapshot(GetTransactionSnapshot());
      int w = 0;
      result = run_batch(&w);
      wait_ms = w;
      PopActiveSnapshot();
      SPI_finish();
      CommitTransactionCommand();
      error_backoff_ms = 0;
    }
    PG_CATCH();
    {
      // A failed batch does not kill the worker: report, abort, back off, go on.
      MemoryContextSwitchTo(loop_cxt);
      if (g_sink && g_sink->outstanding() > 0) g_sink->purge();  // reports point into this batch's memory
      ErrorData *ed = CopyErrorData();
      FlushErrorState();
      AbortCurrentTransaction();
      ereport(LOG, (errcode(ed->sqlerrcode), errmsg("nova relay: batch failed: %s", ed->message)));
      set_error(ed->message);
      FreeErrorData(ed);
      error_backoff_ms = error_backoff_ms == 0 ? 500 : Min(error_backoff_ms * 2, kMaxErrorBackoffMs);
      wait_ms = error_backoff_ms;
      result = BatchResult::kSent;
      // Plans may refer to dropped objects: free them, prepare them again.
      free_plans();
    }
    PG_END_TRY();
    MemoryContextSwitchTo(old);
    MemoryContextReset(loop_cxt);

    // An idle or caught-up relay (a batch that was not full) waits for commits: it stays
    // wakeable. Otherwise it polls (outage, breaker, error backoff) or loops at once.
    // (Taking the flag back after a non-full batch left commits unheard until the idle
    // timeout: under a steady trickle of events every event waited up to
    // nova.relay_idle_timeout, p50 ~0.5 s; docs/benchmarks.md.)
    caught_up = result == BatchResult::kIdle || (result == BatchResult::kSent && error_backoff_ms == 0);
    if (!caught_up) set_sleeping(false);
    switch (result) {
      case BatchResult::kNoExtension:
        set_state(State::kWaitingExtension);
        if (!logged_no_extension)
          elog(LOG, "nova relay: waiting for CREATE EXTENSION nova in database \"%s\"", nova_guc_database);
        logged_no_extension = true;
        break;
      case BatchResult::kBreakerOpen:
        set_state(State::kBreakerOpen);
        break;
      case BatchResult::kRoleRefused:
        set_state(State::kRoleRefused);  // last_error says why (relay_role.h)
        break;
      case BatchResult::kBrokerDown:
        set_state(State::kBrokerDown);
        break;
      case BatchResult::kMore:
        set_state(State::kRunning);
        wait_ms = 0;
        break;
      case BatchResult::kSent:
        set_state(strstr(g_breaker_state, "OPEN") && strcmp(g_breaker_state, "HALF_OPEN") != 0 ? State::kBreakerOpen
                                                                                              : State::kRunning);
        break;
      case BatchResult::kIdle:
        set_state(State::kIdle);
        break;
    }
    // Caught up: publish the next batch of a snapshot (its commit wakes this loop).
    // A relay that is never caught up (writers keep every batch full) still runs
    // one snapshot step per nova.relay_idle_timeout, so a snapshot cannot starve.
    if (caught_up || (result == BatchResult::kMore &&
                      TimestampDifferenceExceeds(last_snapshot, GetCurrentTimestamp(), nova_guc_relay_idle_timeout))) {
      last_snapshot = GetCurrentTimestamp();
      snapshot_step();
    }
    if (result != BatchResult::kNoExtension) {
      logged_no_extension = false;
      maybe_rotate();
    }
  }

  set_state(State::kStopping);
  elog(LOG, "nova relay: shutting down");
  drop_sink();
  proc_exit(0);
}
