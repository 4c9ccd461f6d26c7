// careguard adapter: the ledger's records of the utility statements that
// change a watched table without the executor. COPY table FROM writes its
// rows straight to the heap, TRUNCATE removes every row at once, DROP removes
// the table with its rows; none passes a plan node the ledger could wrap, and
// PostgreSQL has no per-row hook for them. Their records say who changed
// which table, when, how many rows COPY wrote and that row-level security
// did not apply, with no patient ids (ids_exact false): a patient's
// accounting cannot list them, the security officer's review of the ledger
// does.
//
// Who and which tables are taken while the statement runs, never from its
// text afterwards: the identity before it starts (a COPY's WHERE or a
// TRUNCATE trigger may change the role, the claims, the search_path), the
// tables as PostgreSQL itself reaches them (COPY's permission check on the
// table it opened, TRUNCATE's and DROP's object-access call for each table
// it empties or drops, inheritors and CASCADE included). The record is
// written once the statement succeeded; one that fails changed nothing.
#include <cstring>

#include "careguard/pg/ledger.hpp"
#include "careguard/pg/ledger_internal.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "utils/lsyscache.h"
#include "utils/rls.h"
}

namespace careguard::pg {

namespace {

// The COPY FROM or TRUNCATE running now (an inner one, from a trigger or a
// function, stacks on it through enclosing_utility).
LedgerStatement* running_utility = nullptr;

bool is_copy(const LedgerStatement* s) {
  return s->copy_from != nullptr;
}

// COPY FROM reaches only a table row-level security does not apply to
// (PostgreSQL refuses it otherwise): watched as a query's read would be.
bool copy_target_watched(Oid relid) {
  return watched_column(relid, InvalidOid) >= 0;
}

// A change of the whole table is recorded for a registered table (or a
// partition of one) and for a PHI schema's table that has row-level security.
bool whole_table_watched(Oid relid) {
  return phi_patient_column(relid) > 0 ||
         (in_phi_schema(relid) && check_enable_rls(relid, InvalidOid, true) != RLS_NONE);
}

// A superuser's COPY FROM with row_security off is what pg_dump's scripts
// and pg_restore run: it reloads rows whose history is the source's ledger,
// reloaded alongside, and a record of its own would take a sequence number a
// restored record holds. A superuser could switch the ledger off anyway.
bool restoring(bool copy_from) {
  return copy_from && !row_security && superuser_arg(GetSessionUserId()) &&
         superuser_arg(GetUserId());
}

// A change of the whole table (TRUNCATE, DROP, a table joining or leaving a
// tree) reaches every row without reading one, whatever the policies: a
// bypass, with no rows counted and no ids.
LedgerAccess* note_whole_table_change(LedgerStatement* s, Oid relid, CmdType command,
                                      const char* text, const char* reason) {
  LedgerAccess* a = utility_access(s, relid, command, text);
  a->rows_unknown = true;
  if (std::strcmp(a->rls, "disabled") != 0 && a->bypass_reason == nullptr) {
    a->rls = "bypassed";
    a->bypass_reason = reason;
  }
  return a;
}

// A table joining or leaving another's tree: ATTACH or DETACH PARTITION,
// FINALIZE included (not CONCURRENTLY, which commits inside: the statement's
// memory would go with the first commit), INHERIT or NO INHERIT.
bool changes_membership(const AlterTableCmd* command) {
  switch (command->subtype) {
    case AT_AttachPartition:
    case AT_DetachPartition:
    case AT_DetachPartitionFinalize:
      return !castNode(PartitionCmd, command->def)->concurrent;
    case AT_AddInherit:
    case AT_DropInherit:
      return true;
    default:
      return false;
  }
}

bool changes_membership(const AlterTableStmt* alter) {
  ListCell* cell;
  foreach (cell, alter->cmds) {
    if (changes_membership(static_cast<const AlterTableCmd*>(lfirst(cell)))) return true;
  }
  return false;
}

// One subcommand's table joins or leaves a watched tree: recorded on that
// table (several on one table: one record naming them all).
void note_membership_change(LedgerStatement* s, const AlterTableStmt* alter,
                            const AlterTableCmd* command) {
  const bool partition = command->subtype != AT_AddInherit && command->subtype != AT_DropInherit;
  const RangeVar* parent_name = partition ? alter->relation : castNode(RangeVar, command->def);
  const RangeVar* child_name =
      partition ? castNode(PartitionCmd, command->def)->name : alter->relation;
  const bool joins = command->subtype == AT_AttachPartition || command->subtype == AT_AddInherit;
  const char* text = command->subtype == AT_AttachPartition ? "ATTACH PARTITION"
                     : partition                            ? "DETACH PARTITION"
                     : joins                                ? "INHERIT"
                                                            : "NO INHERIT";
  Oid parent = RangeVarGetRelid(parent_name, NoLock, true);
  Oid child = RangeVarGetRelid(child_name, NoLock, true);
  if (!OidIsValid(parent) || !OidIsValid(child)) return;
  if (!whole_table_watched(parent) && !whole_table_watched(child)) return;
  const char* earlier = nullptr;
  for (const LedgerAccess* a = s->accesses; a != nullptr; a = a->next) {
    if (a->relid == child && a->command == CMD_UTILITY) earlier = a->command_text;
  }
  LedgerAccess* a =
      note_whole_table_change(s, child, CMD_UTILITY, text, joins ? "attach" : "detach");
  if (earlier != nullptr && std::strcmp(earlier, text) != 0) {
    MemoryContext outer = MemoryContextSwitchTo(s->context);
    a->command_text = psprintf("%s, %s", earlier, text);
    MemoryContextSwitchTo(outer);
  }
}

// After the statement, under the locks it holds, so that a concurrent
// rename cannot move the names; one run by the statement itself (a CHECK it
// validates) still can, and the record then names the wrong table. The
// registration of a table that left (ledger_ddl.cpp) goes by oid instead.
void note_membership_changes(LedgerStatement* s) {
  ListCell* cell;
  foreach (cell, s->membership->cmds) {
    const auto* command = static_cast<const AlterTableCmd*>(lfirst(cell));
    if (changes_membership(command)) note_membership_change(s, s->membership, command);
  }
}

}  // namespace

LedgerStatement* ledger_utility_begin(const PlannedStmt* planned) {
  const Node* statement = planned->utilityStmt;
  const bool copy_from = IsA(statement, CopyStmt) && castNode(CopyStmt, statement)->is_from &&
                         castNode(CopyStmt, statement)->relation != nullptr;
  const char* utility = copy_from ? "COPY" : IsA(statement, TruncateStmt) ? "TRUNCATE" : nullptr;
  // Any DROP may reach a table (CASCADE, DROP SCHEMA, DROP EXTENSION, DROP
  // OWNED). Not a concurrent one: it commits inside, and the statement's
  // memory goes with the first commit (only indexes drop concurrently).
  if ((IsA(statement, DropStmt) && !castNode(DropStmt, statement)->concurrent) ||
      IsA(statement, DropOwnedStmt)) {
    utility = "DROP";
  }
  const bool membership =
      IsA(statement, AlterTableStmt) && changes_membership(castNode(AlterTableStmt, statement));
  if (membership) utility = "ALTER TABLE";
  if (utility == nullptr) return nullptr;
  if (!ledger_watching() || !ensure_phi_registry() || !phi_registry_nonempty()) return nullptr;
  if (restoring(copy_from)) return nullptr;
  LedgerStatement* s = open_utility_statement(planned, utility);
  if (membership) s->membership = castNode(AlterTableStmt, statement);
  if (copy_from) {
    const auto* copy = castNode(CopyStmt, statement);
    s->copy_from = copy->filename == nullptr ? "stdin" : (copy->is_program ? "program" : "file");
  }
  s->enclosing_utility = running_utility;
  running_utility = s;
  return s;
}

bool ledger_copy_awaits_target() noexcept {
  return running_utility != nullptr && is_copy(running_utility) &&
         !running_utility->copy_target_seen;
}

void ledger_note_copy_target(List* range_table) {
  LedgerStatement* s = running_utility;
  if (!ledger_copy_awaits_target() || range_table == NIL) return;
  // DoCopy checks the table it opened before it reads a row: this is that
  // table, whatever its name means by the time the COPY ends.
  s->copy_target_seen = true;
  const auto* rte = static_cast<const RangeTblEntry*>(linitial(range_table));
  if (rte->rtekind != RTE_RELATION) return;
  s->copy_target = rte->relid;
  if (copy_target_watched(rte->relid)) {
    (void)utility_access(s, rte->relid, CMD_INSERT, nullptr);  // its partitions' rows are its own
    return;
  }
  // Rows may be routed to any watched partition of the target: each is
  // listed, its rows not counted (which partitions got rows is not known).
  // Locked as a scan would, so that none is dropped while it is named.
  if (get_rel_relkind(rte->relid) != RELKIND_PARTITIONED_TABLE) return;
  List* reached = find_all_inheritors(rte->relid, AccessShareLock, nullptr);
  ListCell* cell;
  foreach (cell, reached) {
    Oid relid = lfirst_oid(cell);
    if (copy_target_watched(relid)) (void)utility_access(s, relid, CMD_INSERT, nullptr);
  }
}

void ledger_note_truncate(Oid relid) {
  LedgerStatement* s = running_utility;
  if (s == nullptr || is_copy(s) || !whole_table_watched(relid)) return;
  note_whole_table_change(s, relid, CMD_DELETE, "TRUNCATE", "truncate");
}

void ledger_note_drop(Oid relid) {
  LedgerStatement* s = running_utility;
  if (s == nullptr || std::strcmp(s->utility, "DROP") != 0 || !whole_table_watched(relid)) {
    return;
  }
  note_whole_table_change(s, relid, CMD_DELETE, "DROP", "drop");
}

void ledger_utility_failed(LedgerStatement* s) noexcept {
  if (s == nullptr) return;
  running_utility = s->enclosing_utility;
  forget_utility_statement(s);
}

void ledger_utility_end(LedgerStatement* s, const QueryCompletion* completion) {
  running_utility = s->enclosing_utility;
  if (s->membership != nullptr) note_membership_changes(s);
  // The rows went in under the identity captured at the start: one changed
  // since (by the COPY's WHERE, by a trigger) would leave a record naming
  // someone else. Refused, so the change is undone; only when a watched
  // table was reached.
  if (s->accesses == nullptr) {
    forget_utility_statement(s);
    return;
  }
  if (s->top_user != GetOuterUserId() || claims_changed_since(s)) {
    forget_utility_statement(s);
    ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                    errmsg("the role or the claims changed while a statement that changes patient "
                           "records ran")));
  }
  for (LedgerAccess* a = s->accesses; a != nullptr; a = a->next) {
    if (a->rows_unknown) continue;
    if (a->relid == s->copy_target && completion != nullptr &&
        completion->commandTag == CMDTAG_COPY) {
      a->rows = static_cast<int64>(completion->nprocessed);
    } else {
      a->rows_unknown = true;  // a partition of the target, or no count reported
    }
  }
  close_utility_statement(s);
}

}  // namespace careguard::pg
