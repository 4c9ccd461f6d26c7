// careguard adapter: the SQL entry points of the auth schema's claim helpers.
// Each is a thin shell: find the claims, ask the core, copy the answer into
// palloc'd memory. Allocation happens in frames that own no C++ objects.
#include <string>
#include <vector>

#include "careguard/core/error.hpp"
#include "careguard/pg/claim_settings.hpp"
#include "careguard/pg/claims_source.hpp"
#include "careguard/pg/guard.hpp"
#include "careguard/pg/jsonb_build.hpp"

using careguard::ClaimText;
using careguard::UuidClaim;
using namespace careguard::pg;

extern "C" {
PG_FUNCTION_INFO_V1(careguard_auth_uid);
PG_FUNCTION_INFO_V1(careguard_auth_provider_id);
PG_FUNCTION_INFO_V1(careguard_auth_role);
PG_FUNCTION_INFO_V1(careguard_auth_email);
PG_FUNCTION_INFO_V1(careguard_auth_jwt);
PG_FUNCTION_INFO_V1(careguard_auth_claim);
PG_FUNCTION_INFO_V1(careguard_claims_support);
}

namespace {

// Returns a uuid claim as a Datum, or SQL NULL; a non-uuid value is an error.
Datum uuid_claim_datum(FunctionCallInfo fcinfo, NamedClaim name) {
  ClaimSource source = resolve_claim(name);
  UuidClaim one_claim;
  const UuidClaim* claim = &one_claim;
  if (source.one_claim_value != nullptr) {
    one_claim = careguard::uuid_from_text(source.one_claim_value);
  } else if (source.document != nullptr) {
    claim = name == NamedClaim::kSub ? &source.document->sub() : &source.document->provider_id();
  }
  if (claim->state == UuidClaim::State::Absent) PG_RETURN_NULL();
  if (claim->state == UuidClaim::State::Invalid) {
    // Quote at most a little of what was found: the claim may be long.
    std::string found = claim->invalid_text.substr(0, 80);
    if (claim->invalid_text.size() > found.size()) found += "...";
    throw careguard::Error(careguard::sqlstate::kInvalidTextRepresentation,
                           std::string("claim \"") + claim_key(name) + "\" in setting \"" +
                               source.setting + "\" is not a valid uuid: \"" + found + "\"");
  }
  auto* result = static_cast<pg_uuid_t*>(palloc(sizeof(pg_uuid_t)));
  memcpy(result->data, claim->value.data(), UUID_LEN);
  PG_RETURN_UUID_P(result);
}

// jsonb's ->> rendering of a number or container, done by PostgreSQL itself.
text* render_raw_json(std::string_view raw) {
  return call_pg([raw] {
    char* source = pnstrdup(raw.data(), raw.size());
    Jsonb* document = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(source)));
    char* rendered = JsonbToCString(nullptr, &document->root, VARSIZE(document));
    return cstring_to_text(rendered);
  });
}

// Returns a claim as text the way jsonb's ->> would, or SQL NULL.
Datum claim_text_datum(FunctionCallInfo fcinfo, const ClaimText& claim) {
  switch (claim.kind) {
    case ClaimText::Kind::Absent:
      PG_RETURN_NULL();
    case ClaimText::Kind::Text:
      PG_RETURN_TEXT_P(cstring_to_text_with_len(claim.value.data(), claim.value.size()));
    case ClaimText::Kind::RawJson:
      PG_RETURN_TEXT_P(render_raw_json(claim.value));
  }
  PG_RETURN_NULL();
}

// A text claim, from wherever resolve_claim() says it comes from.
Datum text_claim_datum(FunctionCallInfo fcinfo, NamedClaim name,
                       const ClaimText& (careguard::Claims::*field)() const) {
  ClaimSource source = resolve_claim(name);
  if (source.one_claim_value != nullptr) PG_RETURN_TEXT_P(cstring_to_text(source.one_claim_value));
  if (source.document == nullptr) PG_RETURN_NULL();
  return claim_text_datum(fcinfo, (source.document->*field)());
}

}  // namespace

