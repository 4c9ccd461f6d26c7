// What this proves: the role-context matrix. For every table x command
// (SELECT, INSERT, UPDATE, DELETE) x context (anon, patients A and B,
// providers X and Y, admin, service_role, authenticated without an app role,
// a patient whose token carries provider X's provider_id, no claims at all),
// the rows each context sees are exactly the rows the ground truth (queried
// as superuser from the same snapshot) says it may see, and each write
// succeeds on exactly the expected number of rows or fails with exactly the
// expected SQLSTATE. SELECT * without WHERE returns only the caller's rows.
// It prints the size of the matrix and the number of unauthorized rows seen,
// which must be 0. Every context runs in one transaction that is rolled back,
// so the database is left as it was.
#include <gtest/gtest.h>

#include <array>
#include <iostream>
#include <map>
#include <pqxx/pqxx>
#include <set>
#include <string>
#include <vector>

#include "pg_support.hpp"

namespace {

using careguard_test::report_sqlstates;
using careguard_test::sqlstate_of;

// Well-known demo ids (careguard.demo_uuid): the same for every seed.
const std::string kPatientA = "aaaaaaaa-0000-4000-8000-000000000001";
const std::string kPatientB = "aaaaaaaa-0000-4000-8000-000000000002";
const std::string kProviderX = "cccccccc-0000-4000-8000-000000000001";
const std::string kProviderY = "cccccccc-0000-4000-8000-000000000002";

// Rows this test adds, inside each rolled-back transaction.
const std::string kCategory = "f0000000-0000-4000-8000-000000000001";
const std::string kLocation = "f0000000-0000-4000-8000-000000000002";
const std::string kNewProviderUser = "f0000000-0000-4000-8000-000000000003";
const std::string kUserWithoutRecord = "f0000000-0000-4000-8000-000000000004";
const std::string kPatientWithoutPrefs = "f0000000-0000-4000-8000-000000000005";
const std::string kAvailabilityX = "f0000000-0000-4000-8000-000000000006";
const std::string kPendingAX = "f0000000-0000-4000-8000-000000000007";
const std::string kConfirmedAX = "f0000000-0000-4000-8000-000000000008";

enum Context { kAnon, kA, kB, kX, kY, kAdmin, kService, kAuthd, kForged, kNoClaims, kContexts };
const std::array<const char*, kContexts> kContextNames = {"anon",
                                                          "patient A",
                                                          "patient B",
                                                          "provider X",
                                                          "provider Y",
                                                          "admin",
                                                          "service_role",
                                                          "authenticated (no app role)",
                                                          "patient A with X's provider_id",
                                                          "no claims"};
const std::array<const char*, kContexts> kSqlRoles = {
    "anon",  "patient",      "patient",       "provider", "provider",
    "admin", "service_role", "authenticated", "patient",  "patient"};

struct Table {
  std::string name;
  std::string pk;  // as text
  // Per context: a WHERE predicate over the table (run as superuser) giving
  // the rows the context may see, or "!42501" when SELECT must fail.
  std::array<std::string, kContexts> visible;
  std::string insert_sql, update_sql, delete_sql;
  // Per context: "0"/"1" rows affected, or a SQLSTATE.
  std::array<std::string, kContexts> insert_outcome, update_outcome, delete_outcome;
};

std::array<std::string, kContexts> all(const std::string& v) {
  std::array<std::string, kContexts> a;
  a.fill(v);
  return a;
}

const std::string kDenied = "!42501";

std::vector<Table> tables() {
  const std::string A = "'" + kPatientA + "'", B = "'" + kPatientB + "'";
  const std::string X = "'" + kProviderX + "'", Y = "'" + kProviderY + "'";
  const std::string D = "42501";
  std::vector<Table> t;

  t.push_back(
      {"auth.users",
       "id::text",
       {kDenied, kDenied, kDenied, kDenied, kDenied, "true", "true", kDenied, kDenied, kDenied},
       "INSERT INTO auth.users (email) VALUES ('matrix-new@demo.test')",
       "UPDATE auth.users SET phone = phone WHERE id = '" + kUserWithoutRecord + "'",
       "DELETE FROM auth.users WHERE id = '" + kUserWithoutRecord + "'",
       {D, D, D, D, D, D, "1", D, D, D},
       {D, D, D, D, D, D, "1", D, D, D},
       {D, D, D, D, D, D, "1", D, D, D}});
  for (const std::string& ref :
       {std::string("public.categories"), std::string("public.locations")}) {
    bool cat = ref == "public.categories";
    t.push_back(
        {ref,
         "id::text",
         all("true"),
         cat ? "INSERT INTO public.categories (slug, name) VALUES ('matrix-new', 'Matrix new')"
             : "INSERT INTO public.locations (city, region, country, timezone) "
               "VALUES ('Matrix City', 'Nowhere', 'US', 'UTC')",
         cat ? "UPDATE public.categories SET name = name WHERE id = '" + kCategory + "'"
             : "UPDATE public.locations SET city = city WHERE id = '" + kLocation + "'",
         cat ? "DELETE FROM public.categories WHERE id = '" + kCategory + "'"
             : "DELETE FROM public.locations WHERE id = '" + kLocation + "'",
         {D, D, D, D, D, "1", "1", D, D, D},
         {D, D, D, D, D, "1", "1", D, D, D},
         {D, D, D, D, D, "1", "1", D, D, D}});
  }
  t.push_back({"providers.profiles",
               "id::text",
               all("true"),
               "INSERT INTO providers.profiles (user_id, display_name, category_id, location_id) "
               "VALUES ('" +
                   kNewProviderUser + "', 'Dr. Matrix', '" + kCategory + "', '" + kLocation + "')",
               "UPDATE providers.profiles SET bio = bio WHERE id = " + X,
               "DELETE FROM providers.profiles WHERE id = " + X,
               {D, D, D, D, D, "1", "1", D, D, D},
               {D, D, D, "1", "0", "1", "1", D, D, D},
               {D, D, D, D, D, "23503", "23503", D, D, D}});
  t.push_back(
      {"providers.availability",
       "id::text",
       {kDenied, "true", "true", "true", "true", "true", "true", "true", "true", "true"},
       "INSERT INTO providers.availability (provider_id, during) VALUES (" + X +
           ", tstzrange('2040-01-02 09:00+00', '2040-01-02 17:00+00'))",
       "UPDATE providers.availability SET during = during WHERE id = '" + kAvailabilityX + "'",
       "DELETE FROM providers.availability WHERE id = '" + kAvailabilityX + "'",
       {D, D, D, "1", D, "1", "1", D, D, D},
       {D, D, D, "1", "0", "1", "1", D, D, D},
       {D, D, D, "1", "0", "1", "1", D, D, D}});
  const std::string patients_of_x =
      "id IN (SELECT patient_id FROM bookings.appointments WHERE provider_id = " + X + ")";
  const std::string patients_of_y =
      "id IN (SELECT patient_id FROM bookings.appointments WHERE provider_id = " + Y + ")";
  t.push_back({"patients.profiles",
               "id::text",
               {kDenied, "id = " + A, "id = " + B, patients_of_x, patients_of_y, "true", "true",
                kDenied, "id = " + A, "false"},
               "INSERT INTO patients.profiles (id, full_name, date_of_birth) VALUES ('" +
                   kUserWithoutRecord + "', 'Matrix New', '1985-05-05')",
               "UPDATE patients.profiles SET notes = notes WHERE id = " + A,
               "DELETE FROM patients.profiles WHERE id = " + A,
               {D, D, D, D, D, D, "1", D, D, D},
               {D, "1", "0", D, D, D, "1", D, "1", "0"},
               {D, D, D, D, D, D, "23503", D, D, D}});
  t.push_back(
      {"patients.preferences",
       "patient_id::text",
       {kDenied, "patient_id = " + A, "patient_id = " + B, kDenied, kDenied, "true", "true",
        kDenied, "patient_id = " + A, "false"},
       "INSERT INTO patients.preferences (patient_id) VALUES ('" + kPatientWithoutPrefs + "')",
       "UPDATE patients.preferences SET reminders_enabled = reminders_enabled WHERE patient_id = " +
           A,
       "DELETE FROM patients.preferences WHERE patient_id = " + A,
       {D, D, D, D, D, D, "1", D, D, D},
       {D, "1", "0", D, D, D, "1", D, "1", "0"},
       {D, D, D, D, D, D, "1", D, D, D}});
  const std::array<std::string, kContexts> booking_rows = {kDenied,
                                                           "patient_id = " + A,
                                                           "patient_id = " + B,
                                                           "provider_id = " + X,
                                                           "provider_id = " + Y,
                                                           "true",
                                                           "true",
                                                           kDenied,
                                                           "patient_id = " + A,
                                                           "false"};
  t.push_back(
      {"bookings.appointments",
       "id::text",
       booking_rows,
       "INSERT INTO bookings.appointments (patient_id, provider_id, starts_at, ends_at) VALUES (" +
           A + ", " + X + ", '2039-01-03 11:00+00', '2039-01-03 11:30+00')",
       "UPDATE bookings.appointments SET status = 'cancelled' WHERE id = '" + kPendingAX + "'",
       "DELETE FROM bookings.appointments WHERE id = '" + kPendingAX + "'",
       {D, "1", D, D, D, "1", "1", D, "1", D},
       {D, "1", "0", "1", "0", "1", "1", D, "1", "0"},
       {D, D, D, D, D, "1", "1", D, D, D}});
  t.push_back(
      {"bookings.status_history", "id::text", booking_rows,
       "INSERT INTO bookings.status_history (appointment_id, patient_id, provider_id, from_status, "
       "to_status, changed_by_role) VALUES ('" +
           kConfirmedAX + "', " + A + ", " + X + ", 'confirmed', 'completed', 'forged')",
       "UPDATE bookings.status_history SET changed_by_role = changed_by_role WHERE appointment_id "
       "= '" +
           kConfirmedAX + "'",
       "DELETE FROM bookings.status_history WHERE appointment_id = '" + kConfirmedAX + "'", all(D),
       all(D), all(D)});
  return t;
}

// The claims of each context, from careguard.demo_users().
std::array<std::string, kContexts> context_claims(pqxx::transaction_base& tx) {
  std::map<std::string, std::string> by_label;
  for (const auto& row : tx.exec("SELECT label, claims::text FROM careguard.demo_users()")) {
    by_label[row[0].as<std::string>()] = row[1].as<std::string>();
  }
  std::array<std::string, kContexts> claims;
  claims[kA] = by_label.at("patient A");
  claims[kB] = by_label.at("patient B");
  claims[kX] = by_label.at("provider X");
  claims[kY] = by_label.at("provider Y");
  claims[kAdmin] = by_label.at("admin");
  claims[kAuthd] =
      tx.exec_params1("SELECT ($1::jsonb || '{\"role\": \"authenticated\"}')::text", claims[kA])[0]
          .as<std::string>();
  claims[kForged] =
      tx.exec_params1("SELECT ($1::jsonb || jsonb_build_object('provider_id', $2::text))::text",
                      claims[kA], kProviderX)[0]
          .as<std::string>();
  return claims;  // anon, service_role and "no claims" carry none
}

// The rows the matrix writes to, added as superuser in the open transaction.
void add_fixture_rows(pqxx::transaction_base& tx) {
  tx.exec("INSERT INTO public.categories (id, slug, name) VALUES ('" + kCategory +
          "', 'matrix-target', 'Matrix target')");
  tx.exec("INSERT INTO public.locations (id, city, region, country, timezone) VALUES ('" +
          kLocation + "', 'Matrix Town', 'Nowhere', 'US', 'UTC')");
  tx.exec("INSERT INTO auth.users (id, email) VALUES ('" + kNewProviderUser +
          "', 'matrix-provider@demo.test'), ('" + kUserWithoutRecord +
          "', 'matrix-user@demo.test'), ('" + kPatientWithoutPrefs +
          "', 'matrix-patient@demo.test')");
  tx.exec("INSERT INTO patients.profiles (id, full_name, date_of_birth) VALUES ('" +
          kPatientWithoutPrefs + "', 'Matrix Patient', '1980-01-01')");
  tx.exec("INSERT INTO providers.availability (id, provider_id, during) VALUES ('" +
          kAvailabilityX + "', '" + kProviderX +
          "', tstzrange('2039-01-03 09:00+00', '2039-01-03 17:00+00'))");
  tx.exec(
      "INSERT INTO bookings.appointments (id, patient_id, provider_id, starts_at, ends_at) VALUES "
      "('" +
      kPendingAX + "', '" + kPatientA + "', '" + kProviderX +
      "', '2039-01-03 09:00+00', '2039-01-03 09:30+00'), ('" + kConfirmedAX + "', '" + kPatientA +
      "', '" + kProviderX + "', '2039-01-03 10:00+00', '2039-01-03 10:30+00')");
  tx.exec("UPDATE bookings.appointments SET status = 'confirmed' WHERE id = '" + kConfirmedAX +
          "'");
}

std::set<std::string> column_set(const pqxx::result& r) {
  std::set<std::string> s;
  for (const auto& row : r) s.insert(row[0].as<std::string>());
  return s;
}

// Runs one statement in a savepoint that is always rolled back; returns the
// number of rows affected (or returned), or the SQLSTATE of the error.
std::string attempt(pqxx::dbtransaction& tx, const std::string& sql, pqxx::result* out = nullptr) {
  pqxx::subtransaction sub{tx, "attempt"};
  std::string outcome;
  try {
    pqxx::result r = sub.exec(sql);
    outcome = std::to_string(r.columns() > 0 ? r.size() : r.affected_rows());
    if (out != nullptr) *out = r;
  } catch (const pqxx::sql_error& e) {
    outcome = sqlstate_of(e);
  }
  sub.abort();
  return outcome;
}

class RoleMatrix : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_TRUE(careguard_test::ensure_demo_data())
        << "the database has users but not the demo users; run the tests on a fresh database";
  }
};

