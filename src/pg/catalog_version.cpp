// The installed catalog version of nova (see catalog_version.h).
#include "pg/catalog_version.h"

#include <cstdlib>
#include <cstring>
#include <string>

#include "core/error.h"
#include "pg/boundary.h"
#include "pg/module.h"

extern "C" {
#include "access/htup_details.h"
#include "catalog/pg_extension.h"
#include "commands/extension.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/syscache.h"
}

namespace nova::pg {

namespace {

bool g_valid = false;
bool g_installed = false;
char g_version[64];

void extension_changed(Datum, int, uint32) { g_valid = false; }

void catalog_version_init() { CacheRegisterSyscacheCallback(EXTENSIONOID, extension_changed, (Datum)0); }
NOVA_MODULE_INIT(catalog_version_init);

// Plain C frames only: may raise a PostgreSQL ERROR.
void lookup() {
  g_installed = false;
  g_version[0] = '\0';
  Oid ext = get_extension_oid("nova", true);
  if (OidIsValid(ext)) {
    HeapTuple tup = SearchSysCache1(EXTENSIONOID, ObjectIdGetDatum(ext));
    if (HeapTupleIsValid(tup)) {
      bool isnull = true;
      Datum d = SysCacheGetAttr(EXTENSIONOID, tup, Anum_pg_extension_extversion, &isnull);
      if (!isnull) {
        char *v = TextDatumGetCString(d);
        strlcpy(g_version, v, sizeof(g_version));
        pfree(v);
        g_installed = true;
      }
      ReleaseSysCache(tup);
    }
  }
  g_valid = true;
}

}  // namespace

const char *catalog_version() {
  if (!g_valid) lookup();
  return g_installed ? g_version : nullptr;
}

int compare_versions(const char *a, const char *b) {
  for (;;) {
    char *ea = nullptr;
    char *eb = nullptr;
    long na = std::strtol(a, &ea, 10);
    long nb = std::strtol(b, &eb, 10);
    if (na != nb) return na < nb ? -1 : 1;
    bool more_a = (*ea == '.');
    bool more_b = (*eb == '.');
    if (!more_a && !more_b) return 0;
    a = more_a ? ea + 1 : ea;  // an exhausted side reads as 0 from here on
    b = more_b ? eb + 1 : eb;
  }
}

bool catalog_at_least(const char *version) {
  const char *v = nullptr;
  guard([&] { v = catalog_version(); });
  return v != nullptr && compare_versions(v, version) >= 0;
}

void require_catalog(const char *version, const char *feature) {
  const char *v = nullptr;
  guard([&] { v = catalog_version(); });
  if (v == nullptr)
    throw nova::Error(nova::sqlstate::kObjectNotInPrerequisiteState, "extension \"nova\" is not installed in this database",
                      std::string(feature) + " needs nova's catalog " + version, "run CREATE EXTENSION nova");
  if (compare_versions(v, version) < 0)
    throw nova::Error(nova::sqlstate::kObjectNotInPrerequisiteState,
                      std::string("nova's catalog is at version ") + v + "; run ALTER EXTENSION nova UPDATE",
                      std::string(feature) + " needs nova's catalog " + version + " or later");
}

}  // namespace nova::pg
