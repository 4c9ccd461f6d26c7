// careguard-audit diff end to end: two real databases (the same schema,
// then a migration applied to one), the CLI's JSON read back, and a
// snapshot file standing in for a database. Needs no careguard in them:
// a snapshot reads catalogs only.
#include "careguard/core/json.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <unistd.h>

#include <array>
#include <cstdio>
#include <map>
#include <string>

namespace {

namespace json = careguard::json;

std::string cli_path() {
  std::array<char, 4096> self{};
  ssize_t n = readlink("/proc/self/exe", self.data(), self.size() - 1);
  std::string dir(self.data(), n > 0 ? static_cast<std::size_t>(n) : 0);
  dir = dir.substr(0, dir.rfind('/'));
  return dir.substr(0, dir.rfind('/')) + "/tools/careguard-audit";
}

struct CliResult {
  int exit_code;
  std::string out;
};

CliResult run_cli(const std::string& args) {
  const std::string command = cli_path() + " " + args + " 2>/dev/null";
  FILE* pipe = popen(command.c_str(), "r");
  std::string out;
  std::array<char, 8192> buffer{};
  while (std::size_t got = fread(buffer.data(), 1, buffer.size(), pipe))
    out.append(buffer.data(), got);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

const char* const kFrom = "careguard_diff_from";
const char* const kTo = "careguard_diff_to";

// The same starting schema in both databases.
const char* const kSchema = R"sql(
CREATE SCHEMA diffcase;
CREATE TABLE diffcase.visits (id bigint PRIMARY KEY, patient uuid, status text, public boolean);
ALTER TABLE diffcase.visits ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE TABLE diffcase.notes (id bigint PRIMARY KEY, patient uuid);
GRANT USAGE ON SCHEMA diffcase TO diff_patient;
GRANT SELECT ON diffcase.visits TO diff_patient;
GRANT SELECT, UPDATE ON diffcase.notes TO diff_patient;
CREATE POLICY read_own ON diffcase.visits FOR SELECT TO diff_patient
  USING (patient = (current_setting('app.uid'))::uuid);
CREATE POLICY update_own ON diffcase.visits FOR UPDATE TO diff_patient
  USING (patient = (current_setting('app.uid'))::uuid);
CREATE POLICY rewrite_me ON diffcase.visits FOR DELETE TO diff_patient
  USING (patient = (current_setting('app.uid'))::uuid);
CREATE POLICY respaced ON diffcase.visits FOR INSERT TO diff_patient
  WITH CHECK (patient = (current_setting('app.uid'))::uuid);
CREATE POLICY not_cancelled ON diffcase.visits AS RESTRICTIVE FOR ALL TO diff_patient
  USING (status <> 'cancelled');
CREATE SCHEMA diffnarrow;
CREATE TABLE diffnarrow.t (id bigint PRIMARY KEY);
GRANT USAGE ON SCHEMA diffnarrow TO diff_patient;
GRANT SELECT, DELETE ON diffnarrow.t TO diff_patient;
)sql";

// The migration under review, applied to the second database only.
const char* const kMigration = R"sql(
ALTER POLICY read_own ON diffcase.visits TO diff_patient, diff_visitor;
ALTER POLICY update_own ON diffcase.visits
  USING (patient = (current_setting('app.uid'))::uuid OR public);
ALTER POLICY rewrite_me ON diffcase.visits USING (patient IS NOT NULL);
DROP POLICY respaced ON diffcase.visits;
CREATE POLICY respaced ON diffcase.visits FOR INSERT TO diff_patient
  WITH CHECK (  patient   =   (current_setting('app.uid'))::uuid );
DROP POLICY not_cancelled ON diffcase.visits;
ALTER TABLE diffcase.visits NO FORCE ROW LEVEL SECURITY;
ALTER TABLE diffcase.notes ENABLE ROW LEVEL SECURITY;
REVOKE UPDATE ON diffcase.notes FROM diff_patient;
GRANT INSERT ON diffcase.visits TO diff_visitor;
CREATE FUNCTION diffcase.all_visits() RETURNS bigint LANGUAGE sql SECURITY DEFINER
  SET search_path = pg_catalog AS 'SELECT count(*) FROM diffcase.visits';
REVOKE DELETE ON diffnarrow.t FROM diff_patient;
)sql";

class AuditDiff : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pqxx::connection admin;
    pqxx::nontransaction tx(admin);
    for (const char* role : {"diff_patient", "diff_visitor"})
      tx.exec(std::string("DO $$ BEGIN CREATE ROLE ") + role +
              " NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$");
    for (const char* db : {kFrom, kTo}) {
      tx.exec(std::string("DROP DATABASE IF EXISTS ") + db);
      tx.exec(std::string("CREATE DATABASE ") + db);
      pqxx::connection conn(std::string("dbname=") + db);
      pqxx::work w(conn);
      w.exec(kSchema);
      if (std::string(db) == kTo) w.exec(kMigration);
      w.commit();
    }
  }
  static void TearDownTestSuite() {
    pqxx::connection admin;
    pqxx::nontransaction tx(admin);
    for (const char* db : {kFrom, kTo}) tx.exec(std::string("DROP DATABASE IF EXISTS ") + db);
    tx.exec("DROP ROLE IF EXISTS diff_patient");
    tx.exec("DROP ROLE IF EXISTS diff_visitor");
  }

  // (kind object aspect) -> class, from the CLI's JSON.
  static std::map<std::string, std::string> classes(const std::string& out) {
    std::map<std::string, std::string> by_change;
    const json::Value doc = json::parse(out);
    for (const auto& c : doc.find("changes")->items)
      by_change[c.find("kind")->text + " " + c.find("object")->text + " " +
                c.find("aspect")->text] = c.find("class")->text;
    return by_change;
  }
};

