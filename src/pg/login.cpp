// careguard adapter: auth.login(token), auth.sign(claims, ...) and
// careguard.inspect_jwk(jwk): verified identity inside the database.
#include <string>
#include <string_view>
#include <vector>

#include "careguard/core/error.hpp"
#include "careguard/core/jwt.hpp"
#include "careguard/pg/catalog_names.hpp"
#include "careguard/pg/claims_source.hpp"
#include "careguard/pg/guard.hpp"
#include "careguard/pg/jsonb_build.hpp"
#include "careguard/pg/key_store.hpp"
#include "careguard/pg/ledger.hpp"
#include "careguard/pg/login_settings.hpp"
#include "careguard/pg/security_settings.hpp"

extern "C" {
#include "executor/spi.h"
#include "utils/acl.h"
#include "utils/numeric.h"
}

using namespace careguard;
using namespace careguard::pg;

extern "C" {
PG_FUNCTION_INFO_V1(careguard_auth_login);
PG_FUNCTION_INFO_V1(careguard_auth_sign);
PG_FUNCTION_INFO_V1(careguard_inspect_jwk);
}

namespace {

std::string_view text_view(text* value) {
  return std::string_view(VARDATA_ANY(value), VARSIZE_ANY_EXHDR(value));
}

std::vector<std::string> split_list(const char* list) {
  std::vector<std::string> items;
  std::string current;
  for (const char* p = list == nullptr ? "" : list;; ++p) {
    if (*p == ',' || *p == '\0') {
      auto first = current.find_first_not_of(' ');
      auto last = current.find_last_not_of(' ');
      if (first != std::string::npos) items.push_back(current.substr(first, last - first + 1));
      current.clear();
      if (*p == '\0') break;
    } else {
      current.push_back(*p);
    }
  }
  return items;
}

// A comma-separated setting, split once per distinct value.
struct ListSetting {
  std::string source;
  std::vector<std::string> items;
  const std::vector<std::string>& of(const char* value) {
    const char* text = value == nullptr ? "" : value;
    if (source != text) {
      items = split_list(text);
      source = text;
    }
    return items;
  }
};
ListSetting audiences_setting;
ListSetting login_roles_setting;

// The verification options, rebuilt only when a setting changed.
const jwt::VerifyOptions& verify_options() {
  static jwt::VerifyOptions options = [] {
    jwt::VerifyOptions initial;
    initial.require_uuid_sub = true;
    initial.roles_exempt_from_uuid_sub = {"anon", "service_role"};
    return initial;
  }();
  options.leeway_seconds = jwt_leeway_seconds;
  options.require_exp = jwt_require_exp;
  const char* issuer = jwt_issuer == nullptr ? "" : jwt_issuer;
  if (options.issuer != issuer) options.issuer = issuer;
  const std::vector<std::string>& audiences = audiences_setting.of(jwt_audience);
  if (options.audiences != audiences) options.audiences = audiences;
  options.max_token_bytes = static_cast<std::size_t>(jwt_max_token_bytes);
  return options;
}

// The role claim, which must name an allowed role.
std::string role_to_assume(const json::Value& claims) {
  const json::Value* role = claims.find("role");
  if (role == nullptr || role->kind != json::Kind::String || role->text.empty()) {
    throw Error(sqlstate::kInvalidAuthorization, "token has no role claim");
  }
  for (const std::string& allowed : login_roles_setting.of(login_roles)) {
    if (allowed == role->text) return role->text;
  }
  throw Error(sqlstate::kInvalidAuthorization,
              "role \"" + role->text + "\" is not allowed to sign in",
              "careguard.login_roles lists the roles a token may name.");
}

// Warns once per statement-transaction, not once per token of a bulk call.
bool warned_outside_block = false;

// The role's oid, or InvalidOid when there is none. Called after
// verification_keys() has read the pending invalidations; the role setting
// below still resolves the name itself and checks membership again.
Oid role_oid(const std::string& role) {
  const char* name = role.c_str();
  const Oid known = known_role_oid(name);
  return OidIsValid(known) ? known : call_pg([name] { return remembered_role_oid(name); });
}

// Makes the claims this transaction's identity and switches role, both with
// SET LOCAL semantics so COMMIT, ROLLBACK and ROLLBACK TO SAVEPOINT undo them.
Jsonb* assume_identity(const std::string& role_name, const char* claims,
                       const json::Value& parsed) {
  const Oid role_id = role_oid(role_name);
  const char* role = role_name.c_str();
  return call_pg([role_id, role, claims, &parsed] {
    if (!OidIsValid(role_id)) {
      ereport(ERROR, (errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
                      errmsg("role \"%s\" named by the token does not exist", role)));
    }
    if (!is_member_of_role(GetSessionUserId(), role_id)) {
      ereport(ERROR,
              (errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
               errmsg("session user may not become role \"%s\"", role),
               errhint("GRANT %s TO the login role, as for PostgREST's authenticator.", role)));
    }
    if (!IsTransactionBlock() && !warned_outside_block) {
      warned_outside_block = true;
      ereport(WARNING,
              (errcode(ERRCODE_NO_ACTIVE_SQL_TRANSACTION),
               errmsg("auth.login() outside a transaction block lasts only for this statement"),
               errhint("Call it after BEGIN, as a gateway does.")));
    }
    (void)set_config_option("careguard.verified_claims", claims, PGC_SUSET, PGC_S_SESSION,
                            GUC_ACTION_LOCAL, true, ERROR, false);
    (void)set_config_option("role", role, PGC_USERSET, PGC_S_SESSION, GUC_ACTION_LOCAL, true, ERROR,
                            false);
    return jsonb_from_dom(parsed);
  });
}

}  // namespace

