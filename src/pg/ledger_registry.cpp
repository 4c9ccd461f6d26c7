// careguard adapter: the PHI registry of this database (careguard.phi_tables
// and careguard.audit_phi_schemas) and the active break-glass grants, cached
// per backend and reloaded after a relcache invalidation that their
// statement triggers send at commit. A partition or inheritance child of a
// registered table is watched through its ancestor's patient column.
#include <cstring>

#include "careguard/core/error.hpp"
#include "careguard/pg/guard.hpp"
#include "careguard/pg/ledger.hpp"
#include "careguard/pg/catalog_names.hpp"
#include "careguard/pg/catalog_scan.hpp"
#include "careguard/pg/ledger_internal.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "catalog/pg_inherits.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "storage/procarray.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
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

// What pg_inherits says of each relation looked up so far: the patient
// column inherited from a registered ancestor, or 0. Every relation a lookup
// passed has an entry, so a change to any of them (ATTACH, DETACH, INHERIT:
// each invalidates the child's relcache entry), or to any relation while a
// lookup runs, counts as a change; the map is dropped at the next lookup
// (not in the callback, which may run in the middle of one), and a lookup
// a change overtook is not kept.
struct InheritedColumn {
  Oid relid;
  AttrNumber column;
};
HTAB* inherited_columns = nullptr;
uint64 inherited_changes = 0;
uint64 inherited_map_changes = 0;  // inherited_changes when the map was made
int inherited_lookups = 0;         // lookups in progress
// Bounds the map (temporary tables bring new oids): dropped when full.
constexpr long kInheritedColumnsMax = 4096;
// Deeper than any real partition tree; a bound, not a cycle check
// (PostgreSQL refuses inheritance cycles).
constexpr int kInheritanceDepthMax = 64;

void on_relcache_invalidation(Datum, Oid relid) {
  forget_remembered_relation(relid);
  // careguard absent (tables_relid invalid): any invalidation may be its
  // arrival, and the reload is two syscache lookups.
  if (relid == InvalidOid || !OidIsValid(tables_relid) || relid == tables_relid ||
      relid == schemas_relid || relid == grants_relid) {
    cache_valid = false;
  }
  // A registry reload changes what every child inherits.
  if (!cache_valid || inherited_lookups > 0 ||
      (inherited_columns != nullptr &&
       hash_search(inherited_columns, &relid, HASH_FIND, nullptr) != nullptr)) {
    ++inherited_changes;
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

// The registry is read the way the catalogs are: as committed now, with this
// transaction's own changes so far. The statement's snapshot would miss a
// registration made since it was taken (under REPEATABLE READ, by the
// statement before it in a PL/pgSQL block, in a parallel worker, whose
// snapshot is its leader's), and the cache, marked valid, would keep missing
// it. Taken
// as GetLatestSnapshot() takes one, but also in a parallel operation, where
// that refuses to: it guards the query's snapshot, which this one does not
// replace.
Snapshot registry_snapshot() {
  static SnapshotData snapshot = {SNAPSHOT_MVCC};
  return GetSnapshotData(&snapshot);
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
  PushActiveSnapshot(registry_snapshot());
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
    PopActiveSnapshot();
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

int registered_phi_count() {
  return table_count;
}

void registered_phi_at(int index, Oid* relid, AttrNumber* column) {
  *relid = tables[index].relid;
  *column = tables[index].patient_column;
}

AttrNumber phi_registered_column(Oid relid) {
  for (int i = 0; i < table_count; ++i) {
    if (tables[i].relid == relid) return tables[i].patient_column;
  }
  return 0;
}

namespace {

// The parents pg_inherits lists for a relation (a partition has one).
List* parents_of(Oid relid) {
  List* parents = NIL;
  for_each_catalog_row(
      InheritsRelationId, InheritsRelidSeqnoIndexId, Anum_pg_inherits_inhrelid, relid,
      [&parents](HeapTuple tuple, Relation) {
        parents =
            lappend_oid(parents, reinterpret_cast<Form_pg_inherits>(GETSTRUCT(tuple))->inhparent);
      });
  return parents;
}

AttrNumber patient_column_at(Oid relid, int depth);

// The column of a registered ancestor, by name in this relation (inherited
// columns keep their names; their numbers may differ), or 0.
AttrNumber inherited_column(Oid relid, int depth) {
  if (depth >= kInheritanceDepthMax) return 0;
  List* parents = parents_of(relid);
  AttrNumber column = 0;
  ListCell* cell;
  foreach (cell, parents) {
    Oid parent = lfirst_oid(cell);
    AttrNumber parent_column = patient_column_at(parent, depth + 1);
    char* name = parent_column > 0 ? get_attname(parent, parent_column, true) : nullptr;
    if (name != nullptr) column = get_attnum(relid, name);
    if (column > 0) break;
  }
  list_free(parents);
  return column;
}

AttrNumber patient_column_at(Oid relid, int depth) {
  AttrNumber column = phi_registered_column(relid);
  if (column > 0 || table_count == 0 || relid < FirstNormalObjectId) return column;
  if (inherited_columns != nullptr &&
      (inherited_map_changes != inherited_changes ||
       hash_get_num_entries(inherited_columns) >= kInheritedColumnsMax)) {
    hash_destroy(inherited_columns);
    inherited_columns = nullptr;
  }
  if (inherited_columns == nullptr) {
    HASHCTL info;
    info.keysize = sizeof(Oid);
    info.entrysize = sizeof(InheritedColumn);
    inherited_columns =
        hash_create("careguard inherited patient columns", 64, &info, HASH_ELEM | HASH_BLOBS);
    inherited_map_changes = inherited_changes;
  }
  auto* known =
      static_cast<InheritedColumn*>(hash_search(inherited_columns, &relid, HASH_FIND, nullptr));
  if (known != nullptr) return known->column;
  const uint64 changes_before = inherited_changes;
  ++inherited_lookups;
  PG_TRY();
  { column = inherited_column(relid, depth); }
  PG_FINALLY();
  { --inherited_lookups; }
  PG_END_TRY();
  if (inherited_changes == changes_before && inherited_columns != nullptr) {
    auto* entry =
        static_cast<InheritedColumn*>(hash_search(inherited_columns, &relid, HASH_ENTER, nullptr));
    entry->column = column;
  }
  return column;
}

}  // namespace

AttrNumber phi_patient_column(Oid relid) {
  return patient_column_at(relid, 0);
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
