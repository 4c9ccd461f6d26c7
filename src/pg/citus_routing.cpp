// careguard adapter: router plans on Citus when a policy names the tenant.
//
// Citus prunes shards with the query's own WHERE clause only, and for a
// SELECT only with constants (or parameters); the row-security qualifiers a
// policy adds (provider_id = auth.provider_id()) play no part, so a provider's
// dashboard would go to every shard (Citus #7415). On a node of a Citus
// cluster, this planner hook copies such a comparison, with the claim's value
// of this moment as a constant, into the query's WHERE clause. The policy
// implies it, so no row changes; Citus then routes to one shard.
//
// A plan holding a claim's value must never serve another identity:
//  * next to the constant goes auth.pinned_claim_matches(claim, value),
//    which raises CG003 where the rows are read if the identity differs
//    (a prepared statement reused after the claims changed mid-transaction);
//  * at the end of a transaction that pinned a value, every cached plan of the
//    backend is invalidated (ResetPlanCache), so no pinned plan outlives the
//    transaction whose identity it holds.
#include "careguard/pg/citus_routing.hpp"

#include <cstring>

#include "careguard/pg/catalog_scan.hpp"
#include "careguard/pg/claim_settings.hpp"
#include "careguard/pg/claims_source.hpp"
#include "careguard/pg/guard.hpp"
#include "careguard/pg/node_identity.hpp"
#include "careguard/pg/security_settings.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "catalog/pg_collation.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/planner.h"
#include "parser/parse_func.h"
#include "utils/fmgroids.h"
#include "utils/plancache.h"
}

extern "C" {
PG_FUNCTION_INFO_V1(careguard_pinned_claim_matches);
Datum careguard_auth_uid(PG_FUNCTION_ARGS);
Datum careguard_auth_provider_id(PG_FUNCTION_ARGS);
}

