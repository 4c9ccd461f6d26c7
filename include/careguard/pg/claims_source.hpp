// careguard adapter: the claims in force for this call, parsed once per value.
#pragma once

#include <string>

#include "careguard/core/claims.hpp"
#include "careguard/core/json.hpp"

namespace careguard::pg {

// The claims document in force, or nullptr when none is set and trusted: a
// verified sign-in's, else one a coordinator forwarded (node_identity.hpp),
// else request.jwt.claims (or, when
// `prefer_claim_document`, PostgREST's older request.jwt.claim first).
// Throws careguard::Error when the document is malformed or too large.
const Claims* current_claims(bool prefer_claim_document);

// The text of the claims document current_claims(false) would parse, or
// nullptr; `forwarded` says whether it came as a forwarded identity. This is
// what a coordinator forwards: PostgREST's older one-claim settings
// (request.jwt.claim.sub, ...) are not.
const char* current_claims_text(bool& forwarded);

// The claims the helpers name directly.
enum class NamedClaim { kSub, kRole, kEmail, kProviderId };  // order of kNamedClaims

// Where one named claim comes from. Decided here and nowhere else: a verified
// sign-in outranks everything (the request.jwt.* settings are not read then);
// otherwise an older gateway's one-claim setting (request.jwt.claim.sub, ...)
// outranks the claims document, as Supabase's coalesce() does.
struct ClaimSource {
  const char* one_claim_value = nullptr;  // the one-claim setting's text, if it wins
  const Claims* document = nullptr;       // else the document, if any
  const char* setting = nullptr;          // the setting it came from, for messages
};
ClaimSource resolve_claim(NamedClaim name);

// The named claim of `name` in a document (sub, role, email, provider_id).
const char* claim_key(NamedClaim name);

// Every input a claim is resolved from (the document's text, the older
// one-claim settings), as one byte string: its size, a copy into `out` (of
// that size), and whether a copy taken earlier still equals it. A statement
// that reads patient records keeps one (ledger_capture.cpp), and the claims
// are refused while they differ from it (55000): its record names the claims
// it started with, so none may change under it.
std::size_t identity_inputs_size();
void copy_identity_inputs(char* out);
bool identity_inputs_equal(const char* copy, std::size_t size);

// Seeds the cache with claims auth.login() has already parsed (and their
// jsonb image), so the helpers that follow in its transaction parse nothing.
void adopt_verified_claims(std::string&& text, json::Value&& parsed, std::string&& jsonb_image);

// Forgets parsed documents at transaction end (bounded memory).
void reset_claims_cache();

}  // namespace careguard::pg
