// careguard adapter: turns claim settings into parsed claims through the
// core's value-keyed cache.
#include "careguard/pg/claims_source.hpp"

#include "careguard/pg/claim_settings.hpp"
#include "careguard/pg/guard.hpp"
#include "careguard/pg/login_settings.hpp"
#include "careguard/pg/security_settings.hpp"

namespace careguard::pg {

namespace {
// Bounded by count and by bytes: a transaction may set many distinct
// documents, each up to careguard.max_claims_bytes.
ClaimsCache claims_cache(8, 1u << 20);
UuidClaim legacy_claim;  // Holds a one-claim setting's parse between calls.
const UuidClaim kAbsent;
}  // namespace

const Claims* current_claims(bool prefer_claim_document) {
  if (const char* verified = verified_claims_value()) {
    // Without the preload, trust nothing, not even a signed-in identity.
    if (!loaded_by_preload) return nullptr;
    note_identity_read();
    check_claims_size(verified, "careguard.verified_claims");
    return &claims_cache.get(verified, "careguard.verified_claims");
  }
  if (prefer_claim_document) {
    if (const char* raw = trusted_setting_value(ClaimSetting::kClaimDocument)) {
      return &claims_cache.get(raw, setting_name(ClaimSetting::kClaimDocument));
    }
  }
  const char* raw = trusted_setting_value(ClaimSetting::kClaims);
  if (raw == nullptr) return nullptr;
  return &claims_cache.get(raw, setting_name(ClaimSetting::kClaims));
}

const UuidClaim& current_uuid_claim(UuidClaimName name, const char** from_setting) {
  ClaimSetting legacy =
      name == UuidClaimName::kSub ? ClaimSetting::kSub : ClaimSetting::kProviderId;
  if (const char* raw = trusted_setting_value(legacy)) {
    *from_setting = setting_name(legacy);
    legacy_claim = uuid_from_text(raw);
    return legacy_claim;
  }
  *from_setting = verified_claims_value() != nullptr ? "careguard.verified_claims"
                                                     : setting_name(ClaimSetting::kClaims);
  const Claims* claims = current_claims(false);
  if (claims == nullptr) return kAbsent;
  return name == UuidClaimName::kSub ? claims->sub() : claims->provider_id();
}

void reset_claims_cache() {
  claims_cache.clear();
}

}  // namespace careguard::pg
