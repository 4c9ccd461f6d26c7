// careguard-audit rehearse UP.sql DOWN.sql: runs careguard.rehearse() on two
// migration files (docs/migrations.md) and gates CI on its result.
#pragma once

#include "database.hpp"
#include "options.hpp"

#include <string>
#include <vector>

namespace careguard::audit_cli {

// One row of careguard.rehearse(); empty strings stand for SQL NULL.
struct RehearsalRow {
  std::string step, kind, severity, object, detail;
};

// Whether the rehearsal failed: its result row says so (gaps, diffs,
// errors and introduced error findings all make it "failed").
bool rehearsal_failed(const std::vector<RehearsalRow>& rows);

// The report as aligned text or as a JSON array of row objects.
std::string render_rehearsal(const std::vector<RehearsalRow>& rows, audit::Format format);

// Connects, runs careguard.rehearse(up, down) with the files' contents (the
// audit over options.schemas, all by default) and returns its rows.
std::vector<RehearsalRow> load_rehearsal(const Options& options, const Progress& progress);

}  // namespace careguard::audit_cli
