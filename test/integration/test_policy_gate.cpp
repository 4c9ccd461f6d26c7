// The policy gate at commit: each way a migration leaves a protected table
// open is refused with 55000 naming the table and what is missing (a column
// drop that takes its policy with it, DISABLE or NO FORCE left behind, a
// table recreated without its policies, a command granted without a policy,
// a restrictive policy dropped); what a migration may do passes (a policy
// dropped and recreated in one transaction, an exception with a reason,
// which is recorded); and the exception's rules hold (an empty reason, a
// session-level SET, a read-only transaction are refused).
#include <gtest/gtest.h>

#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "pg_support.hpp"

namespace {

using careguard_test::scalar;

// A PHI schema of the test's own, registered like a product's, holding one
// table that satisfies the gate: RLS enabled and forced, and a policy for
// every command granted.
const char* const kSetUp[] = {
    "DROP SCHEMA IF EXISTS gate_phi CASCADE",
    "CREATE SCHEMA gate_phi",
    "SELECT careguard.register_phi_schema('gate_phi')",
    "GRANT USAGE ON SCHEMA gate_phi TO patient, provider",
    "CREATE TABLE gate_phi.notes (id bigint PRIMARY KEY, patient_id uuid NOT NULL, "
    "author_id uuid, body text)",
    "ALTER TABLE gate_phi.notes ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY",
    "CREATE POLICY notes_select_patient ON gate_phi.notes FOR SELECT TO patient "
    "USING (patient_id OPERATOR(pg_catalog.=) auth.uid())",
    "CREATE POLICY notes_all_provider ON gate_phi.notes FOR ALL TO provider "
    "USING (author_id OPERATOR(pg_catalog.=) auth.uid()) "
    "WITH CHECK (author_id OPERATOR(pg_catalog.=) auth.uid())",
    "CREATE POLICY notes_restrict_body ON gate_phi.notes AS RESTRICTIVE FOR SELECT TO patient "
    "USING (body IS NOT NULL)",
    "GRANT SELECT ON gate_phi.notes TO patient",
    "GRANT SELECT, INSERT, UPDATE, DELETE ON gate_phi.notes TO provider",
};

class PolicyGateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pqxx::connection admin;
    pqxx::work tx(admin);  // one transaction: the gate judges its end state
    for (const char* sql : kSetUp) tx.exec(sql);
    tx.commit();
  }
  static void TearDownTestSuite() {
    pqxx::connection admin;
    pqxx::nontransaction tx(admin);
    tx.exec("DROP SCHEMA IF EXISTS gate_phi CASCADE");
    tx.exec("DROP TABLE IF EXISTS public.gate_owned");
    tx.exec("DELETE FROM careguard.audit_phi_schemas WHERE schema_name = 'gate_phi'");
    tx.exec(
        "DELETE FROM careguard.policy_gap_exceptions WHERE table_name LIKE 'gate_phi.%' "
        "OR table_name = 'public.gate_owned'");
  }
};

struct Outcome {
  std::string sqlstate;  // "" when it committed
  std::string message;   // the whole verbose error text
};

// Runs the statements in one transaction and commits it.
Outcome commit_of(const std::vector<std::string>& statements) {
  pqxx::connection c;
  careguard_test::report_sqlstates(c);
  try {
    pqxx::work tx(c);
    for (const auto& sql : statements) tx.exec(sql);
    tx.commit();
  } catch (const pqxx::sql_error& e) {
    return {careguard_test::sqlstate_of(e), e.what()};
  } catch (const pqxx::in_doubt_error& e) {
    return {"in doubt", e.what()};
  }
  return {"", ""};
}

long count_of(const std::string& sql) {
  pqxx::connection c;
  pqxx::work tx(c);
  return std::stol(*scalar(tx, sql));
}

// A refusal by the gate: 55000, naming the table and what it lacks.
void expect_refused(const Outcome& outcome, const std::string& needle) {
  EXPECT_EQ(outcome.sqlstate, "55000") << outcome.message;
  EXPECT_NE(outcome.message.find(needle), std::string::npos) << outcome.message;
  EXPECT_NE(outcome.message.find("protected table "), std::string::npos) << outcome.message;
}

TEST_F(PolicyGateTest, ColumnDropThatTakesItsPolicyIsRefused) {
  // DROP COLUMN ... CASCADE removes notes_select_patient, which reads it.
  Outcome o = commit_of({"ALTER TABLE gate_phi.notes DROP COLUMN patient_id CASCADE"});
  expect_refused(o, "gate_phi.notes: SELECT granted to patient has no permissive policy");
  EXPECT_EQ(count_of("SELECT count(*) FROM pg_policy WHERE polname = 'notes_select_patient'"), 1)
      << "rolled back: the policy is still there";
}

