// careguard-audit: audits a careguard database and prints the report in the
// chosen format; the exit code gates CI (see exit_codes.hpp).
#include "database.hpp"
#include "exit_codes.hpp"
#include "options.hpp"

#include <unistd.h>

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
  const auto started = std::chrono::steady_clock::now();
  auto progress = [&](const std::string& step) {
    if (!options.quiet) std::cerr << "careguard-audit: " << step << "...\n";
  };
  try {
    audit::Report report = load_report(options, progress);
    std::cout << audit::render(report, options.format,
                               options.format == audit::Format::Text && want_color());
    const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
    if (!options.quiet)
      std::cerr << "careguard-audit: " << report.findings.size() << " findings in "
                << elapsed.count() << " ms\n";
    return audit::fails(report, options.fail_on) ? kFindings : kOk;
  } catch (const CliError& e) {
    std::cerr << "careguard-audit: " << e.what() << "\n";
    return e.code();
  } catch (const std::exception& e) {
    std::cerr << "careguard-audit: unexpected error: " << e.what() << "\n";
    return kDatabaseError;
  }
}

}  // namespace

int main(int argc, char** argv) {
  return run(std::vector<std::string>(argv + 1, argv + argc));
}
