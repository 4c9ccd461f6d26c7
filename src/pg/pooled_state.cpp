// careguard adapter: refuses state that would outlive a per-request identity
// on a pooled connection. A transaction pooler hands the server connection to
// the next client without a reset, so a holdable cursor, a temporary table or
// a session-level role left by client A is read or used by client B.
#include "careguard/pg/pooled_state.hpp"

#include <cstring>

#include "careguard/pg/claim_settings.hpp"
#include "careguard/pg/guard.hpp"
#include "careguard/pg/utility_chain.hpp"
#include "careguard/pg/security_settings.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "commands/portalcmds.h"
#include "commands/prepare.h"
#include "nodes/parsenodes.h"
#include "tcop/utility.h"
#include "utils/portal.h"
}

namespace careguard::pg {

namespace {

ProcessUtility_hook_type previous_process_utility = nullptr;
ExecutorCheckPerms_hook_type previous_check_perms = nullptr;

// What this transaction created or wrote, in TopTransactionContext: names of
// holdable cursors, oids of temporary tables whose rows survive COMMIT, and
// oids of temporary tables dropped at COMMIT (writing those is harmless).
List* holdable_cursors = NIL;
List* surviving_temp_tables = NIL;
List* dropped_at_commit = NIL;
// Other session state made in this transaction: temporary views and
// sequences (oids), functions and types created in pg_temp (descriptions),
// and prepared statements (names).
List* temp_relations = NIL;
List* temp_definitions = NIL;
List* prepared_statements = NIL;

void remember_name(List** list, const char* name) {
  MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);
  *list = lappend(*list, pstrdup(name));
  MemoryContextSwitchTo(old);
}

void remember_oid(List** list, Oid relid) {
  MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);
  *list = list_append_unique_oid(*list, relid);
  MemoryContextSwitchTo(old);
}

bool is_role_setting(const char* name) {
  return name != nullptr &&
         (pg_strcasecmp(name, "role") == 0 || pg_strcasecmp(name, "session_authorization") == 0);
}

// A gateway login serves many clients: a role it sets for the session would
// pass to whichever client the pooler hands the connection to next.
void refuse_session_role_change(const VariableSetStmt* set) {
  if (set->is_local || !is_role_setting(set->name)) return;
  if (set->kind == VAR_SET_MULTI || set->kind == VAR_RESET_ALL) return;
  if (!session_user_is_gateway()) return;
  const char* name = set->name;
  call_pg([name] {
    ereport(ERROR,
            (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
             errmsg("gateway login \"%s\" may not change %s for the session",
                    GetUserNameFromId(GetSessionUserId(), false), name),
             errdetail("On a pooled connection a session-level role passes to the next client."),
             errhint("Use SET LOCAL ROLE inside a transaction; it ends with the transaction.")));
  });
}

// A temporary table created by this statement: its oid once it exists.
void remember_created_temp_table(const RangeVar* relation, OnCommitAction on_commit) {
  if (relation == nullptr || relation->relpersistence != RELPERSISTENCE_TEMP) return;
  Oid relid = RangeVarGetRelid(relation, NoLock, true);
  if (!OidIsValid(relid)) return;
  remember_oid(on_commit == ONCOMMIT_DROP ? &dropped_at_commit : &surviving_temp_tables, relid);
}

// ALTER ROLE ... SET role = service_role by the gateway itself would start
// every later server connection of the pool as that role: a gateway login
// has no business changing any login's or database's defaults.
void refuse_default_changes(const char* what) {
  if (!session_user_is_gateway()) return;
  call_pg([what] {
    ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                    errmsg("gateway login \"%s\" may not run %s",
                           GetUserNameFromId(GetSessionUserId(), false), what),
                    errdetail("Its settings would apply to every later session of the pool."),
                    errhint("Have a DBA change role and database settings.")));
  });
}

void before_utility(Node* statement) {
  refuse_gateway_default_role();
  if (IsA(statement, VariableSetStmt)) {
    refuse_session_role_change(reinterpret_cast<VariableSetStmt*>(statement));
  } else if (IsA(statement, AlterRoleSetStmt)) {
    refuse_default_changes("ALTER ROLE ... SET");
  } else if (IsA(statement, AlterDatabaseSetStmt)) {
    refuse_default_changes("ALTER DATABASE ... SET");
  }
}

// True when a qualified name puts an object into the session's temporary
// schema (pg_temp, or its pg_temp_N spelling).
bool names_temp_schema(List* names) {
  if (list_length(names) < 2) return false;
  const char* schema = strVal(linitial(names));
  return std::strncmp(schema, "pg_temp", 7) == 0;
}

