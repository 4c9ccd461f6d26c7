// What this proves: pg_dump keeps every row of the extension's tables. The
// seeded database named by PGDATABASE is dumped (custom format) and restored
// into a new database with the PostgreSQL 15 binaries; every table's row
// count and checksum (md5 of all rows in primary-key order), the status
// history's identity sequence, and the policies (pg_policies) come back
// identical. The restore must not add rows either (no INSERT trigger fires
// history rows while pg_restore loads the appointments).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <pqxx/pqxx>

#include "pg_support.hpp"
#include <string>
#include <vector>

namespace {

const std::string kBinDir = "/usr/lib/postgresql/15/bin/";

// The tables the extension creates, with the order that makes a checksum stable.
const std::vector<std::pair<std::string, std::string>> kTables = {
    {"auth.users", "id"},
    {"public.categories", "id"},
    {"public.locations", "id"},
    {"providers.profiles", "id"},
    {"providers.availability", "id"},
    {"patients.profiles", "id"},
    {"patients.preferences", "patient_id"},
    {"bookings.appointments", "id"},
    {"bookings.status_history", "id"}};

std::string snapshot_of(pqxx::connection& c, const std::string& sql) {
  pqxx::work tx{c};
  pqxx::result r = tx.exec(sql);
  std::string out;
  for (const auto& row : r) {
    for (const auto& field : row)
      out += (field.is_null() ? std::string("<null>") : field.as<std::string>()) + "\t";
    out += "\n";
  }
  return out;
}

int run(const std::string& command) {
  return std::system(command.c_str());
}

class DumpRoundTrip : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_TRUE(careguard_test::ensure_demo_data())
        << "the database has users but not the demo users; run the tests on a fresh database";
  }
};

TEST_F(DumpRoundTrip, RowsChecksumsSequenceAndPoliciesSurvive) {
  pqxx::connection source;
  const std::string source_db = source.dbname();
  const std::string target_db = "careguard_roundtrip_" + std::to_string(getpid());
  const std::string dump_file = "/tmp/" + target_db + ".dump";
  {
    pqxx::nontransaction tx{source};
    ASSERT_GT(tx.exec1("SELECT count(*) FROM bookings.status_history")[0].as<long>(), 0)
        << "the history must have rows for the test to mean anything";
    // A query the DBA registered for the plan audit: pg_dump must keep it
    // (careguard_booking's own four come back from its install script).
    tx.exec(
        "SELECT careguard.register_query('roundtrip.dba_count', 'SELECT count(*) FROM "
        "bookings.appointments', '{\"name\": \"admin\"}', max_cost_ratio => 12)");
    tx.exec("DROP DATABASE IF EXISTS " + tx.quote_name(target_db));
    tx.exec("CREATE DATABASE " + tx.quote_name(target_db) + " TEMPLATE template0");
  }
  ASSERT_EQ(run(kBinDir + "pg_dump -Fc -f '" + dump_file + "' -d '" + source_db + "'"), 0)
      << "pg_dump failed";
  ASSERT_EQ(run(kBinDir + "pg_restore --exit-on-error -d '" + target_db + "' '" + dump_file + "'"),
            0)
      << "pg_restore failed";

  pqxx::connection target{"dbname=" + target_db};
  int tables_compared = 0;
  for (const auto& [table, pk] : kTables) {
    SCOPED_TRACE(table);
    const std::string sql = "SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t." +
                            pk + "), '')) FROM " + table + " t";
    const std::string before = snapshot_of(source, sql), after = snapshot_of(target, sql);
    EXPECT_EQ(after, before) << "row count and checksum";
    EXPECT_NE(before.rfind("0\t", 0), 0u) << "the table has rows";
    ++tables_compared;
  }
  const std::string sequence = "SELECT last_value, is_called FROM bookings.status_history_id_seq";
  EXPECT_EQ(snapshot_of(target, sequence), snapshot_of(source, sequence))
      << "the history sequence is restored";
  const std::string policies =
      "SELECT schemaname, tablename, policyname, permissive, roles::text, cmd, qual, with_check "
      "FROM pg_policies "
      "WHERE schemaname IN ('auth', 'public', 'providers', 'patients', 'bookings') ORDER BY 1, 2, "
      "3";
  const std::string source_policies = snapshot_of(source, policies);
  EXPECT_EQ(snapshot_of(target, policies), source_policies) << "the policies are identical";
  EXPECT_GT(source_policies.size(), 0u);
  const std::string rls =
      "SELECT c.oid::regclass::text, relrowsecurity, relforcerowsecurity FROM pg_class c "
      "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname IN "
      "('providers', 'patients', 'bookings') AND c.relkind = 'r' ORDER BY 1";
  EXPECT_EQ(snapshot_of(target, rls), snapshot_of(source, rls))
      << "RLS enabled and forced after restore";
  const std::string registered =
      "SELECT query_name, query, context::text, reference_query, reference_role, max_cost_ratio, "
      "registered_by_extension, active FROM careguard.registered_queries()";
  const std::string source_registered = snapshot_of(source, registered);
  EXPECT_EQ(snapshot_of(target, registered), source_registered)
      << "the registered queries come back once each: the DBA's from the dump, the product's "
         "from its install script";
  EXPECT_NE(source_registered.find("roundtrip.dba_count"), std::string::npos);
  std::cout << "[ DumpRoundTrip ] " << tables_compared << " tables, the history sequence and "
            << std::count(source_policies.begin(), source_policies.end(), '\n')
            << " policies compared" << std::endl;

  target.disconnect();
  pqxx::nontransaction cleanup{source};
  cleanup.exec("DROP DATABASE " + cleanup.quote_name(target_db));
  cleanup.exec("SELECT careguard.unregister_query('roundtrip.dba_count')");
  std::remove(dump_file.c_str());
}

// Dumps hold key material unless told not to: the documented way to dump
// without it is --exclude-table-data=auth.signing_keys (docs/security-model.md).
TEST_F(DumpRoundTrip, KeyMaterialStaysOutOfADumpThatExcludesIt) {
  const std::string secret = "dump-test-secret-material-0123456789abcdef";
  // base64url of the secret's first 30 bytes, as it stands in the JWK's "k".
  {
    pqxx::connection admin;
    pqxx::nontransaction tx(admin);
    tx.exec("DELETE FROM auth.signing_keys WHERE kid = 'dump_secret'");
    tx.exec("SELECT auth.import_hmac_secret('dump_secret', " + tx.quote(secret) + ")");
  }
  std::string encoded;
  {
    pqxx::connection admin;
    pqxx::nontransaction tx(admin);
    encoded =
        tx.exec("SELECT private_jwk ->> 'k' FROM auth.signing_keys WHERE kid = 'dump_secret'")[0][0]
            .as<std::string>();
  }
  ASSERT_GT(encoded.size(), 20u);
  char dir_template[] = "/tmp/careguard-keydump-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::string dir = dir_template;
  auto count_in_dump = [&](const std::string& options) {
    std::string file = dir + "/dump.sql";
    EXPECT_EQ(run(kBinDir + "pg_dump " + options + " -f " + file + " 2>/dev/null"), 0);
    return run("grep -q -- '" + encoded.substr(0, 24) + "' " + file) == 0;
  };
  EXPECT_TRUE(count_in_dump("")) << "a plain dump carries the secret: backups are secrets";
  EXPECT_FALSE(count_in_dump("--exclude-table-data=auth.signing_keys"));
  run("rm -rf " + dir);
  pqxx::connection admin;
  pqxx::nontransaction(admin).exec("DELETE FROM auth.signing_keys WHERE kid = 'dump_secret'");
}

}  // namespace
