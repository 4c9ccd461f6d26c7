// careguard adapter: which patients each statement disclosed or changed.
//
// At ExecutorStart, every scan node of a registered PHI table gets a wrapper
// around its ExecProcNodeReal: each tuple the scan returns (it has passed the
// scan's quals, RLS included) is read in the scan slot, and its patient id
// goes into the statement's set. The child of an INSERT (and the new values
// of an UPDATE that changes the patient column) is wrapped the same way, so
// written rows are counted from what is written. Statements nested in a
// top-level one (functions, triggers) add to its record; the top-level
// statement's ExecutorEnd, or its error, writes one record per relation and
// command to the spool (ledger_spool.cpp), outside the transaction.
//
// The frames here own no C++ objects (PostgreSQL may longjmp through them);
// the record text is built in ledger_record.cpp under contained().
#include <cstring>

#include "careguard/pg/catalog_names.hpp"
#include "careguard/pg/claims_source.hpp"
#include "careguard/pg/guard.hpp"
#include "careguard/pg/ledger.hpp"
#include "careguard/pg/ledger_internal.hpp"
#include "careguard/pg/login_settings.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "libpq/libpq-be.h"
#include "utils/acl.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/planner.h"
#include "parser/parsetree.h"
#include "storage/proc.h"
#include "utils/rls.h"
#include "utils/timestamp.h"
}

