// careguard adapter: which relations the ledger watches, and under which
// name a scanned or written relation is recorded.
#include "careguard/pg/catalog_scan.hpp"
#include "careguard/pg/ledger.hpp"
#include "careguard/pg/ledger_internal.hpp"

extern "C" {
#include "catalog/pg_class.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "nodes/pathnodes.h"
#include "parser/parsetree.h"
#include "utils/lsyscache.h"
#include "utils/rls.h"
}

namespace careguard::pg {

namespace {

// The relation the statement named, for a partition or inheritance child
// the planner expanded it to (parents: by range-table index, from
// appendRelations, made on first use).
Index named_relation(PlannedStmt* planned, Index** parents, Index rti) {
  if (planned->appendRelations == NIL) return rti;
  const int length = list_length(planned->rtable);
  if (*parents == nullptr) {
    *parents = static_cast<Index*>(palloc0(sizeof(Index) * (length + 1)));
    ListCell* cell;
    foreach (cell, planned->appendRelations) {
      auto* info = static_cast<AppendRelInfo*>(lfirst(cell));
      if (info->child_relid <= static_cast<Index>(length)) {
        (*parents)[info->child_relid] = info->parent_relid;
      }
    }
  }
  for (int step = 0; step < length && (*parents)[rti] != 0; ++step) {
    Index parent = (*parents)[rti];
    if (rt_fetch(parent, planned->rtable)->rtekind != RTE_RELATION) break;
    rti = parent;
  }
  return rti;
}

}  // namespace

AttrNumber watched_column(Oid relid, Oid as_user) {
  AttrNumber column = phi_patient_column(relid);
  if (column > 0) return column;
  if (!in_phi_schema(relid)) return -1;
  if (check_enable_rls(relid, as_user, true) != RLS_NONE_ENV) return -1;
  return 0;
}

AttrNumber audited_column(const RangeTblEntry* rte) {
  return rte->rtekind == RTE_RELATION ? watched_column(rte->relid, rte->checkAsUser) : -1;
}

bool range_table_audited(List* range_table) {
  ListCell* cell;
  foreach (cell, range_table) {
    if (audited_column(static_cast<RangeTblEntry*>(lfirst(cell))) >= 0) return true;
  }
  return false;
}

bool query_reads_audited(Node* node, void* context) {
  if (node == nullptr) return false;
  if (IsA(node, RangeTblEntry)) {
    auto* rte = reinterpret_cast<RangeTblEntry*>(node);
    return audited_column(rte) >= 0;
  }
  if (IsA(node, Query)) {
    return query_tree_walker(
        reinterpret_cast<Query*>(node),
        reinterpret_cast<bool (*)()>(reinterpret_cast<void (*)()>(query_reads_audited)), context,
        QTW_EXAMINE_RTES_BEFORE);
  }
  return expression_tree_walker(
      node, reinterpret_cast<bool (*)()>(reinterpret_cast<void (*)()>(query_reads_audited)),
      context);
}

namespace {

// What a plan returns holds constants only (junk columns aside).
bool returns_constants(const Plan* plan) {
  ListCell* cell;
  if (IsA(plan, Append)) {  // a partitioned table's partitions
    foreach (cell, reinterpret_cast<const Append*>(plan)->appendplans) {
      if (!returns_constants(static_cast<const Plan*>(lfirst(cell)))) return false;
    }
    return true;
  }
  foreach (cell, plan->targetlist) {
    const auto* entry = static_cast<const TargetEntry*>(lfirst(cell));
    if (!entry->resjunk && !IsA(entry->expr, Const)) return false;
  }
  return true;
}

}  // namespace

// PostgreSQL's foreign-key check, SELECT 1 FROM ONLY t x WHERE ... FOR KEY
// SHARE OF x: a row lock over a scan that returns constants only, so
// skipping it skips nothing but whether a key exists.
bool is_foreign_key_check_shape(const PlannedStmt* planned) {
  if (planned->commandType != CMD_SELECT || planned->rowMarks == NIL) return false;
  // PostgreSQL runs the check as the owner of the table it reads: a
  // statement a rule adds to a foreign-key action runs as the action's
  // table owner, and reads some other owner's table.
  ListCell* entry;
  foreach (entry, planned->rtable) {
    const auto* rte = static_cast<const RangeTblEntry*>(lfirst(entry));
    if (rte->rtekind == RTE_RELATION &&
        syscache_field(RELOID, rte->relid, &FormData_pg_class::relowner, InvalidOid) !=
            GetUserId()) {
      return false;
    }
  }
  const Plan* lock = planned->planTree;
  if (lock == nullptr || !IsA(lock, LockRows) || lock->lefttree == nullptr) return false;
  return returns_constants(lock->lefttree);
}

// A partition reached through the table the statement named is recorded
// under that table, with its row-level security (the partition's own
// policies do not apply); its patient column is the named table's, found by
// name (a partition's columns may sit in another order).
WatchedEntry watched_entry(PlannedStmt* planned, Index** parents, Index rti) {
  RangeTblEntry* rte = rt_fetch(rti, planned->rtable);
  RangeTblEntry* named = rt_fetch(named_relation(planned, parents, rti), planned->rtable);
  if (named != rte) {
    AttrNumber named_column = audited_column(named);
    if (named_column == 0) return {0, named, false};
    if (named_column > 0) {
      char* name = get_attname(named->relid, named_column, true);
      AttrNumber column = name == nullptr ? InvalidAttrNumber : get_attnum(rte->relid, name);
      if (column > 0) return {column, named, false};
      return {0, named, true};
    }
  }
  return {audited_column(rte), rte, false};
}

AttrNumber index_only_position(IndexOnlyScan* scan, AttrNumber column) {
  AttrNumber position = 0;
  ListCell* cell;
  foreach (cell, scan->indextlist) {
    ++position;
    auto* entry = static_cast<TargetEntry*>(lfirst(cell));
    if (IsA(entry->expr, Var) && reinterpret_cast<Var*>(entry->expr)->varattno == column &&
        !entry->resjunk) {
      return position;
    }
  }
  return 0;
}

}  // namespace careguard::pg
