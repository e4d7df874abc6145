// Snapshots of existing rows: see snapshot.h and docs/outbox.md ("Snapshots").
//
// Every batch is one short transaction that reads rows by primary-key range
// (keyset pagination from the cursor stored in nova.snapshot_jobs) and writes
// their events into nova.outbox, so the relay sends them like any other event,
// in outbox-id order. Latest state last per key (the watermark idea of
// incremental snapshots): a row changed after its batch committed gets an event
// with a later id; a row changed before is read in its new state; a row being
// changed while the batch reads it is locked FOR SHARE, so the batch waits for
// that writer (whose event then has the earlier id) or the writer waits for the
// batch (and its event gets the later id).
//
// Roles (docs/security.md, "The relay's role"): the job bookkeeping (pick, advance,
// fail, record an error on nova.snapshot_jobs) runs as the relay's role, nova_relay,
// which holds exactly the column privileges it needs (src/sql/45_snapshot.sql); the
// batch reads the user's table as the table's owner (the role that owns the rows, the
// one role that may read and lock all of them without being a superuser). Both go
// through nova::pg::run_as (restricted operation, search_path pinned) and the SQL is
// schema-qualified. The events are written by the outbox writer as for any trigger.
//
// Frames here hold no C++ objects with destructors (PostgreSQL errors longjmp).
#include "bgworker/snapshot.h"

extern "C" {
#include "postgres.h"

#include "access/relation.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
}

#include "pg/guc.h"
#include "pg/metrics.h"
#include "pg/outbox.h"
#include "bgworker/relay_role.h"
#include "pg/run_as.h"