namespace careguard::pg {

bool in_ledger_writer = false;

namespace {
SubTransactionId probe_subxact = InvalidSubTransactionId;
}  // namespace

void note_access_matrix_probe(SubTransactionId subxact) {
  probe_subxact = subxact;
}

SubTransactionId ledger_internal_begin() {
  SubTransactionId previous = probe_subxact;
  probe_subxact = GetCurrentSubTransactionId();
  return previous;
}

void ledger_internal_end(SubTransactionId previous) {
  probe_subxact = previous;
}

namespace {

planner_hook_type previous_planner = nullptr;
ExecutorStart_hook_type previous_start = nullptr;
ExecutorRun_hook_type previous_run = nullptr;
ExecutorFinish_hook_type previous_finish = nullptr;
ExecutorEnd_hook_type previous_end = nullptr;

LedgerStatement* statements = nullptr;  // open top-level statements
QueryDesc* running_top = nullptr;       // the top-level query whose run is active
int run_depth = 0;
int64 statement_serial = 0;
// A statement of a foreign-key check's security context (SECURITY_NOFORCE_RLS)
// is being planned, started or run: what runs under it is not the check.
bool check_context_begun = false;

// Runs `step` (which owns nothing with a destructor: PostgreSQL may longjmp
// through it), marking the check's context begun when it is in force.
template <typename Step>
void in_check_context(Step step) {
  const bool saved = check_context_begun;
  if (InNoForceRLSOperation()) check_context_begun = true;
  PG_TRY();
  { step(); }
  PG_CATCH();
  {
    check_context_begun = saved;
    PG_RE_THROW();
  }
  PG_END_TRY();
  check_context_begun = saved;
}

// ---- statements and their accesses ----

LedgerStatement* statement_of(QueryDesc* top) {
  for (LedgerStatement* s = statements; s != nullptr; s = s->next) {
    if (s->owner == top) return s;
  }
  return nullptr;
}

LedgerStatement* open_statement(QueryDesc* top) {
  LedgerStatement* s = statement_of(top);
  if (s != nullptr) return s;
  MemoryContext cxt =
      AllocSetContextCreate(TopTransactionContext, "careguard ledger", ALLOCSET_SMALL_SIZES);
  s = static_cast<LedgerStatement*>(MemoryContextAllocZero(cxt, sizeof(LedgerStatement)));
  s->context = cxt;
  s->owner = top;
  s->copy_to = ledger_copy_destination;
  s->serial = ++statement_serial;
  capture_identity(s, top->plannedstmt, top->operation);
  s->next = statements;
  statements = s;
  return s;
}

LedgerAccess* access_for(LedgerStatement* s, Oid relid, CmdType command, Oid as_user) {
  Oid user = OidIsValid(as_user) ? as_user : GetUserId();
  bool nested = run_depth > 0;
  for (LedgerAccess* a = s->accesses; a != nullptr; a = a->next) {
    if (a->relid == relid && a->command == command && a->user == user && a->nested == nested) {
      return a;
    }
  }
  auto* a = static_cast<LedgerAccess*>(MemoryContextAllocZero(s->context, sizeof(LedgerAccess)));
  a->statement = s;
  a->relid = relid;
  a->command = command;
  a->user = user;
  a->nested = nested;
  a->relation = MemoryContextStrdup(s->context, remembered_relation_name(relid));
  a->user_name = MemoryContextStrdup(s->context, remembered_role_name(user));
  a->security_definer = user != s->top_user || InSecurityRestrictedOperation();
  classify_rls(a, relid, as_user);
  a->next = s->accesses;
  s->accesses = a;
  return a;
}

struct WalkContext {
  QueryDesc* query;
  LedgerStatement* statement;  // created on the first audited node
  QueryDesc* top;
  Index* append_parents;         // watched_entry()'s, made on first use
  const ModifyTable* modifying;  // the ModifyTable above the node, if any
};

// The command a scan of range-table entry `rti` serves: the enclosing
// ModifyTable's UPDATE, DELETE or MERGE for its own result relation (a
// writable CTE's too, under a SELECT), else SELECT.
CmdType scan_command(const WalkContext* walk, Index rti) {
  const ModifyTable* mt = walk->modifying;
  if (mt == nullptr || mt->operation == CMD_INSERT) return CMD_SELECT;
  return list_member_int(mt->resultRelations, static_cast<int>(rti)) ? mt->operation : CMD_SELECT;
}

LedgerStatement* walk_statement(WalkContext* walk) {
  if (walk->statement == nullptr) walk->statement = open_statement(walk->top);
  return walk->statement;
}

void wrap_modify_table(ModifyTableState* mt, WalkContext* walk) {
  auto* plan = reinterpret_cast<ModifyTable*>(mt->ps.plan);
  if (plan->operation != CMD_INSERT && plan->operation != CMD_UPDATE) return;
  if (plan->resultRelations == NIL) return;
  // Several result relations are the partitions or children of the one the
  // statement named; their new values come from one subplan, in one order.
  Index rti = static_cast<Index>(linitial_int(plan->resultRelations));
  WatchedEntry target = watched_entry(walk->query->plannedstmt, &walk->append_parents, rti);
  if (target.column < 0) return;
  if (list_length(plan->resultRelations) > 1 &&
      target.recorded_as == rt_fetch(rti, walk->query->plannedstmt->rtable)) {
    return;
  }
  AttrNumber column = target.column;
  AttrNumber position = column;
  if (plan->operation == CMD_UPDATE) {
    // The new values of the changed columns: only when the patient changes.
    position = 0;
    if (column > 0 && plan->updateColnosLists != NIL) {
      int index = 0;
      ListCell* cell;
      foreach (cell, static_cast<List*>(linitial(plan->updateColnosLists))) {
        ++index;
        if (lfirst_int(cell) == column) position = static_cast<AttrNumber>(index);
      }
    }
    if (position == 0) return;
  }
  PlanState* child = outerPlanState(mt);
  if (child == nullptr) return;
  LedgerAccess* access = access_for(walk_statement(walk), target.recorded_as->relid,
                                    plan->operation, target.recorded_as->checkAsUser);
  if (target.column_lost) access->ids_incomplete = true;
  bool is_update = plan->operation == CMD_UPDATE;
  if (is_update) access->has_new_ids = true;
  add_wrap(child, access, position, true, walk->query, !is_update);
}

bool wrap_audited_nodes(PlanState* node, void* context) {
  if (node == nullptr) return false;
  auto* walk = static_cast<WalkContext*>(context);
  if (IsA(node, ModifyTableState)) {
    wrap_modify_table(reinterpret_cast<ModifyTableState*>(node), walk);
    const ModifyTable* outer = walk->modifying;
    walk->modifying = reinterpret_cast<const ModifyTable*>(node->plan);
    bool stop = planstate_tree_walker(
        node, reinterpret_cast<bool (*)()>(reinterpret_cast<void (*)()>(wrap_audited_nodes)),
        context);
    walk->modifying = outer;
    return stop;
  }
  Plan* plan = node->plan;
  Index scanrelid = 0;
  switch (nodeTag(plan)) {
    case T_SeqScan:
    case T_SampleScan:
    case T_IndexScan:
    case T_IndexOnlyScan:
    case T_BitmapHeapScan:
    case T_TidScan:
    case T_TidRangeScan:
      scanrelid = reinterpret_cast<Scan*>(plan)->scanrelid;
      break;
    default:
      break;
  }
  if (scanrelid > 0) {
    PlannedStmt* planned = walk->query->plannedstmt;
    WatchedEntry scanned = watched_entry(planned, &walk->append_parents, scanrelid);
    AttrNumber column = scanned.column;
    if (column >= 0) {
      CmdType command = scan_command(walk, scanrelid);
      LedgerAccess* access = access_for(walk_statement(walk), scanned.recorded_as->relid, command,
                                        scanned.recorded_as->checkAsUser);
      if (scanned.column_lost) access->ids_incomplete = true;
      AttrNumber position = column;
      if (IsA(plan, IndexOnlyScan) && column > 0) {
        position = index_only_position(reinterpret_cast<IndexOnlyScan*>(plan), column);
        if (position == 0) access->ids_incomplete = true;
      }
      add_wrap(node, access, position, false, walk->query);
    }
  }
  return planstate_tree_walker(
      node, reinterpret_cast<bool (*)()>(reinterpret_cast<void (*)()>(wrap_audited_nodes)),
      context);
}

bool statement_is_audited(QueryDesc* query, int eflags) {
  // A parallel worker records what it scanned itself (a PARALLEL SAFE
  // function's reads among it), marked with its leader's pid.
  if (!ledger_enabled || in_ledger_writer) return false;
  if (probe_subxact != InvalidSubTransactionId) return false;
  // A foreign-key check (PostgreSQL runs it with SECURITY_NOFORCE_RLS)
  // returns nothing to anyone: not a disclosure. Its ON DELETE/UPDATE
  // actions (the same security context) change the referencing rows, and
  // what runs inside one (a trigger, a default) keeps the context: only a
  // statement that starts it (check_context_begun), shaped as the check, is
  // the check.
  if (InNoForceRLSOperation() && !check_context_begun &&
      is_foreign_key_check_shape(query->plannedstmt)) {
    return false;
  }
  if ((eflags & EXEC_FLAG_EXPLAIN_ONLY) != 0) return false;
  if (!ensure_phi_registry()) return false;
  if (!phi_registry_nonempty()) return false;
  return range_table_audited(query->plannedstmt->rtable);
}

void emit_and_close(LedgerStatement* s, bool aborted) {
  if (s->emitted) return;
  s->emitted = true;
  s->aborted = aborted;
  write_statement_records(s);
}

void forget_statement(LedgerStatement* s) {
  LedgerStatement** link = &statements;
  while (*link != nullptr && *link != s) link = &(*link)->next;
  if (*link == s) *link = s->next;
  orphan_wraps_of(s);
  MemoryContextDelete(s->context);
}

// A top-level query that failed: its record is written now, marked
// aborted, and it is forgotten (no ExecutorEnd will come; its address may
// be reused by the next query).
void abandon_statement(QueryDesc* query) {
  remove_wraps_of(query);
  LedgerStatement* s = statement_of(query);
  if (s == nullptr) return;
  emit_and_close(s, true);
  forget_statement(s);
}

// ---- hooks ----

void on_start(QueryDesc* query, int eflags) {
  // What the start runs (startup partition pruning can call a cast) runs
  // under the statement, in the check's context.
  in_check_context([&] {
    if (previous_start != nullptr) {
      previous_start(query, eflags);
    } else {
      standard_ExecutorStart(query, eflags);
    }
  });
  if (!statement_is_audited(query, eflags)) return;
  QueryDesc* top = run_depth > 0 && running_top != nullptr ? running_top : query;
  // A statement's records name the user it captured: one changed since (SET
  // ROLE inside a function the statement called) would read rows under a
  // name the records do not carry.
  const LedgerStatement* open = top != query ? statement_of(top) : nullptr;
  if (open != nullptr && open->top_user != GetOuterUserId()) {
    ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                    errmsg("the role changed while a statement that reads patient records runs"),
                    errhint("Change the role (SET ROLE) before the statement, not inside it.")));
  }
  WalkContext walk{query, nullptr, top, nullptr, nullptr};
  // What the walk allocates goes with the query: a SQL function's query
  // starts in the function's context, which lives until the outer query ends.
  MemoryContext caller = MemoryContextSwitchTo(query->estate->es_query_cxt);
  wrap_audited_nodes(query->planstate, &walk);
  MemoryContextSwitchTo(caller);
}

