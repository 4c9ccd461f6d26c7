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
  call_pg([&] {
    deconstruct_array(array, TEXTOID, -1, false, TYPALIGN_INT, &elements, &nulls, &count);
  });
  std::vector<std::string> path;
  path.reserve(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    if (nulls[i]) return {};
    text* step = DatumGetTextPP(elements[i]);
    path.emplace_back(VARDATA_ANY(step), VARSIZE_ANY_EXHDR(step));
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
  return guarded("auth.claim", [&] {
    return claim_text_datum(fcinfo, find_claim(PG_GETARG_ARRAYTYPE_P(0)));
  });
}

// Planner support for the helpers. Its job is to be called at plan time: that
// loads careguard.so before any parallel plan starts, so the executor hook
// that hands the leader's trust decision to parallel workers is in place.
Datum careguard_claims_support(PG_FUNCTION_ARGS) {
  return guarded("auth claims support", [&]() -> Datum {
    Node* request = reinterpret_cast<Node*>(PG_GETARG_POINTER(0));
    if (IsA(request, SupportRequestCost)) {
      // A cache lookup and a copy: cheaper than most operators.
      auto* cost = reinterpret_cast<SupportRequestCost*>(request);
      cost->startup = 0;
      cost->per_tuple = cpu_operator_cost;
      PG_RETURN_POINTER(cost);
    }
    PG_RETURN_POINTER(nullptr);
  });
}
