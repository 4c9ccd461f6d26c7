// careguard adapter: the audit's readers of expression trees.
//
// careguard.audit_always_true(pg_node_tree): whether a stored policy
// expression (pg_policy.polqual / polwithcheck) folds to constant true, so
// USING (1 = 1), (true OR x) and coalesce(true, x) are caught as surely as
// USING (true).
// careguard.audit_search_path_names(text): every name a SQL function body
// leaves to the search_path, read from the raw parse tree: unqualified
// function calls, operators (IS DISTINCT FROM, NULLIF, IN, LIKE, BETWEEN and
// simple CASE look up = and friends by name), type names and relations.
//
// Both may meet input PostgreSQL rejects (a constant that fails to fold, a
// body that does not parse); that runs in a subtransaction rolled back on
// error, and the caller gets "unknown" instead of an ERROR.
#include "careguard/pg/guard.hpp"

extern "C" {
#include "access/transam.h"
#include "mb/pg_wchar.h"
#include "nodes/nodeFuncs.h"
#include "parser/parser.h"
#include "utils/resowner.h"
#include "utils/tuplestore.h"
}

extern "C" {
PG_FUNCTION_INFO_V1(careguard_audit_always_true);
PG_FUNCTION_INFO_V1(careguard_audit_search_path_names);
PG_FUNCTION_INFO_V1(careguard_audit_per_row_tree);
}

