// careguard-audit: audits a careguard database and prints the report in the
// chosen format; the exit code gates CI (see exit_codes.hpp).
#include "baseline.hpp"
#include "cli_io.hpp"
#include "diff_command.hpp"
#include "database.hpp"
#include "exit_codes.hpp"
#include "options.hpp"
#include "rehearse.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>

using namespace careguard;
using namespace careguard::audit_cli;

namespace {

// Colours only for a terminal, and never when NO_COLOR is set.
bool want_color() {
  return isatty(STDOUT_FILENO) && std::getenv("NO_COLOR") == nullptr;
}

// Drops excluded rules, then what the baseline accepts; reports stale entries.
void filter_findings(audit::Report& report, const Options& options, bool quiet) {
  auto excluded = [&](const audit::Finding& f) {
    return std::find(options.exclude_rules.begin(), options.exclude_rules.end(), f.rule) !=
           options.exclude_rules.end();
  };
  report.findings.erase(std::remove_if(report.findings.begin(), report.findings.end(), excluded),
                        report.findings.end());
  if (options.baseline.empty()) return;
  audit::BaselineResult result =
      audit::apply_baseline(report, audit::parse_baseline(read_text(options.baseline)));
  if (!quiet) {
    std::cerr << "careguard-audit: " << result.accepted << " findings accepted by the baseline\n";
  }
  for (const auto& entry : result.unmatched) {
    std::cerr << "careguard-audit: baseline entry " << entry.fingerprint << " (" << entry.rule
              << " " << entry.object << ") matches no finding any more; remove it\n";
  }
}

// Parses, runs and prints; returns the process exit code.
int run(const std::vector<std::string>& args) {
  Options options;
  try {
    options = parse_options(args);
  } catch (const std::invalid_argument& e) {
    std::cerr << "careguard-audit: " << e.what() << "\nTry 'careguard-audit --help'.\n";
    return kUsage;
  }
  if (options.help) {
    std::cout << kUsageText;
    return kOk;
  }
  if (options.version) {
    std::cout << "careguard-audit " << CAREGUARD_VERSION << "\n";
    return kOk;
  }
  if (options.command == Command::Snapshot) return run_snapshot(options);
  if (options.command == Command::Diff) return run_diff(options);
  const auto started = std::chrono::steady_clock::now();
  auto progress = [&](const std::string& step) {
    if (!options.quiet) std::cerr << "careguard-audit: " << step << "...\n";
  };
  try {
    if (options.command == Command::Rehearse) {
      const std::vector<RehearsalRow> rows = load_rehearsal(options, progress);
      if (options.output.empty())
        std::cout << render_rehearsal(rows, options.format);
      else
        write_text(options.output, render_rehearsal(rows, options.format));
      const bool failed = rehearsal_failed(rows);
      if (!options.quiet)
        std::cerr << "careguard-audit: rehearsal " << (failed ? "failed" : "ok") << "\n";
      return failed ? kFindings : kOk;
    }
    audit::Report report = load_report(options, progress);
    if (!options.write_baseline.empty()) {
      write_text(options.write_baseline, audit::baseline_for(report, "TODO: why this is accepted"));
    }
    filter_findings(report, options, options.quiet);
    if (options.output.empty()) {
      std::cout << audit::render(report, options.format,
                                 options.format == audit::Format::Text && want_color(),
                                 text_width(true));
    } else {
      write_text(options.output, audit::render(report, options.format, false, text_width(false)));
    }
    const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
    if (!options.quiet)
      std::cerr << "careguard-audit: " << report.findings.size() << " findings in "
                << elapsed.count() << " ms\n";
    return audit::fails(report, options.fail_on) ? kFindings : kOk;
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

}  // namespace

int main(int argc, char** argv) {
  return run(std::vector<std::string>(argv + 1, argv + argc));
}
