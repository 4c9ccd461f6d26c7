// careguard adapter: a registered table's patient column keeps its meaning
// through DDL. A rename is followed (the registry takes the new name, so the
// watch goes on); a drop, or a new type other than uuid, is refused: the
// ledger would stop watching the table, or record wrong ids, silently.
#include "careguard/pg/catalog_names.hpp"
#include "careguard/pg/ledger.hpp"
#include "careguard/pg/ledger_internal.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "parser/parse_type.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
}

namespace careguard::pg {

namespace {

// The table's registered patient column (its own registration or an
// ancestor's), or 0; nothing is looked up while no table is registered.
AttrNumber registered_column(Oid relid) {
  if (!OidIsValid(relid) || !ensure_phi_registry() || !phi_registry_nonempty()) return 0;
  return phi_patient_column(relid);
}

[[noreturn]] void refuse(Oid relid, AttrNumber column, const char* change) {
  ereport(ERROR,
          (errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
           errmsg("cannot %s column \"%s\" of %s: it is the patient column the disclosure "
                  "ledger records",
                  change, get_attname(relid, column, false), remembered_relation_name(relid)),
           errhint("The ledger watches a uuid column; register the table under another "
                   "one first (careguard.register_phi).")));
}

}  // namespace

Oid ledger_check_column_change(const Node* statement) {
  if (IsA(statement, RenameStmt)) {
    const auto* rename = castNode(RenameStmt, statement);
    if (rename->renameType != OBJECT_COLUMN || rename->relation == nullptr) return InvalidOid;
    Oid relid = RangeVarGetRelid(rename->relation, NoLock, true);
    AttrNumber column = registered_column(relid);
    return column > 0 && get_attnum(relid, rename->subname) == column ? relid : InvalidOid;
  }
  if (!IsA(statement, AlterTableStmt)) return InvalidOid;
  const auto* alter = castNode(AlterTableStmt, statement);
  if (alter->objtype != OBJECT_TABLE || alter->relation == nullptr) return InvalidOid;
  Oid relid = RangeVarGetRelid(alter->relation, NoLock, true);
  AttrNumber column = registered_column(relid);
  if (column <= 0) return InvalidOid;
  ListCell* cell;
  foreach (cell, alter->cmds) {
    const auto* command = static_cast<const AlterTableCmd*>(lfirst(cell));
    if (command->subtype != AT_AlterColumnType || command->name == nullptr) continue;
    if (get_attnum(relid, command->name) != column) continue;
    const auto* definition = castNode(ColumnDef, command->def);
    if (typenameTypeId(nullptr, definition->typeName) != UUIDOID) {
      refuse(relid, column, "change the type of");
    }
  }
  return InvalidOid;
}

void ledger_refuse_patient_column_drop(Oid relid, AttrNumber column) {
  if (column > 0 && registered_column(relid) == column) refuse(relid, column, "drop");
}

void ledger_follow_column_rename(Oid relid, const char* new_name) {
  // The registry is careguard's (no role but its owner writes it); the
  // table's owner, who may rename the column, only moves its entry along.
  Oid user;
  int context;
  GetUserIdAndSecContext(&user, &context);
  SetUserIdAndSecContext(BOOTSTRAP_SUPERUSERID,
                         context | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "careguard ledger: SPI_connect failed");
  Oid types[2] = {OIDOID, NAMEOID};
  NameData name;
  namestrcpy(&name, new_name);
  Datum values[2] = {ObjectIdGetDatum(relid), NameGetDatum(&name)};
  int rc = SPI_execute_with_args(
      "UPDATE careguard.phi_tables SET patient_column = $2 "
      "WHERE relid::pg_catalog.oid OPERATOR(pg_catalog.=) $1",
      2, types, values, nullptr, false, 0);
  if (rc != SPI_OK_UPDATE)
    elog(ERROR, "careguard ledger: the registry did not follow (SPI %d)", rc);
  SPI_finish();
  SetUserIdAndSecContext(user, context);
}

}  // namespace careguard::pg
