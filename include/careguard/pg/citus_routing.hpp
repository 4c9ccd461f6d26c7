// careguard adapter: router plans on Citus for policies that name the tenant
// (src/pg/citus_routing.cpp says how, and why no plan serves another identity).
#pragma once

namespace careguard::pg {

// Installs the planner hook; from _PG_init, after Citus's own (preload order).
void install_citus_routing_hook();

// From the transaction-end callback: invalidates the backend's cached plans
// when this transaction planned with a claim's value. Never raises.
void forget_pinned_plans_at_transaction_end();

}  // namespace careguard::pg