namespace nova::relay {

namespace {

const char kPickSql[] =
    "SELECT j.id, j.tbl::pg_catalog.oid, j.batch_size, j.key_columns::pg_catalog.text[], j.cursor"
    "  FROM nova.snapshot_jobs j"
    " WHERE j.state OPERATOR(pg_catalog.=) ANY ('{pending,running}'::pg_catalog.text[])"
    " ORDER BY j.id LIMIT 1 FOR UPDATE SKIP LOCKED";

const char kAdvanceSql[] =
    "UPDATE nova.snapshot_jobs SET cursor = COALESCE($2, cursor),"
    "  rows_done = rows_done OPERATOR(pg_catalog.+) $3,"
    "  state = CASE WHEN $4 THEN 'done' ELSE 'running' END,"
    "  finished_at = CASE WHEN $4 THEN pg_catalog.now() END, last_error = NULL"
    " WHERE id OPERATOR(pg_catalog.=) $1";

const char kFailSql[] =
    "UPDATE nova.snapshot_jobs SET state = 'failed', finished_at = pg_catalog.now(), last_error = $2"
    " WHERE id OPERATOR(pg_catalog.=) $1";

const char kErrorSql[] = "UPDATE nova.snapshot_jobs SET last_error = $2 WHERE id OPERATOR(pg_catalog.=) $1";

struct Job {
  int64 id;
  Oid tbl;
  int batch;
  int nkeys;
  Datum *keys;       // text
  int ncursor;
  Datum *cursor;     // text, ncursor == nkeys or 0 (from the start)
};

// Plain data for the run_as callbacks.
struct Call {
  const char *sql;
  int nargs;
  Oid *types;
  Datum *values;
  const char *nulls;
  int expect;
  // results (read batch)
  Relation rel;
  int nkeys;
  int64 rows;
  bool no_trigger;
  Datum *last_key;  // text, nkeys
};

void exec_sql(void *p) {
  Call *c = static_cast<Call *>(p);
  int rc = SPI_execute_with_args(c->sql, c->nargs, c->types, c->values, c->nulls, false, 0);
  if (rc != c->expect) elog(ERROR, "nova snapshot: query failed: %s", SPI_result_code_string(rc));
}

void update_job(const char *sql, int64 id, Datum a2, bool a2null, int64 rows, bool done) {
  Oid types[4] = {INT8OID, TEXTARRAYOID, INT8OID, BOOLOID};
  if (sql == kFailSql || sql == kErrorSql) types[1] = TEXTOID;
  Datum values[4] = {Int64GetDatum(id), a2, Int64GetDatum(rows), BoolGetDatum(done)};
  char nulls[5] = {' ', a2null ? 'n' : ' ', ' ', ' ', '\0'};
  Call c = {};
  c.sql = sql;
  c.nargs = (sql == kAdvanceSql) ? 4 : 2;
  c.types = types;
  c.values = values;
  c.nulls = nulls;
  c.expect = SPI_OK_UPDATE;
  nova::pg::run_as(relay_role_required(), exec_sql, &c);
}

void fail_job(int64 id, const char *why) {
  update_job(kFailSql, id, CStringGetTextDatum(why), false, 0, false);
  ereport(LOG, (errmsg("nova relay: snapshot %lld failed: %s", static_cast<long long>(id), why)));
}

// As the table's owner (see the top of this file): read one batch and write its events.
void read_batch(void *p) {
  Call *c = static_cast<Call *>(p);
  int rc = SPI_execute_with_args(c->sql, c->nargs, c->types, c->values, c->nulls, false, 0);
  if (rc != SPI_OK_SELECT) elog(ERROR, "nova snapshot: read failed: %s", SPI_result_code_string(rc));
  SPITupleTable *tt = SPI_tuptable;
  uint64 n = SPI_processed;
  c->rows = 0;
  for (uint64 i = 0; i < n; i++) {
    bool isnull;
    Datum row = SPI_getbinval(tt->vals[i], tt->tupdesc, 1, &isnull);
    if (isnull) continue;
    if (!nova::pg::outbox::write_snapshot_row(c->rel, DatumGetHeapTupleHeader(row))) {
      c->no_trigger = true;
      return;
    }
    c->rows++;
  }
  if (n > 0) {
    c->last_key = static_cast<Datum *>(palloc(sizeof(Datum) * c->nkeys));
    for (int k = 0; k < c->nkeys; k++) {
      bool isnull;
      Datum d = SPI_getbinval(tt->vals[n - 1], tt->tupdesc, 2 + k, &isnull);
      c->last_key[k] = isnull ? CStringGetTextDatum("") : PointerGetDatum(PG_DETOAST_DATUM_COPY(d));
    }
  }
}

// The batch query: SELECT t, t.k1::text, … FROM tbl t [WHERE (t.k1, …) > ($1::text::T1, …)]
// ORDER BY t.k1, … LIMIT n FOR SHARE OF t. Schema-qualified, operators included.
char *batch_sql(Relation rel, const Job &job, bool from_start) {
  StringInfoData s;
  initStringInfo(&s);
  appendStringInfoString(&s, "SELECT t");
  for (int k = 0; k < job.nkeys; k++)
    appendStringInfo(&s, ", t.%s::pg_catalog.text", quote_identifier(TextDatumGetCString(job.keys[k])));
  appendStringInfo(&s, " FROM %s t",
                   quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
                                              RelationGetRelationName(rel)));
  if (!from_start) {
    appendStringInfoString(&s, " WHERE (");
    for (int k = 0; k < job.nkeys; k++)
      appendStringInfo(&s, "%st.%s", k ? ", " : "", quote_identifier(TextDatumGetCString(job.keys[k])));
    appendStringInfoString(&s, ") OPERATOR(pg_catalog.>) (");
    for (int k = 0; k < job.nkeys; k++) {
      char *name = TextDatumGetCString(job.keys[k]);
      AttrNumber att = get_attnum(RelationGetRelid(rel), name);
      if (att == InvalidAttrNumber)
        ereport(ERROR, (errcode(ERRCODE_UNDEFINED_COLUMN),
                        errmsg("primary key column \"%s\" of \"%s\" no longer exists", name,
                               RelationGetRelationName(rel))));
      Oid typ = get_atttype(RelationGetRelid(rel), att);
      appendStringInfo(&s, "%s$%d::pg_catalog.text::%s", k ? ", " : "", k + 1, format_type_be_qualified(typ));
    }
    appendStringInfoChar(&s, ')');
  }
  appendStringInfoString(&s, " ORDER BY ");
  for (int k = 0; k < job.nkeys; k++)
    appendStringInfo(&s, "%st.%s", k ? ", " : "", quote_identifier(TextDatumGetCString(job.keys[k])));
  appendStringInfo(&s, " LIMIT %d FOR SHARE OF t", job.batch);
  return s.data;
}

// One step inside a transaction; *job_id is set as soon as a job is picked, *rows to
// the number of snapshot events the batch wrote (0 unless it wrote some).
bool step_in_xact(volatile int64 *job_id, volatile uint64 *rows) {
  Oid nsp = get_namespace_oid("nova", true);
  if (!OidIsValid(nsp) || !OidIsValid(get_relname_relid("snapshot_jobs", nsp))) return false;

  // An over-privileged nova_relay: no snapshot either (relay_role.h).
  Oid role = relay_role();
  if (!OidIsValid(role)) return false;
  Call pick = {};
  pick.sql = kPickSql;
  pick.expect = SPI_OK_SELECT;
  nova::pg::run_as(role, exec_sql, &pick);
  if (SPI_processed == 0) return false;

  Job job = {};
  HeapTuple tup = SPI_tuptable->vals[0];
  TupleDesc td = SPI_tuptable->tupdesc;
  bool isnull;
  job.id = DatumGetInt64(SPI_getbinval(tup, td, 1, &isnull));
  *job_id = job.id;
  job.tbl = DatumGetObjectId(SPI_getbinval(tup, td, 2, &isnull));
  job.batch = DatumGetInt32(SPI_getbinval(tup, td, 3, &isnull));
  Datum keys = SPI_getbinval(tup, td, 4, &isnull);
  bool *knulls;
  deconstruct_array(DatumGetArrayTypePCopy(keys), TEXTOID, -1, false, TYPALIGN_INT, &job.keys, &knulls, &job.nkeys);
  Datum cursor = SPI_getbinval(tup, td, 5, &isnull);
  if (!isnull) {
    bool *cnulls;
    deconstruct_array(DatumGetArrayTypePCopy(cursor), TEXTOID, -1, false, TYPALIGN_INT, &job.cursor, &cnulls,
                      &job.ncursor);
  }
  if (job.nkeys < 1 || (job.ncursor != 0 && job.ncursor != job.nkeys)) {
    fail_job(job.id, "invalid snapshot job (key columns and cursor disagree)");
    return true;
  }

  Relation rel = try_relation_open(job.tbl, AccessShareLock);
  if (rel == nullptr) {
    fail_job(job.id, "the table was dropped");
    return true;
  }
  pgstat_report_activity(STATE_RUNNING, "nova relay: snapshot batch");
  // A writer holding one of the rows makes the batch wait; not for long.
  (void)set_config_option("lock_timeout", "10s", PGC_SUSET, PGC_S_SESSION, GUC_ACTION_LOCAL, true, 0, false);

  Oid *types = static_cast<Oid *>(palloc(sizeof(Oid) * job.nkeys));
  for (int k = 0; k < job.nkeys; k++) types[k] = TEXTOID;
  Call rd = {};
  rd.sql = batch_sql(rel, job, job.ncursor == 0);
  rd.nargs = job.ncursor == 0 ? 0 : job.nkeys;
  rd.types = types;
  rd.values = job.cursor;
  rd.nulls = nullptr;
  rd.rel = rel;
  rd.nkeys = job.nkeys;
  nova::pg::run_as(rel->rd_rel->relowner, read_batch, &rd);
  table_close(rel, NoLock);
  if (rd.no_trigger) {
    fail_job(job.id, "the outbox is no longer enabled on the table");
    return true;
  }
  bool done = rd.rows < job.batch;
  Datum cur = (Datum)0;
  if (rd.last_key) cur = PointerGetDatum(construct_array(rd.last_key, job.nkeys, TEXTOID, -1, false, TYPALIGN_INT));
  update_job(kAdvanceSql, job.id, cur, rd.last_key == nullptr, rd.rows, done);
  *rows = rd.rows;
  return true;
}

}  // namespace