namespace careguard::pg {

namespace {

planner_hook_type previous_planner = nullptr;
bool pinned_this_transaction = false;

// The helper a comparison calls, if it is careguard's auth.uid() or
// auth.provider_id() (C functions in schema auth).
Oid function_language(Oid funcid) {
  return syscache_field(PROCOID, funcid, &FormData_pg_proc::prolang, InvalidOid);
}

template <typename T>
T* copy_node(const T* node) {
  return static_cast<T*>(copyObjectImpl(node));
}

const char* pinnable_claim(Oid funcid) {
  if (function_language(funcid) != ClanguageId) return nullptr;
  const char* schema = get_namespace_name(get_func_namespace(funcid));
  if (schema == nullptr || std::strcmp(schema, "auth") != 0) return nullptr;
  const char* name = get_func_name(funcid);
  if (name == nullptr) return nullptr;
  if (std::strcmp(name, "provider_id") == 0) return "provider_id";
  if (std::strcmp(name, "uid") == 0) return "sub";
  return nullptr;
}

Oid guard_function() {
  Oid argtypes[2] = {TEXTOID, UUIDOID};
  return LookupFuncName(
      list_make2(makeString(pstrdup("auth")), makeString(pstrdup("pinned_claim_matches"))), 2,
      argtypes, true);
}

// For `column = helper()` in a row-security qualifier of range table entry
// `rtindex`: the two quals to add (column = <value now>, and the guard).
List* pins_for(Expr* conjunct, Index rtindex, Oid guard) {
  if (!IsA(conjunct, OpExpr)) return NIL;
  auto* op = reinterpret_cast<OpExpr*>(conjunct);
  if (list_length(op->args) != 2 || get_opcode(op->opno) != F_UUID_EQ) return NIL;
  Node* left = static_cast<Node*>(linitial(op->args));
  Node* right = static_cast<Node*>(lsecond(op->args));
  if (!IsA(left, Var)) std::swap(left, right);
  if (!IsA(left, Var) || !IsA(right, FuncExpr)) return NIL;
  auto* var = reinterpret_cast<Var*>(left);
  auto* call = reinterpret_cast<FuncExpr*>(right);
  if (var->varno != static_cast<int>(rtindex) || var->varlevelsup != 0 || call->args != NIL)
    return NIL;
  const char* claim = pinnable_claim(call->funcid);
  if (claim == nullptr) return NIL;
  LOCAL_FCINFO(fcinfo, 0);
  InitFunctionCallInfoData(*fcinfo, nullptr, 0, InvalidOid, nullptr, nullptr);
  fcinfo->isnull = false;
  FmgrInfo flinfo;
  fmgr_info(call->funcid, &flinfo);
  fcinfo->flinfo = &flinfo;
  Datum value = FunctionCallInvoke(fcinfo);
  if (fcinfo->isnull) return NIL;  // no identity: the policy shows nothing anyway
  Const* planned = makeConst(UUIDOID, -1, InvalidOid, UUID_LEN, value, false, false);
  Expr* equal = make_opclause(op->opno, BOOLOID, false, reinterpret_cast<Expr*>(copy_node(var)),
                              reinterpret_cast<Expr*>(planned), InvalidOid, InvalidOid);
  reinterpret_cast<OpExpr*>(equal)->opfuncid = get_opcode(op->opno);
  Expr* check = reinterpret_cast<Expr*>(
      makeFuncExpr(guard, BOOLOID,
                   list_make2(makeConst(TEXTOID, -1, DEFAULT_COLLATION_OID, -1,
                                        CStringGetTextDatum(claim), false, false),
                              copy_node(planned)),
                   InvalidOid, InvalidOid, COERCE_EXPLICIT_CALL));
  return list_make2(equal, check);
}

bool calls_function_walker(Node* node, void* context) {
  if (node == nullptr) return false;
  if (IsA(node, FuncExpr) &&
      reinterpret_cast<FuncExpr*>(node)->funcid == *static_cast<Oid*>(context)) {
    return true;
  }
  // PG15 declares walkers as bool (*)(); the cast goes through void* on purpose.
  return expression_tree_walker(
      node, reinterpret_cast<bool (*)()>(reinterpret_cast<void*>(calls_function_walker)), context);
}

bool calls_function(Node* node, Oid funcid) {
  return calls_function_walker(node, &funcid);
}

// Adds the pins for every range table entry's row-security qualifiers.
// Returns whether any was added. Runs PostgreSQL calls: only via call_pg.
bool pin_claims(Query* parse) {
  if (parse->commandType != CMD_SELECT && parse->commandType != CMD_UPDATE &&
      parse->commandType != CMD_DELETE) {
    return false;
  }
  Oid guard = guard_function();
  if (!OidIsValid(guard)) return false;  // an older careguard SQL: no pinning
  // Planned once already (Citus may hand a query to the planner again).
  if (calls_function(parse->jointree->quals, guard)) return false;
  List* added = NIL;
  ListCell* cell;
  Index rtindex = 0;
  foreach (cell, parse->rtable) {
    ++rtindex;
    auto* rte = static_cast<RangeTblEntry*>(lfirst(cell));
    if (rte->rtekind != RTE_RELATION || rte->securityQuals == NIL) continue;
    ListCell* qual_cell;
    foreach (qual_cell, rte->securityQuals) {
      // Inline the policy's access function and fold its CASE, as the
      // planner will: what is left for this role is one comparison.
      Node* folded =
          eval_const_expressions(nullptr, copy_node(static_cast<Node*>(lfirst(qual_cell))));
      ListCell* conjunct;
      foreach (conjunct, make_ands_implicit(reinterpret_cast<Expr*>(folded))) {
        added = list_concat(added, pins_for(static_cast<Expr*>(lfirst(conjunct)), rtindex, guard));
      }
    }
  }
  if (added == NIL) return false;
  if (parse->jointree->quals != nullptr) added = lappend(added, parse->jointree->quals);
  parse->jointree->quals = reinterpret_cast<Node*>(make_ands_explicit(added));
  return true;
}

bool in_citus_cluster() {
  return loaded_by_preload && node_secret != nullptr && node_secret[0] != '\0' &&
         find_config("citus.propagate_set_commands") != nullptr;
}

PlannedStmt* on_planner(Query* parse, const char* query_string, int cursor_options,
                        ParamListInfo params) {
  bool pinned = false;
  if (in_citus_cluster() && parse->hasRowSecurity) {
    // Helpers are evaluated here as they are: not hoisted into an initPlan.
    pinned = guarded("planner hook", [parse] {
      bool saved = hoist_claim_helpers;
      hoist_claim_helpers = false;
      try {
        bool result = call_pg([parse] { return pin_claims(parse); });
        hoist_claim_helpers = saved;
        return result;
      } catch (...) {
        hoist_claim_helpers = saved;
        throw;
      }
    });
  }
  if (pinned) pinned_this_transaction = true;
  PlannedStmt* result = previous_planner != nullptr
                            ? previous_planner(parse, query_string, cursor_options, params)
                            : standard_planner(parse, query_string, cursor_options, params);
  return result;
}

}  // namespace

// The claim now, through the helper itself (NULL as a null Datum flag).
Datum current_claim(PGFunction helper, bool& isnull) {
  LOCAL_FCINFO(fcinfo, 0);
  InitFunctionCallInfoData(*fcinfo, nullptr, 0, InvalidOid, nullptr, nullptr);
  fcinfo->isnull = false;
  Datum value = helper(fcinfo);
  isnull = fcinfo->isnull;
  return value;
}

void install_citus_routing_hook() {
  previous_planner = planner_hook;
  planner_hook = on_planner;
}

void forget_pinned_plans_at_transaction_end() {
  if (!pinned_this_transaction) return;
  pinned_this_transaction = false;
  ResetPlanCache();
}

}  // namespace careguard::pg

// auth.pinned_claim_matches(claim, planned): true when the claim still
// has the value a plan was made with; otherwise CG003, never a quiet
// "no rows" from a plan routed for someone else.
Datum careguard_pinned_claim_matches(PG_FUNCTION_ARGS) {
  using namespace careguard::pg;
  text* claim = PG_GETARG_TEXT_PP(0);
  pg_uuid_t* planned = PG_GETARG_UUID_P(1);
  bool is_sub = VARSIZE_ANY_EXHDR(claim) == 3 && std::memcmp(VARDATA_ANY(claim), "sub", 3) == 0;
  bool isnull = false;
  Datum now = current_claim(is_sub ? careguard_auth_uid : careguard_auth_provider_id, isnull);
  if (isnull || std::memcmp(DatumGetUUIDP(now)->data, planned->data, UUID_LEN) != 0) {
    ereport(ERROR,
            (errcode(MAKE_SQLSTATE('C', 'G', '0', '0', '3')),
             errmsg("this plan was made for another identity"),
             errdetail("The plan routes by claim \"%s\", which has changed since it was planned.",
                       is_sub ? "sub" : "provider_id"),
             errhint("Retry the statement; a new transaction plans it afresh.")));
  }
  PG_RETURN_BOOL(true);
}
