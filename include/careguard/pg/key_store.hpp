// careguard adapter: the JWT verification keys, read from auth.signing_keys
// and cached per backend until that table changes.
#pragma once

#include "careguard/core/jwk.hpp"

namespace careguard::pg {

// Keys in state standby or in_use. Loaded as the table's owner (callers
// cannot read key material themselves), reloaded after any change commits.
const careguard::jwt::KeySet& verification_keys();

// Registers the relcache callback that marks the cache stale; from _PG_init.
void register_key_store_invalidation();

}  // namespace careguard::pg
