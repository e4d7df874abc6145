// Soft delete triggers (docs/soft-delete.md), installed by nova.enable_soft_delete():
//
//   nova_soft_delete          BEFORE DELETE ROW   DELETE → UPDATE … SET deleted_at = now() (cached plan, by ctid)
//   nova_soft_delete_update   BEFORE UPDATE ROW   fills deleted_by / deleted_op; refuses forged values (42501)
//   nova_soft_delete_cascade  AFTER UPDATE ROW    audit row; cascade soft delete / exact restore to children
//   nova_soft_delete_truncate BEFORE TRUNCATE     refuses TRUNCATE
//   nova_soft_delete (view)   INSTEAD OF DELETE   DELETE through active_<table>, with the right row count
//
// Trigger bodies are C-style (no C++ objects on frames that call SPI).
#include "pg/boundary.h"
#include "pg/soft_delete.h"

extern "C" {
#include "access/htup_details.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
#include "access/xact.h"
}

namespace sd = nova::pg::sd;

namespace {

TriggerData *trigger_data(FunctionCallInfo fcinfo, const char *name) {
  if (!CALLED_AS_TRIGGER(fcinfo))
    ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED), errmsg("%s: not called as a trigger", name)));
  return reinterpret_cast<TriggerData *>(fcinfo->context);
}

void expect(bool ok, const char *name, const char *what) {
  if (!ok)
    ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED), errmsg("%s: must be fired %s", name, what)));
}

struct CascadeArgs {
  sd::Table *t;
  HeapTuple tup;
  TupleDesc desc;
  Datum deleted_at;  // soft delete: the parent's deleted_at
  int64 op;
  bool restore;
};

void run_cascade(void *p);

void refuse(sd::Table *t, const char *col, const char *hint) {
  ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                  errmsg("column \"%s\" of soft-delete enabled table %s is set by nova only", col, t->qualname),
                  errhint("%s", hint)));
}

bool same_text(Datum a, bool a_null, Datum b, bool b_null) {
  if (a_null || b_null) return a_null == b_null;
  text *x = DatumGetTextPP(a), *y = DatumGetTextPP(b);
  return VARSIZE_ANY_EXHDR(x) == VARSIZE_ANY_EXHDR(y) &&
         memcmp(VARDATA_ANY(x), VARDATA_ANY(y), VARSIZE_ANY_EXHDR(x)) == 0;
}

bool same_int8(Datum a, bool a_null, Datum b, bool b_null) {
  if (a_null || b_null) return a_null == b_null;
  return DatumGetInt64(a) == DatumGetInt64(b);
}

struct SoftDeleteArgs {
  sd::Table *t;
  Relation rel;
  HeapTuple old;
  TupleDesc desc;
  int64 op;
  char *by;
  uint64 processed;
};

// The DELETE trigger's soft delete: one UPDATE of the row (cached plan, by ctid),
// then the audit row and the cascade — without going through the AFTER UPDATE trigger.
void run_soft_delete(void *p) {
  auto *a = static_cast<SoftDeleteArgs *>(p);
  if (sd::soft_delete_direct(a->t, a->rel, a->old, a->by, a->op)) {
    a->processed = 1;
  } else {
    Datum values[3] = {PointerGetDatum(&a->old->t_self), CStringGetTextDatum(a->by), Int64GetDatum(a->op)};
    // As the table owner: DELETE privilege is enough to soft-delete (like RI actions).
    // Only this row version's AFTER UPDATE event is nova's own (it audits and cascades here).
    sd::OwnUpdate own;
    own.relid = a->t->relid;
    own.tid = a->old->t_self;
    own.outer = nullptr;
    a->processed = sd::exec_own_update(&own, a->t->owner, a->t->soft_delete_plan, values, nullptr);
  }
  if (a->processed == 0) return;
  sd::audit(a->t, "soft_delete", a->old, a->desc, a->by, a->op, false);
  if (a->t->nchildren > 0) {
    CascadeArgs c = {a->t, a->old, a->desc, TimestampTzGetDatum(GetCurrentTransactionStartTimestamp()), a->op, false};
    run_cascade(&c);
  }
}

