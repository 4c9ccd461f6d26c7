// careguard-audit: command-line parsing.
#include "options.hpp"

#include <stdexcept>

namespace careguard::audit_cli {

const char* const kUsageText =
    "Usage: careguard-audit [options]\n"
    "       careguard-audit rehearse [options] UP.sql DOWN.sql\n"
    "Audits row-level security, policies, indexes, functions, views, privileges\n"
    "and backups of a database with careguard installed.\n"
    "\n"
    "  --dsn DSN            libpq connection string or URI (default: PG* environment)\n"
    "  --schemas a,b        schemas to audit (default: every schema but PostgreSQL's own)\n"
    "  --format FORMAT      text (default), json, sarif, markdown, html\n"
    "  --matrix             add the access matrix (needs a superuser)\n"
    "  --fail-on LEVEL      error (default), warning, info or never: exit 1 when a\n"
    "                       finding at or above LEVEL exists\n"
    "  --exclude-rule R     drop the findings of rule R (repeatable, or R1,R2)\n"
    "  --baseline FILE      findings accepted on purpose (fingerprint, rule, object,\n"
    "                       reason; tab-separated): only new findings count, and\n"
    "                       entries that match nothing any more are reported\n"
    "  --write-baseline FILE  write the current findings as a baseline to review\n"
    "  -o, --output FILE    write the report to FILE instead of standard output\n"
    "  --quiet              no progress on stderr\n"
    "  --help, --version\n"
    "\n"
    "rehearse runs careguard.rehearse(): applies UP.sql, checks the policy invariants\n"
    "and the audit (over --schemas), applies DOWN.sql, compares the catalogue with\n"
    "the start, reports locks and timings, and rolls everything back. --format text\n"
    "or json; exit 1 on a policy gap, an introduced error finding, a difference\n"
    "after DOWN.sql or an error, 2 for a migration it refuses (CONCURRENTLY, COMMIT...).\n"
    "\n"
    "Exit codes: 0 ok, 1 findings at/above --fail-on, 2 usage error, 3 connection\n"
    "failure, 4 careguard not installed, 5 insufficient privilege, 6 other database error.\n";

std::vector<std::string> split_schemas(const std::string& list) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= list.size()) {
    std::size_t comma = list.find(',', start);
    if (comma == std::string::npos) comma = list.size();
    std::string name = list.substr(start, comma - start);
    if (name.empty()) throw std::invalid_argument("--schemas: empty schema name in '" + list + "'");
    out.push_back(name);
    start = comma + 1;
  }
  return out;
}

Options parse_options(const std::vector<std::string>& args) {
  Options options;
  std::size_t first = 0;
  if (!args.empty() && args[0] == "rehearse") {
    options.command = "rehearse";
    first = 1;
  }
  for (std::size_t i = first; i < args.size(); ++i) {
    std::string arg = args[i];
    std::string value;
    bool has_inline_value = false;
    // Accept both "--opt value" and "--opt=value".
    if (auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      has_inline_value = true;
    }
    auto take_value = [&]() -> std::string {
      if (has_inline_value) return value;
      if (i + 1 >= args.size()) throw std::invalid_argument(arg + " needs a value");
      return args[++i];
    };
    if (arg == "--help" || arg == "-h")
      options.help = true;
    else if (arg == "--version")
      options.version = true;
    else if (arg == "--matrix")
      options.matrix = true;
    else if (arg == "--quiet" || arg == "-q")
      options.quiet = true;
    else if (arg == "--dsn")
      options.dsn = take_value();
    else if (arg == "--schemas")
      options.schemas = split_schemas(take_value());
    else if (arg == "--exclude-rule") {
      for (const std::string& rule : split_schemas(take_value()))
        options.exclude_rules.push_back(rule);
    } else if (arg == "--baseline")
      options.baseline = take_value();
    else if (arg == "--write-baseline")
      options.write_baseline = take_value();
    else if (arg == "--output" || arg == "-o")
      options.output = take_value();
    else if (arg == "--format") {
      std::string name = take_value();
      auto format = audit::parse_format(name);
      if (!format) throw std::invalid_argument("--format: unknown format '" + name + "'");
      options.format = *format;
    } else if (arg == "--fail-on") {
      std::string name = take_value();
      auto level = audit::parse_fail_on(name);
      if (!level)
        throw std::invalid_argument("--fail-on: expected error, warning, info or never, not '" +
                                    name + "'");
      options.fail_on = *level;
    } else if (options.command == "rehearse" && arg.rfind("-", 0) != 0) {
      options.files.push_back(arg);
    } else {
      throw std::invalid_argument("unknown option '" + args[i] + "'");
    }
  }
  if (options.command == "rehearse" && !options.help) {
    if (options.files.size() != 2)
      throw std::invalid_argument("rehearse needs two files, UP.sql and DOWN.sql");
    if (options.format != audit::Format::Text && options.format != audit::Format::Json)
      throw std::invalid_argument("rehearse: --format text or json");
    if (options.matrix || !options.baseline.empty() || !options.write_baseline.empty() ||
        !options.exclude_rules.empty())
      throw std::invalid_argument("rehearse takes --dsn, --schemas, --format, -o and --quiet only");
  }
  return options;
}

}  // namespace careguard::audit_cli
