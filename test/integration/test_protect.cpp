// careguard.protect() on a user's own table, through the same kind of role
// matrix as the booking product: each context sees and changes exactly its
// rows; the call is idempotent; the audit reports the result clean; and the
// policy keeps auth.uid() out of the per-row path.
#include <gtest/gtest.h>

#include <pqxx/pqxx>
#include <string>

#include "pg_support.hpp"

namespace {

using careguard_test::scalar;

const char* kOwnerA = "0a0a0a0a-0000-4000-8000-00000000000a";
const char* kOwnerB = "0b0b0b0b-0000-4000-8000-00000000000b";

struct Context {
  const char* name;
  const char* role;
  std::string claims;  // empty: none
  long visible;        // rows of the 5 planted
  bool insert_for_a;   // may insert a row owned by A
  long update_all;     // rows an UPDATE of every row reaches
};

class ProtectTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pqxx::connection admin;
    pqxx::nontransaction tx(admin);
    tx.exec("DROP SCHEMA IF EXISTS app CASCADE");
    tx.exec("CREATE SCHEMA app");
    tx.exec("GRANT USAGE ON SCHEMA app TO authenticated, admin, anon, service_role");
    tx.exec(
        "CREATE TABLE app.notes (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
        "owner uuid NOT NULL, body text)");
    tx.exec(std::string("INSERT INTO app.notes (owner, body) VALUES ('") + kOwnerA +
            "', 'a1'), ('" + kOwnerA + "', 'a2'), ('" + kOwnerA + "', 'a3'), ('" + kOwnerB +
            "', 'b1'), ('" + kOwnerB + "', 'b2')");
    tx.exec("SELECT careguard.protect('app.notes', 'owner', admin_role => 'admin')");
  }
  static void TearDownTestSuite() {
    pqxx::connection admin;
    pqxx::nontransaction tx(admin);
    tx.exec("DROP SCHEMA IF EXISTS app CASCADE");
    tx.exec("DELETE FROM careguard.protected_tables WHERE relation::text LIKE 'app.%'");
  }
};

std::string claims_of(const char* sub, const char* role) {
  return std::string(R"({"sub":")") + sub + R"(","role":")" + role + R"("})";
}

// Runs a statement as a context in a rolled-back transaction; the SQLSTATE
// of a failure, or the first column of the first row.
std::string as_context(const Context& c, const std::string& sql) {
  pqxx::connection conn;
  careguard_test::report_sqlstates(conn);
  try {
    pqxx::work tx(conn);
    tx.exec(std::string("SET LOCAL ROLE ") + c.role);
    if (!c.claims.empty())
      tx.exec("SELECT set_config('request.jwt.claims', " + tx.quote(c.claims) + ", true)");
    pqxx::result r = tx.exec(sql);
    return r.empty() ? "" : r[0][0].c_str();
  } catch (const pqxx::sql_error& e) {
    return "ERROR " + careguard_test::sqlstate_of(e);
  }
}

TEST_F(ProtectTest, EachContextSeesAndChangesExactlyItsRows) {
  const Context contexts[] = {
      {"owner A", "authenticated", claims_of(kOwnerA, "authenticated"), 3, true, 3},
      {"owner B", "authenticated", claims_of(kOwnerB, "authenticated"), 2, false, 2},
      {"authenticated without claims", "authenticated", "", 0, false, 0},
      {"admin with the admin claim", "admin", claims_of(kOwnerB, "admin"), 5, true, 5},
      {"admin role without the claim", "admin", "", 0, false, 0},
      {"service_role", "service_role", "", 5, true, 5},
  };
  int cells = 0;
  for (const Context& c : contexts) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(as_context(c, "SELECT count(*) FROM app.notes"), std::to_string(c.visible));
    std::string inserted =
        as_context(c, std::string("INSERT INTO app.notes (owner, body) VALUES ('") + kOwnerA +
                          "', 'x') RETURNING 1");
    EXPECT_EQ(inserted == "1", c.insert_for_a) << inserted;
    EXPECT_EQ(
        as_context(
            c, "WITH u AS (UPDATE app.notes SET body = body RETURNING 1) SELECT count(*) FROM u"),
        std::to_string(c.update_all));
    // Nobody but admin and service_role may hand a row to someone else.
    std::string moved = as_context(c, std::string("UPDATE app.notes SET owner = '") + kOwnerB +
                                          "' WHERE owner = '" + kOwnerA + "' RETURNING 1");
    bool may_move =
        std::string(c.name).rfind("admin with", 0) == 0 || std::string(c.role) == "service_role";
    EXPECT_EQ(moved == "1", may_move) << moved;
    cells += 4;
  }
  Context anon{"anon", "anon", claims_of(kOwnerA, "anon"), 0, false, 0};
  EXPECT_EQ(as_context(anon, "SELECT count(*) FROM app.notes"), "ERROR 42501");
  std::printf("[ protect ] %d cells over 6 contexts, plus anon refused\n", cells);
}

