// careguard-audit: the process exit codes (documented in docs/audit-rules.md).
#pragma once

namespace careguard::audit_cli {

enum ExitCode : int {
  kOk = 0,                     // ran; no finding at or above --fail-on
  kFindings = 1,               // ran; some finding at or above --fail-on
  kUsage = 2,                  // bad command line
  kConnectionFailed = 3,       // could not connect (wrong DSN, server down, auth)
  kExtensionMissing = 4,       // careguard is not installed in that database
  kInsufficientPrivilege = 5,  // the user may not run the audit / the matrix
  kDatabaseError = 6,          // any other error from the server
};

}  // namespace careguard::audit_cli
