// careguard adapter: the preload rule and the settings that keep pooled
// connections and oversized claims from weakening the trust model.
#pragma once

#include "careguard/pg/postgres.hpp"

namespace careguard::pg {

// True when careguard.so was loaded by shared_preload_libraries. Only then
// have its superuser-only settings been in force since the backend started:
// loaded later, a client's startup option may already have replaced the
// DBA's value in PostgreSQL's placeholder (see docs/security-model.md).
extern bool loaded_by_preload;

extern bool allow_session_state;  // careguard.allow_session_state
extern char* gateway_roles;       // careguard.gateway_roles (comma-separated)
extern int max_claims_bytes;      // careguard.max_claims_bytes
extern int small_cell_threshold;  // careguard.small_cell_threshold

// Defines the settings above; from _PG_init.
void define_security_settings();

// Check hooks of the sign-in settings (login_settings.cpp): a mistyped list
// is rejected, never kept to match nothing or the wrong thing.
bool check_login_roles(char** newval, void** extra, GucSource source);
bool check_audiences(char** newval, void** extra, GucSource source);
bool check_issuer(char** newval, void** extra, GucSource source);

// Raises when careguard was not preloaded: sign-in must not run on settings
// a client could have chosen.
void require_preload(const char* what);

// True when the session's login is a gateway role (careguard.gateway_roles).
bool session_user_is_gateway();

// Throws 54000 when a claim setting's text is over careguard.max_claims_bytes;
// checked before anything parses it.
void check_claims_size(const char* value, const char* setting);

}  // namespace careguard::pg