void remember_temp_relation(const RangeVar* relation) {
  Oid relid = relation == nullptr ? InvalidOid : RangeVarGetRelid(relation, NoLock, true);
  if (OidIsValid(relid) && get_rel_persistence(relid) == RELPERSISTENCE_TEMP) {
    remember_oid(&temp_relations, relid);
  }
}

void after_utility(Node* statement) {
  if (IsA(statement, DeclareCursorStmt)) {
    auto* declare = reinterpret_cast<DeclareCursorStmt*>(statement);
    if ((declare->options & CURSOR_OPT_HOLD) != 0) {
      remember_name(&holdable_cursors, declare->portalname);
    }
  } else if (IsA(statement, CreateStmt)) {
    auto* create = reinterpret_cast<CreateStmt*>(statement);
    remember_created_temp_table(create->relation, create->oncommit);
  } else if (IsA(statement, CreateTableAsStmt)) {
    auto* create = reinterpret_cast<CreateTableAsStmt*>(statement);
    if (create->into != nullptr)
      remember_created_temp_table(create->into->rel, create->into->onCommit);
  } else if (IsA(statement, ViewStmt)) {
    remember_temp_relation(reinterpret_cast<ViewStmt*>(statement)->view);
  } else if (IsA(statement, CreateSeqStmt)) {
    remember_temp_relation(reinterpret_cast<CreateSeqStmt*>(statement)->sequence);
  } else if (IsA(statement, CreateFunctionStmt)) {
    auto* create = reinterpret_cast<CreateFunctionStmt*>(statement);
    if (names_temp_schema(create->funcname)) {
      remember_name(&temp_definitions, NameListToString(create->funcname));
    }
  } else if (IsA(statement, CompositeTypeStmt)) {
    remember_temp_relation(reinterpret_cast<CompositeTypeStmt*>(statement)->typevar);
  } else if (IsA(statement, CreateEnumStmt) || IsA(statement, CreateDomainStmt)) {
    List* names = IsA(statement, CreateEnumStmt)
                      ? reinterpret_cast<CreateEnumStmt*>(statement)->typeName
                      : reinterpret_cast<CreateDomainStmt*>(statement)->domainname;
    if (names_temp_schema(names)) remember_name(&temp_definitions, NameListToString(names));
  } else if (IsA(statement, PrepareStmt)) {
    remember_name(&prepared_statements, reinterpret_cast<PrepareStmt*>(statement)->name);
  } else if (IsA(statement, AlterTableStmt)) {
    // ALTER TABLE can fill rows too (ADD COLUMN ... DEFAULT f()).
    auto* alter = reinterpret_cast<AlterTableStmt*>(statement);
    Oid relid =
        alter->relation == nullptr ? InvalidOid : RangeVarGetRelid(alter->relation, NoLock, true);
    if (OidIsValid(relid) && get_rel_persistence(relid) == RELPERSISTENCE_TEMP &&
        !list_member_oid(dropped_at_commit, relid)) {
      remember_oid(&surviving_temp_tables, relid);
    }
  }
}

// Owns no C++ objects: standard_ProcessUtility may longjmp through it.
void on_process_utility(PlannedStmt* planned, const char* query, bool read_only_tree,
                        ProcessUtilityContext context, ParamListInfo params,
                        QueryEnvironment* environment, DestReceiver* dest,
                        QueryCompletion* completion) {
  Node* statement = planned->utilityStmt;
  guarded("ProcessUtility hook", [statement] { before_utility(statement); });
  run_next_process_utility(previous_process_utility, planned, query, read_only_tree, context,
                           params, environment, dest, completion);
  guarded("ProcessUtility hook",
          [statement] { call_pg([statement] { after_utility(statement); }); });
}

// Rows written into a temporary table (INSERT, UPDATE, COPY ... FROM) stay
// with the session; remember the table so COMMIT can judge it.
void remember_temp_table_writes(List* range_table) {
  ListCell* cell;
  foreach (cell, range_table) {
    auto* entry = static_cast<RangeTblEntry*>(lfirst(cell));
    if (entry->rtekind != RTE_RELATION) continue;
    if ((entry->requiredPerms & (ACL_INSERT | ACL_UPDATE)) == 0) continue;
    if (get_rel_persistence(entry->relid) != RELPERSISTENCE_TEMP) continue;
    if (list_member_oid(dropped_at_commit, entry->relid)) continue;
    remember_oid(&surviving_temp_tables, entry->relid);
  }
}

