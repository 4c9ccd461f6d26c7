// careguard-audit: command-line options, parsed without touching the database.
#pragma once

#include "audit_format.hpp"
#include "policy_diff.hpp"

#include <string>
#include <vector>

namespace careguard::audit_cli {

// careguard-audit [audit], careguard-audit snapshot, careguard-audit diff,
// careguard-audit rehearse (rehearse.hpp).
enum class Command { Audit, Snapshot, Diff, Rehearse };

struct Options {
  Command command = Command::Audit;
  std::string dsn;                   // empty: libpq uses the PG* environment
  std::vector<std::string> schemas;  // empty: careguard.audit()'s defaults
  audit::Format format = audit::Format::Text;
  audit::FailOn fail_on = audit::FailOn::Error;
  std::vector<std::string> exclude_rules;  // findings of these rules are dropped
  std::string baseline;                    // accepted findings (baseline.hpp), or empty
  std::string write_baseline;              // write the findings as a baseline here
  std::string output;                      // the report goes here instead of stdout
  // diff: each side a DSN or a snapshot file (snapshot -o FILE).
  std::string from;
  std::string to;
  audit::DiffFailOn diff_fail_on = audit::DiffFailOn::Widening;
  std::vector<std::string> files;  // rehearse: the up and the down migration
  bool matrix = false;
  bool quiet = false;
  bool help = false;
  bool version = false;
};

// Parses argv; throws std::invalid_argument with a user-facing message.
Options parse_options(const std::vector<std::string>& args);

// Splits "a,b" into {"a", "b"}, rejecting empty names.
std::vector<std::string> split_schemas(const std::string& list);

extern const char* const kUsageText;

}  // namespace careguard::audit_cli