// Runs one executor step of `query` (its run or its finish), as the top
// level when no statement runs yet. A top-level step that fails has its
// record written now: rows already sent were disclosed. `step` owns nothing
// with a destructor (PostgreSQL may longjmp through it).
template <typename Step>
void run_step(QueryDesc* query, Step step) {
  bool top = run_depth == 0;
  QueryDesc* saved_top = running_top;
  if (top) running_top = query;
  ++run_depth;
  PG_TRY();
  { in_check_context(step); }
  PG_CATCH();
  {
    --run_depth;
    running_top = saved_top;
    if (top) abandon_statement(query);
    PG_RE_THROW();
  }
  PG_END_TRY();
  --run_depth;
  running_top = saved_top;
}

void on_run(QueryDesc* query, ScanDirection direction, uint64 count, bool execute_once) {
  run_step(query, [&] {
    if (previous_run != nullptr) {
      previous_run(query, direction, count, execute_once);
    } else {
      standard_ExecutorRun(query, direction, count, execute_once);
    }
  });
}

void on_finish(QueryDesc* query) {
  run_step(query, [&] {
    if (previous_finish != nullptr) {
      previous_finish(query);
    } else {
      standard_ExecutorFinish(query);
    }
  });
}

void on_end(QueryDesc* query) {
  remove_wraps_of(query);
  LedgerStatement* s = statement_of(query);
  if (s != nullptr) {
    s->processed = query->estate != nullptr ? query->estate->es_processed : 0;
    emit_and_close(s, false);
    forget_statement(s);
  }
  if (previous_end != nullptr) {
    previous_end(query);
  } else {
    standard_ExecutorEnd(query);
  }
}

