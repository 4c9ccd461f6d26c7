// careguard adapter: the SQL entry points of the auth schema's claim helpers.
// Each is a thin shell: find the claims, ask the core, copy the answer into
// palloc'd memory. Allocation happens in frames that own no C++ objects.
#include <string>
#include <utility>
#include <vector>

#include "careguard/core/error.hpp"
#include "careguard/pg/claim_settings.hpp"
#include "careguard/pg/claims_source.hpp"
#include "careguard/pg/guard.hpp"

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
Datum uuid_claim_datum(FunctionCallInfo fcinfo, UuidClaimName name, const char* claim_name) {
  const char* from_setting = nullptr;
  const UuidClaim& claim = current_uuid_claim(name, &from_setting);
  if (claim.state == UuidClaim::State::Absent) PG_RETURN_NULL();
  if (claim.state == UuidClaim::State::Invalid) {
    throw careguard::Error(careguard::sqlstate::kInvalidTextRepresentation,
                           std::string("claim \"") + claim_name + "\" in setting \"" +
                               from_setting + "\" is not a valid uuid: \"" + claim.invalid_text +
                               "\"");
  }
  auto* result = static_cast<pg_uuid_t*>(palloc(sizeof(pg_uuid_t)));
  memcpy(result->data, claim.value.data(), UUID_LEN);
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

// A text claim: its one-claim setting first, then the claims document.
Datum text_claim_datum(FunctionCallInfo fcinfo, ClaimSetting legacy,
                       const ClaimText& (careguard::Claims::*field)() const) {
  if (const char* raw = trusted_setting_value(legacy)) PG_RETURN_TEXT_P(cstring_to_text(raw));
  const careguard::Claims* claims = current_claims(false);
  if (claims == nullptr) PG_RETURN_NULL();
  return claim_text_datum(fcinfo, (claims->*field)());
}

}  // namespace

// auth.uid(): the sub claim as uuid.
Datum careguard_auth_uid(PG_FUNCTION_ARGS) {
  return guarded("auth.uid", [&] { return uuid_claim_datum(fcinfo, UuidClaimName::kSub, "sub"); });
}

// auth.provider_id(): the provider profile id claim as uuid.
Datum careguard_auth_provider_id(PG_FUNCTION_ARGS) {
  return guarded("auth.provider_id", [&] {
    return uuid_claim_datum(fcinfo, UuidClaimName::kProviderId, "provider_id");
  });
}

// auth.role(): the role claim as text.
Datum careguard_auth_role(PG_FUNCTION_ARGS) {
  return guarded("auth.role", [&] {
    return text_claim_datum(fcinfo, ClaimSetting::kRole, &careguard::Claims::role);
  });
}

// auth.email(): the email claim as text.
Datum careguard_auth_email(PG_FUNCTION_ARGS) {
  return guarded("auth.email", [&] {
    return text_claim_datum(fcinfo, ClaimSetting::kEmail, &careguard::Claims::email);
  });
}

// auth.jwt(): the whole claims document as jsonb.
Datum careguard_auth_jwt(PG_FUNCTION_ARGS) {
  return guarded("auth.jwt", [&]() -> Datum {
    const careguard::Claims* claims = current_claims(true);
    if (claims == nullptr) PG_RETURN_NULL();
    std::string& image = claims->adapter_cache();
    if (image.empty()) {
      // Built once per distinct document; later calls copy the bytes.
      const char* source = claims->source().c_str();
      Jsonb* document = call_pg([source] {
        return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(source)));
      });
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
    // The one-claim settings of older gateways win, as in auth.uid().
    static const std::pair<const char*, ClaimSetting> kLegacy[] = {
        {"sub", ClaimSetting::kSub},
        {"role", ClaimSetting::kRole},
        {"email", ClaimSetting::kEmail},
        {"provider_id", ClaimSetting::kProviderId}};
    for (const auto& [claim, setting] : kLegacy) {
      if (path[0] != claim) continue;
      if (const char* raw = trusted_setting_value(setting)) {
        return ClaimText{ClaimText::Kind::Text, raw};
      }
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
