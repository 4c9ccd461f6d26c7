// careguard core: the identity a Citus coordinator hands to its workers.
//
// Citus runs each shard query on a worker over a connection the coordinator
// opens as the current user, and sends along only SET LOCAL statements. The
// worker must not take a claims setting on trust there: anyone who can log in
// to the worker could SET LOCAL one. So the coordinator seals the identity it
// trusts (the claims document, the user the shard connection runs as, an
// expiry) with an HMAC-SHA256 under a secret every node shares; a worker
// believes the claims only when the seal verifies, the envelope has not
// expired, and it names the worker connection's own login.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace careguard::node_identity {

// Seconds an envelope is good for; a coordinator re-seals an identity it
// forwards once less than half of this is left.
inline constexpr std::int64_t kLifetimeSeconds = 300;
// Shortest shared secret accepted (bytes of text).
inline constexpr std::size_t kMinSecretBytes = 32;

struct Identity {
  std::int64_t expires_at = 0;  // Unix seconds
  std::string user;             // the login the worker connection runs as
  std::string claims;           // the claims document, as the coordinator trusted it
};

// The envelope text: "cg1.<base64url(payload)>.<base64url(HMAC-SHA256)>".
// Throws careguard::Error (22023) for a secret shorter than kMinSecretBytes
// or a user name with a line break.
std::string seal(std::string_view secret, const Identity& identity);

enum class OpenResult { kOk, kMalformed, kBadSeal, kExpired, kOtherUser };

// Checks the seal in constant time, then the expiry (with `leeway_seconds`)
// and that the envelope names `user`. `out` is filled only on kOk.
OpenResult open(std::string_view secret, std::string_view envelope, std::string_view user,
                std::int64_t now, std::int64_t leeway_seconds, Identity& out);

// What a refusal means, for an error message.
const char* describe(OpenResult result);

}  // namespace careguard::node_identity