namespace {

// PostgreSQL 15 declares walkers and mutators without parameters (K&R
// style); the detour through void (*)(void) is the sanctioned generic
// function pointer, so the compiler accepts the conversion.
bool (*as_walker(bool (*walker)(Node*, void*)))() {
  return reinterpret_cast<bool (*)()>(reinterpret_cast<void (*)(void)>(walker));
}
Node* (*as_mutator(Node* (*mutator)(Node*, void*)))() {
  return reinterpret_cast<Node* (*)()>(reinterpret_cast<void (*)(void)>(mutator));
}

// Runs fn(context) in a subtransaction; false (and the error swallowed) if it
// raised. Allocations in the caller's memory context survive either way. The
// frame owns no C++ object, so the longjmp skips no destructor.
bool run_in_subtransaction(void (*fn)(void*), void* context) {
  MemoryContext caller_context = CurrentMemoryContext;
  ResourceOwner caller_owner = CurrentResourceOwner;
  volatile bool ok = true;
  BeginInternalSubTransaction(nullptr);
  MemoryContextSwitchTo(caller_context);
  PG_TRY();
  {
    fn(context);
    ReleaseCurrentSubTransaction();
    MemoryContextSwitchTo(caller_context);
    CurrentResourceOwner = caller_owner;
  }
  PG_CATCH();
  {
    MemoryContextSwitchTo(caller_context);
    FlushErrorState();
    RollbackAndReleaseCurrentSubTransaction();
    MemoryContextSwitchTo(caller_context);
    CurrentResourceOwner = caller_owner;
    ok = false;
  }
  PG_END_TRY();
  return ok;
}

// Objects initdb created (built-in or from its SQL scripts): the only code
// constant folding may run, since the auditor may be a superuser and any
// other function could have been written by an attacker.
bool is_builtin(Oid oid) {
  return oid < FirstNormalObjectId;
}

Node* opaque(Node* node) {
  // An external parameter with no value: eval_const_expressions keeps it as
  // it is, so whatever it stands for is never evaluated.
  Param* param = makeNode(Param);
  param->paramkind = PARAM_EXTERN;
  param->paramid = 1;
  param->paramtype = exprType(node);
  param->paramtypmod = exprTypmod(node);
  param->paramcollid = exprCollation(node);
  param->location = -1;
  return reinterpret_cast<Node*>(param);
}

bool mentions_outer_data(Node* node, void* context) {
  if (node == nullptr) return false;
  if (IsA(node, Var) || IsA(node, Param) || IsA(node, SubLink) || IsA(node, Aggref)) return true;
  return expression_tree_walker(node, as_walker(mentions_outer_data), context);
}

// (SELECT <expr>) with no FROM, WHERE or anything else: its one target, when
// that reads no data; nullptr otherwise.
Node* trivial_subselect_target(SubLink* sublink) {
  if (sublink->subLinkType != EXPR_SUBLINK && sublink->subLinkType != EXISTS_SUBLINK)
    return nullptr;
  Query* q = reinterpret_cast<Query*>(sublink->subselect);
  if (q == nullptr || !IsA(q, Query) || q->commandType != CMD_SELECT || q->rtable != NIL ||
      (q->jointree != nullptr && (q->jointree->fromlist != NIL || q->jointree->quals != nullptr)) ||
      q->groupClause != NIL || q->havingQual != nullptr || q->setOperations != nullptr ||
      q->limitCount != nullptr || q->limitOffset != nullptr || q->cteList != NIL || q->hasAggs ||
      q->hasWindowFuncs || q->hasTargetSRFs || q->hasSubLinks || list_length(q->targetList) != 1) {
    return nullptr;
  }
  if (sublink->subLinkType == EXISTS_SUBLINK) {
    return makeBoolConst(true, false);  // a SELECT without FROM or WHERE returns one row
  }
  Node* target = reinterpret_cast<Node*>(linitial_node(TargetEntry, q->targetList)->expr);
  return mentions_outer_data(target, nullptr) ? nullptr : target;
}

// Replaces every call of code initdb did not create by an opaque parameter,
// and inlines trivial scalar subselects, before folding.
Node* neutralise_untrusted(Node* node, void* context) {
  if (node == nullptr) return nullptr;
  switch (nodeTag(node)) {
    case T_FuncExpr:
      if (!is_builtin(reinterpret_cast<FuncExpr*>(node)->funcid)) return opaque(node);
      break;
    case T_OpExpr:
    case T_DistinctExpr:
    case T_NullIfExpr: {
      OpExpr* op = reinterpret_cast<OpExpr*>(node);
      set_opfuncid(op);
      if (!is_builtin(op->opno) || !is_builtin(op->opfuncid)) return opaque(node);
      break;
    }
    case T_ScalarArrayOpExpr: {
      ScalarArrayOpExpr* op = reinterpret_cast<ScalarArrayOpExpr*>(node);
      set_sa_opfuncid(op);
      if (!is_builtin(op->opno) || !is_builtin(op->opfuncid)) return opaque(node);
      break;
    }
    case T_CoerceViaIO: {
      CoerceViaIO* c = reinterpret_cast<CoerceViaIO*>(node);
      if (!is_builtin(c->resulttype) || !is_builtin(exprType(reinterpret_cast<Node*>(c->arg)))) {
        return opaque(node);
      }
      break;
    }
    case T_MinMaxExpr:
      if (!is_builtin(reinterpret_cast<MinMaxExpr*>(node)->minmaxtype)) return opaque(node);
      break;
    case T_SubscriptingRef:
      if (!is_builtin(reinterpret_cast<SubscriptingRef*>(node)->refcontainertype))
        return opaque(node);
      break;
    case T_RowCompareExpr:
    case T_CoerceToDomain:
      return opaque(node);
    case T_SubLink: {
      Node* target = trivial_subselect_target(reinterpret_cast<SubLink*>(node));
      return target == nullptr ? opaque(node) : neutralise_untrusted(target, context);
    }
    default:
      break;
  }
  return expression_tree_mutator(node, as_mutator(neutralise_untrusted), context);
}

// Replaces each subquery by a NULL of its type: what is left is what a
// policy evaluates on every row (a scalar subquery is an initPlan, run once).
Node* drop_sublinks(Node* node, void* context) {
  if (node == nullptr) return nullptr;
  if (IsA(node, SubLink)) {
    return reinterpret_cast<Node*>(
        makeNullConst(exprType(node), exprTypmod(node), exprCollation(node)));
  }
  return expression_tree_mutator(node, as_mutator(drop_sublinks), context);
}

struct FoldRequest {
  const char* tree;
  bool always_true;
};

void fold_policy_expression(void* context) {
  FoldRequest* request = static_cast<FoldRequest*>(context);
  Node* node = static_cast<Node*>(stringToNode(request->tree));
  if (IsA(node, List))
    node = reinterpret_cast<Node*>(make_ands_explicit(reinterpret_cast<List*>(node)));
  node = neutralise_untrusted(node, nullptr);
  node = eval_const_expressions(nullptr, node);
  request->always_true = IsA(node, Const) && !reinterpret_cast<Const*>(node)->constisnull &&
                         exprType(node) == BOOLOID &&
                         DatumGetBool(reinterpret_cast<Const*>(node)->constvalue);
}

// One name a body leaves to the search_path.
struct NameUse {
  const char* kind;       // operator, function, type, relation
  char* name;             // as written
  const char* construct;  // the syntax that looks it up
  int location;           // byte offset into the body, or -1
};

struct NameScan {
  const char* body;
  List* uses;  // of NameUse*
};

void add_use(NameScan* scan, const char* kind, const char* name, const char* construct,
             int location) {
  NameUse* use = static_cast<NameUse*>(palloc(sizeof(NameUse)));
  use->kind = kind;
  use->name = pstrdup(name);
  use->construct = construct;
  use->location = location;
  scan->uses = lappend(scan->uses, use);
}

// A name list without a schema (or catalog): looked up through the path.
bool unqualified(List* names) {
  return list_length(names) == 1;
}

const char* last_name(List* names) {
  return strVal(llast(names));
}

void note_operator_expr(A_Expr* e, NameScan* scan) {
  const char* construct = nullptr;
  switch (e->kind) {
    case AEXPR_OP:
      construct = "operator";
      break;
    case AEXPR_OP_ANY:
      construct = "op ANY (...)";
      break;
    case AEXPR_OP_ALL:
      construct = "op ALL (...)";
      break;
    case AEXPR_DISTINCT:
      construct = "IS DISTINCT FROM";
      break;
    case AEXPR_NOT_DISTINCT:
      construct = "IS NOT DISTINCT FROM";
      break;
    case AEXPR_NULLIF:
      construct = "NULLIF";
      break;
    case AEXPR_IN:
      construct = "IN (...)";
      break;
    case AEXPR_LIKE:
      construct = "LIKE";
      break;
    case AEXPR_ILIKE:
      construct = "ILIKE";
      break;
    case AEXPR_SIMILAR:
      construct = "SIMILAR TO";
      break;
    case AEXPR_BETWEEN:
    case AEXPR_NOT_BETWEEN:
    case AEXPR_BETWEEN_SYM:
    case AEXPR_NOT_BETWEEN_SYM:
      // The grammar keeps BETWEEN as one node; analysis turns it into >= and <=.
      add_use(scan, "operator", ">=", "BETWEEN", e->location);
      add_use(scan, "operator", "<=", "BETWEEN", e->location);
      return;
  }
  if (construct != nullptr && unqualified(e->name)) {
    add_use(scan, "operator", last_name(e->name), construct, e->location);
  }
}

bool scan_names(Node* node, void* context) {
  if (node == nullptr) return false;
  NameScan* scan = static_cast<NameScan*>(context);
  switch (nodeTag(node)) {
    case T_A_Expr:
      note_operator_expr(reinterpret_cast<A_Expr*>(node), scan);
      break;
    case T_FuncCall: {
      FuncCall* call = reinterpret_cast<FuncCall*>(node);
      if (unqualified(call->funcname)) {
        add_use(scan, "function", last_name(call->funcname), "call", call->location);
      }
      break;
    }
    case T_TypeName: {
      TypeName* type = reinterpret_cast<TypeName*>(node);
      if (type->names != NIL && unqualified(type->names) && !type->pct_type) {
        add_use(scan, "type", last_name(type->names), "type name", type->location);
      }
      break;
    }
    case T_RangeVar: {
      RangeVar* rel = reinterpret_cast<RangeVar*>(node);
      if (rel->schemaname == nullptr && rel->catalogname == nullptr) {
        add_use(scan, "relation", rel->relname, "relation", rel->location);
      }
      break;
    }
    case T_CaseExpr:
      if (reinterpret_cast<CaseExpr*>(node)->arg != nullptr) {
        add_use(scan, "operator", "=", "simple CASE", reinterpret_cast<CaseExpr*>(node)->location);
      }
      break;
    case T_SortBy: {
      SortBy* sort = reinterpret_cast<SortBy*>(node);
      if (sort->sortby_dir == SORTBY_USING && unqualified(sort->useOp)) {
        add_use(scan, "operator", last_name(sort->useOp), "ORDER BY ... USING", sort->location);
      }
      break;
    }
    default:
      break;
  }
  return raw_expression_tree_walker(node, as_walker(scan_names), context);
}

// CTE names a statement defines: a RangeVar naming one is no lookup.
bool cte_walker(Node* node, void* context) {
  if (node == nullptr) return false;
  if (IsA(node, CommonTableExpr)) {
    List** names = static_cast<List**>(context);
    *names = lappend(*names, reinterpret_cast<CommonTableExpr*>(node)->ctename);
  }
  return raw_expression_tree_walker(node, as_walker(cte_walker), context);
}

void parse_body(void* context) {
  NameScan* scan = static_cast<NameScan*>(context);
  List* statements = raw_parser(scan->body, RAW_PARSE_DEFAULT);
  ListCell* cell;
  foreach (cell, statements) {
    Node* stmt = lfirst_node(RawStmt, cell)->stmt;
    List* ctes = NIL;
    (void)cte_walker(stmt, &ctes);
    List* before = scan->uses;
    scan->uses = NIL;
    (void)scan_names(stmt, scan);
    // Drop relation uses that name one of the statement's CTEs.
    List* kept = before;
    ListCell* u;
    foreach (u, scan->uses) {
      NameUse* use = static_cast<NameUse*>(lfirst(u));
      bool is_cte = false;
      if (strcmp(use->kind, "relation") == 0) {
        ListCell* c;
        foreach (c, ctes) {
          if (strcmp(static_cast<char*>(lfirst(c)), use->name) == 0) is_cte = true;
        }
      }
      if (!is_cte) kept = lappend(kept, use);
    }
    scan->uses = kept;
  }
}

}  // namespace