TEST_F(PolicyGateTest, DisableRowLevelSecurityLeftBehindIsRefused) {
  expect_refused(commit_of({"ALTER TABLE gate_phi.notes DISABLE ROW LEVEL SECURITY"}),
                 "row-level security is disabled");
  // Disabled and enabled again within the transaction: nothing is left open.
  EXPECT_EQ(commit_of({"ALTER TABLE gate_phi.notes DISABLE ROW LEVEL SECURITY",
                       "UPDATE gate_phi.notes SET body = body",
                       "ALTER TABLE gate_phi.notes ENABLE ROW LEVEL SECURITY"})
                .sqlstate,
            "");
}

TEST_F(PolicyGateTest, NoForceLeftBehindIsRefused) {
  expect_refused(commit_of({"ALTER TABLE gate_phi.notes NO FORCE ROW LEVEL SECURITY"}),
                 "row-level security is not forced");
}

TEST_F(PolicyGateTest, RecreatedTableWithoutItsPoliciesIsRefused) {
  Outcome o = commit_of({"DROP TABLE gate_phi.notes",
                         "CREATE TABLE gate_phi.notes (id bigint PRIMARY KEY, patient_id uuid)",
                         "GRANT SELECT ON gate_phi.notes TO patient"});
  expect_refused(o, "row-level security is disabled");
  EXPECT_NE(o.message.find("SELECT granted to patient"), std::string::npos) << o.message;
  EXPECT_NE(o.message.find("not forced"), std::string::npos) << "every gap is listed";
}

TEST_F(PolicyGateTest, RecreatedProtectedTableOutsidePhiSchemasIsRefused) {
  ASSERT_EQ(commit_of({"DROP TABLE IF EXISTS public.gate_owned",
                       "CREATE TABLE public.gate_owned (id bigint PRIMARY KEY, owner uuid)",
                       "SELECT careguard.protect('public.gate_owned', 'owner')"})
                .sqlstate,
            "");
  // protected_tables keeps the old oid; the table that takes its name is
  // the protected table to every client.
  Outcome o = commit_of({"DROP TABLE public.gate_owned",
                         "CREATE TABLE public.gate_owned (id bigint PRIMARY KEY, owner uuid)",
                         "GRANT SELECT ON public.gate_owned TO authenticated"});
  expect_refused(o, "public.gate_owned: row-level security is disabled");
  // protect() again in the same transaction makes it whole.
  EXPECT_EQ(commit_of({"DROP TABLE public.gate_owned",
                       "CREATE TABLE public.gate_owned (id bigint PRIMARY KEY, owner uuid)",
                       "SELECT careguard.protect('public.gate_owned', 'owner')"})
                .sqlstate,
            "");
}

TEST_F(PolicyGateTest, GrantWithoutAPolicyIsRefused) {
  expect_refused(commit_of({"GRANT DELETE ON gate_phi.notes TO patient"}),
                 "DELETE granted to patient has no permissive policy");
  expect_refused(commit_of({"GRANT SELECT ON gate_phi.notes TO PUBLIC"}),
                 "SELECT granted to PUBLIC");
  // A column grant reads those columns of every row RLS lets through.
  expect_refused(commit_of({"GRANT UPDATE (body) ON gate_phi.notes TO patient"}),
                 "UPDATE granted to patient");
  // A member of a covered role is covered: admin has authenticated's
  // privileges, and a policy TO authenticated covers it.
  EXPECT_EQ(commit_of({"CREATE POLICY notes_select_signed_in ON gate_phi.notes FOR SELECT "
                       "TO authenticated USING (false)",
                       "GRANT SELECT ON gate_phi.notes TO admin"})
                .sqlstate,
            "");
  // service_role bypasses RLS: no policy applies to it, none is needed.
  EXPECT_EQ(commit_of({"GRANT SELECT ON gate_phi.notes TO service_role"}).sqlstate, "");
}

TEST_F(PolicyGateTest, DroppedRestrictivePolicyIsRefused) {
  expect_refused(commit_of({"DROP POLICY notes_restrict_body ON gate_phi.notes"}),
                 "restrictive policy notes_restrict_body was dropped");
}

TEST_F(PolicyGateTest, PolicyDroppedAndRecreatedInOneTransactionPasses) {
  Outcome o =
      commit_of({"DROP POLICY notes_select_patient ON gate_phi.notes",
                 "DROP POLICY notes_restrict_body ON gate_phi.notes",
                 "CREATE POLICY notes_select_patient ON gate_phi.notes FOR SELECT TO patient "
                 "USING (patient_id OPERATOR(pg_catalog.=) auth.uid() AND body IS NOT NULL)",
                 "CREATE POLICY notes_restrict_body ON gate_phi.notes AS RESTRICTIVE FOR SELECT "
                 "TO patient USING (body IS NOT NULL)"});
  EXPECT_EQ(o.sqlstate, "") << o.message;
}

