// careguard-audit: command-line parsing.
#include "options.hpp"

#include <stdexcept>

namespace careguard::audit_cli {

const char* const kUsageText =
    "NAME\n"
    "  careguard-audit - audit row-level security; diff access rules between versions\n"
    "\n"
    "SYNOPSIS\n"
    "  careguard-audit [--dsn DSN] [--schemas a,b] [--format FORMAT] [--matrix]\n"
    "                  [--fail-on LEVEL] [--exclude-rule R] [--baseline FILE]\n"
    "                  [--write-baseline FILE] [-o FILE] [-q]\n"
    "  careguard-audit snapshot [--dsn DSN] [--schemas a,b] [-o FILE] [-q]\n"
    "  careguard-audit diff --from DSN|FILE --to DSN|FILE [--schemas a,b]\n"
    "                  [--format text|json|sarif] [--fail-on widening|any|never]\n"
    "                  [-o FILE] [-q]\n"
    "  careguard-audit rehearse [--dsn DSN] [--schemas a,b] [--format text|json]\n"
    "                  [-o FILE] [-q] UP.sql DOWN.sql\n"
    "  careguard-audit --help | --version\n"
    "\n"
    "DESCRIPTION\n"
    "  Without a command, audits row-level security, policies, indexes, functions,\n"
    "  views, privileges and backups of a database with careguard installed\n"
    "  (careguard.audit(); rules in docs/audit-rules.md).\n"
    "\n"
    "  snapshot writes what a database grants as JSON: tables' RLS and FORCE flags\n"
    "  and owners, policies (roles, command, permissive or restrictive, USING and\n"
    "  WITH CHECK as pg_get_expr prints them), privileges per grantee on schemas,\n"
    "  tables, views, sequences, columns and SECURITY DEFINER functions, and those\n"
    "  functions' owners, settings and definitions. Needs catalog access only.\n"
    "\n"
    "  diff compares two such states, each a database (DSN) or a snapshot file, and\n"
    "  classifies every change as widening, narrowing or neutral. What it cannot\n"
    "  prove narrowing or neutral counts as widening (unproven).\n"
    "\n"
    "  rehearse runs careguard.rehearse(): applies UP.sql, checks the policy\n"
    "  invariants and the audit (over --schemas), applies DOWN.sql, compares the\n"
    "  catalogue with the start, reports locks and timings, and rolls everything\n"
    "  back (docs/migrations.md).\n"
    "\n"
    "OPTIONS\n"
    "  --dsn DSN            libpq connection string or URI (default: PG* environment)\n"
    "  --schemas a,b        schemas to cover (default: every schema but PostgreSQL's\n"
    "                       own); a schema that does not exist is an error\n"
    "  --format FORMAT      audit: text (default), json, sarif, markdown, html;\n"
    "                       diff: text (default), json, sarif\n"
    "  -o, --output FILE    write the report (or snapshot) to FILE, not stdout\n"
    "  -q, --quiet          no progress on standard error\n"
    "\n"
    "  Audit only:\n"
    "  --matrix             add the access matrix (needs a superuser)\n"
    "  --fail-on LEVEL      error (default), warning, info or never: exit 1 when a\n"
    "                       finding at or above LEVEL exists\n"
    "  --exclude-rule R     drop the findings of rule R (repeatable, or R1,R2)\n"
    "  --baseline FILE      findings accepted on purpose (fingerprint, rule, object,\n"
    "                       reason; tab-separated): only new findings count, and\n"
    "                       entries that match nothing any more are reported\n"
    "  --write-baseline FILE  write the current findings as a baseline to review\n"
    "\n"
    "  Diff only:\n"
    "  --from DSN|FILE      the old state: a snapshot file if FILE exists, else a DSN\n"
    "  --to DSN|FILE        the new state, likewise\n"
    "  --fail-on WHEN       widening (default): exit 1 when any change widens;\n"
    "                       any: exit 1 on any change; never\n"
    "\n"
    "  Text output fits COLUMNS, or the terminal's width, or 100 columns.\n"
    "\n"
    "EXIT STATUS\n"
    "  0 ok;\n"
    "  1 findings at or above --fail-on (audit), or a change --fail-on names (diff),\n"
    "    or a failed rehearsal (a policy gap, an introduced error finding, a\n"
    "    difference after DOWN.sql, an error);\n"
    "  2 usage error (bad option, unknown schema, unreadable file or snapshot, a\n"
    "    migration rehearse refuses: CONCURRENTLY, COMMIT, VACUUM...);\n"
    "  3 connection failure; 4 careguard not installed; 5 insufficient privilege;\n"
    "  6 other database error.\n"
    "\n"
    "EXAMPLES\n"
    "  careguard-audit --dsn postgresql://admin@db/app --format sarif -o audit.sarif\n"
    "  careguard-audit snapshot --dsn dbname=prod -o before.json\n"
    "  careguard-audit diff --from before.json --to dbname=staging \\\n"
    "                  --format sarif -o diff.sarif\n"
    "  careguard-audit rehearse --dsn dbname=staging up.sql down.sql\n";

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

namespace {

// Which command an option belongs to; nullptr for options of every command.
const char* only_for(const std::string& arg) {
  if (arg == "--matrix" || arg == "--exclude-rule" || arg == "--baseline" ||
      arg == "--write-baseline")
    return "audit";
  if (arg == "--from" || arg == "--to") return "diff";
  return nullptr;
}

const char* command_name(Command command) {
  switch (command) {
    case Command::Snapshot:
      return "snapshot";
    case Command::Diff:
      return "diff";
    case Command::Rehearse:
      return "rehearse";
    case Command::Audit:
      break;
  }
  return "audit";
}

}  // namespace

Options parse_options(const std::vector<std::string>& args) {
  Options options;
  std::size_t first = 0;
  if (!args.empty() && args[0] == "snapshot") {
    options.command = Command::Snapshot;
    first = 1;
  } else if (!args.empty() && args[0] == "diff") {
    options.command = Command::Diff;
    first = 1;
  } else if (!args.empty() && args[0] == "rehearse") {
    options.command = Command::Rehearse;
    first = 1;
  }
  const std::string command = command_name(options.command);
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
    if (const char* owner = only_for(arg); owner != nullptr && command != owner)
      throw std::invalid_argument(arg + " is an option of " + owner + ", not of " + command);
    if (arg == "--help" || arg == "-h")
      options.help = true;
    else if (arg == "--version")
      options.version = true;
    else if (arg == "--matrix")
      options.matrix = true;
    else if (arg == "--quiet" || arg == "-q")
      options.quiet = true;
    else if (arg == "--dsn" && options.command != Command::Diff)
      options.dsn = take_value();
    else if (arg == "--from")
      options.from = take_value();
    else if (arg == "--to")
      options.to = take_value();
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
    else if (arg == "--format" && options.command != Command::Snapshot) {
      std::string name = take_value();
      auto format = audit::parse_format(name);
      const bool diff_format = format == audit::Format::Text || format == audit::Format::Json ||
                               format == audit::Format::Sarif;
      const bool rehearse_format = format == audit::Format::Text || format == audit::Format::Json;
      if (!format || (options.command == Command::Diff && !diff_format) ||
          (options.command == Command::Rehearse && !rehearse_format))
        throw std::invalid_argument("--format: unknown " + command + " format '" + name + "'");
      options.format = *format;
    } else if (arg == "--fail-on" && options.command == Command::Diff) {
      std::string name = take_value();
      auto when = audit::parse_diff_fail_on(name);
      if (!when)
        throw std::invalid_argument("--fail-on: expected widening, any or never, not '" + name +
                                    "'");
      options.diff_fail_on = *when;
    } else if (arg == "--fail-on" && options.command == Command::Audit) {
      std::string name = take_value();
      auto level = audit::parse_fail_on(name);
      if (!level)
        throw std::invalid_argument("--fail-on: expected error, warning, info or never, not '" +
                                    name + "'");
      options.fail_on = *level;
    } else if (options.command == Command::Rehearse && arg.rfind("-", 0) != 0) {
      options.files.push_back(arg);
    } else {
      throw std::invalid_argument("unknown " + command + " option '" + args[i] + "'");
    }
  }
  if (options.command == Command::Rehearse && !options.help && !options.version &&
      options.files.size() != 2)
    throw std::invalid_argument("rehearse needs two files, UP.sql and DOWN.sql");
  if (options.command == Command::Diff && !options.help && !options.version &&
      (options.from.empty() || options.to.empty()))
    throw std::invalid_argument("diff needs --from and --to (a DSN or a snapshot file each)");
  return options;
}

}  // namespace careguard::audit_cli
