// careguard-audit: reads a policy snapshot (policy_diff.hpp) from a database
// with libpqxx. Needs only catalog access: careguard need not be installed.
#pragma once

#include "database.hpp"
#include "policy_diff.hpp"

#include <string>
#include <vector>

namespace careguard::audit_cli {

// The schemas: the named ones (each must exist, else a usage error), or
// every schema but PostgreSQL's own.
audit::Snapshot read_snapshot(const std::string& dsn, const std::vector<std::string>& schemas,
                              const Progress& progress);

}  // namespace careguard::audit_cli
