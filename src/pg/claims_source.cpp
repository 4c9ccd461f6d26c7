// careguard adapter: turns claim settings into parsed claims through the
// core's value-keyed cache, and decides, in one place, where a claim comes from.
#include "careguard/pg/claims_source.hpp"

#include <cstring>

#include "careguard/core/error.hpp"
#include "careguard/pg/claim_settings.hpp"
#include "careguard/pg/guard.hpp"
#include "careguard/pg/ledger.hpp"
#include "careguard/pg/login_settings.hpp"
#include "careguard/pg/node_identity.hpp"
#include "careguard/pg/security_settings.hpp"

namespace careguard::pg {

namespace {
// Bounded by count and by bytes: a transaction may set many distinct
// documents, each up to careguard.max_claims_bytes.
ClaimsCache claims_cache(8, 1u << 20);
const char* const kVerifiedSetting = "careguard.verified_claims";
const char* const kForwardedSetting = "careguard.node_identity";

// Each named claim: its key in a document, and its one-claim setting.
struct NamedClaimInfo {
  const char* key;
  ClaimSetting one_claim;
};
constexpr NamedClaimInfo kNamedClaims[] = {{"sub", ClaimSetting::kSub},
                                           {"role", ClaimSetting::kRole},
                                           {"email", ClaimSetting::kEmail},
                                           {"provider_id", ClaimSetting::kProviderId}};

const NamedClaimInfo& info(NamedClaim name) {
  return kNamedClaims[static_cast<int>(name)];
}

// Calls `each` with every input a claim is resolved from, in a fixed order
// (nullptr when unset or untrusted).
template <typename Each>
void visit_identity_inputs(Each each) {
  bool forwarded = false;
  each(current_claims_text(forwarded));
  each(trusted_setting_value(ClaimSetting::kClaimDocument));
  for (const NamedClaimInfo& claim : kNamedClaims) each(trusted_setting_value(claim.one_claim));
}

// One input in the byte string: "-" when unset, else "+", its text and a NUL.
std::size_t input_size(const char* value) {
  return value == nullptr ? 1 : std::strlen(value) + 2;
}

// The claims may not change under a statement that reads patient records.
void refuse_changed_identity() {
  if (!ledger_identity_unchanged()) {
    throw Error(sqlstate::kObjectNotInPrerequisiteState,
                "the claims changed while a statement that reads patient records runs");
  }
}
}  // namespace

std::size_t identity_inputs_size() {
  std::size_t size = 0;
  visit_identity_inputs([&](const char* value) { size += input_size(value); });
  return size;
}

void copy_identity_inputs(char* out) {
  visit_identity_inputs([&](const char* value) {
    if (value == nullptr) {
      *out++ = '-';
      return;
    }
    *out++ = '+';
    const std::size_t length = std::strlen(value) + 1;
    std::memcpy(out, value, length);
    out += length;
  });
}

bool identity_inputs_equal(const char* copy, std::size_t size) {
  std::size_t at = 0;
  bool equal = true;
  visit_identity_inputs([&](const char* value) {
    const std::size_t length = input_size(value);
    if (!equal || at + length > size) {
      equal = false;
    } else if (value == nullptr) {
      equal = copy[at] == '-';
    } else {
      equal = copy[at] == '+' && std::memcmp(copy + at + 1, value, length - 1) == 0;
    }
    at += length;
  });
  return equal && at == size;
}

const Claims* current_claims(bool prefer_claim_document) {
  refuse_changed_identity();
  if (const char* verified = verified_claims_value()) {
    // Without the preload, trust nothing, not even a signed-in identity.
    if (!loaded_by_preload) return nullptr;
    note_identity_read();
    check_claims_size(verified, kVerifiedSetting);
    return &claims_cache.get(verified, kVerifiedSetting);
  }
  if (const char* forwarded = forwarded_claims()) {
    return &claims_cache.get(forwarded, kForwardedSetting);
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

ClaimSource resolve_claim(NamedClaim name) {
  refuse_changed_identity();
  ClaimSource source;
  ClaimSetting one_claim = info(name).one_claim;
  // trusted_setting_value() is nullptr under a verified sign-in, so the
  // sign-in's document wins there; otherwise the one-claim setting does.
  if (const char* raw = trusted_setting_value(one_claim)) {
    source.one_claim_value = raw;
    source.setting = setting_name(one_claim);
    return source;
  }
  source.document = current_claims(false);
  source.setting = verified_claims_value() != nullptr ? kVerifiedSetting
                   : forwarded_claims() != nullptr    ? kForwardedSetting
                                                      : setting_name(ClaimSetting::kClaims);
  return source;
}

const char* current_claims_text(bool& forwarded) {
  forwarded = false;
  if (const char* verified = verified_claims_value()) return loaded_by_preload ? verified : nullptr;
  if (const char* text = forwarded_claims()) {
    forwarded = true;
    return text;
  }
  return trusted_setting_value(ClaimSetting::kClaims);
}

const char* claim_key(NamedClaim name) {
  return info(name).key;
}

void adopt_verified_claims(std::string&& text, json::Value&& parsed, std::string&& jsonb_image) {
  const Claims& adopted = claims_cache.adopt(std::move(text), std::move(parsed));
  adopted.adapter_cache() = std::move(jsonb_image);
}

void reset_claims_cache() {
  claims_cache.clear();
}

}  // namespace careguard::pg
