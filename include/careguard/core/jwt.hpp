// careguard core: compact JWS / JWT (RFC 7515, RFC 7519) verification and
// signing. Pure C++: the PostgreSQL adapter maps careguard::Error to ereport.
//
// Rejections throw careguard::Error with SQLSTATE 28000 (invalid
// authorization), except a bad signature: 28P01 (invalid password). Messages
// start with these fixed phrases, which tests and docs rely on:
//   "token too large"                      (longer than max_token_bytes)
//   "malformed token: <why>"               (structure, base64url, JSON, claim types)
//   "unsupported algorithm \"<alg>\""      (unknown alg, including "none")
//   "unknown key id \"<kid>\""             (kid not in the key set)
//   "missing kid header"                   (no kid and the set has not exactly one key)
//   "algorithm mismatch"                   (alg not allowed by the selected key)
//   "signature mismatch"                   (28P01)
//   "token expired at <ISO-8601 UTC>"
//   "token not valid before <ISO-8601 UTC>"
//   "token issued in the future at <ISO-8601 UTC>"
//   "missing exp claim"
//   "issuer mismatch"
//   "audience mismatch"
//   "sub claim is not a uuid"
// Key-related failures while signing throw 22023.
#pragma once

#include "careguard/core/json.hpp"
#include "careguard/core/jwk.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace careguard::jwt {

struct VerifyOptions {
  // Current Unix time in seconds; unset means the system clock. Tests pin it.
  std::optional<std::int64_t> now;
  // Clock skew tolerated on exp, nbf and iat, in seconds.
  std::int64_t leeway_seconds = 30;
  // Reject tokens without an exp claim.
  bool require_exp = true;
  // Required exact "iss"; empty means iss is not checked.
  std::string issuer;
  // Accepted audiences: "aud" (a string or an array of strings) must contain
  // at least one of them. Empty means aud is not checked.
  std::vector<std::string> audiences;
  // Tokens longer than this are rejected before any decoding.
  std::size_t max_token_bytes = 16384;
  // When true, a present "sub" must be a uuid (PostgreSQL uuid_in syntax),
  // as auth.uid() needs for signed-in users, unless the token's "role" claim
  // is one of roles_exempt_from_uuid_sub. The adapter turns this on with
  // roles_exempt_from_uuid_sub = {"anon", "service_role"}.
  bool require_uuid_sub = false;
  std::vector<std::string> roles_exempt_from_uuid_sub;
};

// What verify() established. Timestamps are the claims as numbers (they
// may be fractional); absent claims are nullopt.
struct VerifiedToken {
  Algorithm alg = Algorithm::HS256;
  std::string kid;           // The header's kid; empty when absent.
  const Key* key = nullptr;  // The key that verified it; points into the KeySet.
  std::string header_json;   // Decoded header, byte for byte.
  std::string payload_json;  // Decoded payload (the claims), byte for byte.
  json::Value claims;        // payload_json parsed; spans index payload_json.
  std::optional<double> exp;
  std::optional<double> nbf;
  std::optional<double> iat;
};

// Verifies a compact JWS and its registered claims. The key is chosen by the
// header's "kid" (or is the set's sole key when there is no kid); the
// header's "alg" must be one the key allows. The signature is checked before
// the payload is even decoded. Throws careguard::Error as listed above.
VerifiedToken verify(std::string_view token, const KeySet& keys, const VerifyOptions& options);

// Signs claims (must be a JSON object; 22023 otherwise) into a compact JWS
// whose payload is exactly claims_json. The header is
// {"alg":...,"typ":"JWT","kid":...}: alg defaults to key.default_algorithm(),
// kid to key.kid() (omitted when both are empty).
std::string sign(std::string_view claims_json, const Key& key, std::string_view alg = {},
                 std::string_view kid_override = {});

// "2024-05-01T12:00:00Z" for a Unix time (fraction dropped, toward minus
// infinity); used in expiry messages.
std::string format_utc(double unix_seconds);

}  // namespace careguard::jwt