// careguard.audit_always_true(pg_node_tree) RETURNS boolean: true when the
// expression folds to constant true, false otherwise (including when folding
// it raises an error: such a policy fails, it does not admit every row).
Datum careguard_audit_always_true(PG_FUNCTION_ARGS) {
  text* tree = PG_GETARG_TEXT_PP(0);
  return careguard::pg::guarded("careguard.audit_always_true", [&]() -> Datum {
    FoldRequest request{nullptr, false};
    careguard::pg::call_pg([&request, tree] {
      request.tree = text_to_cstring(tree);
      if (!run_in_subtransaction(fold_policy_expression, &request)) request.always_true = false;
    });
    PG_RETURN_BOOL(request.always_true);
  });
}

// careguard.audit_search_path_names(body text) RETURNS TABLE (kind text,
// name text, construct text, at_char integer): one row per lookup, in
// order; at_char counts characters from 1 (NULL if unknown). A body that
// does not parse gives the single row ('unparsed', NULL, NULL, NULL).
Datum careguard_audit_search_path_names(PG_FUNCTION_ARGS) {
  text* body = PG_GETARG_TEXT_PP(0);
  return careguard::pg::guarded("careguard.audit_search_path_names", [&]() -> Datum {
    careguard::pg::call_pg([fcinfo, body] {
      InitMaterializedSRF(fcinfo, 0);
      ReturnSetInfo* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
      NameScan scan{text_to_cstring(body), NIL};
      Datum values[4];
      bool nulls[4] = {false, false, false, false};
      if (!run_in_subtransaction(parse_body, &scan)) {
        values[0] = CStringGetTextDatum("unparsed");
        nulls[1] = nulls[2] = nulls[3] = true;
        tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
        return;
      }
      ListCell* cell;
      foreach (cell, scan.uses) {
        NameUse* use = static_cast<NameUse*>(lfirst(cell));
        values[0] = CStringGetTextDatum(use->kind);
        values[1] = CStringGetTextDatum(use->name);
        values[2] = CStringGetTextDatum(use->construct);
        nulls[3] = use->location < 0;
        if (!nulls[3])
          values[3] = Int32GetDatum(pg_mbstrlen_with_len(scan.body, use->location) + 1);
        tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
      }
    });
    return static_cast<Datum>(0);
  });
}

// careguard.audit_per_row_tree(pg_node_tree) RETURNS text: the stored
// expression without its subqueries, as nodeToString text (the form the
// audit's :funcid and Var readers match).
Datum careguard_audit_per_row_tree(PG_FUNCTION_ARGS) {
  text* tree = PG_GETARG_TEXT_PP(0);
  return careguard::pg::guarded("careguard.audit_per_row_tree", [&]() -> Datum {
    Datum result = static_cast<Datum>(0);
    careguard::pg::call_pg([&result, tree] {
      Node* node = static_cast<Node*>(stringToNode(text_to_cstring(tree)));
      result = CStringGetTextDatum(nodeToString(drop_sublinks(node, nullptr)));
    });
    return result;
  });
}
