// careguard-audit snapshot and careguard-audit diff: the commands.
#pragma once

#include "options.hpp"

namespace careguard::audit_cli {

// Each returns the process exit code (exit_codes.hpp).
int run_snapshot(const Options& options);
int run_diff(const Options& options);

}  // namespace careguard::audit_cli