// auth.uid(): the sub claim as uuid.
Datum careguard_auth_uid(PG_FUNCTION_ARGS) {
  return guarded("auth.uid", [&] { return uuid_claim_datum(fcinfo, NamedClaim::kSub); });
}

// auth.provider_id(): the provider profile id claim as uuid.
Datum careguard_auth_provider_id(PG_FUNCTION_ARGS) {
  return guarded("auth.provider_id",
                 [&] { return uuid_claim_datum(fcinfo, NamedClaim::kProviderId); });
}

// auth.role(): the role claim as text.
Datum careguard_auth_role(PG_FUNCTION_ARGS) {
  return guarded("auth.role", [&] {
    return text_claim_datum(fcinfo, NamedClaim::kRole, &careguard::Claims::role);
  });
}

// auth.email(): the email claim as text.
Datum careguard_auth_email(PG_FUNCTION_ARGS) {
  return guarded("auth.email", [&] {
    return text_claim_datum(fcinfo, NamedClaim::kEmail, &careguard::Claims::email);
  });
}

// auth.jwt(): the whole claims document as jsonb.
Datum careguard_auth_jwt(PG_FUNCTION_ARGS) {
  return guarded("auth.jwt", [&]() -> Datum {
    const careguard::Claims* claims = current_claims(true);
    if (claims == nullptr) PG_RETURN_NULL();
    std::string& image = claims->adapter_cache();
    if (image.empty()) {
      // Built once per distinct document, from the DOM already parsed (a
      // sign-in leaves it built); later calls copy the bytes.
      const careguard::json::Value* root = &claims->root();
      Jsonb* document = call_pg([root] { return jsonb_from_dom(*root); });
      image.assign(reinterpret_cast<const char*>(document), VARSIZE(document));
      pfree(document);
    }
    void* copy = palloc(image.size());
    memcpy(copy, image.data(), image.size());
    return PointerGetDatum(copy);
  });
}

namespace {

// Finds the claim a path names; owns the C++ objects so its caller does not.
ClaimText find_claim(ArrayType* array) {
  Datum* elements = nullptr;
  bool* nulls = nullptr;
  int count = 0;
  text** steps = nullptr;
  call_pg([&] {
    deconstruct_array(array, TEXTOID, -1, false, TYPALIGN_INT, &elements, &nulls, &count);
    steps = static_cast<text**>(palloc0(sizeof(text*) * (count + 1)));
    for (int i = 0; i < count; ++i) steps[i] = nulls[i] ? nullptr : DatumGetTextPP(elements[i]);
  });
  std::vector<std::string> path;
  path.reserve(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    if (steps[i] == nullptr) return {};
    path.emplace_back(VARDATA_ANY(steps[i]), VARSIZE_ANY_EXHDR(steps[i]));
  }
  if (path.empty()) return {};
  if (path.size() == 1) {
    // A named claim comes from where auth.uid() and friends take it.
    for (NamedClaim name :
         {NamedClaim::kSub, NamedClaim::kRole, NamedClaim::kEmail, NamedClaim::kProviderId}) {
      if (path[0] != claim_key(name)) continue;
      ClaimSource source = resolve_claim(name);
      if (source.one_claim_value != nullptr) {
        return ClaimText{ClaimText::Kind::Text, source.one_claim_value};
      }
      break;
    }
  }
  const careguard::Claims* claims = current_claims(true);
  if (claims == nullptr) return {};
  return claims->text_at(path);
}

}  // namespace

// auth.claim(VARIADIC path text[]): one claim by name, or by a path of keys
// and array indexes, as text (the ->> / #>> rendering).
Datum careguard_auth_claim(PG_FUNCTION_ARGS) {
  return guarded("auth.claim",
                 [&] { return claim_text_datum(fcinfo, find_claim(PG_GETARG_ARRAYTYPE_P(0))); });
}