TEST_F(RoleMatrix, EveryTableCommandAndContextAgainstGroundTruth) {
  pqxx::connection c;
  report_sqlstates(c);
  const std::vector<Table> matrix = tables();
  std::size_t cells = 0, unauthorized_rows = 0, missing_rows = 0, rows_checked = 0;

  for (int ctx = 0; ctx < kContexts; ++ctx) {
    SCOPED_TRACE(kContextNames[ctx]);
    pqxx::work tx{c};
    add_fixture_rows(tx);
    const auto claims = context_claims(tx);

    // Ground truth, as superuser, in the same transaction.
    std::vector<std::set<std::string>> expected(matrix.size());
    for (std::size_t i = 0; i < matrix.size(); ++i) {
      if (matrix[i].visible[ctx] == kDenied) continue;
      expected[i] = column_set(tx.exec("SELECT " + matrix[i].pk + " FROM " + matrix[i].name +
                                       " WHERE " + matrix[i].visible[ctx]));
    }

    tx.exec(std::string("SET LOCAL ROLE ") + kSqlRoles[ctx]);
    if (!claims[ctx].empty())
      tx.exec_params("SELECT set_config('request.jwt.claims', $1, true)", claims[ctx]);

    for (std::size_t i = 0; i < matrix.size(); ++i) {
      const Table& t = matrix[i];
      SCOPED_TRACE(t.name);
      // SELECT: exactly the expected rows, or the expected error.
      pqxx::result seen_rows;
      std::string outcome = attempt(tx, "SELECT " + t.pk + " FROM " + t.name, &seen_rows);
      ++cells;
      if (t.visible[ctx] == kDenied) {
        EXPECT_EQ(outcome, "42501") << "SELECT should be denied";
      } else {
        ASSERT_TRUE(outcome.find_first_not_of("0123456789") == std::string::npos)
            << "SELECT failed: " << outcome;
        std::set<std::string> seen = column_set(seen_rows);
        for (const auto& id : seen) unauthorized_rows += expected[i].count(id) == 0;
        for (const auto& id : expected[i]) missing_rows += seen.count(id) == 0;
        rows_checked += seen.size();
        EXPECT_EQ(seen, expected[i]) << "visible rows differ from the ground truth";
        // SELECT * without WHERE: the same rows, except where column
        // privileges hide PHI (a provider on patient records).
        std::string star = attempt(tx, "SELECT * FROM " + t.name);
        ++cells;
        if (t.name == "patients.profiles" && (ctx == kX || ctx == kY)) {
          EXPECT_EQ(star, "42501") << "a provider must not SELECT * from patient records";
        } else {
          EXPECT_EQ(star, std::to_string(expected[i].size())) << "SELECT * returned other rows";
        }
      }
      // Writes: rows affected or SQLSTATE, each rolled back.
      const std::array<std::pair<const std::string*, const std::string*>, 3> writes = {
          std::make_pair(&t.insert_sql, &t.insert_outcome[ctx]),
          std::make_pair(&t.update_sql, &t.update_outcome[ctx]),
          std::make_pair(&t.delete_sql, &t.delete_outcome[ctx])};
      for (const auto& [sql, want] : writes) {
        ++cells;
        EXPECT_EQ(attempt(tx, *sql), *want) << *sql;
      }
    }
    tx.abort();
  }

  std::cout << "[ RoleMatrix ] " << matrix.size() << " tables x 4 commands x " << kContexts
            << " contexts (+ SELECT * checks) = " << cells << " cells; " << rows_checked
            << " visible rows checked; unauthorized rows seen: " << unauthorized_rows
            << "; authorized rows missing: " << missing_rows << std::endl;
  EXPECT_EQ(unauthorized_rows, 0u);
  EXPECT_EQ(missing_rows, 0u);
  std::size_t planned = 0;
  for (const Table& t : matrix) {
    for (int ctx = 0; ctx < kContexts; ++ctx) planned += t.visible[ctx] == kDenied ? 4 : 5;
  }
  EXPECT_EQ(cells, planned) << "every cell of the matrix ran";
}