namespace careguard::pg {
void reset_login_state_for_new_transaction() {
  warned_outside_block = false;
}

}  // namespace careguard::pg

// auth.login(token): verifies a JWT and makes its claims and role this
// transaction's identity; returns the verified claims.
Datum careguard_auth_login(PG_FUNCTION_ARGS) {
  text* token = PG_GETARG_TEXT_PP(0);
  return guarded("auth.login", [&]() -> Datum {
    require_preload("auth.login()");
    if (ledger_statement_open()) {
      throw Error(sqlstate::kObjectNotInPrerequisiteState,
                  "auth.login() cannot change the identity while a statement that reads "
                  "patient records is running",
                  "The disclosure ledger names the identity in force when such a statement or "
                  "cursor started. Sign in in a statement of its own, before the query, and close "
                  "open cursors first.");
    }
    jwt::VerifiedToken verified =
        jwt::verify(text_view(token), verification_keys(), verify_options());
    std::string role = role_to_assume(verified.claims);
    Jsonb* claims = assume_identity(role, verified.payload_json.c_str(), verified.claims);
    // The helpers that follow in this transaction read these claims: hand
    // them the parsed document and its jsonb image instead of parsing again.
    adopt_verified_claims(std::move(verified.payload_json), std::move(verified.claims),
                          std::string(reinterpret_cast<const char*>(claims), VARSIZE(claims)));
    PG_RETURN_JSONB_P(claims);
  });
}

namespace {

// The private JWK of the requested (or the in-use) key, read with the
// caller's privileges: only roles that may read auth.signing_keys can sign.
char* signing_jwk(const char* kid) {
  return call_pg([kid] {
    MemoryContext caller = CurrentMemoryContext;
    SPI_connect();
    Oid types[1] = {TEXTOID};
    Datum values[1] = {kid == nullptr ? Datum(0) : CStringGetTextDatum(kid)};
    const char nulls[1] = {kid == nullptr ? 'n' : ' '};
    SPI_execute_with_args(
        "SELECT private_jwk::pg_catalog.text FROM auth.signing_keys "
        "WHERE private_jwk IS NOT NULL AND state OPERATOR(pg_catalog.<>) 'revoked' AND "
        "CASE WHEN $1 IS NULL THEN state OPERATOR(pg_catalog.=) 'in_use' "
        "ELSE kid OPERATOR(pg_catalog.=) $1 END "
        "ORDER BY state_changed_at DESC LIMIT 1",
        1, types, values, nulls, true, 1);
    char* jwk = nullptr;
    if (SPI_processed == 1) {
      jwk = MemoryContextStrdup(caller,
                                SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
    }
    SPI_finish();
    if (jwk == nullptr) {
      ereport(ERROR, (errcode(ERRCODE_UNDEFINED_OBJECT),
                      errmsg(kid == nullptr ? "no signing key is in use"
                                            : "no usable signing key with kid \"%s\"",
                             kid)));
    }
    return jwk;
  });
}

}  // namespace

// auth.sign(claims, kid, alg): a compact JWS over exactly these claims.
Datum careguard_auth_sign(PG_FUNCTION_ARGS) {
  return guarded("auth.sign", [&]() -> Datum {
    Jsonb* claims = PG_GETARG_JSONB_P(0);
    char* kid = PG_ARGISNULL(1) ? nullptr : text_to_cstring(PG_GETARG_TEXT_PP(1));
    char* alg = PG_ARGISNULL(2) ? nullptr : text_to_cstring(PG_GETARG_TEXT_PP(2));
    char* claims_text = JsonbToCString(nullptr, &claims->root, VARSIZE(claims));
    char* jwk = signing_jwk(kid);
    std::string token;
    {
      jwt::Key key = jwt::Key::from_jwk_json(jwk);
      token = jwt::sign(claims_text, key, alg == nullptr ? "" : alg);
    }
    text* result =
        call_pg([&token] { return cstring_to_text_with_len(token.data(), token.size()); });
    PG_RETURN_TEXT_P(result);
  });
}

// careguard.inspect_jwk(jwk): validates one JWK and describes it, with its
// public part only; used by the key-management functions.
Datum careguard_inspect_jwk(PG_FUNCTION_ARGS) {
  return guarded("careguard.inspect_jwk", [&]() -> Datum {
    Jsonb* input = PG_GETARG_JSONB_P(0);
    char* input_text = JsonbToCString(nullptr, &input->root, VARSIZE(input));
    std::string description;
    {
      jwt::Key key = jwt::Key::from_jwk_json(input_text);
      if (key.kid().empty()) {
        throw Error(sqlstate::kInvalidParameterValue, "JWK has no kid",
                    "careguard selects keys by kid; give every key one.");
      }
      description = "{\"kid\":" + json::quote(key.kid()) +
                    ",\"kty\":" + json::quote(jwt::key_type_name(key.type())) +
                    ",\"alg\":" + json::quote(jwt::algorithm_name(key.default_algorithm())) +
                    ",\"has_private\":" + (key.has_private() ? "true" : "false") +
                    ",\"bits\":" + std::to_string(key.bits()) +
                    ",\"public_jwk\":" + key.public_jwk_json() + "}";
    }
    Jsonb* result = call_pg([&description] {
      return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(description.c_str())));
    });
    PG_RETURN_JSONB_P(result);
  });
}
