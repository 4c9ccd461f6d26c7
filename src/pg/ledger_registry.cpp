// careguard adapter: the PHI registry of this database (careguard.phi_tables
// and careguard.audit_phi_schemas) and the active break-glass grants, cached
// per backend and reloaded after a relcache invalidation that their
// statement triggers send at commit.
#include <cstring>

#include "careguard/core/error.hpp"
#include "careguard/pg/guard.hpp"
#include "careguard/pg/ledger.hpp"
#include "careguard/pg/catalog_names.hpp"
#include "careguard/pg/ledger_internal.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "utils/inval.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
}

extern "C" {
PG_FUNCTION_INFO_V1(careguard_phi_registry_changed);
}

namespace careguard::pg {

namespace {

struct PhiTable {
  Oid relid;
  AttrNumber patient_column;
};

// All in TopMemoryContext, replaced as a whole on reload.
PhiTable* tables = nullptr;
int table_count = 0;
Oid* schemas = nullptr;
int schema_count = 0;
GlassGrant* grants = nullptr;
int grant_count = 0;

bool cache_valid = false;
bool loading = false;
Oid tables_relid = InvalidOid;
Oid schemas_relid = InvalidOid;
Oid grants_relid = InvalidOid;

void on_relcache_invalidation(Datum, Oid relid) {
  forget_remembered_relation(relid);
  // careguard absent (tables_relid invalid): any invalidation may be its
  // arrival, and the reload is two syscache lookups.
  if (relid == InvalidOid || !OidIsValid(tables_relid) || relid == tables_relid ||
      relid == schemas_relid || relid == grants_relid) {
    cache_valid = false;
  }
}

void replace_cache(PhiTable* new_tables, int new_table_count, Oid* new_schemas,
                   int new_schema_count, GlassGrant* new_grants, int new_grant_count) {
  if (tables != nullptr) pfree(tables);
  if (schemas != nullptr) pfree(schemas);
  if (grants != nullptr) pfree(grants);
  tables = new_tables;
  table_count = new_table_count;
  schemas = new_schemas;
  schema_count = new_schema_count;
  grants = new_grants;
  grant_count = new_grant_count;
}

// Reads the registries with SPI as the tables' owner in a security-restricted
// context (the way key_store.cpp reads the signing keys). Owns no C++ objects.
void load_registry() {
  Oid schema = get_namespace_oid("careguard", true);
  tables_relid = OidIsValid(schema) ? get_relname_relid("phi_tables", schema) : InvalidOid;
  schemas_relid = OidIsValid(schema) ? get_relname_relid("audit_phi_schemas", schema) : InvalidOid;
  grants_relid = OidIsValid(schema) ? get_relname_relid("glass_grants", schema) : InvalidOid;
  if (!OidIsValid(tables_relid) || !OidIsValid(schemas_relid)) {
    replace_cache(nullptr, 0, nullptr, 0, nullptr, 0);
    return;
  }
  HeapTuple tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(tables_relid));
  if (!HeapTupleIsValid(tuple)) {
    replace_cache(nullptr, 0, nullptr, 0, nullptr, 0);
    return;
  }
  Oid owner = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple))->relowner;
  ReleaseSysCache(tuple);
  Oid saved_user = InvalidOid;
  int saved_context = 0;
  GetUserIdAndSecContext(&saved_user, &saved_context);
  SetUserIdAndSecContext(
      owner, saved_context | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
  bool pushed = !ActiveSnapshotSet();
  if (pushed) PushActiveSnapshot(GetTransactionSnapshot());
  PG_TRY();
  {
    SPI_connect();
    SPI_execute(
        "SELECT t.relid::pg_catalog.oid, a.attnum FROM careguard.phi_tables t "
        "JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) t.relid "
        "AND a.attname OPERATOR(pg_catalog.=) t.patient_column AND NOT a.attisdropped",
        true, 0);
    int n = static_cast<int>(SPI_processed);
    auto* new_tables =
        static_cast<PhiTable*>(MemoryContextAlloc(TopMemoryContext, sizeof(PhiTable) * (n + 1)));
    for (int i = 0; i < n; ++i) {
      bool isnull = false;
      new_tables[i].relid =
          DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
      new_tables[i].patient_column =
          DatumGetInt16(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull));
    }
    SPI_execute(
        "SELECT n.oid FROM careguard.audit_phi_schemas s JOIN pg_catalog.pg_namespace n "
        "ON n.nspname OPERATOR(pg_catalog.=) s.schema_name",
        true, 0);
    int m = static_cast<int>(SPI_processed);
    auto* new_schemas =
        static_cast<Oid*>(MemoryContextAlloc(TopMemoryContext, sizeof(Oid) * (m + 1)));
    for (int i = 0; i < m; ++i) {
      bool isnull = false;
      new_schemas[i] =
          DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
    }
    int g = 0;
    GlassGrant* new_grants = nullptr;
    if (OidIsValid(grants_relid)) {
      SPI_execute(
          "SELECT g.user_id, g.patient_id, g.expires_at FROM careguard.glass_grants g "
          "WHERE g.expires_at OPERATOR(pg_catalog.>) pg_catalog.statement_timestamp()",
          true, 0);
      g = static_cast<int>(SPI_processed);
      new_grants = static_cast<GlassGrant*>(
          MemoryContextAlloc(TopMemoryContext, sizeof(GlassGrant) * (g + 1)));
      for (int i = 0; i < g; ++i) {
        bool isnull = false;
        HeapTuple row = SPI_tuptable->vals[i];
        TupleDesc desc = SPI_tuptable->tupdesc;
        std::memcpy(new_grants[i].user_id,
                    DatumGetUUIDP(SPI_getbinval(row, desc, 1, &isnull))->data, 16);
        std::memcpy(new_grants[i].patient_id,
                    DatumGetUUIDP(SPI_getbinval(row, desc, 2, &isnull))->data, 16);
        new_grants[i].expires_at = DatumGetTimestampTz(SPI_getbinval(row, desc, 3, &isnull));
      }
    }
    SPI_finish();
    replace_cache(new_tables, n, new_schemas, m, new_grants, g);
  }
  PG_FINALLY();
  {
    SetUserIdAndSecContext(saved_user, saved_context);
    if (pushed) PopActiveSnapshot();
  }
  PG_END_TRY();
}

}  // namespace

