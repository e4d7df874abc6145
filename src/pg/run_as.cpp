// The one way nova acts as another role: see run_as.h and docs/security.md.
#include "pg/run_as.h"

extern "C" {
#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/indexing.h"
#include "catalog/pg_extension.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/rel.h"
}

namespace nova::pg {

void run_as(Oid role, void (*fn)(void *), void *arg, int extra_sec_flags) {
  Oid save_user;
  int save_sec;
  GetUserIdAndSecContext(&save_user, &save_sec);
  int nest = NewGUCNestLevel();
  SetUserIdAndSecContext(role, save_sec | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION |
                                   extra_sec_flags);
  PG_TRY();
  {
    (void)set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
                            true, 0, false);
    fn(arg);
  }
  PG_CATCH();
  {
    // Restore now, not only at (sub)transaction abort: a caller that turns the
    // error into a C++ exception must not run anything more as `role`.
    AtEOXact_GUC(false, nest);
    SetUserIdAndSecContext(save_user, save_sec);
    PG_RE_THROW();
  }
  PG_END_TRY();
  AtEOXact_GUC(true, nest);
  SetUserIdAndSecContext(save_user, save_sec);
}

namespace {
Oid g_owner = InvalidOid;
LocalTransactionId g_owner_lxid = InvalidLocalTransactionId;
}  // namespace

Oid extension_owner() {
  if (g_owner_lxid == MyProc->lxid && OidIsValid(g_owner)) return g_owner;
  Oid owner = InvalidOid;
  Relation rel = table_open(ExtensionRelationId, AccessShareLock);
  ScanKeyData key;
  ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber, F_NAMEEQ, CStringGetDatum("nova"));
  SysScanDesc scan = systable_beginscan(rel, ExtensionNameIndexId, true, nullptr, 1, &key);
  HeapTuple tup = systable_getnext(scan);
  if (HeapTupleIsValid(tup)) owner = reinterpret_cast<Form_pg_extension>(GETSTRUCT(tup))->extowner;
  systable_endscan(scan);
  table_close(rel, AccessShareLock);
  if (!OidIsValid(owner))
    ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE), errmsg("extension \"nova\" is not installed"),
                    errhint("Run CREATE EXTENSION nova.")));
  g_owner = owner;
  g_owner_lxid = MyProc->lxid;
  return owner;
}

}  // namespace nova::pg
