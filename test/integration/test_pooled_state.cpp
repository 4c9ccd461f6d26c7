// Integration tests: nothing one client's transaction leaves on a server
// connection (a holdable cursor, a temporary table with rows, a session-level
// role) survives a transaction that ran with a per-request identity. The
// PgBouncer shell test (test/shell/pgbouncer_pooled_state.sh) shows the same
// through a real pooler; these pin down each path on one connection.
#include <gtest/gtest.h>

#include <pqxx/pqxx>
#include <string>

#include "pg_support.hpp"

namespace {

using careguard_test::scalar;

const char* kPatientA = "aaaaaaaa-0000-4000-8000-000000000001";

std::string patient_claims(const std::string& sub) {
  return R"({"sub":")" + sub + R"(","role":"patient"})";
}

// Runs statements in one transaction (COMMIT included); returns the
// SQLSTATE and message of the first error, or "" when all succeeded.
std::string outcome(pqxx::connection& c, const std::string& sql) {
  careguard_test::report_sqlstates(c);
  try {
    pqxx::nontransaction tx(c);
    tx.exec(sql);
  } catch (const pqxx::sql_error& e) {
    try {
      pqxx::nontransaction(c).exec("ROLLBACK");
    } catch (...) {
    }
    return careguard_test::sqlstate_of(e) + " " + e.what();
  }
  return "";
}

std::string gateway_begin(const std::string& sub) {
  return "BEGIN; SET LOCAL ROLE patient; SELECT set_config('request.jwt.claims', '" +
         patient_claims(sub) + "', true); ";
}

class PooledStateTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_TRUE(careguard_test::ensure_demo_data());
    pqxx::connection admin;
    pqxx::nontransaction tx(admin);
    tx.exec("ALTER ROLE authenticator LOGIN");
    tx.exec("ALTER ROLE authenticator RESET careguard.allow_session_state");
  }
  long cursors(pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    return tx.exec("SELECT count(*) FROM pg_catalog.pg_cursors")[0][0].as<long>();
  }
};

TEST_F(PooledStateTest, HoldableCursorUnderGatewayClaimsIsRefusedAtCommitAndGone) {
  pqxx::connection gateway("user=authenticator");
  std::string result =
      outcome(gateway, gateway_begin(kPatientA) +
                           "DECLARE c CURSOR WITH HOLD FOR SELECT patient_id, reason FROM "
                           "bookings.appointments; COMMIT;");
  EXPECT_EQ(result.substr(0, 5), "25000") << result;
  EXPECT_NE(result.find("holdable cursor \"c\" cannot outlive"), std::string::npos) << result;
  EXPECT_EQ(cursors(gateway), 0);
  EXPECT_EQ(outcome(gateway, "FETCH ALL FROM c").substr(0, 5), "34000");
}

TEST_F(PooledStateTest, HoldableCursorUnderSignInIsRefusedAtCommit) {
  pqxx::connection admin;
  std::string secret_set =
      pqxx::nontransaction(admin)
          .exec("SELECT count(*) FROM auth.signing_keys WHERE kid = 'pooled'")[0][0]
          .as<std::string>();
  if (secret_set == "0") {
    pqxx::nontransaction(admin).exec(
        "SELECT auth.import_hmac_secret('pooled', "
        "'pooled-state-test-secret-long-enough-for-hs256')");
  }
  std::string token =
      pqxx::nontransaction(admin)
          .exec(
              "SELECT auth.sign(jsonb_build_object('sub', '" + std::string(kPatientA) +
              "', 'role', 'patient', 'exp', extract(epoch FROM now())::int + 600), 'pooled')")[0][0]
          .as<std::string>();
  pqxx::connection gateway("user=authenticator");
  std::string result = outcome(gateway, "BEGIN; SELECT auth.login('" + token +
                                            "'); DECLARE c CURSOR WITH HOLD FOR SELECT "
                                            "patient_id FROM bookings.appointments; COMMIT;");
  EXPECT_EQ(result.substr(0, 5), "25000") << result;
  EXPECT_EQ(cursors(gateway), 0);
  pqxx::nontransaction(admin).exec("DELETE FROM auth.signing_keys WHERE kid = 'pooled'");
}

