// careguard-audit rehearse: the database call and the two renderings.
#include "rehearse.hpp"

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <algorithm>
#include <array>
#include <fstream>
#include <sstream>

namespace careguard::audit_cli {

namespace {

std::string read_migration(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw CliError(kUsage, "cannot read migration file " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string text_or_empty(const pqxx::field& field) {
  return field.is_null() ? std::string() : field.as<std::string>();
}

}  // namespace

bool rehearsal_failed(const std::vector<RehearsalRow>& rows) {
  auto result = std::find_if(rows.begin(), rows.end(),
                             [](const RehearsalRow& r) { return r.step == "result"; });
  // No result row means the function did not finish: never a pass.
  return result == rows.end() || result->kind != "ok";
}

std::string render_rehearsal(const std::vector<RehearsalRow>& rows, audit::Format format) {
  if (format == audit::Format::Json) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const auto& r : rows) {
      nlohmann::ordered_json row;
      row["step"] = r.step;
      row["kind"] = r.kind;
      row["severity"] =
          r.severity.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(r.severity);
      row["object"] =
          r.object.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(r.object);
      row["detail"] = r.detail;
      out.push_back(row);
    }
    return out.dump(2) + "\n";
  }
  // Text: the first four columns padded to their widest value.
  std::array<std::size_t, 4> width{4, 4, 8, 6};
  for (const auto& r : rows) {
    width[0] = std::max(width[0], r.step.size());
    width[1] = std::max(width[1], r.kind.size());
    width[2] = std::max(width[2], r.severity.size());
    width[3] = std::max(width[3], r.object.size());
  }
  std::ostringstream out;
  auto line = [&](const std::string& a, const std::string& b, const std::string& c,
                  const std::string& d, const std::string& e) {
    out << a << std::string(width[0] - a.size() + 2, ' ') << b
        << std::string(width[1] - b.size() + 2, ' ') << c
        << std::string(width[2] - c.size() + 2, ' ') << d
        << std::string(width[3] - d.size() + 2, ' ') << e << "\n";
  };
  line("step", "kind", "severity", "object", "detail");
  for (const auto& r : rows) line(r.step, r.kind, r.severity, r.object, r.detail);
  return out.str();
}

std::vector<RehearsalRow> load_rehearsal(const Options& options, const Progress& progress) {
  const std::string up = read_migration(options.files.at(0));
  const std::string down = read_migration(options.files.at(1));
  std::unique_ptr<pqxx::connection> conn;
  try {
    progress("connecting");
    conn = std::make_unique<pqxx::connection>(options.dsn);
  } catch (const std::exception& e) {
    throw CliError(kConnectionFailed, std::string("cannot connect: ") + e.what());
  }
  std::vector<RehearsalRow> rows;
  try {
    // rehearse() rolls everything back itself; the transaction is aborted too.
    pqxx::work txn(*conn);
    if (txn.exec("SELECT 1 FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = "
                 "p.pronamespace WHERE n.nspname = 'careguard' AND p.proname = 'rehearse'")
            .empty())
      throw CliError(
          kExtensionMissing,
          "careguard.rehearse() is not installed in this database (careguard 0.3.0 or later)");
    std::string schemas;
    for (const auto& s : options.schemas) schemas += (schemas.empty() ? "" : ",") + s;
    progress("rehearsing " + options.files[0] + " and " + options.files[1] + " (rolled back)");
    for (const auto& r : txn.exec_params(
             "SELECT step, kind, severity, object, detail FROM careguard.rehearse($1, $2, "
             "pg_catalog.string_to_array(NULLIF($3, ''), ','))",
             up, down, schemas))
      rows.push_back({text_or_empty(r[0]), text_or_empty(r[1]), text_or_empty(r[2]),
                      text_or_empty(r[3]), text_or_empty(r[4])});
    txn.abort();
  } catch (const CliError&) {
    throw;
  } catch (const pqxx::broken_connection& e) {
    throw CliError(kConnectionFailed, std::string("connection lost: ") + e.what());
  } catch (const pqxx::insufficient_privilege& e) {
    throw CliError(kInsufficientPrivilege, std::string("insufficient privilege: ") + e.what());
  } catch (const pqxx::sql_error& e) {
    // A refused migration (25001) is the input's fault, like a bad option.
    if (e.sqlstate() == "25001" || e.sqlstate() == "3F000") throw CliError(kUsage, e.what());
    throw CliError(kDatabaseError, "database error " + e.sqlstate() + ": " + e.what());
  }
  return rows;
}

}  // namespace careguard::audit_cli