TEST_F(PolicyGateTest, ExceptionWithAReasonCommitsAndIsRecorded) {
  long before = count_of("SELECT count(*) FROM careguard.policy_gap_exceptions");
  Outcome o = commit_of({"ALTER TABLE gate_phi.notes NO FORCE ROW LEVEL SECURITY",
                         "SET LOCAL careguard.allow_policy_gap = 'bulk load as owner, ticket 7'"});
  EXPECT_EQ(o.sqlstate, "") << o.message;
  EXPECT_EQ(count_of("SELECT count(*) FROM careguard.policy_gap_exceptions"), before + 1);
  pqxx::connection c;
  pqxx::work tx(c);
  pqxx::row row = tx.exec1(
      "SELECT table_name, missing, reason, session_user_name::text, current_user_name::text, "
      "table_oid = 'gate_phi.notes'::regclass, recorded_at <= clock_timestamp() "
      "FROM careguard.policy_gap_exceptions ORDER BY id DESC LIMIT 1");
  EXPECT_EQ(row[0].as<std::string>(), "gate_phi.notes");
  EXPECT_EQ(row[1].as<std::string>(), "row-level security is not forced (the owner bypasses it)");
  EXPECT_EQ(row[2].as<std::string>(), "bulk load as owner, ticket 7");
  EXPECT_EQ(row[3].as<std::string>(), "postgres");
  EXPECT_EQ(row[4].as<std::string>(), "postgres");
  EXPECT_TRUE(row[5].as<bool>());
  EXPECT_TRUE(row[6].as<bool>());
  EXPECT_EQ(*scalar(tx,
                    "SELECT relforcerowsecurity::text FROM pg_class "
                    "WHERE oid = 'gate_phi.notes'::regclass"),
            "false")
      << "the allowed change committed";
}

TEST_F(PolicyGateTest, ExceptionNeedsAReasonSetLocallyInAWritableTransaction) {
  long before = count_of("SELECT count(*) FROM careguard.policy_gap_exceptions");
  Outcome empty = commit_of({"ALTER TABLE gate_phi.notes DISABLE ROW LEVEL SECURITY",
                             "SET LOCAL careguard.allow_policy_gap = '  '"});
  expect_refused(empty, "row-level security is disabled");
  EXPECT_NE(empty.message.find("set but empty"), std::string::npos) << empty.message;
  // A session-level SET outlives the transaction: it never counts.
  Outcome session = commit_of({"SET careguard.allow_policy_gap = 'left over'",
                               "ALTER TABLE gate_phi.notes DISABLE ROW LEVEL SECURITY"});
  expect_refused(session, "row-level security is disabled");
  EXPECT_NE(session.message.find("only when set with SET LOCAL"), std::string::npos);
  // The record is written in the transaction; a read-only one cannot.
  Outcome read_only =
      commit_of({"ALTER TABLE gate_phi.notes DISABLE ROW LEVEL SECURITY",
                 "SET LOCAL careguard.allow_policy_gap = 'x'", "SET TRANSACTION READ ONLY"});
  EXPECT_EQ(read_only.sqlstate, "25006") << read_only.message;
  EXPECT_EQ(count_of("SELECT count(*) FROM careguard.policy_gap_exceptions"), before);
  EXPECT_EQ(count_of("SELECT count(*) FROM pg_class WHERE oid = 'gate_phi.notes'::regclass "
                     "AND relrowsecurity"),
            1);
}

TEST_F(PolicyGateTest, OnlyTablesTheTransactionTouchedAreJudged) {
  // A gap committed deliberately earlier does not block unrelated DDL.
  ASSERT_EQ(commit_of({"ALTER TABLE gate_phi.notes NO FORCE ROW LEVEL SECURITY",
                       "SET LOCAL careguard.allow_policy_gap = 'kept open on purpose'"})
                .sqlstate,
            "");
  EXPECT_EQ(commit_of({"CREATE TABLE gate_phi.other (id int)",
                       "ALTER TABLE gate_phi.other ENABLE ROW LEVEL SECURITY, "
                       "FORCE ROW LEVEL SECURITY"})
                .sqlstate,
            "");
  // Tables outside PHI schemas and protect() are not the gate's business.
  EXPECT_EQ(commit_of({"CREATE TABLE public.gate_unprotected (id int)",
                       "GRANT SELECT ON public.gate_unprotected TO anon",
                       "DROP TABLE public.gate_unprotected"})
                .sqlstate,
            "");
}

TEST_F(PolicyGateTest, PreparedTransactionsAreGatedToo) {
  pqxx::connection c;
  careguard_test::report_sqlstates(c);
  pqxx::nontransaction tx(c);
  tx.exec("BEGIN");
  tx.exec("ALTER TABLE gate_phi.notes DISABLE ROW LEVEL SECURITY");
  try {
    tx.exec("PREPARE TRANSACTION 'gate_test'");
    tx.exec("ROLLBACK PREPARED 'gate_test'");
    FAIL() << "PREPARE TRANSACTION left the table open";
  } catch (const pqxx::sql_error& e) {
    EXPECT_EQ(careguard_test::sqlstate_of(e), "55000") << e.what();
  }
}

}  // namespace
