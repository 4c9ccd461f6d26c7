// careguard adapter: the ledger's records of the two utility statements that
// change a watched table without the executor. COPY table FROM writes its
// rows straight to the heap, and TRUNCATE removes every row at once; neither
// passes a plan node the ledger could wrap, and PostgreSQL has no per-row
// hook for them. Their records say who changed which table, when, how many
// rows COPY wrote and that row-level security did not apply, with no patient
// ids (ids_exact false): a patient's accounting cannot list them, the
// security officer's review of the ledger does.
#include <cstring>

#include "careguard/pg/ledger.hpp"
#include "careguard/pg/ledger_internal.hpp"
#include "careguard/pg/policy_gate.hpp"

extern "C" {
#include "catalog/heap.h"
#include "catalog/namespace.h"
#include "catalog/pg_inherits.h"
#include "nodes/parsenodes.h"
#include "utils/rls.h"
}

namespace careguard::pg {

namespace {

// COPY FROM reaches only a table row-level security does not apply to
// (PostgreSQL refuses it otherwise): a registered table, or any table of a
// PHI schema, since every bypass there is recorded.
bool copy_target_watched(Oid relid) {
  return phi_patient_column(relid) > 0 ||
         (in_phi_schema(relid) && check_enable_rls(relid, InvalidOid, true) == RLS_NONE_ENV);
}

void record_copy_from(const PlannedStmt* planned, const CopyStmt* copy,
                      const QueryCompletion* completion) {
  if (copy->relation == nullptr) return;
  // COPY FROM holds its lock on the table until the transaction ends.
  Oid relid = RangeVarGetRelid(copy->relation, NoLock, true);
  if (!OidIsValid(relid) || !copy_target_watched(relid)) return;
  LedgerStatement* s = open_utility_statement(planned, "COPY");
  s->copy_from = copy->filename == nullptr ? "stdin" : (copy->is_program ? "program" : "file");
  LedgerAccess* a = utility_access(s, relid, CMD_INSERT, nullptr);
  if (completion != nullptr && completion->commandTag == CMDTAG_COPY) {
    a->rows = static_cast<int64>(completion->nprocessed);
  } else {
    a->rows_unknown = true;
  }
  close_utility_statement(s);
}

// The tables TRUNCATE emptied, resolved as ExecuteTruncate did (it holds
// an ACCESS EXCLUSIVE lock on each until the transaction ends): the named
// ones, their inheritors unless ONLY, and with CASCADE every table that
// references one of them by a foreign key.
List* truncated_relations(const TruncateStmt* truncate) {
  List* relids = NIL;
  ListCell* cell;
  foreach (cell, truncate->relations) {
    auto* range = lfirst_node(RangeVar, cell);
    Oid relid = RangeVarGetRelid(range, NoLock, true);
    if (!OidIsValid(relid)) continue;
    if (range->inh) {
      relids = list_concat_unique_oid(relids, find_all_inheritors(relid, NoLock, nullptr));
    } else {
      relids = list_append_unique_oid(relids, relid);
    }
  }
  while (truncate->behavior == DROP_CASCADE) {
    List* referencing = list_difference_oid(heap_truncate_find_FKs(relids), relids);
    if (referencing == NIL) break;
    relids = list_concat(relids, referencing);
  }
  return relids;
}

// TRUNCATE is not subject to row-level security: for every role it is a
// bypass, recorded for a registered table or a PHI schema's table that has
// row-level security.
void record_truncate(const PlannedStmt* planned, const TruncateStmt* truncate) {
  LedgerStatement* s = nullptr;
  ListCell* cell;
  foreach (cell, truncated_relations(truncate)) {
    Oid relid = lfirst_oid(cell);
    if (phi_patient_column(relid) <= 0 &&
        (!in_phi_schema(relid) || check_enable_rls(relid, InvalidOid, true) == RLS_NONE)) {
      continue;
    }
    if (s == nullptr) s = open_utility_statement(planned, "TRUNCATE");
    LedgerAccess* a = utility_access(s, relid, CMD_DELETE, "TRUNCATE");
    a->rows_unknown = true;
    if (std::strcmp(a->rls, "disabled") != 0 && a->bypass_reason == nullptr) {
      a->rls = "bypassed";
      a->bypass_reason = "truncate";
    }
  }
  if (s != nullptr) close_utility_statement(s);
}

}  // namespace

void ledger_record_utility(const PlannedStmt* planned, const QueryCompletion* completion) {
  const Node* statement = planned->utilityStmt;
  if (statement == nullptr || !ledger_watching()) return;
  const bool copy_from = IsA(statement, CopyStmt) && castNode(CopyStmt, statement)->is_from;
  if (!copy_from && !IsA(statement, TruncateStmt)) return;
  if (!ensure_phi_registry() || !phi_registry_nonempty()) return;
  // A superuser's pg_restore reloads rows whose history is the source's
  // ledger, while that ledger is being reloaded too: a record of its own
  // would take a sequence number a restored record holds. A superuser could
  // switch the ledger off for the session anyway.
  if (is_superuser_restore_session()) return;
  if (copy_from) {
    record_copy_from(planned, castNode(CopyStmt, statement), completion);
  } else {
    record_truncate(planned, castNode(TruncateStmt, statement));
  }
}

}  // namespace careguard::pg