bool on_check_permissions(List* range_table, bool report_violation) {
  if (!IsParallelWorker()) {
    guarded("ExecutorCheckPerms hook",
            [range_table] { call_pg([range_table] { remember_temp_table_writes(range_table); }); });
  }
  if (previous_check_perms != nullptr) return previous_check_perms(range_table, report_violation);
  return true;
}

// The role a session-level SET in this transaction leaves after COMMIT, or
// nullptr when none does (SET LOCAL, or no change).
const char* role_surviving_commit() {
  config_generic* setting = find_config("role");
  if (setting == nullptr || setting->stack == nullptr) return nullptr;
  const GucStack* top = setting->stack;
  const char* value = nullptr;
  if (top->state == GUC_SET) {
    value = *reinterpret_cast<config_string*>(setting)->variable;
  } else if (top->state == GUC_SET_LOCAL) {
    value = top->masked.val.stringval;
  } else {
    return nullptr;
  }
  if (value == nullptr || value[0] == '\0' || pg_strcasecmp(value, "none") == 0) return nullptr;
  return value;
}

// Whether the value a session-level SET in this transaction leaves after
// COMMIT differs from the session's default (RESET, RESET ALL leave none).
bool leaves_session_value(const config_generic* setting) {
  const GucStack* top = setting->stack;
  if (top == nullptr || (top->state != GUC_SET && top->state != GUC_SET_LOCAL)) return false;
  bool masked = top->state == GUC_SET_LOCAL;
  switch (setting->vartype) {
    case PGC_BOOL: {
      const auto* b = reinterpret_cast<const config_bool*>(setting);
      return (masked ? top->masked.val.boolval : *b->variable) != b->reset_val;
    }
    case PGC_INT: {
      const auto* i = reinterpret_cast<const config_int*>(setting);
      return (masked ? top->masked.val.intval : *i->variable) != i->reset_val;
    }
    case PGC_REAL: {
      const auto* r = reinterpret_cast<const config_real*>(setting);
      return (masked ? top->masked.val.realval : *r->variable) != r->reset_val;
    }
    case PGC_ENUM: {
      const auto* e = reinterpret_cast<const config_enum*>(setting);
      return (masked ? top->masked.val.enumval : *e->variable) != e->reset_val;
    }
    case PGC_STRING: {
      const auto* t = reinterpret_cast<const config_string*>(setting);
      const char* value = masked ? top->masked.val.stringval : *t->variable;
      const char* reset = t->reset_val;
      return std::strcmp(value == nullptr ? "" : value, reset == nullptr ? "" : reset) != 0;
    }
  }
  return false;
}

// Why this transaction may leave nothing behind, for the messages, and
// whether an identity was in force.
const char* refusal_reason = "";
bool identity_in_force = false;

[[noreturn]] void refuse(const char* kind, const char* name) {
  ereport(ERROR,
          (errcode(ERRCODE_INVALID_TRANSACTION_STATE),
           errmsg("%s \"%s\" cannot outlive %s", kind, name, refusal_reason),
           errdetail("On a pooled connection the next client would read it. The transaction is "
                     "rolled back."),
           errhint("Close it before COMMIT or create it ON COMMIT DROP; where every connection "
                   "serves one client, a superuser can set careguard.allow_session_state.")));
  pg_unreachable();
}

void refuse_surviving_role(const char* role) {
  ereport(ERROR,
          (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
           errmsg("gateway login \"%s\" may not keep role \"%s\" past COMMIT",
                  GetUserNameFromId(GetSessionUserId(), false), role),
           errdetail("The role was set for the session (set_config('role', ..., false)); on a "
                     "pooled connection it would pass to the next client."),
           errhint("Use SET LOCAL ROLE inside a transaction.")));
}

