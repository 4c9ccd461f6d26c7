// careguard adapter: the preload rule, the pooled-state and claim-size
// settings, and check hooks that reject a mistyped list instead of keeping it.
#include "careguard/pg/security_settings.hpp"

#include <cstring>
#include <string>

#include "careguard/core/error.hpp"
#include "careguard/pg/guard.hpp"
#include "careguard/pg/login_settings.hpp"

extern "C" {
#include "catalog/pg_authid.h"
#include "utils/acl.h"
#include "utils/varlena.h"
}

namespace careguard::pg {

bool loaded_by_preload = false;
bool allow_session_state = false;
char* gateway_roles = nullptr;
int max_claims_bytes = 16384;
int small_cell_threshold = 11;

namespace {

// Role lists: every name must be well formed and, where the catalog can be
// read, must name an existing role. At server start there is no catalog, and
// a built-in default is never refused (PostgreSQL treats that as FATAL); an
// unknown name then simply never matches, which fails closed.
bool check_role_list(char** newval, void**, GucSource source, const char* setting) {
  char* copy = pstrdup(*newval == nullptr ? "" : *newval);
  List* items = NIL;
  if (!SplitGUCList(copy, ',', &items)) {
    GUC_check_errdetail("%s is not a valid comma-separated list of role names.", setting);
    return false;
  }
  bool catalog_readable =
      source != PGC_S_DEFAULT && IsTransactionState() && OidIsValid(MyDatabaseId);
  ListCell* cell;
  foreach (cell, items) {
    const char* name = static_cast<const char*>(lfirst(cell));
    if (name[0] == '\0') {
      GUC_check_errdetail("%s contains an empty role name.", setting);
      return false;
    }
    if (catalog_readable && !OidIsValid(get_role_oid(name, true))) {
      GUC_check_errdetail("role \"%s\" in %s does not exist.", name, setting);
      GUC_check_errhint("Create the role first, or correct the name.");
      return false;
    }
  }
  return true;
}

bool check_gateway_roles(char** newval, void** extra, GucSource source) {
  return check_role_list(newval, extra, source, "careguard.gateway_roles");
}

}  // namespace

bool check_login_roles(char** newval, void** extra, GucSource source) {
  return check_role_list(newval, extra, source, "careguard.login_roles");
}

// Audiences are free text, but an empty entry or one with surrounding spaces
// is a typo that would silently match nothing (or the wrong thing).
bool check_audiences(char** newval, void**, GucSource) {
  const char* value = *newval == nullptr ? "" : *newval;
  if (value[0] == '\0') return true;
  const char* start = value;
  for (const char* p = value;; ++p) {
    if (*p == ',' || *p == '\0') {
      std::size_t length = static_cast<std::size_t>(p - start);
      if (length == 0) {
        GUC_check_errdetail("careguard.jwt_audience contains an empty audience.");
        return false;
      }
      if (start[0] == ' ' || start[length - 1] == ' ') {
        GUC_check_errdetail("careguard.jwt_audience entries may not begin or end with a space.");
        GUC_check_errhint("Write the list as aud1,aud2 without spaces.");
        return false;
      }
      if (*p == '\0') break;
      start = p + 1;
    }
  }
  return true;
}

// An issuer with surrounding spaces can never equal a token's iss.
bool check_issuer(char** newval, void**, GucSource) {
  const char* value = *newval == nullptr ? "" : *newval;
  std::size_t length = std::strlen(value);
  if (length > 0 && (value[0] == ' ' || value[length - 1] == ' ')) {
    GUC_check_errdetail("careguard.jwt_issuer may not begin or end with a space.");
    return false;
  }
  return true;
}

void define_security_settings() {
  DefineCustomBoolVariable(
      "careguard.allow_session_state",
      "Let holdable cursors and temporary tables outlive a transaction that ran with a "
      "per-request identity.",
      "Off by default: on a pooled connection the next client would read them. Turn on only "
      "where every connection serves one client.",
      &allow_session_state, false, PGC_SUSET, 0, nullptr, nullptr, nullptr);
  DefineCustomStringVariable(
      "careguard.gateway_roles",
      "Login roles that act for many clients (PostgREST's authenticator), comma-separated.",
      "Sessions of these logins may change role only with SET LOCAL ROLE.", &gateway_roles,
      "authenticator", PGC_SUSET, GUC_LIST_INPUT, check_gateway_roles, nullptr, nullptr);
  DefineCustomIntVariable(
      "careguard.max_claims_bytes",
      "Longer claim settings (request.jwt.claims and friends) are refused before parsing.", nullptr,
      &max_claims_bytes, 16384, 256, 1 << 20, PGC_SUSET, GUC_UNIT_BYTE, nullptr, nullptr, nullptr);
  DefineCustomIntVariable("careguard.small_cell_threshold",
                          "Aggregates over fewer distinct patients than this are suppressed.",
                          "11 is the usual small-cell rule for health statistics.",
                          &small_cell_threshold, 11, 2, 1000000, PGC_SUSET, 0, nullptr, nullptr,
                          nullptr);
}

void require_preload(const char* what) {
  if (loaded_by_preload) return;
  call_pg([what] {
    ereport(ERROR,
            (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
             errmsg("%s needs careguard in shared_preload_libraries", what),
             errdetail("careguard was loaded after the session started, so a client could have "
                       "chosen its security settings; it trusts no identity until preloaded."),
             errhint("Add careguard to shared_preload_libraries in postgresql.conf and restart "
                     "the server.")));
  });
}

bool session_user_is_gateway() {
  // Asked on every statement of some paths: the answer is kept per session
  // user and per value of the list (a superuser may change it).
  static Oid cached_user = InvalidOid;
  static std::string cached_list;
  static bool cached_answer = false;
  const char* list = gateway_roles == nullptr ? "" : gateway_roles;
  Oid session_user = GetSessionUserId();
  if (session_user == cached_user && cached_list == list) return cached_answer;
  bool answer = list[0] != '\0' && call_pg([list, session_user] {
                  const char* session_name = GetUserNameFromId(session_user, true);
                  if (session_name == nullptr) return false;
                  char* copy = pstrdup(list);
                  List* items = NIL;
                  if (!SplitGUCList(copy, ',', &items))
                    return true;  // Unparsable: assume the worst.
                  ListCell* cell;
                  foreach (cell, items) {
                    if (std::strcmp(static_cast<const char*>(lfirst(cell)), session_name) == 0)
                      return true;
                  }
                  return false;
                });
  cached_user = session_user;
  cached_list = list;
  cached_answer = answer;
  return answer;
}

void check_claims_size(const char* value, const char* setting) {
  std::size_t length = std::strlen(value);
  if (length <= static_cast<std::size_t>(max_claims_bytes)) return;
  throw Error(sqlstate::kProgramLimitExceeded,
              "claims in \"" + std::string(setting) + "\" are " + std::to_string(length) +
                  " bytes, more than careguard.max_claims_bytes (" +
                  std::to_string(max_claims_bytes) + ")",
              "Oversized claims are refused unread; a gateway should send only the token's "
              "claims.");
}

}  // namespace careguard::pg

extern "C" {
PG_FUNCTION_INFO_V1(careguard_is_preloaded);
}

// careguard.is_preloaded(): whether this backend loaded careguard through
// shared_preload_libraries, the only way its identity rules are in force.
Datum careguard_is_preloaded(PG_FUNCTION_ARGS) {
  (void)fcinfo;
  PG_RETURN_BOOL(careguard::pg::loaded_by_preload);
}
