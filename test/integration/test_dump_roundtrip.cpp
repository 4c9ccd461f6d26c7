// What this proves: pg_dump keeps every row of the extension's tables. The
// seeded database named by PGDATABASE is dumped (custom format) and restored
// into a new database with the PostgreSQL 15 binaries, once serially and
// once with pg_restore -j 4 (which loads the extension's tables in any
// order, although foreign keys between them exist from CREATE EXTENSION);
// every table's row count and checksum (md5 of all rows in primary-key
// order), the status history's identity sequence, the policies
// (pg_policies) and RLS flags come back identical, and no foreign key is
// left violated. The restore must not add rows either (no INSERT trigger
// fires history rows while pg_restore loads the appointments). A user's own
// table in a PHI schema and one under careguard.protect() come back too:
// pg_restore rebuilds them object by object, which the policy gate allows
// only to a superuser's pg_restore session.
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
    {"bookings.status_history", "id"},
    {"patients.dump_notes", "id"},
    {"public.dump_owned", "id"}};

// The user's tables beside the product's, each the gate's business.
const char* const kUserTables[] = {
    "DROP TABLE IF EXISTS patients.dump_notes, public.dump_owned",
    "CREATE TABLE patients.dump_notes (id int PRIMARY KEY, patient_id uuid NOT NULL "
    "REFERENCES patients.profiles (id), body text)",
    "ALTER TABLE patients.dump_notes ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY",
    "CREATE POLICY dump_notes_patient ON patients.dump_notes FOR SELECT TO patient "
    "USING (patient_id OPERATOR(pg_catalog.=) auth.uid())",
    "GRANT SELECT ON patients.dump_notes TO patient",
    "INSERT INTO patients.dump_notes SELECT row_number() OVER (ORDER BY id), id, 'note' "
    "FROM patients.profiles",
    "CREATE TABLE public.dump_owned (id int PRIMARY KEY, owner uuid NOT NULL)",
    "INSERT INTO public.dump_owned SELECT g, gen_random_uuid() FROM generate_series(1, 50) g",
    "SELECT careguard.protect('public.dump_owned', 'owner')"};

// Rows that break a foreign key of the extensions' and the user's tables:
// one count per constraint, joined by ','; "0,0,..." when all hold.
const char* kForeignKeyViolations =
    "SELECT string_agg(format('SELECT count(*) FROM %s c WHERE NOT EXISTS (SELECT FROM %s p "
    "WHERE (%s) = (%s)) AND (%s) IS NOT NULL', conrelid::regclass, confrelid::regclass, "
    "(SELECT string_agg('p.' || quote_ident(attname), ',' ORDER BY k.n) FROM unnest(confkey) "
    "WITH ORDINALITY k(a, n) JOIN pg_attribute ON attrelid = confrelid AND attnum = k.a), "
    "(SELECT string_agg('c.' || quote_ident(attname), ',' ORDER BY k.n) FROM unnest(conkey) "
    "WITH ORDINALITY k(a, n) JOIN pg_attribute ON attrelid = conrelid AND attnum = k.a), "
    "(SELECT string_agg('c.' || quote_ident(attname), ',' ORDER BY k.n) FROM unnest(conkey) "
    "WITH ORDINALITY k(a, n) JOIN pg_attribute ON attrelid = conrelid AND attnum = k.a)), "
    "' UNION ALL ' ORDER BY conname) FROM pg_constraint WHERE contype = 'f' AND "
    "connamespace::regnamespace::text IN ('auth', 'public', 'providers', 'patients', "
    "'bookings')";

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

// The counts of the foreign-key check, one line per constraint.
std::string foreign_key_violations(pqxx::connection& c) {
  pqxx::work tx{c};
  const std::string check = tx.exec1(kForeignKeyViolations)[0].as<std::string>();
  tx.commit();
  return snapshot_of(c, check);
}

