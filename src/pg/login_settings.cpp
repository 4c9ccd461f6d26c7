// careguard adapter: definitions of the sign-in settings.
#include "careguard/pg/login_settings.hpp"

#include "careguard/pg/guard.hpp"
#include "careguard/pg/security_settings.hpp"

namespace careguard::pg {

bool trust_request_claims = true;
char* verified_claims = nullptr;
int jwt_leeway_seconds = 30;
bool jwt_require_exp = true;
char* jwt_issuer = nullptr;
char* jwt_audience = nullptr;
int jwt_max_token_bytes = 16384;
char* login_roles = nullptr;

void define_login_settings() {
  DefineCustomBoolVariable(
      "careguard.trust_request_claims",
      "Read identity from request.jwt.claims (set by a PostgREST-style gateway).",
      "Turn off where clients connect directly: auth.login(token) is then the only way to "
      "have an identity.",
      &trust_request_claims, true, PGC_SUSET, 0, nullptr, nullptr, nullptr);
  DefineCustomStringVariable(
      "careguard.verified_claims", "The claims of the token verified by auth.login().",
      "Set transaction-locally by auth.login(); only superusers can set it otherwise.",
      &verified_claims, "", PGC_SUSET, GUC_NOT_IN_SAMPLE | GUC_DISALLOW_IN_FILE | GUC_NO_RESET_ALL,
      nullptr, nullptr, nullptr);
  DefineCustomIntVariable(
      "careguard.jwt_leeway_seconds", "Clock skew tolerated on exp, nbf and iat, in seconds.",
      nullptr, &jwt_leeway_seconds, 30, 0, 3600, PGC_SUSET, GUC_UNIT_S, nullptr, nullptr, nullptr);
  DefineCustomBoolVariable("careguard.jwt_require_exp", "Reject tokens without an exp claim.",
                           nullptr, &jwt_require_exp, true, PGC_SUSET, 0, nullptr, nullptr,
                           nullptr);
  DefineCustomStringVariable("careguard.jwt_issuer",
                             "The required iss claim; empty means iss is not checked.", nullptr,
                             &jwt_issuer, "", PGC_SUSET, 0, check_issuer, nullptr, nullptr);
  DefineCustomStringVariable("careguard.jwt_audience",
                             "Accepted audiences, comma-separated; empty means aud is not checked.",
                             nullptr, &jwt_audience, "", PGC_SUSET, 0, check_audiences, nullptr,
                             nullptr);
  DefineCustomIntVariable("careguard.jwt_max_token_bytes", "Longer tokens are rejected unread.",
                          nullptr, &jwt_max_token_bytes, 16384, 256, 1 << 20, PGC_SUSET, 0, nullptr,
                          nullptr, nullptr);
  DefineCustomStringVariable(
      "careguard.login_roles", "Database roles a token's role claim may name, comma-separated.",
      "service_role is left out by default: a token naming it would bypass row-level security.",
      &login_roles, "anon,authenticated,patient,provider,admin,analyst", PGC_SUSET, GUC_LIST_INPUT,
      check_login_roles, nullptr, nullptr);
}

}  // namespace careguard::pg
