// careguard adapter: sealing the identity in force for Citus's worker
// connections, and opening it on the worker (include/careguard/pg/node_identity.hpp).
#include "careguard/pg/node_identity.hpp"

#include <cstring>
#include <ctime>
#include <string>

#include "careguard/core/error.hpp"
#include "careguard/core/node_identity.hpp"
#include "careguard/pg/claim_settings.hpp"
#include "careguard/pg/claims_source.hpp"
#include "careguard/pg/guard.hpp"
#include "careguard/pg/login_settings.hpp"
#include "careguard/pg/security_settings.hpp"

extern "C" {
#include "executor/spi.h"
}

namespace careguard::pg {

char* node_secret = nullptr;
char* node_identity = nullptr;

namespace {

const char* const kIdentitySetting = "careguard.node_identity";
const char* const kCitusSetCommands = "citus.propagate_set_commands";

// The last envelope this backend sealed in this transaction, what it holds,
// and whether those claims came to it as a forwarded identity (a worker that
// runs a distributed query of its own passes them on).
struct Sealed {
  std::string envelope;
  std::string user;
  std::string claims;
  std::int64_t expires_at = 0;
  bool claims_were_forwarded = false;
};
Sealed sealed;

// The last envelope opened here, so that a statement's many helper calls
// verify it once; the expiry is still checked on every call.
struct Opened {
  std::string envelope;
  std::string user;
  node_identity::Identity identity;
};
Opened opened;

bool forwarding = false;  // re-entry guard: the SPI SET below runs no executor, but be sure

const char* value_or_null(const char* value) {
  return (value == nullptr || value[0] == '\0') ? nullptr : value;
}

std::int64_t unix_now() {
  return static_cast<std::int64_t>(std::time(nullptr));
}

bool check_node_secret(char** newval, void**, GucSource) {
  if (*newval == nullptr || (*newval)[0] == '\0') return true;
  if (std::strlen(*newval) < node_identity::kMinSecretBytes) {
    GUC_check_errdetail(
        "careguard.node_secret needs at least 32 bytes; leave it empty to turn "
        "identity forwarding off.");
    return false;
  }
  return true;
}

const char* current_user_name() {
  return call_pg([] { return GetUserNameFromId(GetUserId(), false); });
}

const char* session_user_name() {
  return call_pg([] { return GetUserNameFromId(GetSessionUserId(), false); });
}

// Runs SET LOCAL careguard.node_identity through the utility hooks, so that
// Citus's hook sends it to the transaction's worker connections and to every
// connection it opens later. citus.propagate_set_commands is 'local' for
// exactly this statement and then back to what it was.
void set_local_identity(const std::string& envelope) {
  std::string statement = "SET LOCAL careguard.node_identity TO '" + envelope + "'";
  call_pg([&statement] {
    const char* previous = GetConfigOption(kCitusSetCommands, true, false);
    char* saved = pstrdup(previous == nullptr ? "none" : previous);
    (void)set_config_option(kCitusSetCommands, "local", PGC_USERSET, PGC_S_SESSION,
                            GUC_ACTION_LOCAL, true, ERROR, false);
    if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "SPI_connect failed");
    int rc = SPI_execute(statement.c_str(), false, 0);
    if (rc != SPI_OK_UTILITY) elog(ERROR, "SET LOCAL careguard.node_identity failed: %d", rc);
    SPI_finish();
    (void)set_config_option(kCitusSetCommands, saved, PGC_USERSET, PGC_S_SESSION, GUC_ACTION_LOCAL,
                            true, ERROR, false);
    pfree(saved);
  });
}

}  // namespace

void define_node_identity_settings() {
  DefineCustomStringVariable(
      "careguard.node_secret",
      "Secret every node of a Citus cluster shares, to seal the identity sent to workers.",
      "At least 32 bytes; empty turns forwarding and accepting off. Set it in postgresql.conf "
      "(or an included file readable only by the server) on every node.",
      &node_secret, "", PGC_SIGHUP, GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE,
      check_node_secret, nullptr, nullptr);
  // Any user may set it (Citus sends it as the shard connection's user); only
  // a value sealed with the node secret is believed.
  DefineCustomStringVariable(
      kIdentitySetting, "Internal: the identity a coordinator sealed for this transaction.",
      nullptr, &node_identity, "", PGC_USERSET,
      GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE | GUC_DISALLOW_IN_FILE, nullptr,
      nullptr, nullptr);
}

