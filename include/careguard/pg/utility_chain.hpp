// careguard adapter: the ProcessUtility hook chain, shared by the hooks that
// careguard installs there (pooled_state.cpp, catalog_hooks.cpp).
#pragma once

#include "careguard/pg/postgres.hpp"

extern "C" {
#include "tcop/utility.h"
}

namespace careguard::pg {

// Runs the statement through the hook installed before ours, or PostgreSQL's
// own ProcessUtility when there was none. May longjmp.
inline void run_next_process_utility(ProcessUtility_hook_type previous, PlannedStmt* planned,
                                     const char* query, bool read_only_tree,
                                     ProcessUtilityContext context, ParamListInfo params,
                                     QueryEnvironment* environment, DestReceiver* dest,
                                     QueryCompletion* completion) {
  if (previous != nullptr) {
    previous(planned, query, read_only_tree, context, params, environment, dest, completion);
  } else {
    standard_ProcessUtility(planned, query, read_only_tree, context, params, environment, dest,
                            completion);
  }
}

}  // namespace careguard::pg