// The owner columns of what each app role sees with no WHERE at all.
TEST_F(RoleMatrix, SelectStarReturnsOnlyTheCallersOwnRows) {
  pqxx::connection c;
  pqxx::work tx{c};
  const auto claims = context_claims(tx);
  struct Case {
    Context ctx;
    std::string sql, owner;
  };
  const std::vector<Case> cases = {
      {kA, "SELECT DISTINCT patient_id::text FROM (SELECT * FROM bookings.appointments) s",
       kPatientA},
      {kB, "SELECT DISTINCT patient_id::text FROM (SELECT * FROM bookings.appointments) s",
       kPatientB},
      {kX, "SELECT DISTINCT provider_id::text FROM (SELECT * FROM bookings.appointments) s",
       kProviderX},
      {kY, "SELECT DISTINCT provider_id::text FROM (SELECT * FROM bookings.appointments) s",
       kProviderY},
      {kForged, "SELECT DISTINCT patient_id::text FROM (SELECT * FROM bookings.appointments) s",
       kPatientA},
      {kA, "SELECT DISTINCT id::text FROM (SELECT * FROM patients.profiles) s", kPatientA},
      {kA, "SELECT DISTINCT patient_id::text FROM (SELECT * FROM patients.preferences) s",
       kPatientA},
      {kA, "SELECT DISTINCT patient_id::text FROM (SELECT * FROM bookings.status_history) s",
       kPatientA},
      {kX, "SELECT DISTINCT provider_id::text FROM (SELECT * FROM bookings.status_history) s",
       kProviderX},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(std::string(kContextNames[k.ctx]) + ": " + k.sql);
    pqxx::subtransaction sub{tx, "ctx"};
    sub.exec(std::string("SET LOCAL ROLE ") + kSqlRoles[k.ctx]);
    sub.exec_params("SELECT set_config('request.jwt.claims', $1, true)", claims[k.ctx]);
    std::set<std::string> owners = column_set(sub.exec(k.sql));
    EXPECT_EQ(owners, std::set<std::string>{k.owner});
    sub.abort();
  }
}

}  // namespace
