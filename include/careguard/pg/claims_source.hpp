// careguard adapter: the claims in force for this call, parsed once per value.
#pragma once

#include "careguard/core/claims.hpp"

namespace careguard::pg {

// The claims document in force (request.jwt.claims, else request.jwt.claim
// when `include_claim_document`), or nullptr when none is set and trusted.
// Throws careguard::Error when the document is malformed.
const Claims* current_claims(bool prefer_claim_document);

enum class UuidClaimName { kSub, kProviderId };

// A uuid claim: the legacy one-claim setting first, then the document, as
// Supabase's coalesce() does. Names the setting it came from. The result
// stays valid until the next call.
const UuidClaim& current_uuid_claim(UuidClaimName name, const char** from_setting);

// Forgets parsed documents at transaction end (bounded memory).
void reset_claims_cache();

}  // namespace careguard::pg