TEST_F(ProtectTest, IsIdempotentIndexedHoistedAndAuditClean) {
  pqxx::connection admin;
  pqxx::nontransaction tx(admin);
  std::string before =
      *scalar(tx,
              "SELECT string_agg(polname || ':' || pg_get_expr(polqual, polrelid), ',' "
              "ORDER BY polname) FROM pg_policy WHERE polrelid = 'app.notes'::regclass");
  tx.exec("SELECT careguard.protect('app.notes', 'owner', admin_role => 'admin')");
  std::string after =
      *scalar(tx,
              "SELECT string_agg(polname || ':' || pg_get_expr(polqual, polrelid), ',' "
              "ORDER BY polname) FROM pg_policy WHERE polrelid = 'app.notes'::regclass");
  EXPECT_EQ(before, after);
  EXPECT_EQ(*scalar(tx, "SELECT count(*) FROM pg_policy WHERE polrelid = 'app.notes'::regclass"),
            "5");
  EXPECT_EQ(*scalar(tx, "SELECT count(*) FROM pg_index WHERE indrelid = 'app.notes'::regclass"),
            "2");
  EXPECT_EQ(
      *scalar(tx, "SELECT relforcerowsecurity FROM pg_class WHERE oid = 'app.notes'::regclass"),
      "t");
  std::optional<std::string> findings =
      scalar(tx,
             "SELECT string_agg(rule || ' ' || object, '; ') FROM careguard.audit(ARRAY['app']) "
             "WHERE rule <> 'privileged_role'");
  EXPECT_EQ(findings, std::nullopt) << *findings;
  // The owner check is one comparison against a value computed once per query.
  Context owner{"owner A", "authenticated", claims_of(kOwnerA, "authenticated"), 0, false, 0};
  std::string plan = as_context(owner, "EXPLAIN (COSTS OFF, FORMAT JSON) SELECT * FROM app.notes");
  EXPECT_NE(plan.find("InitPlan"), std::string::npos) << plan;
}

TEST_F(ProtectTest, RefusesWhatItCannotProtect) {
  pqxx::connection admin;
  careguard_test::report_sqlstates(admin);
  auto state_of = [&](const std::string& sql) {
    try {
      pqxx::nontransaction(admin).exec(sql);
    } catch (const pqxx::sql_error& e) {
      return careguard_test::sqlstate_of(e);
    }
    return std::string();
  };
  EXPECT_EQ(state_of("SELECT careguard.protect('app.notes', 'no_such_column')"), "42703");
  EXPECT_EQ(state_of("SELECT careguard.protect('app.notes', 'body')"), "42804");
  EXPECT_EQ(state_of("SELECT careguard.protect('app.notes', 'owner', ARRAY['no_such_role'])"),
            "42704");
  EXPECT_EQ(state_of("SELECT careguard.protect('pg_catalog.pg_roles', 'rolname')"), "42809");
}

}  // namespace