bool ensure_phi_registry() {
  if (cache_valid) return true;
  if (loading) return false;  // the registry's own queries are not audited
  loading = true;
  // Valid before reading: an invalidation arriving during the read turns it
  // off again, so the next statement reloads.
  cache_valid = true;
  PG_TRY();
  { load_registry(); }
  PG_CATCH();
  {
    loading = false;
    cache_valid = false;
    PG_RE_THROW();
  }
  PG_END_TRY();
  loading = false;
  return true;
}

bool phi_registry_nonempty() {
  return table_count > 0 || schema_count > 0;
}

AttrNumber phi_patient_column(Oid relid) {
  for (int i = 0; i < table_count; ++i) {
    if (tables[i].relid == relid) return tables[i].patient_column;
  }
  return 0;
}

bool in_phi_schema(Oid relid) {
  if (schema_count == 0) return false;
  Oid schema = get_rel_namespace(relid);
  for (int i = 0; i < schema_count; ++i) {
    if (schemas[i] == schema) return true;
  }
  return false;
}

bool glass_grant_covers(const unsigned char* user_id, const unsigned char* patient_id,
                        TimestampTz now) {
  for (int i = 0; i < grant_count; ++i) {
    if (grants[i].expires_at > now && std::memcmp(grants[i].user_id, user_id, 16) == 0 &&
        std::memcmp(grants[i].patient_id, patient_id, 16) == 0) {
      return true;
    }
  }
  return false;
}

void register_phi_registry_invalidation() {
  CacheRegisterRelcacheCallback(on_relcache_invalidation, PointerGetDatum(nullptr));
}

}  // namespace careguard::pg

// Statement trigger on the registries: every backend reloads at commit.
Datum careguard_phi_registry_changed(PG_FUNCTION_ARGS) {
  return careguard::pg::guarded("careguard.phi_registry_changed", [&]() -> Datum {
    if (!CALLED_AS_TRIGGER(fcinfo)) {
      throw careguard::Error("39P01",
                             "careguard.phi_registry_changed() must be called as a trigger");
    }
    auto* trigger = reinterpret_cast<TriggerData*>(fcinfo->context);
    careguard::pg::call_pg([trigger] { CacheInvalidateRelcache(trigger->tg_relation); });
    return PointerGetDatum(nullptr);
  });
}
