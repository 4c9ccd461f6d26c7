// careguard-audit end to end: runs the built CLI against the database named
// by the PG* environment (careguard installed) with test/audit/fixture.sql
// loaded, and checks formats, exit codes, and the matrix against libpqxx.
#include "baseline.hpp"
#include "careguard/core/json.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <unistd.h>

#include <array>
#include <cstdlib>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

namespace {

namespace json = careguard::json;

const std::string kSourceDir =
    std::string(__FILE__).substr(0, std::string(__FILE__).rfind("/test/"));

// The CLI sits in <build>/tools next to this binary's <build>/test.
std::string cli_path() {
  std::array<char, 4096> self{};
  ssize_t n = readlink("/proc/self/exe", self.data(), self.size() - 1);
  std::string dir(self.data(), n > 0 ? static_cast<std::size_t>(n) : 0);
  dir = dir.substr(0, dir.rfind('/'));
  return dir.substr(0, dir.rfind('/')) + "/tools/careguard-audit";
}

// A scratch directory of this test process: fixed /tmp names would clash
// with files another user's run left behind.
const std::string& scratch_dir() {
  static const std::string dir = [] {
    char pattern[] = "/tmp/careguard-audit-cli-XXXXXX";
    const char* made = mkdtemp(pattern);
    return std::string(made != nullptr ? made : "/tmp");
  }();
  return dir;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

struct CliRun {
  int exit_code;
  std::string out;
};

// Runs the CLI with arguments (shell-quoted by the caller); stdout captured.
CliRun run_cli(const std::string& args) {
  std::string command = cli_path() + " -q " + args + " 2>" + scratch_dir() + "/stderr";
  FILE* pipe = popen(command.c_str(), "r");
  std::string out;
  std::array<char, 8192> buffer{};
  while (std::size_t got = fread(buffer.data(), 1, buffer.size(), pipe))
    out.append(buffer.data(), got);
  int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

class AuditCli : public ::testing::Test {
 protected:
  // Loads the fixture once (committed: the CLI is another session).
  static void SetUpTestSuite() {
    pqxx::connection conn;
    drop_fixture(conn);
    pqxx::work txn(conn);
    txn.exec(read_file(kSourceDir + "/test/audit/fixture.sql"));
    txn.exec("CREATE SCHEMA IF NOT EXISTS audit_cli_empty");
    txn.commit();
  }
  static void TearDownTestSuite() {
    pqxx::connection conn;
    drop_fixture(conn);
  }
  static void drop_fixture(pqxx::connection& conn) {
    pqxx::nontransaction txn(conn);
    if (txn.exec("SELECT 1 FROM pg_namespace WHERE nspname = 'audit_fixture'").empty()) return;
    txn.exec(read_file(kSourceDir + "/test/audit/teardown.sql"));
  }
};

// (rule, object) pairs of test/audit/expected.tsv.
std::set<std::pair<std::string, std::string>> expected_fixture_findings() {
  std::set<std::pair<std::string, std::string>> expected;
  std::istringstream lines(read_file(kSourceDir + "/test/audit/expected.tsv"));
  std::string line;
  std::getline(lines, line);  // header
  while (std::getline(lines, line)) {
    auto tab = line.find('\t');
    if (tab != std::string::npos) expected.insert({line.substr(0, tab), line.substr(tab + 1)});
  }
  return expected;
}

TEST_F(AuditCli, JsonParsesAndListsExactlyThePlantedFlaws) {
  CliRun run = run_cli("--schemas audit_fixture --format json --fail-on never");
  ASSERT_EQ(run.exit_code, 0);
  json::Value doc = json::parse(run.out);
  std::set<std::pair<std::string, std::string>> found;
  for (const auto& f : doc.find("findings")->items) {
    std::string rule = f.find("rule")->text, object = f.find("object")->text;
    if (rule == "privileged_role" && object != "audit_fixture_bypass")
      continue;  // cluster inventory
    found.insert({rule, object});
  }
  EXPECT_EQ(found, expected_fixture_findings());
  EXPECT_EQ(expected_fixture_findings().size(), 43u);
}

TEST_F(AuditCli, SarifHasTheRequiredFields) {
  CliRun run = run_cli("--schemas audit_fixture --format sarif --fail-on never");
  ASSERT_EQ(run.exit_code, 0);
  json::Value doc = json::parse(run.out);
  EXPECT_EQ(doc.find("version")->text, "2.1.0");
  ASSERT_NE(doc.find("$schema"), nullptr);
  const json::Value& sarif_run = doc.find("runs")->items.at(0);
  const json::Value* driver = sarif_run.find("tool")->find("driver");
  EXPECT_EQ(driver->find("name")->text, "careguard-audit");
  // rules[] is the catalogue, one entry per rule.
  pqxx::connection conn;
  pqxx::work txn(conn);
  EXPECT_EQ(driver->find("rules")->items.size(),
            txn.exec1("SELECT count(*) FROM careguard.audit_rules()")[0].as<std::size_t>());
  const auto& results = sarif_run.find("results")->items;
  ASSERT_GE(results.size(), 20u);
  for (const auto& r : results) {
    EXPECT_FALSE(r.find("ruleId")->text.empty());
    EXPECT_TRUE(std::set<std::string>({"error", "warning", "note"}).count(r.find("level")->text));
    EXPECT_FALSE(r.find("message")->find("text")->text.empty());
    EXPECT_FALSE(r.find("locations")->items.at(0).find("logicalLocations")->items.empty());
  }
}

TEST_F(AuditCli, FailOnSetsTheExitCode) {
  EXPECT_EQ(run_cli("--schemas audit_fixture --fail-on error").exit_code, 1);
  EXPECT_EQ(run_cli("--schemas audit_fixture --fail-on warning").exit_code, 1);
  EXPECT_EQ(run_cli("--schemas audit_fixture --fail-on never").exit_code, 0);
  // Only the info-level role inventory: passes even --fail-on warning.
  EXPECT_EQ(run_cli("--schemas audit_cli_empty --fail-on warning").exit_code, 0);
  // A mistyped schema is an error, never a clean report.
  CliRun mistyped = run_cli("--schemas no_such_schema --fail-on warning");
  EXPECT_EQ(mistyped.exit_code, 2);
  std::string errors = read_file(scratch_dir() + "/stderr");
  EXPECT_NE(errors.find("schema \"no_such_schema\" does not exist"), std::string::npos) << errors;
}

TEST_F(AuditCli, BaselineExcludeRuleAndOutputFile) {
  const std::string dir = scratch_dir();
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream out(dir + "/" + name);
    out << text;
  };
  // A baseline of every current finding: nothing is new, so even --fail-on info passes.
  ASSERT_EQ(run_cli("--schemas audit_fixture --fail-on never --write-baseline " + dir + "/all.tsv")
                .exit_code,
            0);
  std::string all = read_file(dir + "/all.tsv");
  EXPECT_EQ(
      run_cli("--schemas audit_fixture --fail-on info --baseline " + dir + "/all.tsv").exit_code,
      0);
  // Dropping one accepted entry (the first after the two comment lines) makes
  // its finding new again.
  std::istringstream lines(all);
  std::string line, partial;
  int number = 0;
  while (std::getline(lines, line)) {
    if (++number != 3) partial += line + "\n";
  }
  write("partial.tsv", partial);
  EXPECT_EQ(run_cli("--schemas audit_fixture --fail-on info --baseline " + dir + "/partial.tsv")
                .exit_code,
            1);
  // An entry that matches nothing any more is reported, and does not fail the run.
  write("stale.tsv", all + careguard::audit::fingerprint("rls_not_forced", "audit_fixture.gone") +
                         "\trls_not_forced\taudit_fixture.gone\tdropped long ago\n");
  EXPECT_EQ(
      run_cli("--schemas audit_fixture --fail-on info --baseline " + dir + "/stale.tsv").exit_code,
      0);
  EXPECT_NE(read_file(dir + "/stderr").find("matches no finding any more"), std::string::npos);
  // A fingerprint that does not belong to its finding is a usage error.
  write("bad.tsv", "deadbeefdeadbeef\trls_not_forced\taudit_fixture.x\treason\n");
  EXPECT_EQ(run_cli("--schemas audit_fixture --baseline " + dir + "/bad.tsv").exit_code, 2);
  // --exclude-rule drops a rule's findings; -o writes the report to a file.
  CliRun excluded = run_cli("--schemas audit_fixture --format json --fail-on never -o " + dir +
                            "/report.json --exclude-rule rls_not_forced,fk_without_index");
  EXPECT_EQ(excluded.exit_code, 0);
  EXPECT_TRUE(excluded.out.empty());
  std::string report = read_file(dir + "/report.json");
  EXPECT_NE(report.find("\"rls_disabled_exposed\""), std::string::npos);
  EXPECT_EQ(report.find("\"rls_not_forced\""), std::string::npos);
  EXPECT_EQ(report.find("\"fk_without_index\""), std::string::npos);
}

TEST_F(AuditCli, UsageErrorsExit2) {
  EXPECT_EQ(run_cli("--format xml").exit_code, 2);
  EXPECT_EQ(run_cli("--fail-on sometimes").exit_code, 2);
  EXPECT_EQ(run_cli("--nonsense").exit_code, 2);
  EXPECT_EQ(run_cli("--help").exit_code, 0);
}

TEST_F(AuditCli, WrongDsnExits3) {
  CliRun run = run_cli("--dsn 'host=127.0.0.1 port=1 connect_timeout=3'");
  EXPECT_EQ(run.exit_code, 3);
  EXPECT_NE(read_file(scratch_dir() + "/stderr").find("cannot connect"), std::string::npos);
}

TEST_F(AuditCli, MissingExtensionExits4) {
  pqxx::connection conn;
  pqxx::nontransaction admin(conn);
  admin.exec("DROP DATABASE IF EXISTS careguard_audit_noext");
  admin.exec("CREATE DATABASE careguard_audit_noext");
  CliRun run = run_cli("--dsn 'dbname=careguard_audit_noext'");
  admin.exec("DROP DATABASE careguard_audit_noext");
  EXPECT_EQ(run.exit_code, 4);
}

TEST_F(AuditCli, MissingPrivilegeExits5) {
  pqxx::connection conn;
  pqxx::nontransaction admin(conn);
  admin.exec("DROP ROLE IF EXISTS careguard_audit_nopriv");
  admin.exec("CREATE ROLE careguard_audit_nopriv LOGIN");
  CliRun audit =
      run_cli("--dsn 'user=careguard_audit_nopriv dbname=" + std::string(conn.dbname()) + "'");
  // admin may audit but not probe the matrix, which needs a superuser.
  admin.exec("GRANT admin TO careguard_audit_nopriv");
  CliRun matrix = run_cli(
      "--matrix --dsn 'user=careguard_audit_nopriv dbname=" + std::string(conn.dbname()) + "'");
  CliRun audit_as_admin = run_cli("--fail-on never --dsn 'user=careguard_audit_nopriv dbname=" +
                                  std::string(conn.dbname()) + "'");
  admin.exec("DROP ROLE careguard_audit_nopriv");
  EXPECT_EQ(audit.exit_code, 5);
  EXPECT_EQ(matrix.exit_code, 5);
  EXPECT_EQ(audit_as_admin.exit_code, 0);
}

TEST_F(AuditCli, HtmlRendersInHeadlessChromium) {
  CliRun run = run_cli("--schemas audit_fixture,auth --matrix --format html --fail-on never");
  ASSERT_EQ(run.exit_code, 0);
  ASSERT_NE(run.out.find("<table class=\"grid\">"), std::string::npos);
  const std::string html = scratch_dir() + "/careguard-audit-report.html";
  std::ofstream(html) << run.out;
  const std::string png = scratch_dir() + "/careguard-audit-report.png";
  int status = std::system((kSourceDir + "/scripts/render-html.sh " + html + " " + png).c_str());
  EXPECT_EQ(status, 0);
}

// The SQL matrix's visible row counts equal what libpqxx sees when it
// switches identity itself, per context and table of the default schemas.
TEST_F(AuditCli, MatrixEqualsLibpqxxVisibility) {
  CliRun run = run_cli("--matrix --format json --fail-on never");
  ASSERT_EQ(run.exit_code, 0);
  json::Value doc = json::parse(run.out);
  pqxx::connection conn;
  // libpqxx closes a transaction object on any error, so the transaction
  // and its savepoints are driven by hand on a nontransaction.
  pqxx::nontransaction txn(conn);
  txn.exec("BEGIN");
  // Each context's role and claims, as access_matrix() composes them.
  std::map<std::string, std::pair<std::string, std::string>> identity;
  for (const auto& r :
       txn.exec("SELECT c->>'name', c->>'role', (jsonb_build_object('role', c->>'role') || "
                "coalesce(c->'claims', '{}'))::text "
                "FROM jsonb_array_elements(careguard.access_matrix_default_contexts()) c"))
    identity[r[0].as<std::string>()] = {r[1].as<std::string>(), r[2].as<std::string>()};
  std::size_t compared = 0;
  for (const auto& cell : doc.find("matrix")->items) {
    const std::string context = cell.find("context")->text;
    const std::string relation = cell.find("relation")->text;
    ASSERT_TRUE(identity.count(context)) << context;
    // A savepoint per probe: rolling back to it restores role and claims.
    txn.exec("SAVEPOINT probe");
    txn.exec_params("SELECT set_config('role', $1, true)", identity[context].first);
    txn.exec_params("SELECT set_config('request.jwt.claims', $1, true)", identity[context].second);
    const json::Value* rows = cell.find("selectable_rows");
    try {
      auto count = txn.exec1("SELECT count(*) FROM " + relation)[0].as<long long>();
      EXPECT_EQ(rows->text, std::to_string(count)) << context << " " << relation;
    } catch (const pqxx::insufficient_privilege&) {
      EXPECT_EQ(rows->kind, json::Kind::Null) << context << " " << relation;
    }
    txn.exec("ROLLBACK TO SAVEPOINT probe");
    ++compared;
  }
  txn.exec("ROLLBACK");
  std::printf("access matrix cells compared with libpqxx: %zu\n", compared);
  EXPECT_GT(compared, 0u);
}

// Where no write can run (a hot standby; here a read-only session, which
// access_matrix() treats alike), write cells are unknown, never "denied".
// test/shell/hot_standby.sh runs the same CLI against a real replica.
TEST_F(AuditCli, ReadOnlyMatrixSaysWritesWereNotProbed) {
  CliRun run = run_cli(
      "--dsn \"options='-c default_transaction_read_only=on'\" --matrix --format json "
      "--fail-on never");
  ASSERT_EQ(run.exit_code, 0) << read_file(scratch_dir() + "/stderr");
  json::Value doc = json::parse(run.out);
  std::size_t cells = 0, unprobed = 0;
  for (const auto& cell : doc.find("matrix")->items) {
    ++cells;
    if (cell.find("writes_not_probed")->text == "read-only transaction" &&
        cell.find("can_insert")->kind == json::Kind::Null &&
        cell.find("can_update")->kind == json::Kind::Null &&
        cell.find("can_delete")->kind == json::Kind::Null &&
        cell.find("delete_sqlstate")->text == "25006")
      ++unprobed;
  }
  EXPECT_GT(cells, 0u);
  EXPECT_EQ(unprobed, cells);
  CliRun text = run_cli(
      "--dsn \"options='-c default_transaction_read_only=on'\" --matrix --format text "
      "--fail-on never");
  EXPECT_NE(text.out.find("Write probes were impossible (read-only transaction)"),
            std::string::npos);
  EXPECT_NE(text.out.find("n/a (read-only transaction)"), std::string::npos);
  // The same CLI on a read-write session probes the writes.
  CliRun normal = run_cli("--matrix --format json --fail-on never");
  const json::Value normal_doc = json::parse(normal.out);
  for (const auto& cell : normal_doc.find("matrix")->items)
    EXPECT_EQ(cell.find("writes_not_probed")->kind, json::Kind::Null);
}

}  // namespace