// Runs under call_pg. Holdable cursors were already materialised (under the
// identity) when this runs, and no longer count as this transaction's, and
// prepared statements are not transactional, so an ERROR alone would keep
// both: they are closed and dropped before anything is refused.
void refuse_held_state() {
  const char* held = nullptr;
  ListCell* cell;
  foreach (cell, holdable_cursors) {
    const char* name = static_cast<const char*>(lfirst(cell));
    Portal portal = GetPortalByName(name);
    if (portal == nullptr || (portal->cursorOptions & CURSOR_OPT_HOLD) == 0) continue;
    PerformPortalClose(name);
    if (held == nullptr) held = name;
  }
  // Prepared statements, like persisted cursors, outlive an abort: drop them.
  const char* prepared = nullptr;
  foreach (cell, prepared_statements) {
    const char* name = static_cast<const char*>(lfirst(cell));
    if (FetchPreparedStatement(name, false) == nullptr) continue;
    DropPreparedStatement(name, false);
    if (prepared == nullptr) prepared = name;
  }
  if (held != nullptr) refuse("holdable cursor", held);
  if (prepared != nullptr) refuse("prepared statement", prepared);
  foreach (cell, surviving_temp_tables) {
    const char* name = get_rel_name(lfirst_oid(cell));
    if (name != nullptr) refuse("temporary table", name);
  }
  foreach (cell, temp_relations) {
    const char* name = get_rel_name(lfirst_oid(cell));
    if (name != nullptr) refuse("temporary relation", name);
  }
  foreach (cell, temp_definitions) {
    refuse("temporary definition", static_cast<const char*>(lfirst(cell)));
  }
  // A session-level SET (set_config(..., false)) made now would carry a value
  // computed under this identity to the next client (app.cache = <PHI>).
  // Without an identity a gateway's SETs are the pooler's own (PgBouncer sets
  // application_name and friends between transactions).
  if (!identity_in_force) return;
  config_generic** all = get_guc_variables();
  for (int i = 0, count = GetNumConfigOptions(); i < count; ++i) {
    // GUC_NO_RESET_ALL marks the transaction_* settings and the identity
    // settings (role, session_authorization), which have their own rules.
    if (all[i]->stack == nullptr || (all[i]->flags & GUC_NO_RESET_ALL) != 0) continue;
    if (leaves_session_value(all[i])) refuse("session-level setting", all[i]->name);
  }
}

}  // namespace

void install_pooled_state_hooks() {
  previous_process_utility = ProcessUtility_hook;
  ProcessUtility_hook = on_process_utility;
  previous_check_perms = ExecutorCheckPerms_hook;
  ExecutorCheckPerms_hook = on_check_permissions;
}

void refuse_state_outliving_identity() {
  // Only client sessions pass through a pooler (not autovacuum, not workers).
  if (IsParallelWorker() || MyProcPort == nullptr) return;
  guarded("transaction pre-commit", [] {
    const char* role = role_surviving_commit();
    if (role != nullptr && session_user_is_gateway()) {
      call_pg([role] { refuse_surviving_role(role); });
    }
    // A gateway login serves many clients, so nothing it holds may survive,
    // with or without an identity careguard could see (a function's SET role
    // clause reads rows without any claim).
    if (allow_session_state) return;
    identity_in_force = per_request_identity_in_force();
    if (identity_in_force) {
      refusal_reason = "a transaction that ran with a per-request identity";
    } else if (session_user_is_gateway()) {
      refusal_reason = "a transaction of a gateway login";
    } else {
      return;
    }
    call_pg([] { refuse_held_state(); });
  });
}

void refuse_gateway_default_role() {
  // The role's session default comes from ALTER ROLE/DATABASE ... SET role or a
  // startup option, and cannot change later in the session: decide once.
  static int verdict = -1;  // -1 undecided, 0 fine, 1 refused
  if (verdict == 0 || IsParallelWorker() || MyProcPort == nullptr) return;
  if (verdict < 0) {
    const auto* role = reinterpret_cast<const config_string*>(find_config("role"));
    const char* reset = role == nullptr ? nullptr : role->reset_val;
    bool defaults_to_role =
        reset != nullptr && reset[0] != '\0' && pg_strcasecmp(reset, "none") != 0;
    verdict = defaults_to_role && session_user_is_gateway() ? 1 : 0;
    if (verdict == 0) return;
  }
  call_pg([] {
    const auto* role = reinterpret_cast<const config_string*>(find_config("role"));
    ereport(ERROR,
            (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
             errmsg("gateway login \"%s\" starts its sessions as role \"%s\"",
                    GetUserNameFromId(GetSessionUserId(), false), role->reset_val),
             errdetail("The default comes from ALTER ROLE/DATABASE ... SET role or a startup "
                       "option; on a pooled connection every client would act as that role."),
             errhint("A superuser must remove it: ALTER ROLE %s RESET role.",
                     quote_identifier(GetUserNameFromId(GetSessionUserId(), false)))));
  });
}

void reset_pooled_state_for_new_transaction() {
  // The lists lived in TopTransactionContext, which is gone or going.
  holdable_cursors = NIL;
  surviving_temp_tables = NIL;
  dropped_at_commit = NIL;
  temp_relations = NIL;
  temp_definitions = NIL;
  prepared_statements = NIL;
}

}  // namespace careguard::pg