// When the last step found no job, look for new ones at most once per
// nova.relay_idle_timeout: a busy relay is woken by nearly every commit, and a
// transaction with a catalog-checked query per wake-up is not free (a new job starts
// within about two idle timeouts, 2 s by default).
static TimestampTz g_next_job_check = 0;

static bool snapshot_step_now();

bool snapshot_step() {
  if (g_next_job_check != 0 && GetCurrentTimestamp() < g_next_job_check) return false;
  g_next_job_check = 0;
  bool did_work = snapshot_step_now();
  if (!did_work)
    g_next_job_check = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), nova_guc_relay_idle_timeout);
  return did_work;
}

static bool snapshot_step_now() {
  MemoryContext cxt = AllocSetContextCreate(TopMemoryContext, "nova snapshot step", ALLOCSET_DEFAULT_SIZES);
  MemoryContext old = MemoryContextSwitchTo(cxt);
  volatile bool did = false;
  volatile int64 job_id = 0;
  volatile uint64 rows = 0;
  SetCurrentStatementStartTimestamp();
  StartTransactionCommand();
  PG_TRY();
  {
    SPI_connect();
    PushActiveSnapshot(GetTransactionSnapshot());
    if (OidIsValid(get_extension_oid("nova", true))) did = step_in_xact(&job_id, &rows);
    PopActiveSnapshot();
    SPI_finish();
    CommitTransactionCommand();
    nova::metrics::add(nova::metrics::kSnapshotRows, rows);  // counted once committed
  }
  PG_CATCH();
  {
    MemoryContextSwitchTo(cxt);
    ErrorData *ed = CopyErrorData();
    FlushErrorState();
    AbortCurrentTransaction();
    ereport(LOG, (errcode(ed->sqlerrcode), errmsg("nova relay: snapshot batch failed: %s", ed->message)));
    did = false;
    if (job_id != 0) {
      // Keep the job (the next step retries the same batch) and say why it waits.
      SetCurrentStatementStartTimestamp();
      StartTransactionCommand();
      PG_TRY();
      {
        SPI_connect();
        PushActiveSnapshot(GetTransactionSnapshot());
        update_job(kErrorSql, job_id, CStringGetTextDatum(ed->message), false, 0, false);
        PopActiveSnapshot();
        SPI_finish();
        CommitTransactionCommand();
      }
      PG_CATCH();
      {
        FlushErrorState();
        AbortCurrentTransaction();
      }
      PG_END_TRY();
    }
  }
  PG_END_TRY();
  MemoryContextSwitchTo(old);
  MemoryContextDelete(cxt);
  return did;
}

}  // namespace nova::relay