TEST_F(PooledStateTest, GatewayHoldsNothingOtherLoginsOnlyWithoutIdentity) {
  // A gateway serves many clients: even without an identity careguard could
  // see (a function's SET role clause reads rows without claims), its
  // holdable cursors are refused.
  pqxx::connection gateway("user=authenticator");
  EXPECT_EQ(
      outcome(gateway, "BEGIN; DECLARE c CURSOR WITH HOLD FOR SELECT 1; COMMIT;").substr(0, 5),
      "25000");
  EXPECT_EQ(cursors(gateway), 0);
  EXPECT_EQ(outcome(gateway, gateway_begin(kPatientA) +
                                 "DECLARE d CURSOR WITH HOLD FOR SELECT patient_id FROM "
                                 "bookings.appointments; CLOSE d; COMMIT;"),
            "");
  EXPECT_EQ(cursors(gateway), 0);
  // A login of its own (a DBA, a single-user client) keeps them without an identity.
  pqxx::connection own;
  EXPECT_EQ(outcome(own, "BEGIN; DECLARE c CURSOR WITH HOLD FOR SELECT 1; COMMIT;"), "");
  EXPECT_EQ(cursors(own), 1);
  EXPECT_EQ(
      outcome(own, gateway_begin(kPatientA) + "DECLARE e CURSOR WITH HOLD FOR SELECT 1; COMMIT;")
          .substr(0, 5),
      "25000");
}

TEST_F(PooledStateTest, SessionSettingsAndTempTableRewritesUnderIdentityAreRefused) {
  pqxx::connection gateway("user=authenticator");
  std::string cached = outcome(gateway, gateway_begin(kPatientA) +
                                            "SELECT set_config('app.cache', (SELECT "
                                            "string_agg(reason, '|') FROM bookings.appointments), "
                                            "false); COMMIT;");
  EXPECT_EQ(cached.substr(0, 5), "25000") << cached;
  EXPECT_NE(cached.find("session-level setting \"app.cache\""), std::string::npos) << cached;
  {
    pqxx::nontransaction tx(gateway);
    EXPECT_EQ(scalar(tx, "SELECT coalesce(current_setting('app.cache', true), '')"), "");
  }
  // Going back to the defaults leaves nothing behind.
  EXPECT_EQ(outcome(gateway, gateway_begin(kPatientA) + "RESET ALL; COMMIT;"), "");
  pqxx::connection own;
  EXPECT_EQ(outcome(own,
                    "CREATE TEMP TABLE pre (id int); INSERT INTO pre VALUES (1); "
                    "ALTER TABLE pre OWNER TO patient"),
            "");
  std::string rewritten = outcome(
      own, gateway_begin(kPatientA) + "ALTER TABLE pre ADD COLUMN r text DEFAULT 'x'; COMMIT;");
  EXPECT_EQ(rewritten.substr(0, 5), "25000") << rewritten;
}

TEST_F(PooledStateTest, TemporaryViewsFunctionsSequencesAndPreparedStatementsUnderIdentity) {
  // The third review: each of these carried PHI past COMMIT to the next client.
  pqxx::connection gateway("user=authenticator");
  const std::string phi = "(SELECT string_agg(reason, '|') FROM bookings.appointments)";
  const std::pair<const char*, std::string> kinds[] = {
      {"temporary relation \"leak_v\"",
       "DO $$ BEGIN EXECUTE format('CREATE TEMP VIEW leak_v AS SELECT %L::text AS phi', " + phi +
           "); END $$;"},
      {"temporary relation \"leak_s\"", "CREATE TEMP SEQUENCE leak_s;"},
      {"temporary definition \"pg_temp.leak_f\"",
       "DO $$ BEGIN EXECUTE format('CREATE FUNCTION pg_temp.leak_f() RETURNS text LANGUAGE sql AS "
       "%L', 'SELECT ' || quote_literal(" +
           phi + ")); END $$;"},
      {"prepared statement \"leak_p\"",
       "DO $$ BEGIN EXECUTE format('PREPARE leak_p AS SELECT %L::text', " + phi + "); END $$;"},
  };
  for (const auto& [refused, sql] : kinds) {
    std::string result = outcome(gateway, gateway_begin(kPatientA) + sql + " COMMIT;");
    EXPECT_EQ(result.substr(0, 5), "25000") << sql << ": " << result;
    EXPECT_NE(result.find(refused), std::string::npos) << result;
  }
  pqxx::nontransaction tx(gateway);
  EXPECT_EQ(scalar(tx, "SELECT count(*) FROM pg_views WHERE viewname = 'leak_v'"), "0");
  EXPECT_EQ(scalar(tx, "SELECT count(*) FROM pg_prepared_statements WHERE name = 'leak_p'"), "0");
}

