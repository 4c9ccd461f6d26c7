// careguard adapter: a registered table's patient column keeps its meaning
// through DDL. A rename is followed (the registry takes the new name, so the
// watch goes on); a drop, a new type, or a rewrite of its values (ALTER
// COLUMN TYPE ... USING) is refused: the ledger would stop watching the
// table, record wrong ids, or let every row change patient unrecorded.
//
// PostgreSQL reaches more tables than the statement names: inheritance
// children and partitions (recursion), typed tables (ALTER TYPE ...
// CASCADE). So the rule is checked on what the statement did: every
// registered table's patient column, by attribute number, before and after.
//
// A table that leaves a registered table's tree (DETACH PARTITION, NO
// INHERIT) still holds patient records: it is registered on its own, in the
// same statement, so that nothing done to it afterwards (in the same
// transaction too) goes unrecorded. Which tables left is found the same way:
// every table watched through an ancestor, by oid and attribute number,
// before and after; its patient column is held to the same rules.
#include <cstring>

#include "careguard/pg/catalog_names.hpp"
#include "careguard/pg/catalog_scan.hpp"
#include "careguard/pg/ledger.hpp"
#include "careguard/pg/ledger_internal.hpp"

extern "C" {
#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "parser/parse_type.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
}

namespace careguard::pg {

struct PatientColumnsBefore {
  int count;
  Oid* relids;
  AttrNumber* columns;
  NameData* names;
  Oid* filenodes;  // a rewrite assigns a new one
  // Watched through a registered ancestor (listed when the statement may
  // take tables out of a tree), not registered itself.
  bool* through_ancestor;
};

namespace {

[[noreturn]] void refuse(Oid relid, const char* column, const char* change) {
  ereport(ERROR, (errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
                  errmsg("cannot %s column \"%s\" of %s: it is the patient column the disclosure "
                         "ledger records",
                         change, column, remembered_relation_name(relid)),
                  errhint("Register the table under another uuid column first "
                          "(careguard.register_phi).")));
}

Oid relfilenode_of(Oid relid) {
  return syscache_field(RELOID, relid, &FormData_pg_class::relfilenode, InvalidOid);
}

// The ALTER COLUMN TYPE subcommands of the statement, by column name.
bool alters_type_of(const Node* statement, const char* column) {
  if (!IsA(statement, AlterTableStmt)) return false;
  ListCell* cell;
  foreach (cell, castNode(AlterTableStmt, statement)->cmds) {
    const auto* command = static_cast<const AlterTableCmd*>(lfirst(cell));
    if (command->subtype == AT_AlterColumnType && command->name != nullptr &&
        std::strcmp(command->name, column) == 0) {
      return true;
    }
  }
  return false;
}

// Refused before any work: a type change of the patient column of the
// named table or of any table the statement recurses to.
void refuse_type_change_of_named(const AlterTableStmt* alter) {
  if (alter->objtype != OBJECT_TABLE || alter->relation == nullptr) return;
  Oid named = RangeVarGetRelid(alter->relation, NoLock, true);
  if (!OidIsValid(named)) return;
  List* reached =
      alter->relation->inh ? find_all_inheritors(named, NoLock, nullptr) : list_make1_oid(named);
  ListCell* cell;
  foreach (cell, reached) {
    Oid relid = lfirst_oid(cell);
    AttrNumber column = phi_patient_column(relid);
    if (column <= 0) continue;
    char* name = get_attname(relid, column, true);
    if (name != nullptr && alters_type_of(reinterpret_cast<const Node*>(alter), name)) {
      refuse(relid, name, "change the type of");
    }
  }
}

// Runs one statement on the registry as its owner, with a table ($1) and a
// column name ($2). The registry is careguard's (no role but its owner
// writes it); the table's owner, who may rename the column or take the table
// out of its tree, only keeps the registry true to what it did.
void change_registry(const char* sql, Oid relid, const char* column, int expected) {
  Oid types[2] = {OIDOID, NAMEOID};
  NameData name;
  namestrcpy(&name, column);
  Datum values[2] = {ObjectIdGetDatum(relid), NameGetDatum(&name)};
  Oid user;
  int context;
  GetUserIdAndSecContext(&user, &context);
  SetUserIdAndSecContext(BOOTSTRAP_SUPERUSERID,
                         context | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "careguard ledger: SPI_connect failed");
  int rc = SPI_execute_with_args(sql, 2, types, values, nullptr, false, 0);
  if (rc != expected) elog(ERROR, "careguard ledger: the registry did not follow (SPI %d)", rc);
  SPI_finish();
  SetUserIdAndSecContext(user, context);
}

void follow_rename(Oid relid, const char* new_name) {
  change_registry(
      "UPDATE careguard.phi_tables SET patient_column = $2 "
      "WHERE relid::pg_catalog.oid OPERATOR(pg_catalog.=) $1",
      relid, new_name, SPI_OK_UPDATE);
}

// Only the table: its schema does not become a PHI schema (register_phi's
// other half), which would put every table beside it under the policy gate.
// Rows left by tables gone without a drop event (a session's temporary
// tables) are removed on the way, so they cannot pile up.
void register_on_its_own(Oid relid, const char* column) {
  change_registry(
      "WITH gone AS (DELETE FROM careguard.phi_tables t WHERE NOT EXISTS (SELECT FROM "
      "pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) t.relid::pg_catalog.oid)) "
      "INSERT INTO careguard.phi_tables (relid, patient_column) VALUES ($1, $2) "
      "ON CONFLICT DO NOTHING",
      relid, column, SPI_OK_INSERT);
}

// DETACH PARTITION or NO INHERIT among the subcommands.
bool may_take_out(const Node* statement) {
  if (!IsA(statement, AlterTableStmt)) return false;
  ListCell* cell;
  foreach (cell, castNode(AlterTableStmt, statement)->cmds) {
    const AlterTableType kind = static_cast<const AlterTableCmd*>(lfirst(cell))->subtype;
    if (kind == AT_DetachPartition || kind == AT_DetachPartitionFinalize ||
        kind == AT_DropInherit) {
      return true;
    }
  }
  return false;
}

// Every table below `parent`, partitions whose detach is pending included
// (find_all_inheritors leaves those out, and FINALIZE completes one).
List* descendants(Oid parent) {
  List* found = NIL;
  List* pending = list_make1_oid(parent);
  while (pending != NIL) {
    const Oid relid = linitial_oid(pending);
    pending = list_delete_first(pending);
    ListCell* cell;
    foreach (cell, find_inheritance_children_extended(relid, false, NoLock, nullptr, nullptr)) {
      const Oid child = lfirst_oid(cell);
      if (list_member_oid(found, child)) continue;  // multiple inheritance
      found = lappend_oid(found, child);
      pending = lappend_oid(pending, child);
    }
  }
  return found;
}

// The tables watched only through a registered ancestor, by oid and by
// attribute number: names would not do, since what the statement runs (a
// CHECK it validates, an event trigger) may rename tables and columns, or
// change search_path, before it ends.
List* watched_members() {
  List* members = NIL;
  for (int i = 0; i < registered_phi_count(); ++i) {
    Oid relid;
    AttrNumber column;
    registered_phi_at(i, &relid, &column);
    members = list_concat_unique_oid(members, descendants(relid));
  }
  return members;
}

// Notes a table's patient column as it stands before the statement.
void note_column(PatientColumnsBefore* before, Oid relid, AttrNumber column,
                 bool through_ancestor) {
  char* name = column > 0 ? get_attname(relid, column, true) : nullptr;
  if (name == nullptr) return;
  const int at = before->count++;
  before->relids[at] = relid;
  before->columns[at] = column;
  namestrcpy(&before->names[at], name);
  before->filenodes[at] = relfilenode_of(relid);
  before->through_ancestor[at] = through_ancestor;
}

}  // namespace

PatientColumnsBefore* ledger_ddl_begin(const Node* statement) {
  if (!IsA(statement, RenameStmt) && !IsA(statement, AlterTableStmt)) return nullptr;
  if (!ensure_phi_registry() || registered_phi_count() == 0) return nullptr;
  if (IsA(statement, AlterTableStmt)) {
    refuse_type_change_of_named(castNode(AlterTableStmt, statement));
  }
  auto* before = static_cast<PatientColumnsBefore*>(palloc0(sizeof(PatientColumnsBefore)));
  List* members = may_take_out(statement) ? watched_members() : NIL;
  const int count = registered_phi_count() + list_length(members);
  before->relids = static_cast<Oid*>(palloc(sizeof(Oid) * count));
  before->columns = static_cast<AttrNumber*>(palloc(sizeof(AttrNumber) * count));
  before->names = static_cast<NameData*>(palloc(sizeof(NameData) * count));
  before->filenodes = static_cast<Oid*>(palloc(sizeof(Oid) * count));
  before->through_ancestor = static_cast<bool*>(palloc(sizeof(bool) * count));
  for (int i = 0; i < registered_phi_count(); ++i) {
    Oid relid;
    AttrNumber column;
    registered_phi_at(i, &relid, &column);
    note_column(before, relid, column, false);
  }
  ListCell* cell;
  foreach (cell, members) {
    const Oid member = lfirst_oid(cell);
    if (phi_registered_column(member) == 0) {
      note_column(before, member, phi_patient_column(member), true);
    }
  }
  return before;
}

void ledger_ddl_end(const PatientColumnsBefore* before, const Node* statement) {
  if (before == nullptr) return;
  CommandCounterIncrement();  // the statement's own catalog changes
  for (int i = 0; i < before->count; ++i) {
    const Oid relid = before->relids[i];
    const char* old_name = NameStr(before->names[i]);
    // Still in a watched tree: its ancestors' entries stand for it.
    if (before->through_ancestor[i] && phi_patient_column(relid) > 0) continue;
    HeapTuple tuple =
        SearchSysCache2(ATTNUM, ObjectIdGetDatum(relid), Int16GetDatum(before->columns[i]));
    if (!HeapTupleIsValid(tuple)) continue;  // the table went (DROP has its own record)
    const auto* attribute = reinterpret_cast<Form_pg_attribute>(GETSTRUCT(tuple));
    const bool dropped = attribute->attisdropped;
    const bool retyped = attribute->atttypid != UUIDOID;
    NameData new_name = attribute->attname;
    ReleaseSysCache(tuple);
    if (dropped) refuse(relid, old_name, "drop");
    if (retyped ||
        (relfilenode_of(relid) != before->filenodes[i] && alters_type_of(statement, old_name))) {
      refuse(relid, old_name, "change the type of");
    }
    if (before->through_ancestor[i]) {
      register_on_its_own(relid, NameStr(new_name));  // it left the tree
    } else if (std::strcmp(NameStr(new_name), old_name) != 0) {
      follow_rename(relid, NameStr(new_name));
    }
  }
}

void ledger_refuse_patient_column_drop(Oid relid, AttrNumber column) {
  if (column <= 0 || !ensure_phi_registry() || !phi_registry_nonempty()) return;
  if (phi_patient_column(relid) != column) return;
  refuse(relid, get_attname(relid, column, false), "drop");
}

}  // namespace careguard::pg
