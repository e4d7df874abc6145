// The relay worker (SPEC §4): moves committed nova.outbox events to Kafka, at least
// once, in order per (topic, key), and keeps the outbox small.
//
// One loop (STYLE.md): wait on the latch (woken at commit by writers) or the idle
// timeout → interrupts → reload → one batch in its own transaction → partition
// rotation now and then → reset the per-loop memory context.
//
// A batch: claim due events with FOR UPDATE SKIP LOCKED (minus events whose key has
// an earlier event still pending outside the batch), hand them to librdkafka, wait
// for every delivery report (bounded by message.timeout.ms), then in the same
// transaction delete what Kafka acknowledged, reschedule failures with exponential
// backoff, and move exhausted or permanently failing events to nova.outbox_dead.
//
// Frames in this file hold no C++ objects with destructors: everything is palloc'd
// in the loop context or plain stack data, so PostgreSQL errors may longjmp through
// them. The C++ parts (KafkaSink, relay_util) never call PostgreSQL.
#include "bgworker/kafka_sink.h"
#include "bgworker/relay_shared.h"
#include "pg/metrics.h"
#include "bgworker/snapshot.h"

extern "C" {
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
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
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"
}

#include <csignal>
#include <cstdlib>

#include "core/relay_util.h"
#include "pg/breaker_api.h"
#include "pg/guc.h"
#include "pg/module.h"

extern "C" {
PGDLLEXPORT void nova_relay_main(Datum arg);
}

