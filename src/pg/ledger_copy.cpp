// careguard adapter: COPY table TO under the ledger.
//
// COPY table TO reads the heap without the executor, so the ledger's
// executor hooks would see nothing of it when row-level security does not
// apply (service_role, BYPASSRLS, a superuser's pg_dump). For a table the
// ledger watches it is run as COPY (SELECT columns FROM ONLY table) TO, the
// form PostgreSQL itself turns it into when row-level security applies
// (DoCopy), with the columns COPY would have written (never a generated
// one), so the output is the same and its rows are recorded like a query's,
// marked as a COPY with its destination.
#include "careguard/pg/ledger.hpp"
#include "careguard/pg/ledger_internal.hpp"

#include <cstring>

extern "C" {
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "nodes/makefuncs.h"
#include "nodes/parsenodes.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
}

namespace careguard::pg {

const char* ledger_copy_destination = nullptr;

namespace {

ResTarget* column_target(const char* name) {
  ColumnRef* column = makeNode(ColumnRef);
  column->fields = list_make1(makeString(pstrdup(name)));
  column->location = -1;
  ResTarget* target = makeNode(ResTarget);
  target->val = reinterpret_cast<Node*>(column);
  target->location = -1;
  return target;
}

// The columns COPY would write: the list as given when each name is a
// column COPY accepts (not dropped, not generated, named once), else every
// such column in order, as CopyGetAttnums chooses them. nullptr: the list
// names something COPY refuses, so COPY is left to say so.
List* copied_columns(Relation relation, List* attlist) {
  TupleDesc desc = RelationGetDescr(relation);
  List* targets = NIL;
  if (attlist == NIL) {
    for (int i = 0; i < desc->natts; ++i) {
      Form_pg_attribute attribute = TupleDescAttr(desc, i);
      if (attribute->attisdropped || attribute->attgenerated != '\0') continue;
      targets = lappend(targets, column_target(NameStr(attribute->attname)));
    }
    return targets;
  }
  List* seen = NIL;
  ListCell* cell;
  foreach (cell, attlist) {
    const char* name = strVal(lfirst(cell));
    int found = -1;
    for (int i = 0; i < desc->natts; ++i) {
      Form_pg_attribute attribute = TupleDescAttr(desc, i);
      if (!attribute->attisdropped && std::strcmp(NameStr(attribute->attname), name) == 0) {
        found = i;
        break;
      }
    }
    if (found < 0 || TupleDescAttr(desc, found)->attgenerated != '\0' ||
        list_member_int(seen, found)) {
      return nullptr;
    }
    seen = lappend_int(seen, found);
    targets = lappend(targets, column_target(name));
  }
  return targets;
}

}  // namespace

PlannedStmt* ledger_copy_as_query(PlannedStmt* planned) {
  ledger_copy_destination = nullptr;
  Node* statement = planned->utilityStmt;
  if (!ledger_enabled || in_ledger_writer || statement == nullptr || !IsA(statement, CopyStmt)) {
    return planned;
  }
  const auto* copy = reinterpret_cast<const CopyStmt*>(statement);
  if (copy->is_from) return planned;
  const char* destination =
      copy->filename == nullptr ? "stdout" : (copy->is_program ? "program" : "file");
  if (copy->query != nullptr) {
    ledger_copy_destination = destination;  // COPY (query) TO: recorded as a COPY too
    return planned;
  }
  if (copy->relation == nullptr) return planned;
  // COPY TO takes this lock itself; taken here, the names read below cannot
  // vanish under a concurrent DROP.
  Oid relid = RangeVarGetRelid(copy->relation, AccessShareLock, true);
  if (!OidIsValid(relid) || get_rel_relkind(relid) != RELKIND_RELATION) return planned;
  if (!ensure_phi_registry() || (phi_patient_column(relid) <= 0 && !in_phi_schema(relid))) {
    return planned;
  }
  Relation relation = table_open(relid, NoLock);
  List* targets = copied_columns(relation, copy->attlist);
  char* schema = get_namespace_name(RelationGetNamespace(relation));
  char* name = pstrdup(RelationGetRelationName(relation));
  table_close(relation, NoLock);
  if (targets == nullptr || targets == NIL || schema == nullptr) return planned;
  RangeVar* from = makeRangeVar(schema, name, -1);
  from->inh = false;
  SelectStmt* select = makeNode(SelectStmt);
  select->targetList = targets;
  select->fromClause = list_make1(from);
  // The tree may be the plan cache's (read_only_tree): change copies only.
  CopyStmt* rewritten = makeNode(CopyStmt);
  *rewritten = *copy;
  rewritten->relation = nullptr;
  rewritten->attlist = NIL;
  rewritten->query = reinterpret_cast<Node*>(select);
  PlannedStmt* replanned = makeNode(PlannedStmt);
  *replanned = *planned;
  replanned->utilityStmt = reinterpret_cast<Node*>(rewritten);
  ledger_copy_destination = destination;
  return replanned;
}

}  // namespace careguard::pg
