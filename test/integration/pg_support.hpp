// Shared helpers for the libpqxx integration tests.
#pragma once

#include <optional>
#include <pqxx/pqxx>
#include <stdexcept>
#include <string>
#include <vector>

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

// A booking arena for the race tests: a fresh availability range of
// `minutes` from 09:00 UTC, for `provider`, on a day after every range an
// earlier run left there (counted from `first_day`), and the first `count`
// patients. Committed, so that other connections see it.
struct BookingArena {
  std::string day;
  std::string range_id;
  std::vector<std::string> patients;
};

inline BookingArena fresh_booking_arena(pqxx::connection& admin, const std::string& provider,
                                        const std::string& first_day, int minutes, int count) {
  BookingArena arena;
  pqxx::work tx{admin};
  arena.day =
      tx.exec_params1(
            "SELECT ($2::date + coalesce(max(upper(during))::date - $2::date + 1, 0))::text "
            "FROM providers.availability WHERE provider_id = $1 "
            "AND during && tstzrange($2::date - 1, 'infinity')",
            provider, first_day)[0]
          .as<std::string>();
  arena.range_id =
      tx.exec_params1(
            "INSERT INTO providers.availability (provider_id, during) VALUES ($1, "
            "tstzrange(($2::date + time '09:00') AT TIME ZONE 'UTC', "
            "($2::date + time '09:00') AT TIME ZONE 'UTC' + $3 * interval '1 minute')) "
            "RETURNING id::text",
            provider, arena.day, minutes)[0]
          .as<std::string>();
  for (const auto& row : tx.exec("SELECT id::text FROM patients.profiles ORDER BY id LIMIT " +
                                 std::to_string(count))) {
    arena.patients.push_back(row[0].as<std::string>());
  }
  tx.commit();
  return arena;
}

}  // namespace careguard_test
