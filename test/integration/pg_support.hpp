// Shared helpers for the libpqxx integration tests.
#pragma once

#include <optional>
#include <pqxx/pqxx>
#include <stdexcept>
#include <string>

namespace careguard_test {

// Makes errors carry their SQLSTATE in the message. libpqxx 6.4 leaves
// sql_error::sqlstate() empty for its derived error classes, so the tests
// read the code from the verbose message instead.
inline void report_sqlstates(pqxx::connection_base& c) {
  c.set_verbosity(pqxx::connection_base::verbose);
}

// The SQLSTATE in a verbose error message, or "?????".
inline std::string sqlstate_in_message(const std::string& text) {
  auto at = text.find("ERROR:  ");
  if (at == std::string::npos || text.size() < at + 13 || text[at + 13] != ':') return "?????";
  return text.substr(at + 8, 5);
}

// The SQLSTATE of an error from a connection set up by report_sqlstates().
inline std::string sqlstate_of(const pqxx::sql_error& e) {
  if (!e.sqlstate().empty()) return e.sqlstate();
  return sqlstate_in_message(e.what());
}

// The value of a one-row, one-column query, or nullopt for NULL.
inline std::optional<std::string> scalar(pqxx::transaction_base& tx, const std::string& sql) {
  pqxx::result r = tx.exec(sql);
  if (r.size() != 1) throw std::runtime_error("expected one row from: " + sql);
  if (r[0][0].is_null()) return std::nullopt;
  return r[0][0].as<std::string>();
}

// Seeds the small demo data set the domain tests share, unless it is there.
// Returns false when the database holds other users (the tests need a fresh one).
inline bool ensure_demo_data() {
  pqxx::connection c;
  pqxx::work tx{c};
  if (tx.exec("SELECT 1 FROM careguard.demo_users()").size() != 5) {
    if (!tx.exec("SELECT 1 FROM auth.users LIMIT 1").empty()) return false;
    tx.exec("SELECT careguard.seed_demo(20, 4, 200, 42)");
  }
  tx.commit();
  return true;
}

}  // namespace careguard_test