class DumpRoundTrip : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_TRUE(careguard_test::ensure_demo_data())
        << "the database has users but not the demo users; run the tests on a fresh database";
    pqxx::connection admin;
    pqxx::work tx{admin};
    for (const char* sql : kUserTables) tx.exec(sql);
    tx.commit();
  }
  static void TearDownTestSuite() {
    pqxx::connection admin;
    pqxx::work tx{admin};
    tx.exec(
        "DELETE FROM careguard.protected_tables WHERE relation = 'public.dump_owned'::regclass");
    tx.exec("DROP TABLE patients.dump_notes, public.dump_owned");
    tx.commit();
  }
};

// pg_restore's options: serial, and four parallel jobs.
class DumpRoundTripJobs : public DumpRoundTrip, public ::testing::WithParamInterface<int> {};

TEST_P(DumpRoundTripJobs, RowsChecksumsSequenceAndPoliciesSurvive) {
  const int jobs = GetParam();
  pqxx::connection source;
  const std::string source_db = source.dbname();
  const std::string target_db =
      "careguard_roundtrip_" + std::to_string(getpid()) + "_j" + std::to_string(jobs);
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
  // In parallel, the schema and data first, then post-data (indexes, the
  // user's foreign keys): PostgreSQL orders a foreign key after the index it
  // references, and an extension's table has no index entry in the dump, so
  // a user's key to patients.profiles could otherwise be checked before the
  // profiles are in (docs/security-model.md).
  const std::string restore = kBinDir + "pg_restore --exit-on-error -j " + std::to_string(jobs) +
                              " -d '" + target_db + "' ";
  if (jobs == 1) {
    ASSERT_EQ(run(restore + "'" + dump_file + "'"), 0) << "pg_restore failed";
  } else {
    ASSERT_EQ(run(restore + "--section=pre-data --section=data '" + dump_file + "'"), 0)
        << "pg_restore -j " << jobs << " of the schema and data failed";
    ASSERT_EQ(run(restore + "--section=post-data '" + dump_file + "'"), 0)
        << "pg_restore -j " << jobs << " of post-data failed";
  }

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
      "('public', 'providers', 'patients', 'bookings') AND c.relkind = 'r' ORDER BY 1";
  EXPECT_EQ(snapshot_of(target, rls), snapshot_of(source, rls))
      << "RLS enabled and forced after restore";
  const std::string violations = foreign_key_violations(target);
  EXPECT_GT(violations.size(), 0u);
  EXPECT_EQ(violations.find_first_not_of("0\t\n"), std::string::npos)
      << "a foreign key is violated after the restore:\n"
      << violations;
  const std::string protected_tables =
      "SELECT relation::text, owner_column FROM careguard.protected_tables ORDER BY 1";
  EXPECT_EQ(snapshot_of(target, protected_tables), snapshot_of(source, protected_tables));
  const std::string registered =
      "SELECT query_name, query, context::text, reference_query, reference_role, max_cost_ratio, "
      "registered_by_extension, active FROM careguard.registered_queries()";
  const std::string source_registered = snapshot_of(source, registered);
  EXPECT_EQ(snapshot_of(target, registered), source_registered)
      << "the registered queries come back once each: the DBA's from the dump, the product's "
         "from its install script";
  EXPECT_NE(source_registered.find("roundtrip.dba_count"), std::string::npos);
  std::cout << "[ DumpRoundTrip ] pg_restore -j " << jobs << ": " << tables_compared
            << " tables, the history sequence, "
            << std::count(violations.begin(), violations.end(), '\n') << " foreign keys and "
            << std::count(source_policies.begin(), source_policies.end(), '\n')
            << " policies compared" << std::endl;

  target.disconnect();
  pqxx::nontransaction cleanup{source};
  cleanup.exec("DROP DATABASE " + cleanup.quote_name(target_db));
  cleanup.exec("SELECT careguard.unregister_query('roundtrip.dba_count')");
  std::remove(dump_file.c_str());
}

INSTANTIATE_TEST_SUITE_P(SerialAndParallel, DumpRoundTripJobs, ::testing::Values(1, 4));

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
