// careguard adapter: nothing one client's transaction leaves on a pooled
// server connection may carry its rows or its role to the next client.
#pragma once

namespace careguard::pg {

// Installs the utility and permission-check hooks; from _PG_init.
void install_pooled_state_hooks();

// At PRE_COMMIT: refuses a commit that would leave a holdable cursor, a
// temporary table with rows, or a session-level role behind a transaction
// that ran with a per-request identity. May raise an ERROR.
void refuse_state_outliving_identity();

// Refuses every statement of a gateway session whose role defaults to
// something other than its login (ALTER ROLE authenticator SET role = ...).
void refuse_gateway_default_role();

// Forgets what this transaction created; at COMMIT and ABORT.
void reset_pooled_state_for_new_transaction();

}  // namespace careguard::pg