TEST_F(PooledStateTest, GatewayCannotChangeDefaultsNorRunWithADefaultRole) {
  pqxx::connection gateway("user=authenticator");
  EXPECT_EQ(outcome(gateway, "ALTER ROLE authenticator SET role = 'service_role'").substr(0, 5),
            "42501");
  EXPECT_EQ(outcome(gateway, "ALTER ROLE authenticator SET work_mem = '1GB'").substr(0, 5),
            "42501");
  // Planted by someone else (or before careguard): every statement is refused.
  pqxx::connection admin;
  pqxx::nontransaction(admin).exec("ALTER ROLE authenticator SET role = 'service_role'");
  {
    pqxx::connection born_bypassing("user=authenticator");
    std::string read = outcome(born_bypassing, "SELECT count(*) FROM bookings.appointments");
    EXPECT_EQ(read.substr(0, 5), "42501") << read;
    EXPECT_NE(read.find("starts its sessions as role \"service_role\""), std::string::npos) << read;
    EXPECT_EQ(outcome(born_bypassing, "SET LOCAL ROLE patient").substr(0, 5), "42501");
  }
  pqxx::nontransaction(admin).exec("ALTER ROLE authenticator RESET role");
  pqxx::connection fixed("user=authenticator");
  EXPECT_EQ(outcome(fixed, "SELECT 1"), "");
}

TEST_F(PooledStateTest, PreparedTransactionsGetTheSameChecks) {
  pqxx::connection gateway("user=authenticator");
  std::string prepared =
      outcome(gateway,
              "BEGIN; SELECT set_config('role', 'service_role', false); PREPARE TRANSACTION 'p1';");
  EXPECT_EQ(prepared.substr(0, 5), "42501") << prepared;
  pqxx::nontransaction tx(gateway);
  EXPECT_EQ(scalar(tx, "SELECT current_user"), "authenticator");
  EXPECT_EQ(scalar(tx, "SELECT count(*) FROM pg_prepared_xacts WHERE gid = 'p1'"), "0");
}

TEST_F(PooledStateTest, TemporaryTablesWithRowsAreRefusedOnCommitDropIsAllowed) {
  pqxx::connection gateway("user=authenticator");
  std::string created = outcome(gateway, gateway_begin(kPatientA) +
                                             "CREATE TEMP TABLE t AS SELECT patient_id, reason "
                                             "FROM bookings.appointments; COMMIT;");
  EXPECT_EQ(created.substr(0, 5), "25000") << created;
  EXPECT_NE(created.find("temporary table \"t\""), std::string::npos) << created;
  EXPECT_EQ(outcome(gateway, "SELECT 1 FROM t").substr(0, 5), "42P01");

  // A gateway may not even keep an empty one.
  EXPECT_EQ(outcome(gateway, "CREATE TEMP TABLE t2 (p uuid, r text)").substr(0, 5), "25000");
  // Another login: a temporary table made earlier, without identity, then
  // filled under one.
  pqxx::connection own;
  EXPECT_EQ(outcome(own, "CREATE TEMP TABLE t2 (p uuid, r text); GRANT ALL ON t2 TO PUBLIC"), "");
  std::string filled = outcome(own, gateway_begin(kPatientA) +
                                        "INSERT INTO t2 SELECT patient_id, reason FROM "
                                        "bookings.appointments; COMMIT;");
  EXPECT_EQ(filled.substr(0, 5), "25000") << filled;
  {
    pqxx::nontransaction tx(own);
    EXPECT_EQ(scalar(tx, "SELECT count(*) FROM t2"), "0");
  }

  EXPECT_EQ(outcome(gateway, gateway_begin(kPatientA) +
                                 "CREATE TEMP TABLE t3 ON COMMIT DROP AS SELECT patient_id FROM "
                                 "bookings.appointments; INSERT INTO t3 SELECT patient_id FROM "
                                 "bookings.appointments; COMMIT;"),
            "");
}

