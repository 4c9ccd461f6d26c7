// Integration test: under the domain policies, parallel plans return exactly
// what serial plans return, in a fresh session where careguard.so is not yet
// loaded and a claim reader in the plan is a non-inlined SQL function
// (bookings.patients_of_current_provider, the provider branch of
// patients.can_access_patient). Workers learn the leader's claim trust only
// if careguard.so is loaded at plan time; this proves it is.
#include <gtest/gtest.h>

#include <pqxx/pqxx>
#include <string>

namespace {

const char* kDatabase = "careguard_parallel_test";

class ParallelPolicies : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pqxx::connection admin;
    pqxx::nontransaction tx(admin);
    tx.exec(std::string("DROP DATABASE IF EXISTS ") + kDatabase);
    tx.exec(std::string("CREATE DATABASE ") + kDatabase);
    pqxx::connection db(std::string("dbname=") + kDatabase);
    pqxx::nontransaction setup(db);
    setup.exec(
        "CREATE SCHEMA extensions; CREATE EXTENSION careguard_booking SCHEMA extensions CASCADE");
    setup.exec("SELECT careguard.seed_demo(3000, 4, 6000, 42)");
    setup.exec("VACUUM ANALYZE");
  }
  static void TearDownTestSuite() {
    pqxx::connection admin;
    pqxx::nontransaction(admin).exec(std::string("DROP DATABASE IF EXISTS ") + kDatabase);
  }

  // Rows of patients.profiles provider X sees, and how many workers ran.
  static std::pair<long, int> provider_count(bool parallel, bool hoist = true) {
    pqxx::connection c(std::string("dbname=") + kDatabase);  // fresh: library not loaded
    pqxx::work tx(c);
    // The disclosure ledger plans statements on PHI tables without workers
    // (docs/audit-trail.md); this test is about the workers' claim trust.
    tx.exec("SET LOCAL careguard.ledger = off");
    std::string claims =
        tx.exec("SELECT claims::text FROM careguard.demo_users() WHERE label = 'provider X'")[0][0]
            .as<std::string>();
    if (parallel) {
      tx.exec("SET LOCAL parallel_setup_cost = 0");
      tx.exec("SET LOCAL parallel_tuple_cost = 0");
      tx.exec("SET LOCAL min_parallel_table_scan_size = 0");
      tx.exec("SET LOCAL max_parallel_workers_per_gather = 2");
      tx.exec("SET LOCAL parallel_leader_participation = off");
      // A parallel sequential scan, so the policy runs in the workers.
      tx.exec("SET LOCAL enable_indexscan = off");
      tx.exec("SET LOCAL enable_bitmapscan = off");
      // Without hoisting the workers call the claim reader themselves, which
      // is the path that needs the leader's published trust.
      if (!hoist) tx.exec("SET LOCAL careguard.hoist_claim_helpers = off");
    } else {
      tx.exec("SET LOCAL max_parallel_workers_per_gather = 0");
    }
    tx.exec("SET LOCAL ROLE provider");
    tx.exec("SELECT set_config('request.jwt.claims', " + tx.quote(claims) + ", true)");
    int workers = 0;
    for (const auto& row : tx.exec(
             "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) SELECT count(*) FROM patients.profiles")) {
      std::string line = row[0].as<std::string>();
      auto at = line.find("Workers Launched: ");
      if (at != std::string::npos) workers = std::stoi(line.substr(at + 18));
    }
    long count = tx.exec("SELECT count(*) FROM patients.profiles")[0][0].as<long>();
    return {count, workers};
  }
};

TEST_F(ParallelPolicies, ProviderSeesTheSamePatientsInParallelAndSerialPlans) {
  long truth;
  {
    pqxx::connection c(std::string("dbname=") + kDatabase);
    pqxx::nontransaction tx(c);
    truth = tx.exec(
                  "SELECT count(DISTINCT a.patient_id) FROM bookings.appointments a "
                  "JOIN careguard.demo_users() u ON u.provider_id = a.provider_id "
                  "WHERE u.label = 'provider X'")[0][0]
                .as<long>();
  }
  ASSERT_GT(truth, 0);
  auto serial = provider_count(false);
  EXPECT_EQ(serial.first, truth);
  for (bool hoist : {true, false}) {
    for (int run = 0; run < 2; ++run) {
      auto parallel = provider_count(true, hoist);
      EXPECT_EQ(parallel.first, truth) << "hoist " << hoist << ", run " << run;
      EXPECT_GT(parallel.second, 0) << "the plan must really run in workers";
    }
  }
}

}  // namespace
