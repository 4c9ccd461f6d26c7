// careguard adapter: the hooks that see catalogue changes as they happen,
// for the policy gate and the drop guard. ProcessUtility sees statements
// (ALTER TABLE, GRANT, ...); the object access hook sees every deletion,
// including those a CASCADE or a DROP COLUMN brings; ExecutorCheckPerms
// sees DML on the catalogue itself. Each only notes; COMMIT judges. The
// ProcessUtility hook also hands COPY TO to the ledger (ledger_copy.cpp),
// and a COPY FROM or TRUNCATE, whose tables the other two hooks report as
// PostgreSQL reaches them (ledger_utility.cpp).
#include "careguard/pg/catalog_hooks.hpp"

#include "careguard/pg/drop_guard.hpp"
#include "careguard/pg/guard.hpp"
#include "careguard/pg/utility_chain.hpp"
#include "careguard/pg/ledger.hpp"
#include "careguard/pg/policy_gate.hpp"

extern "C" {
#include "catalog/dependency.h"
#include "catalog/objectaccess.h"
#include "catalog/pg_class.h"
#include "catalog/pg_policy.h"
#include "commands/dbcommands.h"
#include "tcop/utility.h"
}

namespace careguard::pg {

namespace {

ProcessUtility_hook_type previous_process_utility = nullptr;
object_access_hook_type previous_object_access = nullptr;
ExecutorCheckPerms_hook_type previous_check_perms = nullptr;

// Owns no C++ objects: standard_ProcessUtility may longjmp through it.
void on_process_utility(PlannedStmt* planned, const char* query, bool read_only_tree,
                        ProcessUtilityContext context, ParamListInfo params,
                        QueryEnvironment* environment, DestReceiver* dest,
                        QueryCompletion* completion) {
  planned = guarded("ProcessUtility hook", [planned] {
    return call_pg([planned] { return ledger_copy_as_query(planned); });
  });
  Node* statement = planned->utilityStmt;
  bool restoring = guarded("ProcessUtility hook", [statement] {
    return call_pg([statement] { return copy_restores_careguard_table(statement); });
  });
  // The oid, looked up while the database exists; its spool is removed once
  // DROP DATABASE has succeeded.
  Oid dropped_database = InvalidOid;
  if (IsA(statement, DropdbStmt)) {
    const char* name = castNode(DropdbStmt, statement)->dbname;
    dropped_database = guarded("ProcessUtility hook", [name] {
      return call_pg([name] { return get_database_oid(name, true); });
    });
  }
  // For that one COPY only: the setting returns to its value with the nest
  // level, or with the transaction if the COPY fails.
  int nest_level = 0;
  if (restoring) {
    nest_level = NewGUCNestLevel();
    set_config_option("session_replication_role", "replica", PGC_SUSET, PGC_S_SESSION,
                      GUC_ACTION_SAVE, true, 0, false);
  }
  PatientColumnsBefore* patient_columns = nullptr;
  if (IsA(statement, RenameStmt) || IsA(statement, AlterTableStmt)) {
    patient_columns = guarded("ProcessUtility hook", [statement] {
      return call_pg([statement] { return ledger_ddl_begin(statement); });
    });
  }
  LedgerStatement* utility = nullptr;
  if (IsA(statement, CopyStmt) || IsA(statement, TruncateStmt) || IsA(statement, DropStmt) ||
      IsA(statement, DropOwnedStmt) || IsA(statement, AlterTableStmt)) {
    utility = guarded("ProcessUtility hook", [planned] {
      return call_pg([planned] { return ledger_utility_begin(planned); });
    });
  }
  PG_TRY();
  {
    run_next_process_utility(previous_process_utility, planned, query, read_only_tree, context,
                             params, environment, dest, completion);
  }
  PG_CATCH();
  {
    ledger_copy_destination = nullptr;
    ledger_utility_failed(utility);
    PG_RE_THROW();
  }
  PG_END_TRY();
  ledger_copy_destination = nullptr;
  if (utility != nullptr) {
    guarded("ProcessUtility hook", [utility, completion] {
      call_pg([utility, completion] { ledger_utility_end(utility, completion); });
    });
  }
  if (patient_columns != nullptr) {
    guarded("ProcessUtility hook", [patient_columns, statement] {
      call_pg([patient_columns, statement] { ledger_ddl_end(patient_columns, statement); });
    });
  }
  if (restoring) AtEOXact_GUC(true, nest_level);
  if (dropped_database != InvalidOid) {
    guarded("ProcessUtility hook", [dropped_database] {
      call_pg([dropped_database] { forget_dropped_database_spool(dropped_database); });
    });
  }
  guarded("ProcessUtility hook",
          [statement] { call_pg([statement] { note_utility_for_policy_gate(statement); }); });
}

void on_object_access(ObjectAccessType access, Oid class_id, Oid object_id, int sub_id,
                      void* argument) {
  if (previous_object_access != nullptr) {
    previous_object_access(access, class_id, object_id, sub_id, argument);
  }
  if (access == OAT_TRUNCATE && class_id == RelationRelationId) {
    guarded("object access hook",
            [object_id] { call_pg([object_id] { ledger_note_truncate(object_id); }); });
    return;
  }
  if (access != OAT_DROP) return;
  const auto* drop = static_cast<const ObjectAccessDrop*>(argument);
  bool internal = drop != nullptr && (drop->dropflags & PERFORM_DELETION_INTERNAL) != 0;
  if (class_id == RelationRelationId && sub_id > 0 && !internal) {
    guarded("object access hook", [object_id, sub_id] {
      call_pg([object_id, sub_id] {
        ledger_refuse_patient_column_drop(object_id, static_cast<AttrNumber>(sub_id));
      });
    });
  } else if (class_id == PolicyRelationId) {
    guarded("object access hook",
            [object_id] { call_pg([object_id] { note_policy_drop(object_id); }); });
  } else if (class_id == RelationRelationId && sub_id == 0 && !internal) {
    guarded("object access hook", [object_id] {
      call_pg([object_id] {
        ledger_note_drop(object_id);
        note_relation_drop(object_id);
        guard_extension_table_drop(object_id);
      });
    });
  }
}

bool on_check_permissions(List* range_table, bool report_violation) {
  if (!IsParallelWorker()) note_catalog_writes(range_table);
  if (ledger_copy_awaits_target()) {
    guarded("ExecutorCheckPerms hook",
            [range_table] { call_pg([range_table] { ledger_note_copy_target(range_table); }); });
  }
  if (previous_check_perms != nullptr) return previous_check_perms(range_table, report_violation);
  return true;
}

}  // namespace

void install_catalog_hooks() {
  previous_process_utility = ProcessUtility_hook;
  ProcessUtility_hook = on_process_utility;
  previous_object_access = object_access_hook;
  object_access_hook = on_object_access;
  previous_check_perms = ExecutorCheckPerms_hook;
  ExecutorCheckPerms_hook = on_check_permissions;
}

}  // namespace careguard::pg