TEST_F(PooledStateTest, SuperuserSettingAllowsSessionStateForUnpooledDeployments) {
  pqxx::connection admin;
  pqxx::nontransaction(admin).exec(
      "ALTER ROLE authenticator SET careguard.allow_session_state = on");
  {
    pqxx::connection gateway("user=authenticator");
    EXPECT_EQ(outcome(gateway, gateway_begin(kPatientA) +
                                   "DECLARE c CURSOR WITH HOLD FOR SELECT patient_id FROM "
                                   "bookings.appointments; COMMIT;"),
              "");
    {
      pqxx::nontransaction tx(gateway);
      // The rows are the patient's own: what the setting allows is real.
      long rows = static_cast<long>(tx.exec("FETCH ALL FROM c").size());
      EXPECT_GT(rows, 0);
    }
    EXPECT_EQ(outcome(gateway, "SET careguard.allow_session_state = off").substr(0, 5), "42501");
  }
  pqxx::nontransaction(admin).exec("ALTER ROLE authenticator RESET careguard.allow_session_state");
}

TEST_F(PooledStateTest, GatewaySessionRoleChangesAreRefusedSetLocalRoleWorks) {
  pqxx::connection gateway("user=authenticator");
  for (const char* statement :
       {"SET ROLE service_role", "RESET ROLE", "SET SESSION AUTHORIZATION postgres",
        "SET SESSION ROLE service_role", "BEGIN; SET ROLE service_role; COMMIT"}) {
    std::string result = outcome(gateway, statement);
    EXPECT_EQ(result.substr(0, 5), "42501") << statement << ": " << result;
    EXPECT_NE(result.find("SET LOCAL ROLE"), std::string::npos) << result;
  }
  // set_config(..., false) bypasses the statement path: refused at COMMIT.
  std::string via_function = outcome(gateway, "SELECT set_config('role', 'service_role', false)");
  EXPECT_EQ(via_function.substr(0, 5), "42501") << via_function;
  std::string in_block =
      outcome(gateway, "BEGIN; SELECT set_config('role', 'service_role', false); COMMIT;");
  EXPECT_EQ(in_block.substr(0, 5), "42501") << in_block;
  {
    pqxx::nontransaction tx(gateway);
    EXPECT_EQ(scalar(tx, "SELECT current_user"), "authenticator");
    EXPECT_EQ(scalar(tx,
                     "SELECT count(*) FROM pg_catalog.pg_roles WHERE rolname = current_user "
                     "AND rolbypassrls"),
              "0");
  }
  pqxx::work tx(gateway);
  tx.exec("SET LOCAL ROLE service_role");
  EXPECT_EQ(scalar(tx, "SELECT current_user"), "service_role");
  tx.commit();
  pqxx::nontransaction after(gateway);
  EXPECT_EQ(scalar(after, "SELECT current_user"), "authenticator");
}

TEST_F(PooledStateTest, OtherLoginsKeepSessionRolesAndGatewayListIsChecked) {
  pqxx::connection admin;
  EXPECT_EQ(outcome(admin, "SET ROLE patient; RESET ROLE"), "");
  // A typo in the list is rejected, never kept.
  EXPECT_EQ(outcome(admin, "SET careguard.gateway_roles = 'authenticatr'").substr(0, 5), "22023");
  EXPECT_EQ(outcome(admin, "SET careguard.login_roles = 'patient,admn'").substr(0, 5), "22023");
  EXPECT_EQ(outcome(admin, "SET careguard.jwt_audience = 'a,,b'").substr(0, 5), "22023");
  EXPECT_EQ(outcome(admin, "SET careguard.jwt_audience = 'a, b'").substr(0, 5), "22023");
  EXPECT_EQ(outcome(admin, "SET careguard.jwt_issuer = ' https://x'").substr(0, 5), "22023");
  EXPECT_EQ(outcome(admin, "SET careguard.login_roles = 'patient, admin'"), "");
  EXPECT_EQ(
      outcome(admin, "ALTER ROLE authenticator SET careguard.login_roles = 'patinet'").substr(0, 5),
      "22023");
}

}  // namespace
