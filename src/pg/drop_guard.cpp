// careguard adapter: a plain DROP EXTENSION must not silently take patient
// data and signing keys with it, and pg_restore -j must be able to load
// careguard's tables in whatever order it schedules them.
#include "careguard/pg/drop_guard.hpp"

#include <cstring>

#include "careguard/pg/guard.hpp"
#include "careguard/pg/ledger.hpp"
#include "careguard/pg/policy_gate.hpp"

extern "C" {
#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "nodes/parsenodes.h"
}

namespace careguard::pg {

bool allow_destructive_drop = false;

namespace {

// Extensions this (sub)transaction has judged already: the first of their
// tables to be dropped decides for all of them. In TopTransactionContext;
// a savepoint's rollback starts a new subtransaction, which judges afresh.
List* checked_extensions = NIL;
SubTransactionId checked_in = InvalidSubTransactionId;

bool is_guarded_extension(Oid extension, const char** name) {
  if (!OidIsValid(extension)) return false;
  *name = get_extension_name(extension);
  return *name != nullptr &&
         (std::strcmp(*name, "careguard") == 0 || std::strcmp(*name, "careguard_booking") == 0);
}

// The rows each table of the extension holds that pg_dump would back up
// (its pg_extension_config_dump filter, e.g. WHERE NOT builtin), as
// "table (N rows)" lines; the empty string when there are none.
char* tables_with_rows(Oid extension, int* tables) {
  StringInfoData held;
  initStringInfo(&held);
  *tables = 0;
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "drop guard: SPI_connect failed");
  Oid types[1] = {OIDOID};
  Datum values[1] = {ObjectIdGetDatum(extension)};
  // Member tables, with the dump filter where the extension registered one.
  int rc = SPI_execute_with_args(
      "SELECT pg_catalog.format('%I.%I', n.nspname, c.relname), "
      "  COALESCE(cfg.condition, '') "
      "FROM pg_catalog.pg_depend d "
      "JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) d.objid "
      "JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace "
      "LEFT JOIN pg_catalog.pg_extension e ON e.oid OPERATOR(pg_catalog.=) d.refobjid "
      "LEFT JOIN LATERAL ROWS FROM (pg_catalog.unnest(e.extconfig), "
      "  pg_catalog.unnest(e.extcondition)) AS cfg(relid, condition) "
      "  ON cfg.relid OPERATOR(pg_catalog.=) c.oid "
      "WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass "
      "  AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass "
      "  AND d.refobjid OPERATOR(pg_catalog.=) $1 AND d.deptype OPERATOR(pg_catalog.=) 'e' "
      "  AND c.relkind OPERATOR(pg_catalog.=) 'r' ORDER BY 1",
      1, types, values, nullptr, false, 0);
  if (rc != SPI_OK_SELECT) elog(ERROR, "drop guard: listing the extension's tables failed");
  SPITupleTable* members = SPI_tuptable;
  uint64 count = SPI_processed;
  // careguard's own counts, not a disclosure: not ledgered.
  SubTransactionId ledger_state = ledger_internal_begin();
  for (uint64 i = 0; i < count; ++i) {
    const char* table = SPI_getvalue(members->vals[i], members->tupdesc, 1);
    const char* condition = SPI_getvalue(members->vals[i], members->tupdesc, 2);
    StringInfoData query;
    initStringInfo(&query);
    // The condition text is the extension script's own (pg_extension).
    appendStringInfo(&query, "SELECT pg_catalog.count(*) FROM %s %s", table,
                     condition == nullptr ? "" : condition);
    if (SPI_execute(query.data, false, 0) != SPI_OK_SELECT) {
      elog(ERROR, "drop guard: counting the rows of %s failed", table);
    }
    bool isnull = true;
    int64 rows =
        DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
    if (rows > 0) {
      appendStringInfo(&held, "%s%s (" INT64_FORMAT " row%s)", held.len > 0 ? ", " : "", table,
                       rows, rows == 1 ? "" : "s");
      ++*tables;
    }
  }
  ledger_internal_end(ledger_state);
  // The text outlives SPI_finish: copy it to the caller's context.
  auto* result = static_cast<char*>(SPI_palloc(held.len + 1));
  std::memcpy(result, held.data, held.len + 1);
  SPI_finish();
  return result;
}

}  // namespace

void define_drop_guard_settings() {
  DefineCustomBoolVariable(
      "careguard.allow_destructive_drop",
      "Let DROP EXTENSION careguard or careguard_booking drop tables that hold data.",
      "Superuser only, and only when set with SET LOCAL in the dropping transaction.",
      &allow_destructive_drop, false, PGC_SUSET, 0, nullptr, nullptr, nullptr);
}

void guard_extension_table_drop(Oid relid) {
  // ALTER EXTENSION ... UPDATE scripts drop what their downgrade decided to.
  if (creating_extension || get_rel_relkind(relid) != RELKIND_RELATION ||
      get_rel_persistence(relid) == RELPERSISTENCE_TEMP) {
    return;
  }
  Oid extension = getExtensionOfObject(RelationRelationId, relid);
  const char* name = nullptr;
  if (checked_in != GetCurrentSubTransactionId()) {
    checked_extensions = NIL;
    checked_in = GetCurrentSubTransactionId();
  }
  if (!is_guarded_extension(extension, &name) || list_member_oid(checked_extensions, extension)) {
    return;
  }
  MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);
  checked_extensions = lappend_oid(checked_extensions, extension);
  MemoryContextSwitchTo(old);
  const char* allowed = transaction_local_value("careguard.allow_destructive_drop");
  bool allow = allowed != nullptr && std::strcmp(allowed, "on") == 0;
  int tables = 0;
  char* held = tables_with_rows(extension, &tables);
  if (tables == 0) return;
  if (allow) {
    ereport(WARNING, (errmsg("dropping extension \"%s\" with the data of %d table%s", name, tables,
                             tables == 1 ? "" : "s"),
                      errdetail("%s. careguard.allow_destructive_drop is on.", held)));
    return;
  }
  ereport(ERROR,
          (errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
           errmsg("cannot drop extension \"%s\": %d of its tables hold data", name, tables),
           errdetail("%s.", held),
           errhint("Back the data up first (pg_dump). To drop it anyway, a superuser runs "
                   "SET LOCAL careguard.allow_destructive_drop = on in the same transaction.")));
}

bool copy_restores_careguard_table(Node* statement) {
  if (!IsA(statement, CopyStmt)) return false;
  const auto* copy = reinterpret_cast<const CopyStmt*>(statement);
  if (!copy->is_from || copy->filename != nullptr || copy->relation == nullptr ||
      copy->whereClause != nullptr || !is_superuser_restore_session()) {
    return false;
  }
  Oid relid = RangeVarGetRelid(copy->relation, NoLock, true);
  const char* name = nullptr;
  return OidIsValid(relid) &&
         is_guarded_extension(getExtensionOfObject(RelationRelationId, relid), &name);
}

void reset_drop_guard_for_new_transaction() {
  checked_extensions = NIL;
  checked_in = InvalidSubTransactionId;
}

}  // namespace careguard::pg