// A statement touching a PHI table runs without parallel workers: a worker's
// scan returns tuples the leader's wrappers never see.
PlannedStmt* on_plan(Query* parse, const char* query_string, int options, ParamListInfo params) {
  if ((options & CURSOR_OPT_PARALLEL_OK) != 0 && ledger_enabled && !in_ledger_writer &&
      !IsParallelWorker() && ensure_phi_registry() && phi_registry_nonempty() &&
      // The statement's own relations first, before any expression is
      // walked: a direct read of a PHI table, the common case, is found at once.
      (range_table_audited(parse->rtable) ||
       query_reads_audited(reinterpret_cast<Node*>(parse), nullptr))) {
    options &= ~CURSOR_OPT_PARALLEL_OK;
  }
  // Functions the planner runs (constant folding, estimates) run under the
  // statement, in the check's context.
  PlannedStmt* planned = nullptr;
  in_check_context([&] {
    planned = previous_planner != nullptr ? previous_planner(parse, query_string, options, params)
                                          : standard_planner(parse, query_string, options, params);
  });
  return planned;
}

void on_transaction_end(XactEvent event, void*) {
  if (event != XACT_EVENT_COMMIT && event != XACT_EVENT_ABORT && event != XACT_EVENT_PREPARE &&
      event != XACT_EVENT_PARALLEL_COMMIT && event != XACT_EVENT_PARALLEL_ABORT) {
    return;
  }
  // A statement that ended without ExecutorEnd (an error outside its run)
  // is still recorded; its memory goes with TopTransactionContext.
  for (LedgerStatement* s = statements; s != nullptr; s = s->next) {
    emit_and_close(s, event != XACT_EVENT_COMMIT);
  }
  statements = nullptr;
  ledger_copy_destination = nullptr;  // however its COPY ended
  probe_subxact = InvalidSubTransactionId;
  running_top = nullptr;
  run_depth = 0;
  check_context_begun = false;
  forget_all_wraps();
}

