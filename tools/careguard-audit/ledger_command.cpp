// careguard-audit ledger verify | head | export: the disclosure ledger from
// outside the database. verify recomputes nothing itself: it asks the server's
// careguard.verify_ledger(), optionally against a head published earlier;
// export streams the rows (with their hashes, so that an outside copy can be
// re-verified) through a cursor, in seq order.
#include "ledger_command.hpp"

#include <fstream>
#include <iostream>
#include <memory>
#include <pqxx/pqxx>
#include <stdexcept>

#include "careguard/core/json.hpp"
#include "exit_codes.hpp"

namespace careguard::audit_cli {

namespace {

const char* const kLedgerUsage =
    "Usage: careguard-audit ledger verify [--dsn DSN] [--head SEQ:HASH]\n"
    "       careguard-audit ledger head [--dsn DSN]\n"
    "       careguard-audit ledger export --format json|csv [--dsn DSN] [--from TIME] [--to TIME]\n"
    "                                     [-o FILE]\n"
    "  verify  checks the hash chain (and that the published head is still there);\n"
    "          exit 0 when intact, 1 with the first bad position otherwise\n"
    "  head    prints SEQ:HASH, the value to keep outside the database\n"
    "  export  every record in seq order with its hashes (json: one array; csv: a header row)\n";

struct LedgerOptions {
  std::string action;
  std::string dsn;
  std::string head;
  std::string format;
  std::string from = "-infinity";
  std::string to = "infinity";
  std::string output;
};

LedgerOptions parse(const std::vector<std::string>& args) {
  LedgerOptions options;
  if (args.empty()) throw std::invalid_argument("ledger needs verify, head or export");
  options.action = args[0];
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string& arg = args[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= args.size()) throw std::invalid_argument(arg + " needs a value");
      return args[++i];
    };
    if (arg == "--dsn") {
      options.dsn = value();
    } else if (arg == "--head") {
      options.head = value();
    } else if (arg == "--format") {
      options.format = value();
    } else if (arg == "--from") {
      options.from = value();
    } else if (arg == "--to") {
      options.to = value();
    } else if (arg == "-o" || arg == "--output") {
      options.output = value();
    } else {
      throw std::invalid_argument("unknown ledger option " + arg);
    }
  }
  if (options.action != "verify" && options.action != "head" && options.action != "export") {
    throw std::invalid_argument("unknown ledger action " + options.action);
  }
  if (options.action == "export" && options.format != "json" && options.format != "csv") {
    throw std::invalid_argument("ledger export needs --format json or --format csv");
  }
  if (!options.head.empty() && options.head.find(':') == std::string::npos) {
    throw std::invalid_argument("--head is SEQ:HASH, as `ledger head` prints it");
  }
  return options;
}

// Waits (briefly) for records still in the spool; a standby has none to wait for.
void flush(pqxx::connection& conn) {
  try {
    pqxx::nontransaction tx(conn);
    tx.exec("SELECT careguard.ledger_flush(10000)");
  } catch (const pqxx::sql_error&) {
    std::cerr << "careguard-audit: the ledger writer could not be waited for; "
                 "records still in the spool are not included\n";
  }
}

int verify(pqxx::connection& conn, const LedgerOptions& options) {
  pqxx::work tx(conn);
  pqxx::result r;
  if (options.head.empty()) {
    r = tx.exec("SELECT ok, checked, first_bad_seq, problem FROM careguard.verify_ledger()");
  } else {
    auto colon = options.head.find(':');
    r = tx.exec_params(
        "SELECT ok, checked, first_bad_seq, problem FROM careguard.verify_ledger($1::bigint, $2)",
        options.head.substr(0, colon), options.head.substr(colon + 1));
  }
  bool ok = r[0][0].as<bool>();
  if (ok) {
    std::cout << "ledger intact: " << r[0][1].as<std::string>() << " records checked\n";
    return kOk;
  }
  std::cout << "ledger NOT intact at seq " << r[0][2].c_str() << ": " << r[0][3].c_str() << " ("
            << r[0][1].as<std::string>() << " records verified before it)\n";
  return kFindings;
}