namespace {

// True when the query calls this helper as a FROM-clause function: that
// expression must stay a function call, so nothing is hoisted there.
bool used_as_from_function(Query* query, Oid helper) {
  ListCell* cell;
  foreach (cell, query->rtable) {
    auto* rte = static_cast<RangeTblEntry*>(lfirst(cell));
    if (rte->rtekind != RTE_FUNCTION) continue;
    ListCell* fcell;
    foreach (fcell, rte->functions) {
      Node* expr = static_cast<RangeTblFunction*>(lfirst(fcell))->funcexpr;
      if (expr != nullptr && IsA(expr, FuncExpr) &&
          reinterpret_cast<FuncExpr*>(expr)->funcid == helper) {
        return true;
      }
    }
  }
  return false;
}

// True when the query reads rows from somewhere. A FROM-less SELECT has only
// the RTE_RESULT that the planner puts into an empty FROM clause.
bool reads_rows(Query* query) {
  ListCell* cell;
  foreach (cell, query->rtable) {
    if (static_cast<RangeTblEntry*>(lfirst(cell))->rtekind != RTE_RESULT) return true;
  }
  return false;
}

// True when every argument is a constant (after the planner's folding), so
// the call has one value per statement: auth.uid(), auth.claim('tenant').
bool arguments_are_constant(FuncExpr* call) {
  ListCell* cell;
  foreach (cell, call->args) {
    if (!IsA(lfirst(cell), Const)) return false;
  }
  return true;
}

// Rewrites a helper call whose arguments are constant into
// `(SELECT helper(...))`, which the planner then turns into an initPlan:
// evaluated once per execution instead of once per row, exactly what
// Supabase's advice to wrap calls in (select ...) achieves by hand. STABLE
// already promises one value per statement.
Node* hoist_to_init_plan(SupportRequestSimplify* request) {
  PlannerInfo* root = request->root;
  FuncExpr* call = request->fcall;
  // No FROM clause: already evaluated once. This also stops the recursion,
  // since the generated subquery has no FROM clause either.
  if (!hoist_claim_helpers || root == nullptr || root->parse == nullptr ||
      !reads_rows(root->parse) || !arguments_are_constant(call) ||
      used_as_from_function(root->parse, call->funcid)) {
    return nullptr;
  }
  auto* inner = static_cast<FuncExpr*>(copyObjectImpl(call));
  Query* subquery = makeNode(Query);
  subquery->commandType = CMD_SELECT;
  subquery->querySource = QSRC_ORIGINAL;
  subquery->canSetTag = true;
  subquery->jointree = makeFromExpr(NIL, nullptr);
  subquery->targetList =
      list_make1(makeTargetEntry(reinterpret_cast<Expr*>(inner), 1, pstrdup("claim"), false));
  SubLink* link = makeNode(SubLink);
  link->subLinkType = EXPR_SUBLINK;
  link->subLinkId = 0;
  link->subselect = reinterpret_cast<Node*>(subquery);
  link->location = call->location;
  root->parse->hasSubLinks = true;
  return reinterpret_cast<Node*>(link);
}

}  // namespace

// Planner support for the helpers (and for careguard's SQL functions that
// query under RLS): hoists constant-argument helper calls out of the per-row
// path, and, being called at plan time, loads careguard.so before any
// parallel plan starts, so the executor hook that hands the leader's trust
// decision to parallel workers is in place.
Datum careguard_claims_support(PG_FUNCTION_ARGS) {
  Node* request = reinterpret_cast<Node*>(PG_GETARG_POINTER(0));
  Node* result = guarded("auth claims support", [&]() -> Node* {
    if (!IsA(request, SupportRequestSimplify)) return nullptr;
    return call_pg([request] {
      return hoist_to_init_plan(reinterpret_cast<SupportRequestSimplify*>(request));
    });
  });
  PG_RETURN_POINTER(result);
}
