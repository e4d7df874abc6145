// The transaction's identity: nova.subject() and nova.claims() (docs/jwt.md, docs/security.md).
//
// The identity is two values in this backend's memory (TopTransactionContext),
// written only by nova.authenticate() after it verified a token. No GUC, no
// table and no SQL-visible setter exists, so SET, set_config(), request.jwt.*
// settings or any other SQL cannot forge it.
//
// Lifetime:
//  * cleared at transaction end (commit, abort, prepare);
//  * cleared when the subtransaction that set it (or an enclosing one) aborts:
//    ROLLBACK TO a savepoint taken before nova.authenticate leaves no identity
//    (it does not restore an earlier one; call nova.authenticate again);
//  * a failed nova.authenticate clears it too (jwt_auth.cpp).
// Parallel workers do not see it: nova.subject()/nova.claims() are PARALLEL
// RESTRICTED, so they always run in the leader.
#include "pg/identity.h"

extern "C" {
#include "access/xact.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
}

#include <cstring>

#include "pg/boundary.h"
#include "pg/module.h"

namespace nova::pg {

namespace {

char *g_subject = nullptr;       // TopTransactionContext
Jsonb *g_claims = nullptr;       // TopTransactionContext
SubTransactionId g_set_in = InvalidSubTransactionId;

void forget() {
  // The memory goes with TopTransactionContext; only drop the pointers.
  g_subject = nullptr;
  g_claims = nullptr;
  g_set_in = InvalidSubTransactionId;
}

void xact_callback(XactEvent event, void *) {
  switch (event) {
    case XACT_EVENT_COMMIT:
    case XACT_EVENT_ABORT:
    case XACT_EVENT_PREPARE:
    case XACT_EVENT_PARALLEL_COMMIT:
    case XACT_EVENT_PARALLEL_ABORT:
      forget();
      break;
    default:
      break;
  }
}

void subxact_callback(SubXactEvent event, SubTransactionId my_subid, SubTransactionId parent_subid, void *) {
  if (g_set_in == InvalidSubTransactionId) return;
  if (event == SUBXACT_EVENT_ABORT_SUB && g_set_in >= my_subid) {
    // Set in the aborted subtransaction or one nested in it (subxact ids grow).
    forget();
  } else if (event == SUBXACT_EVENT_COMMIT_SUB && g_set_in == my_subid) {
    g_set_in = parent_subid;
  }
}

void identity_init() {
  nova::pg::register_xact_callback(xact_callback, nullptr);
  nova::pg::register_subxact_callback(subxact_callback, nullptr);
}

NOVA_MODULE_INIT(identity_init);

}  // namespace

const char *identity_subject() { return g_subject; }

char *current_actor() {
  const char *sub = identity_subject();
  if (sub) return pstrdup(sub);
  return GetUserNameFromId(GetUserId(), false);
}

void identity_set(const char *subject, size_t subject_len, const void *claims_jsonb) {
  if (g_subject) pfree(g_subject);
  if (g_claims) pfree(g_claims);
  forget();
  MemoryContext cxt = TopTransactionContext;
  char *s = static_cast<char *>(MemoryContextAlloc(cxt, subject_len + 1));
  memcpy(s, subject, subject_len);
  s[subject_len] = '\0';
  size_t n = VARSIZE(claims_jsonb);
  Jsonb *c = static_cast<Jsonb *>(MemoryContextAlloc(cxt, n));
  memcpy(c, claims_jsonb, n);
  g_subject = s;
  g_claims = c;
  g_set_in = GetCurrentSubTransactionId();
}

void identity_clear() {
  if (g_subject) pfree(g_subject);
  if (g_claims) pfree(g_claims);
  forget();
}

}  // namespace nova::pg

NOVA_FUNCTION(nova_subject) {
  const char *s = nova::pg::identity_subject();
  if (!s) PG_RETURN_NULL();
  PG_RETURN_TEXT_P(cstring_to_text(s));
}

NOVA_FUNCTION(nova_claims) {
  const Jsonb *c = nova::pg::g_claims;
  if (!c) PG_RETURN_NULL();
  Jsonb *copy = static_cast<Jsonb *>(palloc(VARSIZE(c)));
  memcpy(copy, c, VARSIZE(c));
  PG_RETURN_JSONB_P(copy);
}
