// careguard adapter: identity across a Citus cluster. A coordinator seals the
// identity it trusts into careguard.node_identity with SET LOCAL, which Citus
// (citus.propagate_set_commands = 'local') sends to every worker connection of
// the transaction; a worker believes it only when the seal verifies
// (include/careguard/core/node_identity.hpp, docs/scale-out.md).
#pragma once

namespace careguard::pg {

extern char* node_secret;    // careguard.node_secret (superuser-only, server-wide)
extern char* node_identity;  // careguard.node_identity (set by careguard, via SET LOCAL)

// Defines the two settings; from _PG_init.
void define_node_identity_settings();

// The claims a coordinator forwarded to this node, or nullptr when none is in
// force. A value this backend sealed itself counts only when it re-forwards
// claims that came to it the same way. Throws careguard::Error (28000) for an
// envelope that is present but not valid here: never silently trusted,
// never silently ignored.
const char* forwarded_claims();

// True when careguard.node_identity holds a value set in this transaction.
bool node_identity_set_locally();

// From the ExecutorStart hook: when Citus is loaded and a node secret is set,
// seals the identity in force for the current user and SETs it LOCAL, so
// that Citus sends it to the workers; a no-op while the same envelope is in
// force and not near expiry.
void forward_identity_to_workers();

// Forgets the envelopes of the transaction that ended.
void reset_node_identity_for_new_transaction();

}  // namespace careguard::pg