int head(pqxx::connection& conn) {
  pqxx::work tx(conn);
  pqxx::result r = tx.exec("SELECT seq, hash FROM careguard.ledger_head()");
  if (r.empty() || r[0][0].is_null()) {
    std::cout << "0:" << std::string(64, '0') << "\n";
  } else {
    std::cout << r[0][0].as<std::string>() << ":" << r[0][1].as<std::string>() << "\n";
  }
  return kOk;
}

std::string csv_field(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

int export_rows(pqxx::connection& conn, const LedgerOptions& options, std::ostream& out) {
  pqxx::work tx(conn);
  tx.exec_params(
      "DECLARE ledger_export NO SCROLL CURSOR FOR "
      "SELECT seq, ingested_at::text, kind, patient_ids::text, encode(prev_hash, 'hex'), "
      "encode(hash, 'hex'), record FROM careguard.ledger "
      "WHERE ingested_at >= $1::timestamptz AND ingested_at < $2::timestamptz ORDER BY seq",
      options.from, options.to);
  bool json = options.format == "json";
  if (json) {
    out << "[";
  } else {
    out << "seq,ingested_at,kind,patient_ids,prev_hash,hash,record\n";
  }
  bool first = true;
  long rows = 0;
  for (;;) {
    pqxx::result batch = tx.exec("FETCH 5000 FROM ledger_export");
    if (batch.empty()) break;
    for (const auto& row : batch) {
      ++rows;
      if (json) {
        out << (first ? "\n" : ",\n") << "{\"seq\":" << row[0].c_str()
            << ",\"ingested_at\":" << json::quote(row[1].c_str())
            << ",\"prev_hash\":" << json::quote(row[4].c_str())
            << ",\"hash\":" << json::quote(row[5].c_str()) << ",\"record\":" << row[6].c_str()
            << ",\"record_text\":" << json::quote(row[6].c_str()) << "}";
      } else {
        out << row[0].c_str() << "," << csv_field(row[1].c_str()) << ","
            << csv_field(row[2].c_str()) << "," << csv_field(row[3].c_str()) << ","
            << row[4].c_str() << "," << row[5].c_str() << "," << csv_field(row[6].c_str()) << "\n";
      }
      first = false;
    }
  }
  if (json) out << (first ? "]\n" : "\n]\n");
  tx.commit();
  std::cerr << "careguard-audit: exported " << rows << " ledger records\n";
  return kOk;
}

}  // namespace

int run_ledger_command(const std::vector<std::string>& args) {
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
    std::cout << kLedgerUsage;
    return kOk;
  }
  LedgerOptions options;
  try {
    options = parse(args);
  } catch (const std::invalid_argument& e) {
    std::cerr << "careguard-audit: " << e.what() << "\n" << kLedgerUsage;
    return kUsage;
  }
  std::unique_ptr<pqxx::connection> conn;
  try {
    conn = std::make_unique<pqxx::connection>(options.dsn);
  } catch (const std::exception& e) {
    std::cerr << "careguard-audit: cannot connect: " << e.what() << "\n";
    return kConnectionFailed;
  }
  try {
    {
      pqxx::nontransaction tx(*conn);
      if (tx.exec("SELECT to_regclass('careguard.ledger')")[0][0].is_null()) {
        std::cerr << "careguard-audit: this database has no disclosure ledger (careguard 0.4.0)\n";
        return kExtensionMissing;
      }
    }
    if (options.action == "verify") {
      flush(*conn);
      return verify(*conn, options);
    }
    if (options.action == "head") {
      flush(*conn);
      return head(*conn);
    }
    flush(*conn);
    if (options.output.empty()) return export_rows(*conn, options, std::cout);
    std::ofstream file(options.output);
    if (!file) {
      std::cerr << "careguard-audit: cannot write " << options.output << "\n";
      return kUsage;
    }
    return export_rows(*conn, options, file);
  } catch (const pqxx::sql_error& e) {
    std::string text = e.what();
    std::cerr << "careguard-audit: " << text;
    if (text.find("permission denied") != std::string::npos) return kInsufficientPrivilege;
    return kDatabaseError;
  }
}

}  // namespace careguard::audit_cli
