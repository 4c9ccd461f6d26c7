// careguard adapter: reading the claim settings PostgREST and Supabase use,
// with the trust rule that keeps session-level (pooled, leaked) claims out.
#pragma once

#include "careguard/pg/postgres.hpp"

namespace careguard::pg {

// The settings the helpers read, in the order Supabase's helpers consult them.
enum class ClaimSetting : int {
  kClaims = 0,     // request.jwt.claims: the whole claims document (PostgREST 9+).
  kClaimDocument,  // request.jwt.claim: the whole document, older spelling.
  kSub,            // request.jwt.claim.sub and friends: one claim each (PostgREST < 9).
  kRole,
  kEmail,
  kProviderId,
  kCount
};

const char* setting_name(ClaimSetting which);

// The setting's value when it is set, non-empty and trusted; else nullptr.
// The pointer is into GUC storage: use it before anything can change the setting.
const char* trusted_setting_value(ClaimSetting which);

// True when this transaction runs for one client: it signed in, read trusted
// claims, or set claims or the role transaction-locally.
bool per_request_identity_in_force();

// Records that a verified identity was read in this transaction.
void note_identity_read();

// The record of a setting by name (binary search of guc.c's sorted array),
// or nullptr when it is not defined.
config_generic* find_config(const char* name);

// Whether a setting's value ends with its transaction or function (SET LOCAL,
// set_config(..., true), a function's SET clause): the claims guard's rule.
bool setting_is_transaction_bound(const config_generic* setting);

// The trust bit of careguard.node_identity, after the ClaimSetting bits.
inline constexpr int kNodeIdentityTrustBit = 1 << static_cast<int>(ClaimSetting::kCount);

// Whether a parallel leader published that it trusts its forwarded identity.
bool leader_trusts_node_identity();

// Which settings this backend trusts now, as a bitmask (bit = ClaimSetting,
// and kNodeIdentityTrustBit).
int trusted_settings_mask();

// The mask a parallel leader publishes so its workers decide as it did.
void publish_trust_for_parallel_workers();

// Forgets per-transaction state (the once-per-transaction warning).
void reset_claim_settings_for_new_transaction();

// Settings defined in _PG_init.
extern bool trust_session_claims;
extern bool hoist_claim_helpers;
extern int leader_trusted_settings;

}  // namespace careguard::pg
