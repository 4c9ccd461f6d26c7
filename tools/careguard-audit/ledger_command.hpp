// careguard-audit ledger: verify the disclosure ledger's chain, print its
// head, export it (docs/audit-trail.md).
#pragma once

#include <string>
#include <vector>

namespace careguard::audit_cli {

// `careguard-audit ledger ARGS...`; returns the process exit code.
int run_ledger_command(const std::vector<std::string>& args);

}  // namespace careguard::audit_cli