namespace nova::relay {

namespace {

constexpr int kShutdownFlushMs = 5000;     // SIGTERM: at most this long for outstanding reports
constexpr int kRotateIntervalMs = 10000;   // partition rotation: at least this often …
constexpr uint64 kRotateEvents = 200000;   // … or after this many deliveries
constexpr int kBreakerPollMs = 250;
constexpr int64 kTruncatedSize = 64 * 1024;  // a partition this small needs no TRUNCATE        // breaker open: ask again this often
constexpr int kMaxErrorBackoffMs = 30000;  // database errors in a batch: back off up to this

volatile sig_atomic_t g_got_sigterm = false;

void handle_sigterm(SIGNAL_ARGS) {
  int save_errno = errno;
  g_got_sigterm = true;
  SetLatch(MyLatch);
  errno = save_errno;
}

// ---- shared state helpers ----------------------------------------------------

void set_state(State s) {
  Shared *sh = shared();
  SpinLockAcquire(&sh->mutex);
  sh->state = s;
  SpinLockRelease(&sh->mutex);
}

void set_error(const char *msg) {
  Shared *sh = shared();
  SpinLockAcquire(&sh->mutex);
  strlcpy(sh->last_error, msg ? msg : "", kErrorLen);
  SpinLockRelease(&sh->mutex);
}

void set_brokers(const char *b) {
  Shared *sh = shared();
  SpinLockAcquire(&sh->mutex);
  strlcpy(sh->brokers, b ? b : "", kBrokersLen);
  SpinLockRelease(&sh->mutex);
}

void count_results(uint64 delivered, uint64 failed, uint64 dead) {
  Shared *sh = shared();
  TimestampTz now = GetCurrentTimestamp();
  int64 sec = static_cast<int64>(time(nullptr));
  int idx = static_cast<int>(sec % kRateSeconds);
  SpinLockAcquire(&sh->mutex);
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
  SpinLockRelease(&sh->mutex);
}

void on_worker_exit(int, Datum) {
  Shared *sh = shared();
  if (!sh) return;
  SpinLockAcquire(&sh->mutex);
  sh->worker_latch = nullptr;
  sh->worker_pid = 0;
  sh->state = State::kStopped;
  SpinLockRelease(&sh->mutex);
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

// ---- breaker -----------------------------------------------------------------

char g_breaker_state[32] = "CLOSED";

void note_breaker_state(const char *now_state) {
  if (!now_state) return;
  if (strcmp(now_state, g_breaker_state) != 0) {
    ereport(LOG, (errmsg("nova relay: kafka circuit breaker %s -> %s", g_breaker_state, now_state)));
    strlcpy(g_breaker_state, now_state, sizeof g_breaker_state);
  }
}

// ---- SQL -----------------------------------------------------------------------

// Claim: due events in id order, skipping rows another relay holds, minus every event
// whose (topic, key) has an earlier pending event outside this batch: per-key order.
// NULL keys are unordered (Kafka spreads them).
// Only one claimer at a time (a transaction-level advisory lock, taken once by the
// initplan; a second relay claims nothing until the first commits). Then an earlier
// event of the key that is pending but not claimed can only be one in backoff, i.e.
// with attempts > 0: due events with attempts = 0 are claimed in id order before any
// later one. So the blocking lookup needs only events that failed at least once,
// which is what the partial index nova.outbox_key_idx holds — new events never
// enter it, keeping the writers' insert cost at one index (00_base.sql).
const char *kClaimSql =
    "WITH cand AS MATERIALIZED ("
    "  SELECT o.id, o.slot, o.attempts, o.event_id, o.topic, o.key, o.event_type, o.payload, o.headers,"
    "         o.correlation_id, o.traceparent, o.actor, o.source, o.schema_version, o.created_at"
    "  FROM nova.outbox o"
    "  WHERE o.next_attempt_at <= pg_catalog.now()"
    "    AND (SELECT pg_catalog.pg_try_advisory_xact_lock(1852798561, 1))"  // 'nova', relay claim
    "  ORDER BY o.id"
    "  LIMIT $1"
    "  FOR UPDATE SKIP LOCKED),"
    " ks AS (SELECT topic, key, pg_catalog.max(id) AS maxid FROM cand WHERE key IS NOT NULL GROUP BY topic, key),"
    " blk AS ("
    "  SELECT ks.topic, ks.key, pg_catalog.min(o.id) AS bid"
    "  FROM ks JOIN nova.outbox o ON o.topic = ks.topic AND o.key = ks.key AND o.id < ks.maxid AND o.attempts > 0"
    "  WHERE NOT EXISTS (SELECT 1 FROM cand c WHERE c.id = o.id)"
    "  GROUP BY ks.topic, ks.key)"
    " SELECT c.id, c.attempts, c.event_id::text, c.topic, c.key, c.event_type, c.payload::text,"
    "   c.correlation_id, c.traceparent, c.actor, c.source, c.schema_version,"
    "   pg_catalog.to_char(c.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"
    "   (pg_catalog.date_part('epoch', c.created_at) * 1000)::int8,"
    "   ARRAY(SELECT h.key FROM pg_catalog.jsonb_each(c.headers) h ORDER BY h.key),"
    "   ARRAY(SELECT CASE pg_catalog.jsonb_typeof(h.value) WHEN 'string' THEN h.value #>> '{}' ELSE h.value::text END"
    "         FROM pg_catalog.jsonb_each(c.headers) h ORDER BY h.key)"
    " FROM cand c LEFT JOIN blk b ON b.topic = c.topic AND b.key = c.key"
    " WHERE b.bid IS NULL OR c.id < b.bid"
    " ORDER BY c.id";

const char *kDeleteSql = "DELETE FROM nova.outbox WHERE id = ANY($1)";

const char *kRetrySql =
    "UPDATE nova.outbox o SET attempts = o.attempts + 1, last_error = f.err,"
    "  next_attempt_at = pg_catalog.clock_timestamp() + f.delay_ms * interval '1 millisecond'"
    " FROM ROWS FROM (pg_catalog.unnest($1::int8[]), pg_catalog.unnest($2::text[]), pg_catalog.unnest($3::float8[]))"
    "   AS f(id, err, delay_ms)"
    " WHERE o.id = f.id";

const char *kDeadSql =
    "WITH d AS (DELETE FROM nova.outbox o"
    "           USING ROWS FROM (pg_catalog.unnest($1::int8[]), pg_catalog.unnest($2::text[])) AS f(id, err)"
    "           WHERE o.id = f.id RETURNING o.*, f.err AS err)"
    " INSERT INTO nova.outbox_dead (id, event_id, topic, key, event_type, payload, headers, correlation_id,"
    "   traceparent, actor, created_at, attempts, last_error, source, schema_version)"
    " SELECT id, event_id, topic, key, event_type, payload, headers, correlation_id, traceparent, actor,"
    "   created_at, attempts + 1, err, source, schema_version FROM d"
    " ON CONFLICT DO NOTHING";

const char *kNextDueSql =
    "SELECT (pg_catalog.date_part('epoch', pg_catalog.min(next_attempt_at) - pg_catalog.clock_timestamp()) * 1000)"
    "::float8 FROM nova.outbox WHERE next_attempt_at > pg_catalog.now() AND attempts > 0";

SPIPlanPtr g_claim_plan = nullptr, g_delete_plan = nullptr, g_retry_plan = nullptr, g_dead_plan = nullptr,
           g_next_plan = nullptr;

SPIPlanPtr prepare(SPIPlanPtr *slot, const char *sql, int nargs, Oid *types) {
  if (*slot) return *slot;
  SPIPlanPtr p = SPI_prepare(sql, nargs, types);
  if (!p) elog(ERROR, "nova relay: SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
  if (SPI_keepplan(p) != 0) elog(ERROR, "nova relay: SPI_keepplan failed");
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

// ---- one batch ---------------------------------------------------------------

struct Event {
  int64 id;
  int attempts;
  char *order_key;  // topic + '\0'-free separator + key; nullptr for NULL keys
};

char *col_text(HeapTuple tup, TupleDesc td, int col) { return SPI_getvalue(tup, td, col); }  // nullptr when NULL

// Header arrays from the claim query, as palloc'd C strings.
int text_array_items(HeapTuple tup, TupleDesc td, int col, char ***out) {
  bool isnull;
  Datum d = SPI_getbinval(tup, td, col, &isnull);
  *out = nullptr;
  if (isnull) return 0;
  ArrayType *arr = DatumGetArrayTypeP(d);
  Datum *elems;
  bool *nulls;
  int n;
  deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
  char **items = static_cast<char **>(palloc(sizeof(char *) * (n > 0 ? n : 1)));
  for (int i = 0; i < n; i++) items[i] = nulls[i] ? pstrdup("") : TextDatumGetCString(elems[i]);
  *out = items;
  return n;
}

bool is_standard_header(const char *name) {
  static const char *std_names[] = {"event-id", "event-type", "correlation-id", "traceparent", "actor",
                                    "occurred-at", "source", "schema-version"};
  for (const char *s : std_names)
    if (strcmp(name, s) == 0) return true;
  return false;
}

bool is_purged(const OutMsg *m) { return m->err == -152 /* __PURGE_QUEUE */ || m->err == -151 /* __PURGE_INFLIGHT */; }

enum class BatchResult { kIdle, kSent, kMore, kBreakerOpen, kNoExtension };

// Wait for every delivery report, bounded by message.timeout.ms (plus slack), and by
// kShutdownFlushMs once SIGTERM arrived. Whatever is still outstanding is purged.
// Returns true when it had to give up on reports (not counting shutdown).
bool await_reports() {
  TimestampTz start = GetCurrentTimestamp();
  TimestampTz deadline = TimestampTzPlusMilliseconds(start, g_sink->message_timeout_ms() + 2000);
  TimestampTz term_deadline = 0;
  while (g_sink->outstanding() > 0) {
    TimestampTz now = GetCurrentTimestamp();
    if (g_got_sigterm && term_deadline == 0) term_deadline = TimestampTzPlusMilliseconds(now, kShutdownFlushMs);
    if (now >= deadline || (term_deadline != 0 && now >= term_deadline)) break;
    g_sink->poll(100);
  }
  if (g_sink->outstanding() == 0) return false;
  g_sink->purge();
  return !g_got_sigterm;
}

BatchResult run_batch(int *wait_ms) {
  int batch_size = nova_guc_relay_batch_size;
  int max_attempts = nova_guc_relay_max_attempts;
  *wait_ms = nova_guc_relay_idle_timeout;

  pgstat_report_activity(STATE_RUNNING, "nova relay: claiming outbox events");
  if (!OidIsValid(get_extension_oid("nova", true))) return BatchResult::kNoExtension;

  Oid claim_types[1] = {INT4OID};
  SPIPlanPtr claim = prepare(&g_claim_plan, kClaimSql, 1, claim_types);
  Datum claim_args[1] = {Int32GetDatum(batch_size)};
  int rc = SPI_execute_plan(claim, claim_args, nullptr, false, 0);
  if (rc != SPI_OK_SELECT) elog(ERROR, "nova relay: claim failed: %s", SPI_result_code_string(rc));
  int n = static_cast<int>(SPI_processed);
  bool full = (n >= batch_size);  // approximately: blocked rows make a full claim look smaller

  if (n == 0) {
    Oid none[1];
    rc = SPI_execute_plan(prepare(&g_next_plan, kNextDueSql, 0, none), nullptr, nullptr, true, 1);
    if (rc == SPI_OK_SELECT && SPI_processed == 1) {
      bool isnull;
      Datum d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
      if (!isnull) {
        double ms = DatumGetFloat8(d);
        int w = ms < 10 ? 10 : (ms > *wait_ms ? *wait_ms : static_cast<int>(ms) + 1);
        *wait_ms = w;
      }
    }
    return BatchResult::kIdle;
  }

  // Copy the claimed rows into plain messages (palloc'd in the caller's context).
  SPITupleTable *tt = SPI_tuptable;
  TupleDesc td = tt->tupdesc;
  // Everything below lives until SPI_finish (SPI's procedure context), i.e. the whole batch.
  Event *ev = static_cast<Event *>(palloc(sizeof(Event) * n));
  OutMsg *msgs = static_cast<OutMsg *>(palloc(sizeof(OutMsg) * n));
  memset(msgs, 0, sizeof(OutMsg) * n);
  for (int i = 0; i < n; i++) {
    HeapTuple tup = tt->vals[i];
    bool isnull;
    ev[i].id = DatumGetInt64(SPI_getbinval(tup, td, 1, &isnull));
    ev[i].attempts = DatumGetInt32(SPI_getbinval(tup, td, 2, &isnull));
    char *event_id = col_text(tup, td, 3);
    char *topic = col_text(tup, td, 4);
    char *key = col_text(tup, td, 5);
    char *event_type = col_text(tup, td, 6);
    char *payload = col_text(tup, td, 7);
    char *correlation = col_text(tup, td, 8);
    char *traceparent = col_text(tup, td, 9);
    char *actor = col_text(tup, td, 10);
    char *source = col_text(tup, td, 11);
    char *schema_version = col_text(tup, td, 12);
    char *occurred = col_text(tup, td, 13);
    int64 ts_ms = DatumGetInt64(SPI_getbinval(tup, td, 14, &isnull));
    char **hk, **hv;
    int nh = text_array_items(tup, td, 15, &hk);
    int nv = text_array_items(tup, td, 16, &hv);
    if (nv < nh) nh = nv;

    ev[i].order_key = key ? psprintf("%s\x1f%s", topic, key) : nullptr;

    OutMsg *m = &msgs[i];
    m->topic = topic;
    m->key = key;
    m->key_len = key ? strlen(key) : 0;
    if (payload) {
      size_t len = strlen(payload);
      char *compact = static_cast<char *>(palloc(len + 1));
      size_t clen = compact_json_into(payload, len, compact);
      compact[clen] = '\0';
      m->value = compact;
      m->value_len = clen;
    }
    m->timestamp_ms = ts_ms;
    const char **names = static_cast<const char **>(palloc(sizeof(char *) * (8 + nh)));
    const char **values = static_cast<const char **>(palloc(sizeof(char *) * (8 + nh)));
    int h = 0;
    auto add = [&](const char *name, const char *value) {
      if (!value) return;
      names[h] = name;
      values[h] = value;
      h++;
    };
    add("event-id", event_id);
    add("event-type", event_type);
    add("correlation-id", correlation && correlation[0] ? correlation : nullptr);
    add("traceparent", traceparent && traceparent[0] ? traceparent : nullptr);
    add("actor", actor && actor[0] ? actor : nullptr);
    add("occurred-at", occurred);
    add("source", source && source[0] ? source : "publish");
    add("schema-version", schema_version && strcmp(schema_version, "0") != 0 ? schema_version : nullptr);
    for (int k = 0; k < nh; k++)
      if (!is_standard_header(hk[k])) add(hk[k], hv[k]);
    m->nheaders = h;
    m->hnames = names;
    m->hvalues = values;
  }

  // The breaker decides whether Kafka gets called at all.
  bool allowed = nova::pg::breaker::allow("kafka");
  note_breaker_state(nova::pg::breaker::state("kafka"));
  if (!allowed) {
    *wait_ms = kBreakerPollMs;
    return BatchResult::kBreakerOpen;
  }

  set_state(State::kRunning);
  pgstat_report_activity(STATE_RUNNING, "nova relay: sending to kafka");
  TimestampTz t0 = GetCurrentTimestamp();
  g_sink->produce(msgs, n);
  bool gave_up = await_reports();
  if (gave_up) {
    // No report within message.timeout.ms: a transient failure of each such event. The
    // producer may be wedged (e.g. a request whose response never came): start afresh.
    for (int i = 0; i < n; i++) {
      OutMsg *m = &msgs[i];
      if (m->done) continue;
      m->done = true;
      m->ok = m->permanent = false;
      m->err = -192; /* __MSG_TIMED_OUT */
      strlcpy(m->errstr, "no delivery report within message.timeout.ms", sizeof m->errstr);
    }
  }
  TimestampTz t1 = GetCurrentTimestamp();
  emit_kafka_logs();
  char fatal_err[256];
  bool fatal = g_sink->fatal(fatal_err, sizeof fatal_err);

  // Per key: nothing after a failure counts as delivered (re-sent later, in order).
  bool *delivered = static_cast<bool *>(palloc0(sizeof(bool) * n));
  {
    // A small hash of failed keys; n is at most nova.relay_batch_size.
    HTAB *failed_keys = nullptr;
    HASHCTL ctl;
    memset(&ctl, 0, sizeof ctl);
    ctl.keysize = 16;
    ctl.entrysize = 16;
    ctl.hcxt = CurrentMemoryContext;
    for (int i = 0; i < n; i++) {
      OutMsg *m = &msgs[i];
      bool ok = m->done && m->ok;
      if (!ev[i].order_key) {
        delivered[i] = ok;
        continue;
      }
      // Hash on a fixed-size digest of the order key (collisions only make us more careful).
      char hkey[16];
      memset(hkey, 0, sizeof hkey);
      uint32 hv1 = hash_bytes(reinterpret_cast<const unsigned char *>(ev[i].order_key), strlen(ev[i].order_key));
      uint64 hv2 = hash_bytes_extended(reinterpret_cast<const unsigned char *>(ev[i].order_key),
                                       strlen(ev[i].order_key), 0x6e6f7661);
      memcpy(hkey, &hv1, sizeof hv1);
      memcpy(hkey + sizeof hv1, &hv2, sizeof hv2);
      bool found = false;
      if (failed_keys) hash_search(failed_keys, hkey, HASH_FIND, &found);
      if (found) continue;
      if (ok) {
        delivered[i] = true;
      } else if (m->done && !(is_purged(m) && g_got_sigterm) && (m->permanent || ev[i].attempts + 1 >= max_attempts)) {
        // Goes to dead letters now: later events of its key continue (docs/relay.md).
      } else {
        if (!failed_keys) failed_keys = hash_create("nova relay failed keys", 64, &ctl, HASH_ELEM | HASH_BLOBS |
                                                                                          HASH_CONTEXT);
        hash_search(failed_keys, hkey, HASH_ENTER, nullptr);
      }
    }
  }

  int64 *del_ids = static_cast<int64 *>(palloc(sizeof(int64) * n));
  int64 *retry_ids = static_cast<int64 *>(palloc(sizeof(int64) * n));
  char **retry_errs = static_cast<char **>(palloc(sizeof(char *) * n));
  double *retry_delay = static_cast<double *>(palloc(sizeof(double) * n));
  int64 *dead_ids = static_cast<int64 *>(palloc(sizeof(int64) * n));
  char **dead_errs = static_cast<char **>(palloc(sizeof(char *) * n));
  int ndel = 0, nretry = 0, ndead = 0, ntransient = 0;
  const char *first_error = nullptr;
  for (int i = 0; i < n; i++) {
    OutMsg *m = &msgs[i];
    if (delivered[i]) {
      del_ids[ndel++] = ev[i].id;
      continue;
    }
    if (!m->done || m->ok) continue;  // held back behind a failed event of its key, or purged at shutdown
    if (is_purged(m) && g_got_sigterm) continue;  // shutting down: not Kafka's fault, no attempt spent
    if (!first_error) first_error = m->errstr;
    int attempts = ev[i].attempts + 1;
    if (m->permanent || attempts >= max_attempts) {
      dead_ids[ndead] = ev[i].id;
      dead_errs[ndead] = psprintf("%s%s", m->permanent ? "" : "max attempts reached: ", m->errstr);
      ndead++;
      if (!m->permanent) ntransient++;
    } else {
      retry_ids[nretry] = ev[i].id;
      retry_errs[nretry] = pstrdup(m->errstr);
      #if PG_VERSION_NUM >= 150000
      double jitter = 0.8 + 0.4 * pg_prng_double(&pg_global_prng_state);
#else
      double jitter = 0.8 + 0.4 * (static_cast<double>(random()) / 2147483648.0);
#endif
      retry_delay[nretry] = backoff_ms(attempts, jitter);
      nretry++;
      ntransient++;
    }
  }

  pgstat_report_activity(STATE_RUNNING, "nova relay: recording deliveries");
  if (ndel > 0) {
    Oid t[1] = {INT8ARRAYOID};
    Datum a[1] = {PointerGetDatum(int8_array(del_ids, ndel))};
    rc = SPI_execute_plan(prepare(&g_delete_plan, kDeleteSql, 1, t), a, nullptr, false, 0);
    if (rc != SPI_OK_DELETE) elog(ERROR, "nova relay: delete failed: %s", SPI_result_code_string(rc));
  }
  if (nretry > 0) {
    Oid t[3] = {INT8ARRAYOID, TEXTARRAYOID, FLOAT8ARRAYOID};
    Datum a[3] = {PointerGetDatum(int8_array(retry_ids, nretry)), PointerGetDatum(text_array(retry_errs, nretry)),
                  PointerGetDatum(float8_array(retry_delay, nretry))};
    rc = SPI_execute_plan(prepare(&g_retry_plan, kRetrySql, 3, t), a, nullptr, false, 0);
    if (rc != SPI_OK_UPDATE) elog(ERROR, "nova relay: reschedule failed: %s", SPI_result_code_string(rc));
  }
  if (ndead > 0) {
    Oid t[2] = {INT8ARRAYOID, TEXTARRAYOID};
    Datum a[2] = {PointerGetDatum(int8_array(dead_ids, ndead)), PointerGetDatum(text_array(dead_errs, ndead))};
    rc = SPI_execute_plan(prepare(&g_dead_plan, kDeadSql, 2, t), a, nullptr, false, 0);
    if (rc != SPI_OK_INSERT) elog(ERROR, "nova relay: dead-lettering failed: %s", SPI_result_code_string(rc));
    ereport(WARNING, (errmsg("nova relay: %d event(s) moved to nova.outbox_dead", ndead),
                      errdetail("Last error: %s", dead_errs[ndead - 1]),
                      errhint("Fix the cause, then SELECT nova.retry_dead();")));
  }

  bool success = (ntransient == 0) && !fatal;
  const char *new_state = nova::pg::breaker::record("kafka", success, static_cast<int64>(t1 - t0));
  note_breaker_state(new_state);
  if (gave_up && !fatal) {
    ereport(LOG, (errmsg("nova relay: Kafka did not acknowledge a batch within message.timeout.ms; recreating the "
                         "producer")));
    g_configured = false;
  }
  if (fatal) {
    set_error(fatal_err);
    ereport(WARNING, (errmsg("nova relay: fatal Kafka producer error, recreating the producer"),
                      errdetail("%s", fatal_err)));
    g_configured = false;  // ensure_sink() makes a new one
  } else if (first_error) {
    set_error(first_error);
  }
  count_results(static_cast<uint64>(ndel), static_cast<uint64>(nretry + ndead), static_cast<uint64>(ndead));
  nova::metrics::relay_batch(static_cast<uint64>(nretry), nova::metrics::delivered_bytes(msgs, n, delivered), static_cast<int64>(t1 - t0));
  if (!success) return BatchResult::kSent;
  return full ? BatchResult::kMore : BatchResult::kSent;
}

// ---- partition rotation ----------------------------------------------------------

TimestampTz g_last_rotation = 0;
uint64 g_delivered_at_rotation = 0;

// Truncate the inactive outbox partition when it is drained, then make it the active
// one. Never waits for a lock: NOWAIT fails while an inserter still writes to it.
void maybe_rotate() {
  Shared *sh = shared();
  TimestampTz now = GetCurrentTimestamp();
  SpinLockAcquire(&sh->mutex);
  uint64 delivered = sh->delivered;
  SpinLockRelease(&sh->mutex);
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
    if (OidIsValid(get_extension_oid("nova", true))) {
      // Total size (indexes and TOAST included): autovacuum may have cut the heap to 0
      // pages while the indexes keep their pages. A freshly truncated partition is ~40 kB.
      char *sql = psprintf("SELECT pg_catalog.pg_total_relation_size('nova.outbox_%d'::regclass)", inactive);
      if (SPI_execute(sql, true, 1) != SPI_OK_SELECT || SPI_processed != 1) elog(ERROR, "size query failed");
      bool isnull;
      int64 size = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
      if (size <= kTruncatedSize) {
        flip = true;
      } else {
        SPI_execute(psprintf("LOCK TABLE nova.outbox_%d IN ACCESS EXCLUSIVE MODE NOWAIT", inactive), false, 0);
        if (SPI_execute(psprintf("SELECT 1 FROM nova.outbox_%d LIMIT 1", inactive), true, 1) != SPI_OK_SELECT)
          elog(ERROR, "emptiness check failed");
        if (SPI_processed == 0) {
          if (SPI_execute(psprintf("TRUNCATE nova.outbox_%d", inactive), false, 0) != SPI_OK_UTILITY)
            elog(ERROR, "truncate failed");
          flip = true;
        }
      }
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
      ereport(LOG, (errmsg("nova relay: outbox rotation postponed: %s", ed->message)));
    FreeErrorData(ed);
    flip = false;
  }
  PG_END_TRY();
  MemoryContextSwitchTo(cxt);
  pgstat_report_activity(STATE_IDLE, nullptr);
  if (flip) {
    SpinLockAcquire(&sh->mutex);
    sh->active_slot = inactive;
    sh->last_rotation_at = now;
    sh->rotations++;
    SpinLockRelease(&sh->mutex);
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
    if (g_got_sigterm) proc_exit(0);
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
  pqsignal(SIGTERM, handle_sigterm);
  BackgroundWorkerUnblockSignals();

  Shared *sh = shared();
  if (!sh) proc_exit(0);  // cannot happen: registered only when preloaded
  SpinLockAcquire(&sh->mutex);
  sh->worker_pid = MyProcPid;
  sh->worker_latch = MyLatch;
  sh->state = State::kStarting;
  sh->started_at = GetCurrentTimestamp();
  bool seen = sh->database_seen;
  sh->database_seen = false;  // set again once connected: a failed connect falls back to waiting
  SpinLockRelease(&sh->mutex);
  before_shmem_exit(on_worker_exit, 0);

  if (!seen) {
    BackgroundWorkerInitializeConnection(nullptr, nullptr, 0);
    wait_for_database();  // exits
  }
  BackgroundWorkerInitializeConnection(nova_guc_database, nullptr, 0);
  SpinLockAcquire(&sh->mutex);
  sh->database_seen = true;
  SpinLockRelease(&sh->mutex);
  pgstat_report_appname("nova relay");
  elog(LOG, "nova relay: started in database \"%s\"", nova_guc_database);

  MemoryContext loop_cxt = AllocSetContextCreate(TopMemoryContext, "nova relay loop", ALLOCSET_DEFAULT_SIZES);
  int wait_ms = 0;
  int error_backoff_ms = 0;
  bool logged_no_extension = false;
  for (;;) {
    if (wait_ms > 0) {
      pgstat_report_activity(STATE_IDLE, nullptr);
      (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, wait_ms, PG_WAIT_EXTENSION);
    }
    ResetLatch(MyLatch);
    CHECK_FOR_INTERRUPTS();
    if (g_got_sigterm) break;
    if (ConfigReloadPending) {
      ConfigReloadPending = false;
      ProcessConfigFile(PGC_SIGHUP);
    }
    ensure_sink();
    wait_ms = nova_guc_relay_idle_timeout;
    if (!g_sink) continue;  // unconfigured: the reload sets the latch

    MemoryContext old = MemoryContextSwitchTo(loop_cxt);
    BatchResult result = BatchResult::kIdle;
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
      error_backoff_ms = error_backoff_ms == 0 ? 500 : Min(error_backoff_ms * 2, kMaxErrorBackoffMs);
      wait_ms = error_backoff_ms;
      result = BatchResult::kSent;
      // Plans may refer to dropped objects; prepare them again.
      g_claim_plan = g_delete_plan = g_retry_plan = g_dead_plan = g_next_plan = nullptr;
    }
    PG_END_TRY();
    MemoryContextSwitchTo(old);
    MemoryContextReset(loop_cxt);

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
    if (result == BatchResult::kIdle || (result == BatchResult::kSent && error_backoff_ms == 0)) snapshot_step();
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
