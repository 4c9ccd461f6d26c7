// careguard adapter: library load, settings, and transaction/executor hooks.
#include "careguard/pg/catalog_names.hpp"
#include "careguard/pg/citus_routing.hpp"
#include "careguard/pg/catalog_hooks.hpp"
#include "careguard/pg/claim_settings.hpp"
#include "careguard/pg/claims_source.hpp"
#include "careguard/pg/guard.hpp"
#include "careguard/pg/key_store.hpp"
#include "careguard/pg/ledger.hpp"
#include "careguard/pg/login_settings.hpp"
#include "careguard/pg/node_identity.hpp"
#include "careguard/pg/drop_guard.hpp"
#include "careguard/pg/policy_gate.hpp"
#include "careguard/pg/pooled_state.hpp"
#include "careguard/pg/security_settings.hpp"

using namespace careguard::pg;

extern "C" {
PG_MODULE_MAGIC;
void _PG_init(void);
}

namespace {

ExecutorStart_hook_type previous_executor_start = nullptr;

// Clears per-transaction state; must never raise an ERROR at COMMIT/ABORT.
// PRE_COMMIT, which may raise, refuses state that would outlive the identity
// and a protected table left open.
void on_transaction_event(XactEvent event, void*) {
  if (event == XACT_EVENT_PRE_COMMIT || event == XACT_EVENT_PRE_PREPARE) {
    refuse_state_outliving_identity();
    enforce_policy_gate();
    return;
  }
  if (event != XACT_EVENT_COMMIT && event != XACT_EVENT_ABORT && event != XACT_EVENT_PREPARE &&
      event != XACT_EVENT_PARALLEL_COMMIT && event != XACT_EVENT_PARALLEL_ABORT) {
    return;
  }
  contained([] {
    reset_claims_cache();
    reset_claim_settings_for_new_transaction();
    reset_login_state_for_new_transaction();
    reset_pooled_state_for_new_transaction();
    reset_node_identity_for_new_transaction();
    forget_pinned_plans_at_transaction_end();
    reset_policy_gate_for_new_transaction();
    reset_drop_guard_for_new_transaction();
  });
}

// Hands the leader's claim-trust decision to the parallel workers it starts,
// and refuses to run anything for a gateway session born with another role.
void on_executor_start(QueryDesc* query, int eflags) {
  guarded("ExecutorStart hook", [] { refuse_gateway_default_role(); });
  if (query->plannedstmt->parallelModeNeeded && !IsParallelWorker() && !IsInParallelMode()) {
    guarded("ExecutorStart hook", [] { publish_trust_for_parallel_workers(); });
  }
  // Before Citus's own ExecutorStart (installed before ours), which is where
  // its shard connections start: they must carry the identity.
  guarded("ExecutorStart hook", [] { forward_identity_to_workers(); });
  if (previous_executor_start != nullptr) {
    previous_executor_start(query, eflags);
  } else {
    standard_ExecutorStart(query, eflags);
  }
}

}  // namespace

// Defines careguard's settings and installs its hooks, once per backend.
// Loaded any later than shared_preload_libraries, careguard fails closed.
void _PG_init(void) {
  loaded_by_preload = process_shared_preload_libraries_in_progress;
  DefineCustomBoolVariable(
      "careguard.trust_session_claims",
      "Trust claim settings that outlive their transaction (plain SET, set_config(..., false)).",
      "Off by default: on a pooled connection such claims belong to an earlier client.",
      &trust_session_claims, false, PGC_SUSET, 0, nullptr, nullptr, nullptr);
  DefineCustomBoolVariable(
      "careguard.hoist_claim_helpers",
      "Evaluate claim-helper calls with constant arguments once per query (as an initPlan).",
      "Changes only speed: STABLE helpers return one value per statement either way.",
      &hoist_claim_helpers, true, PGC_USERSET, 0, nullptr, nullptr, nullptr);
  DefineCustomIntVariable(
      "careguard.leader_trusted_settings",
      "Internal: which claim settings a parallel leader trusts, for its workers.", nullptr,
      &leader_trusted_settings, -1, -1, (kNodeIdentityTrustBit << 1) - 1, PGC_SUSET,
      GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE | GUC_DISALLOW_IN_FILE | GUC_NO_RESET_ALL, nullptr,
      nullptr, nullptr);
  define_login_settings();
  define_security_settings();
  define_node_identity_settings();
  define_ledger_settings();
  define_policy_gate_settings();
  define_drop_guard_settings();
  MarkGUCPrefixReserved("careguard");

  RegisterXactCallback(on_transaction_event, nullptr);
  register_key_store_invalidation();
  register_catalog_name_invalidation();
  install_pooled_state_hooks();
  install_citus_routing_hook();
  install_catalog_hooks();
  previous_executor_start = ExecutorStart_hook;
  ExecutorStart_hook = on_executor_start;
  // The ledger's hooks wrap the ones above; its shared memory (the spool's
  // state, the writers' latches) exists only under the preload.
  install_ledger_hooks();
  if (process_shared_preload_libraries_in_progress) install_ledger_shared_memory();
}