TEST_F(AuditDiff, ClassifiesEachChangeOfTheMigration) {
  const CliResult run = run_cli(std::string("diff --from dbname=") + kFrom + " --to dbname=" + kTo +
                                " --schemas diffcase --format json");
  ASSERT_EQ(run.exit_code, 1) << "a widening migration fails --fail-on widening\n" << run.out;
  const auto got = classes(run.out);
  const std::map<std::string, std::string> expected = {
      {"policy read_own on diffcase.visits roles", "widening"},
      {"policy update_own on diffcase.visits USING", "widening"},
      {"policy rewrite_me on diffcase.visits USING", "widening (unproven)"},
      {"policy not_cancelled on diffcase.visits policy", "widening"},
      {"rls diffcase.visits FORCE", "widening"},
      {"rls diffcase.notes row-level security", "narrowing"},
      {"grant UPDATE on table diffcase.notes to diff_patient privilege", "narrowing"},
      {"grant INSERT on table diffcase.visits to diff_visitor privilege", "widening"},
      {"function diffcase.all_visits() SECURITY DEFINER", "widening"},
      {"grant EXECUTE on function diffcase.all_visits() to PUBLIC privilege", "widening"},
  };
  EXPECT_EQ(got, expected) << run.out;
  // The re-created policy deparses alike: no change at all.
  EXPECT_EQ(run.out.find("respaced"), std::string::npos);
}

TEST_F(AuditDiff, NarrowingOnlyPassesUnlessAnyChangeFails) {
  const std::string args =
      std::string("diff --from dbname=") + kFrom + " --to dbname=" + kTo + " --schemas diffnarrow";
  const CliResult widening = run_cli(args + " --format json");
  EXPECT_EQ(widening.exit_code, 0) << widening.out;
  EXPECT_EQ(classes(widening.out),
            (std::map<std::string, std::string>{
                {"grant DELETE on table diffnarrow.t to diff_patient privilege", "narrowing"}}));
  EXPECT_EQ(run_cli(args + " --fail-on any").exit_code, 1);
  EXPECT_EQ(run_cli(args + " --fail-on never").exit_code, 0);
}

TEST_F(AuditDiff, SnapshotFileStandsInForADatabase) {
  char path[] = "/tmp/careguard-diff-snapshot-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  const CliResult snap =
      run_cli(std::string("snapshot -q --dsn dbname=") + kFrom + " --schemas diffcase -o " + path);
  ASSERT_EQ(snap.exit_code, 0);
  const CliResult same = run_cli(std::string("diff -q --from ") + path + " --to dbname=" + kFrom +
                                 " --schemas diffcase --format json");
  EXPECT_EQ(same.exit_code, 0) << same.out;
  EXPECT_TRUE(classes(same.out).empty()) << same.out;
  const CliResult from_file = run_cli(std::string("diff -q --from ") + path +
                                      " --to dbname=" + kTo + " --schemas diffcase --format json");
  EXPECT_EQ(from_file.exit_code, 1);
  EXPECT_EQ(classes(from_file.out).size(), 10u) << from_file.out;
  // SARIF and text carry the same verdicts.
  const CliResult sarif = run_cli(std::string("diff -q --from ") + path + " --to dbname=" + kTo +
                                  " --schemas diffcase --format sarif");
  EXPECT_NE(sarif.out.find("\"ruleId\": \"diff_widening_unproven\""), std::string::npos);
  const CliResult text = run_cli(std::string("diff -q --from ") + path + " --to dbname=" + kTo +
                                 " --schemas diffcase");
  EXPECT_NE(text.out.find("widening (unproven)  policy rewrite_me on diffcase.visits"),
            std::string::npos)
      << text.out;
  unlink(path);
}

TEST_F(AuditDiff, UsageErrors) {
  EXPECT_EQ(run_cli(std::string("diff --from dbname=") + kFrom).exit_code, 2);
  EXPECT_EQ(run_cli(std::string("diff --from dbname=") + kFrom + " --to dbname=" + kTo +
                    " --schemas no_such_schema")
                .exit_code,
            2);
  EXPECT_EQ(
      run_cli(std::string("diff --from dbname=") + kFrom + " --to dbname=" + kTo + " --format html")
          .exit_code,
      2);
  EXPECT_EQ(
      run_cli(std::string("diff --from dbname=") + kFrom + " --to dbname=" + kTo + " --matrix")
          .exit_code,
      2);
  EXPECT_EQ(run_cli("diff --from /dev/null --to dbname=x").exit_code, 3)
      << "/dev/null is no regular file: read as a DSN, which cannot connect";
}

}  // namespace
