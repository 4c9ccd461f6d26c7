// careguard-audit snapshot / diff: reads each side from a database or a
// snapshot file, classifies the changes, prints them, and exits 1 when
// --fail-on says so.
#include "diff_command.hpp"

#include "cli_io.hpp"
#include "snapshot_db.hpp"

#include <sys/stat.h>

#include <iostream>

namespace careguard::audit_cli {

namespace {

bool is_regular_file(const std::string& path) {
  struct stat info {};
  return stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode);
}

// A snapshot file when the argument names one, else a connection string.
audit::Snapshot load_side(const std::string& side, const Options& options,
                          const Progress& progress) {
  if (is_regular_file(side)) {
    audit::Snapshot snap = audit::snapshot_from_json(read_text(side));
    snap.source = side + " (snapshot of " + snap.source + ")";
    return snap;
  }
  return read_snapshot(side, options.schemas, progress);
}

template <typename Body>
int guarded_command(Body body) {
  try {
    return body();
  } catch (const CliError& e) {
    std::cerr << "careguard-audit: " << e.what() << "\n";
    return e.code();
  } catch (const std::invalid_argument& e) {
    std::cerr << "careguard-audit: " << e.what() << "\n";
    return kUsage;
  } catch (const std::exception& e) {
    std::cerr << "careguard-audit: unexpected error: " << e.what() << "\n";
    return kDatabaseError;
  }
}

Progress progress_for(const Options& options) {
  return [quiet = options.quiet](const std::string& step) {
    if (!quiet) std::cerr << "careguard-audit: " << step << "...\n";
  };
}

}  // namespace

int run_snapshot(const Options& options) {
  return guarded_command([&] {
    const audit::Snapshot snap = read_snapshot(options.dsn, options.schemas, progress_for(options));
    const std::string json = audit::snapshot_to_json(snap);
    if (options.output.empty())
      std::cout << json;
    else
      write_text(options.output, json);
    if (!options.quiet)
      std::cerr << "careguard-audit: snapshot of " << snap.source << ": " << snap.tables.size()
                << " tables, " << snap.policies.size() << " policies, " << snap.grants.size()
                << " grants, " << snap.functions.size() << " SECURITY DEFINER functions\n";
    return static_cast<int>(kOk);
  });
}

int run_diff(const Options& options) {
  return guarded_command([&] {
    const Progress progress = progress_for(options);
    const audit::Snapshot from = load_side(options.from, options, progress);
    const audit::Snapshot to = load_side(options.to, options, progress);
    audit::DiffReport report;
    report.tool_version = CAREGUARD_VERSION;
    report.from = from.source;
    report.to = to.source;
    if (from.schemas != to.schemas)
      report.notes.push_back(
          "the two sides cover different schemas; objects of a schema only one side has show "
          "as added or dropped");
    report.changes = audit::diff_snapshots(from, to);
    if (options.output.empty())
      std::cout << audit::render_diff(report, options.format, text_width(true));
    else
      write_text(options.output, audit::render_diff(report, options.format, text_width(false)));
    const bool failed = audit::diff_fails(report.changes, options.diff_fail_on);
    if (!options.quiet)
      std::cerr << "careguard-audit: " << report.changes.size() << " changes"
                << (failed ? "; failing (--fail-on)" : "") << "\n";
    return static_cast<int>(failed ? kFindings : kOk);
  });
}

}  // namespace careguard::audit_cli
