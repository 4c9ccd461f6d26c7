// careguard adapter: settings that govern verified sign-in (auth.login).
// All are superuser-only: a user able to widen the leeway or the role list
// could make an expired or foreign token good.
#pragma once

namespace careguard::pg {

extern bool trust_request_claims;  // careguard.trust_request_claims
extern char* verified_claims;      // careguard.verified_claims (set only by auth.login)
extern int jwt_leeway_seconds;     // careguard.jwt_leeway_seconds
extern bool jwt_require_exp;       // careguard.jwt_require_exp
extern char* jwt_issuer;           // careguard.jwt_issuer
extern char* jwt_audience;         // careguard.jwt_audience (comma-separated)
extern int jwt_max_token_bytes;    // careguard.jwt_max_token_bytes
extern char* login_roles;          // careguard.login_roles (comma-separated)

// Defines the settings above; from _PG_init.
void define_login_settings();

// Forgets per-transaction sign-in state (the outside-a-block warning).
void reset_login_state_for_new_transaction();

// The verified claims of this transaction, or nullptr when nobody signed in.
inline const char* verified_claims_value() {
  return (verified_claims != nullptr && verified_claims[0] != '\0') ? verified_claims : nullptr;
}

}  // namespace careguard::pg