void run_cascade(void *p) {
  auto *a = static_cast<CascadeArgs *>(p);
  for (int i = 0; i < a->t->nchildren; i++) {
    sd::Child *c = &a->t->children[i];
    int n = c->nkeys;
    Datum *values = static_cast<Datum *>(palloc(sizeof(Datum) * (n + 1)));
    bool any_null = false;
    int base = a->restore ? 0 : 1;
    for (int k = 0; k < n; k++) {
      bool isnull;
      values[base + k] = heap_getattr(a->tup, c->ref_attnums[k], a->desc, &isnull);
      if (isnull) any_null = true;
    }
    if (any_null) continue;  // no child row can reference a NULL key
    if (a->restore)
      values[n] = Int64GetDatum(a->op);
    else
      values[0] = a->deleted_at;
    sd::exec_as(c->owner, a->restore ? c->restore_plan : c->delete_plan, values, nullptr);
  }
}

struct ViewDeleteArgs {
  sd::Table *t;
  Datum *values;
  char *nulls;
};

void run_view_delete(void *p) {
  auto *a = static_cast<ViewDeleteArgs *>(p);
  // As the invoker: DELETE privilege and row-level security of the base table apply.
  int rc = SPI_execute_plan(a->t->delete_by_pk_plan, a->values, a->nulls, false, 0);
  if (rc < 0) elog(ERROR, "nova: SPI_execute_plan failed: %s", SPI_result_code_string(rc));
}

}  // namespace

// BEFORE DELETE FOR EACH ROW on a soft-delete enabled table.
NOVA_FUNCTION(nova_soft_delete_trigger) {
  TriggerData *td = trigger_data(fcinfo, "nova_soft_delete_trigger");
  expect(TRIGGER_FIRED_BEFORE(td->tg_event) && TRIGGER_FIRED_FOR_ROW(td->tg_event) &&
             TRIGGER_FIRED_BY_DELETE(td->tg_event),
         "nova_soft_delete_trigger", "BEFORE DELETE FOR EACH ROW");
  Relation rel = td->tg_relation;
  HeapTuple old = td->tg_trigtuple;
  TupleDesc desc = RelationGetDescr(rel);
  sd::Table *t = sd::get_table(RelationGetRelid(rel));

  if (sd::g_state.mode != sd::Mode::kSoftDelete) {
    // nova.purge() / nova.erase_subject(): the hard delete goes ahead (also for rows
    // reached by a foreign key's ON DELETE CASCADE).
    if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "nova: SPI_connect failed");
    sd::audit(t, sd::g_state.mode == sd::Mode::kPurge ? "purge" : "erase", old, desc, sd::g_state.by, sd::g_state.op,
              false);
    SPI_finish();
    sd::count_add(t->relid);
    return PointerGetDatum(old);
  }

  bool isnull;
  (void)heap_getattr(old, t->att_deleted_at, desc, &isnull);
  if (!isnull) return PointerGetDatum(nullptr);  // already soft-deleted: nothing changes

  int64 op = sd::current_op(t);
  char *by = sd::current_by();
  SoftDeleteArgs a = {t, rel, old, desc, op, by, 0};
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "nova: SPI_connect failed");
  sd::with_op(op, by, sd::Mode::kSoftDelete, run_soft_delete, &a);
  SPI_finish();
  if (a.processed > 0) sd::g_state.soft_deleted++;
  return PointerGetDatum(nullptr);  // the physical row stays
}

