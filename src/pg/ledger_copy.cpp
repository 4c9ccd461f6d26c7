// careguard adapter: COPY table TO under the ledger.
//
// COPY table TO reads the heap without the executor, so the ledger's
// executor hooks would see nothing of it when row-level security does not
// apply (service_role, BYPASSRLS, a superuser's pg_dump). For a table the
// ledger watches it is run as COPY (SELECT columns FROM ONLY table) TO: the
// form PostgreSQL itself turns it into when row-level security applies
// (DoCopy), so the output is the same and its rows are recorded like a
// query's.
#include "careguard/pg/ledger.hpp"
#include "careguard/pg/ledger_internal.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "nodes/makefuncs.h"
#include "nodes/parsenodes.h"
#include "utils/lsyscache.h"
}

namespace careguard::pg {

namespace {

// SELECT <attlist, or *> FROM ONLY <schema>.<table>
Node* select_of(Oid relid, List* attlist) {
  List* targets = NIL;
  if (attlist == NIL) {
    ColumnRef* all = makeNode(ColumnRef);
    all->fields = list_make1(makeNode(A_Star));
    all->location = -1;
    ResTarget* target = makeNode(ResTarget);
    target->val = reinterpret_cast<Node*>(all);
    target->location = -1;
    targets = list_make1(target);
  } else {
    ListCell* cell;
    foreach (cell, attlist) {
      ColumnRef* column = makeNode(ColumnRef);
      column->fields = list_make1(makeString(pstrdup(strVal(lfirst(cell)))));
      column->location = -1;
      ResTarget* target = makeNode(ResTarget);
      target->val = reinterpret_cast<Node*>(column);
      target->location = -1;
      targets = lappend(targets, target);
    }
  }
  RangeVar* from =
      makeRangeVar(get_namespace_name(get_rel_namespace(relid)), get_rel_name(relid), -1);
  from->inh = false;
  SelectStmt* select = makeNode(SelectStmt);
  select->targetList = targets;
  select->fromClause = list_make1(from);
  return reinterpret_cast<Node*>(select);
}

}  // namespace

PlannedStmt* ledger_copy_as_query(PlannedStmt* planned) {
  Node* statement = planned->utilityStmt;
  if (!ledger_enabled || in_ledger_writer || statement == nullptr || !IsA(statement, CopyStmt)) {
    return planned;
  }
  const auto* copy = reinterpret_cast<const CopyStmt*>(statement);
  if (copy->is_from || copy->relation == nullptr || copy->query != nullptr) return planned;
  Oid relid = RangeVarGetRelid(copy->relation, NoLock, true);
  if (!OidIsValid(relid) || get_rel_relkind(relid) != RELKIND_RELATION) return planned;
  if (!ensure_phi_registry() || (phi_patient_column(relid) <= 0 && !in_phi_schema(relid))) {
    return planned;
  }
  // The tree may be the plan cache's (read_only_tree): change copies only.
  CopyStmt* rewritten = makeNode(CopyStmt);
  *rewritten = *copy;
  rewritten->relation = nullptr;
  rewritten->query = select_of(relid, copy->attlist);
  PlannedStmt* replanned = makeNode(PlannedStmt);
  *replanned = *planned;
  replanned->utilityStmt = reinterpret_cast<Node*>(rewritten);
  return replanned;
}

}  // namespace careguard::pg
