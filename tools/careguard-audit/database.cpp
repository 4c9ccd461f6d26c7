// careguard-audit: the libpqxx side: connection, checks, queries.
#include "database.hpp"

#include <pqxx/pqxx>

namespace careguard::audit_cli {

namespace {

std::string join_schemas(const std::vector<std::string>& schemas) {
  std::string out;
  for (const auto& s : schemas) out += (out.empty() ? "" : ",") + s;
  return out;
}

std::string text_or_empty(const pqxx::field& field) {
  return field.is_null() ? std::string() : field.as<std::string>();
}

std::optional<bool> optional_bool(const pqxx::field& field) {
  if (field.is_null()) return std::nullopt;
  return field.as<bool>();
}

// "dbname on host:port", for report headers.
std::string describe(pqxx::connection& conn) {
  const char* host = conn.hostname();
  return std::string(conn.dbname()) + " on " + (host && *host ? host : "local socket") + ":" +
         (conn.port() ? conn.port() : "");
}

// Fails with exit code 4 unless careguard is installed in this database.
void require_extension(pqxx::transaction_base& txn) {
  auto rows =
      txn.exec("SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'careguard'");
  if (rows.empty())
    throw CliError(kExtensionMissing,
                   "the careguard extension is not installed in this database "
                   "(CREATE EXTENSION careguard)");
}

// Fails with exit code 5 unless the current user may run the function.
void require_execute(pqxx::transaction_base& txn, const std::string& signature,
                     const std::string& why) {
  auto row = txn.exec_params1(
      "SELECT pg_catalog.has_schema_privilege('careguard', 'USAGE') "
      "AND pg_catalog.has_function_privilege($1::regprocedure, 'EXECUTE')",
      signature);
  if (!row[0].as<bool>())
    throw CliError(kInsufficientPrivilege, std::string("user ") + txn.conn().username() +
                                               " may not execute " + signature + ": " + why);
}

// The catalogue, with each rule's help texts where the database has them
// (careguard.audit_rule_docs() is new in 0.4.0; older versions give none).
std::vector<audit::RuleInfo> read_rules(pqxx::transaction_base& txn) {
  const bool has_docs =
      txn.exec1("SELECT pg_catalog.to_regprocedure('careguard.audit_rule_docs()') IS NOT NULL")[0]
          .as<bool>();
  const char* query = has_docs ? "SELECT r.rule, r.severity, r.category, r.summary, d.why, d.fix, "
                                 "d.splinter FROM careguard.audit_rules() r "
                                 "LEFT JOIN careguard.audit_rule_docs() d ON d.rule = r.rule"
                               : "SELECT rule, severity, category, summary, NULL, NULL, NULL "
                                 "FROM careguard.audit_rules()";
  std::vector<audit::RuleInfo> rules;
  for (const auto& r : txn.exec(query))
    rules.push_back({r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<std::string>(),
                     r[3].as<std::string>(), text_or_empty(r[4]), text_or_empty(r[5]),
                     text_or_empty(r[6])});
  return rules;
}

std::vector<audit::Finding> read_findings(pqxx::transaction_base& txn, const Options& options) {
  const char* query =
      "SELECT rule, severity, object, detail, fix "
      "FROM careguard.audit(pg_catalog.string_to_array($1, ','))";
  std::vector<audit::Finding> findings;
  for (const auto& r : txn.exec_params(query, join_schemas(options.schemas)))
    findings.push_back({r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<std::string>(),
                        text_or_empty(r[3]), text_or_empty(r[4])});
  return findings;
}

std::vector<audit::MatrixCell> read_matrix(pqxx::transaction_base& txn, const Options& options) {
  const char* query =
      "SELECT context, role, relation, selectable_rows, select_sqlstate, can_insert, "
      "insert_sqlstate, can_update, update_sqlstate, can_delete, delete_sqlstate, "
      "writes_not_probed "
      "FROM careguard.access_matrix(NULL, pg_catalog.string_to_array($1, ','))";
  std::vector<audit::MatrixCell> cells;
  for (const auto& r : txn.exec_params(query, join_schemas(options.schemas))) {
    audit::MatrixCell c;
    c.context = r[0].as<std::string>();
    c.role = r[1].as<std::string>();
    c.relation = r[2].as<std::string>();
    if (!r[3].is_null()) c.selectable_rows = r[3].as<long long>();
    c.select_sqlstate = text_or_empty(r[4]);
    c.can_insert = optional_bool(r[5]);
    c.insert_sqlstate = text_or_empty(r[6]);
    c.can_update = optional_bool(r[7]);
    c.update_sqlstate = text_or_empty(r[8]);
    c.can_delete = optional_bool(r[9]);
    c.delete_sqlstate = text_or_empty(r[10]);
    c.writes_not_probed = text_or_empty(r[11]);
    cells.push_back(std::move(c));
  }
  return cells;
}

}  // namespace

audit::Report load_report(const Options& given, const Progress& progress) {
  Options options = given;
  std::unique_ptr<pqxx::connection> conn;
  try {
    progress("connecting");
    conn = std::make_unique<pqxx::connection>(options.dsn);
  } catch (const std::exception& e) {
    throw CliError(kConnectionFailed, std::string("cannot connect: ") + e.what());
  }
  audit::Report report;
  report.tool_version = CAREGUARD_VERSION;
  report.database = describe(*conn);
  try {
    // Never committed: the matrix's probes roll back anyway, and the audit
    // only reads.
    pqxx::work txn(*conn);
    require_extension(txn);
    require_execute(txn, "careguard.audit(text[])",
                    "GRANT careguard_auditor (or EXECUTE on it) to this user");
    // No --schemas: every schema but PostgreSQL's own, as careguard.audit() does.
    if (options.schemas.empty()) {
      for (const auto& r : txn.exec("SELECT pg_catalog.unnest(careguard.audited_schemas(NULL))"))
        options.schemas.push_back(r[0].as<std::string>());
    }
    report.schemas = options.schemas;
    report.rules = read_rules(txn);
    progress("auditing schemas " + join_schemas(options.schemas));
    report.findings = read_findings(txn, options);
    if (options.matrix) {
      require_execute(txn, "careguard.access_matrix(jsonb,text[])",
                      "the access matrix switches roles and needs a superuser");
      progress("probing the access matrix (every write is rolled back)");
      report.matrix = read_matrix(txn, options);
      report.has_matrix = true;
    }
    txn.abort();
  } catch (const CliError&) {
    throw;
  } catch (const pqxx::broken_connection& e) {
    throw CliError(kConnectionFailed, std::string("connection lost: ") + e.what());
  } catch (const pqxx::insufficient_privilege& e) {
    throw CliError(kInsufficientPrivilege, std::string("insufficient privilege: ") + e.what());
  } catch (const pqxx::sql_error& e) {
    // A --schemas entry that names no schema is the command line's fault.
    if (e.sqlstate() == "3F000") throw CliError(kUsage, e.what());
    throw CliError(kDatabaseError, "database error " + e.sqlstate() + ": " + e.what());
  }
  return report;
}

}  // namespace careguard::audit_cli