// BEFORE UPDATE OF deleted_at, deleted_by, deleted_op FOR EACH ROW.
// deleted_at may go from NULL to now() (a soft delete: deleted_by/deleted_op are
// filled by nova) or back to NULL (a restore: they are cleared); any other change
// of the three columns is refused (42501) — nova's own statements pass these
// rules too, so no flag a user trigger could inherit is needed.
NOVA_FUNCTION(nova_soft_delete_update_trigger) {
  TriggerData *td = trigger_data(fcinfo, "nova_soft_delete_update_trigger");
  expect(TRIGGER_FIRED_BEFORE(td->tg_event) && TRIGGER_FIRED_FOR_ROW(td->tg_event) &&
             TRIGGER_FIRED_BY_UPDATE(td->tg_event),
         "nova_soft_delete_update_trigger", "BEFORE UPDATE FOR EACH ROW");
  Relation rel = td->tg_relation;
  TupleDesc desc = RelationGetDescr(rel);
  sd::Table *t = sd::get_table(RelationGetRelid(rel));
  HeapTuple oldt = td->tg_trigtuple, newt = td->tg_newtuple;
  bool old_null, new_null;
  Datum old_at = heap_getattr(oldt, t->att_deleted_at, desc, &old_null);
  Datum new_at = heap_getattr(newt, t->att_deleted_at, desc, &new_null);

  int cols[2] = {t->att_deleted_by, t->att_deleted_op};
  Datum values[2];
  bool nulls[2];
  // The values deleted_by / deleted_op may take besides their old ones.
  bool filled = false;
  if (old_null && !new_null) {
    // soft delete by UPDATE (also the path every DELETE takes): deleted_at = now() only
    if (DatumGetTimestampTz(new_at) != GetCurrentTransactionStartTimestamp())
      refuse(t, "deleted_at", "A soft delete sets deleted_at to now().");
    int64 op = sd::current_op(t);
    values[0] = CStringGetTextDatum(sd::current_by());
    values[1] = Int64GetDatum(op);
    nulls[0] = nulls[1] = false;
    filled = true;
  } else if (!old_null && new_null) {
    // restore
    values[0] = values[1] = (Datum)0;
    nulls[0] = nulls[1] = true;
  } else {
    if (!old_null && DatumGetTimestampTz(old_at) != DatumGetTimestampTz(new_at))
      refuse(t, "deleted_at", "Restore the row (deleted_at = NULL) or leave deleted_at as it is.");
    values[0] = heap_getattr(oldt, t->att_deleted_by, desc, &nulls[0]);
    values[1] = heap_getattr(oldt, t->att_deleted_op, desc, &nulls[1]);
  }
  // A value other than the old one, or than the one nova fills in, is forged.
  bool by_null, op_null, oby_null, oop_null;
  Datum by = heap_getattr(newt, t->att_deleted_by, desc, &by_null);
  Datum op = heap_getattr(newt, t->att_deleted_op, desc, &op_null);
  Datum oby = heap_getattr(oldt, t->att_deleted_by, desc, &oby_null);
  Datum oop = heap_getattr(oldt, t->att_deleted_op, desc, &oop_null);
  if (!same_text(by, by_null, oby, oby_null) && !(filled && same_text(by, by_null, values[0], false)) &&
      !(!old_null && new_null && by_null))
    refuse(t, "deleted_by", "nova sets deleted_by and deleted_op itself.");
  if (!same_int8(op, op_null, oop, oop_null) && !(filled && same_int8(op, op_null, values[1], false)) &&
      !(!old_null && new_null && op_null))
    refuse(t, "deleted_op", "nova sets deleted_by and deleted_op itself.");
  HeapTuple res = heap_modify_tuple_by_cols(newt, desc, 2, cols, values, nulls);
  return PointerGetDatum(res);
}

// AFTER UPDATE OF deleted_at FOR EACH ROW (WHEN deleted_at changes): audit + cascade.
NOVA_FUNCTION(nova_soft_delete_cascade_trigger) {
  TriggerData *td = trigger_data(fcinfo, "nova_soft_delete_cascade_trigger");
  expect(TRIGGER_FIRED_AFTER(td->tg_event) && TRIGGER_FIRED_FOR_ROW(td->tg_event) &&
             TRIGGER_FIRED_BY_UPDATE(td->tg_event),
         "nova_soft_delete_cascade_trigger", "AFTER UPDATE FOR EACH ROW");
  // The DELETE trigger's own UPDATE of this very row version: it audits and cascades
  // itself. (Its after-trigger events fire at the end of that nested UPDATE, while
  // its frame is pushed; any other UPDATE meanwhile is handled here.)
  Relation rel = td->tg_relation;
  if (sd::is_own_update(RelationGetRelid(rel), &td->tg_trigtuple->t_self)) return PointerGetDatum(nullptr);
  TupleDesc desc = RelationGetDescr(rel);
  sd::Table *t = sd::get_table(RelationGetRelid(rel));
  HeapTuple oldt = td->tg_trigtuple, newt = td->tg_newtuple;
  bool old_null, new_null;
  Datum deleted_at = heap_getattr(newt, t->att_deleted_at, desc, &new_null);
  (void)heap_getattr(oldt, t->att_deleted_at, desc, &old_null);
  if (old_null == new_null) return PointerGetDatum(nullptr);

  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "nova: SPI_connect failed");
  if (old_null) {
    bool by_null, op_null;
    Datum by_d = heap_getattr(newt, t->att_deleted_by, desc, &by_null);
    Datum op_d = heap_getattr(newt, t->att_deleted_op, desc, &op_null);
    char *by = by_null ? nullptr : TextDatumGetCString(by_d);
    int64 op = op_null ? 0 : DatumGetInt64(op_d);
    sd::audit(t, "soft_delete", newt, desc, by, op, op_null);
    if (t->nchildren > 0) {
      CascadeArgs a = {t, newt, desc, deleted_at, op, false};
      sd::with_op(op, by, sd::Mode::kSoftDelete, run_cascade, &a);
    }
  } else {
    bool op_null;
    Datum op_d = heap_getattr(oldt, t->att_deleted_op, desc, &op_null);
    int64 op = op_null ? 0 : DatumGetInt64(op_d);
    char *by = sd::current_by();
    sd::audit(t, "restore", newt, desc, by, op, op_null);
    sd::g_state.restored++;
    if (t->nchildren > 0 && !op_null) {
      // Exactly the rows deleted by the same operation and referencing this row.
      CascadeArgs a = {t, newt, desc, (Datum)0, op, true};
      sd::with_op(op, by, sd::Mode::kSoftDelete, run_cascade, &a);
    }
  }
  SPI_finish();
  return PointerGetDatum(nullptr);
}