bool node_identity_set_locally() {
  const config_generic* setting = find_config(kIdentitySetting);
  if (setting == nullptr || value_or_null(node_identity) == nullptr) return false;
  return setting_is_transaction_bound(setting);
}

const char* forwarded_claims() {
  const char* envelope = value_or_null(node_identity);
  if (envelope == nullptr) return nullptr;
  if (!loaded_by_preload) return nullptr;
  // Our own envelope: its claims are already read from their real source,
  // unless they came to this backend forwarded and it passed them on.
  if (sealed.envelope == envelope) {
    return sealed.claims_were_forwarded ? sealed.claims.c_str() : nullptr;
  }
  // Like every claim setting: only a value that ends with the transaction.
  if (!node_identity_set_locally() && !(IsParallelWorker() && leader_trusts_node_identity())) {
    throw Error(sqlstate::kInvalidAuthorization, "careguard.node_identity was set for the session",
                "A forwarded identity is believed only when it was set with SET LOCAL.");
  }
  const char* secret = value_or_null(node_secret);
  if (secret == nullptr) {
    throw Error(sqlstate::kInvalidAuthorization,
                "careguard.node_identity is set but this node has no careguard.node_secret",
                "Set the same careguard.node_secret on every node of the cluster.");
  }
  std::string user = session_user_name();
  std::int64_t now = unix_now();
  if (opened.envelope != envelope || opened.user != user) {
    node_identity::Identity identity;
    auto result = node_identity::open(secret, envelope, user, now, jwt_leeway_seconds, identity);
    if (result != node_identity::OpenResult::kOk) {
      opened = Opened{};
      throw Error(sqlstate::kInvalidAuthorization,
                  std::string("careguard.node_identity is not valid here: ") +
                      node_identity::describe(result),
                  "Only a node holding the cluster's careguard.node_secret seals it, for the "
                  "login its worker connection uses.");
    }
    opened.envelope = envelope;
    opened.user = std::move(user);
    opened.identity = std::move(identity);
  } else if (opened.identity.expires_at + jwt_leeway_seconds < now) {
    throw Error(sqlstate::kInvalidAuthorization,
                "careguard.node_identity is not valid here: expired");
  }
  note_identity_read();
  check_claims_size(opened.identity.claims.c_str(), kIdentitySetting);
  return opened.identity.claims.c_str();
}

void forward_identity_to_workers() {
  if (forwarding || !loaded_by_preload || IsParallelWorker()) return;
  const char* secret = value_or_null(node_secret);
  if (secret == nullptr || find_config(kCitusSetCommands) == nullptr) return;
  bool from_forwarded = false;
  const char* claims = current_claims_text(from_forwarded);
  const char* current = value_or_null(node_identity);
  if (claims == nullptr) {
    // No identity now: take back one forwarded earlier in the transaction.
    if (current != nullptr && sealed.envelope == current) {
      forwarding = true;
      try {
        set_local_identity("");
      } catch (...) {
        forwarding = false;
        throw;
      }
      forwarding = false;
      sealed = Sealed{};
    }
    return;
  }
  std::string user = current_user_name();
  std::int64_t now = unix_now();
  if (current != nullptr && sealed.envelope == current && sealed.user == user &&
      sealed.claims == claims && sealed.expires_at - now > node_identity::kLifetimeSeconds / 2) {
    return;
  }
  Sealed next;
  next.user = user;
  next.claims = claims;
  next.expires_at = now + node_identity::kLifetimeSeconds;
  next.claims_were_forwarded = from_forwarded;
  next.envelope = node_identity::seal(secret, {next.expires_at, next.user, next.claims});
  forwarding = true;
  try {
    set_local_identity(next.envelope);
  } catch (...) {
    forwarding = false;
    throw;
  }
  forwarding = false;
  sealed = std::move(next);
}

void reset_node_identity_for_new_transaction() {
  sealed = Sealed{};
  opened = Opened{};
  forwarding = false;
}

}  // namespace careguard::pg
