// Soft delete: per-table counts of rows hard-deleted by nova.purge() / nova.erase_subject()
// (backend-local, reset per call). See docs/soft-delete.md.
#include "pg/soft_delete.h"

extern "C" {
#include "utils/memutils.h"
}

namespace nova::pg::sd {

namespace {
struct Count {
  Oid relid;
  int64 n;
};
Count *g_counts = nullptr;
int g_ncounts = 0, g_capcounts = 0;
}  // namespace

void count_reset() { g_ncounts = 0; }

void count_add(Oid relid) {
  for (int i = 0; i < g_ncounts; i++)
    if (g_counts[i].relid == relid) {
      g_counts[i].n++;
      return;
    }
  if (g_ncounts == g_capcounts) {
    int cap = g_capcounts ? g_capcounts * 2 : 16;
    g_counts = static_cast<Count *>(g_counts ? repalloc(g_counts, sizeof(Count) * cap)
                                             : MemoryContextAlloc(TopMemoryContext, sizeof(Count) * cap));
    g_capcounts = cap;
  }
  g_counts[g_ncounts].relid = relid;
  g_counts[g_ncounts].n = 1;
  g_ncounts++;
}

int count_n() { return g_ncounts; }
void count_get(int i, Oid *relid, int64 *n) {
  *relid = g_counts[i].relid;
  *n = g_counts[i].n;
}

}  // namespace nova::pg::sd