// BEFORE TRUNCATE FOR EACH STATEMENT.
NOVA_FUNCTION(nova_soft_delete_truncate_trigger) {
  TriggerData *td = trigger_data(fcinfo, "nova_soft_delete_truncate_trigger");
  expect(TRIGGER_FIRED_BY_TRUNCATE(td->tg_event), "nova_soft_delete_truncate_trigger", "BEFORE TRUNCATE");
  Relation rel = td->tg_relation;
  ereport(ERROR,
          (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
           errmsg("cannot truncate soft-delete enabled table %s",
                  quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)), RelationGetRelationName(rel))),
           errdetail("TRUNCATE would remove rows without soft delete, audit trail or events."),
           errhint("Use DELETE (soft delete) and nova.purge(), or call nova.disable_soft_delete() first.")));
  return PointerGetDatum(nullptr);
}

// INSTEAD OF DELETE FOR EACH ROW on <schema>.active_<table>; tgargs[0] = the table's oid.
NOVA_FUNCTION(nova_soft_delete_view_trigger) {
  TriggerData *td = trigger_data(fcinfo, "nova_soft_delete_view_trigger");
  expect(TRIGGER_FIRED_INSTEAD(td->tg_event) && TRIGGER_FIRED_FOR_ROW(td->tg_event) &&
             TRIGGER_FIRED_BY_DELETE(td->tg_event),
         "nova_soft_delete_view_trigger", "INSTEAD OF DELETE FOR EACH ROW");
  if (td->tg_trigger->tgnargs != 1)
    ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                    errmsg("nova_soft_delete_view_trigger: expected the table's oid as its argument")));
  Oid base = DatumGetObjectId(DirectFunctionCall1(oidin, CStringGetDatum(td->tg_trigger->tgargs[0])));
  sd::Table *t = sd::get_table(base);
  HeapTuple row = td->tg_trigtuple;
  TupleDesc vdesc = RelationGetDescr(td->tg_relation);

  int n = t->npk;
  Datum *values = static_cast<Datum *>(palloc(sizeof(Datum) * n));
  char *nulls = static_cast<char *>(palloc(n + 1));
  for (int i = 0; i < n; i++) {
    int att = SPI_fnumber(vdesc, t->pk_names[i]);
    if (att <= 0)
      ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                      errmsg("view %s does not show primary key column \"%s\" of %s",
                             RelationGetRelationName(td->tg_relation), t->pk_names[i], t->qualname),
                      errhint("Call nova.enable_soft_delete() again to recreate the view.")));
    bool isnull;
    values[i] = heap_getattr(row, att, vdesc, &isnull);
    nulls[i] = isnull ? 'n' : ' ';
  }
  nulls[n] = '\0';

  uint64 before = sd::g_state.soft_deleted;
  int64 op = sd::current_op(t);  // one operation per DELETE statement on the view
  char *by = sd::current_by();
  ViewDeleteArgs a = {t, values, nulls};
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "nova: SPI_connect failed");
  sd::with_op(op, by, sd::Mode::kSoftDelete, run_view_delete, &a);
  SPI_finish();
  // Returning the row makes the executor count it: DELETE reports the rows soft-deleted.
  return sd::g_state.soft_deleted != before ? PointerGetDatum(row) : PointerGetDatum(nullptr);
}