void on_subtransaction_end(SubXactEvent event, SubTransactionId subxact, SubTransactionId, void*) {
  if ((event == SUBXACT_EVENT_ABORT_SUB || event == SUBXACT_EVENT_COMMIT_SUB) &&
      subxact == probe_subxact) {
    probe_subxact = InvalidSubTransactionId;
  }
  if (event == SUBXACT_EVENT_ABORT_SUB) forget_wraps_since(subxact);
}

}  // namespace

bool claims_changed_since(const LedgerStatement* s) {
  return s->identity_inputs != nullptr &&
         !identity_inputs_equal(s->identity_inputs, s->identity_inputs_size);
}

bool ledger_watching() noexcept {
  return ledger_enabled && !in_ledger_writer && probe_subxact == InvalidSubTransactionId;
}

LedgerStatement* open_utility_statement(const PlannedStmt* planned, const char* utility) {
  MemoryContext cxt =
      AllocSetContextCreate(TopTransactionContext, "careguard ledger", ALLOCSET_SMALL_SIZES);
  auto* s = static_cast<LedgerStatement*>(MemoryContextAllocZero(cxt, sizeof(LedgerStatement)));
  s->context = cxt;
  s->utility = utility;
  s->serial = ++statement_serial;
  capture_identity(s, planned, CMD_UTILITY);
  return s;
}

LedgerAccess* utility_access(LedgerStatement* s, Oid relid, CmdType command,
                             const char* command_text) {
  // Open, for the identity refusals, from the first watched table on: a
  // COPY or TRUNCATE of tables nobody watches is left alone.
  if (s->accesses == nullptr) {
    s->next = statements;
    statements = s;
  }
  LedgerAccess* a = access_for(s, relid, command, InvalidOid);
  a->command_text = command_text;
  a->ids_incomplete = true;  // no per-row hook: the rows' patients are not known
  return a;
}

void close_utility_statement(LedgerStatement* s) noexcept {
  emit_and_close(s, false);
  forget_statement(s);
}

void forget_utility_statement(LedgerStatement* s) noexcept {
  forget_statement(s);
}

bool ledger_statement_open() noexcept {
  for (const LedgerStatement* s = statements; s != nullptr; s = s->next) {
    if (!s->emitted) return true;
  }
  return false;
}

bool ledger_identity_unchanged() {
  // careguard's own probes (the access matrix, plans under each persona)
  // switch claims by design; their reads are not ledgered, and roll back.
  if (probe_subxact != InvalidSubTransactionId) return true;
  for (const LedgerStatement* s = statements; s != nullptr; s = s->next) {
    if (!s->emitted && claims_changed_since(s)) return false;
  }
  return true;
}

void install_ledger_hooks() {
  previous_planner = planner_hook;
  planner_hook = on_plan;
  previous_start = ExecutorStart_hook;
  ExecutorStart_hook = on_start;
  previous_run = ExecutorRun_hook;
  ExecutorRun_hook = on_run;
  previous_finish = ExecutorFinish_hook;
  ExecutorFinish_hook = on_finish;
  previous_end = ExecutorEnd_hook;
  ExecutorEnd_hook = on_end;
  RegisterXactCallback(on_transaction_end, nullptr);
  RegisterSubXactCallback(on_subtransaction_end, nullptr);
  register_phi_registry_invalidation();
}

}  // namespace careguard::pg
