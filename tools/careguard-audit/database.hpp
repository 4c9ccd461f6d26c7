// careguard-audit: reads the audit (and optionally the access matrix) from
// the database with libpqxx. The only file of the tool that talks to libpq.
#pragma once

#include "exit_codes.hpp"
#include "options.hpp"

#include <functional>
#include <stdexcept>
#include <string>

namespace careguard::audit_cli {

// A failure with the exit code it maps to and a message for the user.
class CliError : public std::runtime_error {
 public:
  CliError(ExitCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ExitCode code() const { return code_; }

 private:
  ExitCode code_;
};

using Progress = std::function<void(const std::string&)>;

// Connects, checks the extension and privileges, and collects the report.
audit::Report load_report(const Options& options, const Progress& progress);

}  // namespace careguard::audit_cli
