// What this proves: the no-overlap rule holds under concurrency. Sixteen
// connections, each a different patient with its own token, are released at
// the same instant (they all wait on one advisory lock held by the test) to
// book the same slot of provider X. Exactly one booking commits; every other
// attempt fails with 23P01 (exclusion_violation) and nothing else; afterwards
// no two live appointments of any provider overlap.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <vector>

#include "pg_support.hpp"

namespace {

using careguard_test::report_sqlstates;
using careguard_test::sqlstate_of;

const std::string kProviderX = "cccccccc-0000-4000-8000-000000000001";
constexpr int kConnections = 16;
constexpr long kGateLock = 0x43470001;  // the advisory lock the bookers wait on

class BookingConcurrency : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_TRUE(careguard_test::ensure_demo_data())
        << "the database has users but not the demo users; run the tests on a fresh database";
  }
};

TEST_F(BookingConcurrency, SixteenPatientsOneSlotExactlyOneWins) {
  pqxx::connection admin;
  // A fresh availability range (09:00-17:00) for provider X on a day no earlier run used.
  const auto arena =
      careguard_test::fresh_booking_arena(admin, kProviderX, "2045-01-02", 8 * 60, kConnections);
  const std::string& day = arena.day;
  const std::string& range_id = arena.range_id;
  const std::vector<std::string>& patients = arena.patients;
  ASSERT_EQ(patients.size(), static_cast<std::size_t>(kConnections))
      << "the seed needs 16 patients";
  const std::string slot_start = day + " 10:00+00", slot_end = day + " 10:30+00";

  // Close the gate, then let every booker queue up behind it.
  pqxx::connection gate_connection;
  pqxx::nontransaction gate{gate_connection};
  gate.exec("SELECT pg_advisory_lock(" + std::to_string(kGateLock) + ")");

  std::vector<std::string> outcomes(kConnections);
  std::vector<std::thread> bookers;
  for (int i = 0; i < kConnections; ++i) {
    bookers.emplace_back([&, i] {
      try {
        pqxx::connection c;
        report_sqlstates(c);
        pqxx::work tx{c};
        tx.exec("SET LOCAL ROLE patient");
        tx.exec_params(
            "SELECT set_config('request.jwt.claims', json_build_object('sub', $1::text, "
            "'role', 'patient')::text, true)",
            patients[i]);
        tx.exec("SELECT pg_advisory_xact_lock_shared(" + std::to_string(kGateLock) + ")");
        tx.exec_params(
            "INSERT INTO bookings.appointments (patient_id, provider_id, starts_at, ends_at, "
            "reason) "
            "VALUES ($1, $2, $3, $4, 'Concurrency test')",
            patients[i], kProviderX, slot_start, slot_end);
        tx.commit();
        outcomes[i] = "committed";
      } catch (const pqxx::sql_error& e) {
        outcomes[i] = sqlstate_of(e);
      } catch (const std::exception& e) {
        outcomes[i] = std::string("exception: ") + e.what();
      }
    });
  }
  // Open the gate only when all sixteen are waiting on it.
  int waiting = 0;
  for (int tries = 0; tries < 600 && waiting < kConnections; ++tries) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    waiting = gate.exec1(
                      "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                      "AND objid = " +
                      std::to_string(kGateLock))[0]
                  .as<int>();
  }
  EXPECT_EQ(waiting, kConnections) << "all bookers were waiting at the gate together";
  gate.exec("SELECT pg_advisory_unlock(" + std::to_string(kGateLock) + ")");
  for (auto& t : bookers) t.join();

  std::map<std::string, int> tally;
  for (const auto& o : outcomes) ++tally[o];
  std::cout << "[ BookingConcurrency ] " << kConnections << " concurrent bookings of one slot:";
  for (const auto& [outcome, n] : tally) std::cout << " " << outcome << "=" << n;
  std::cout << std::endl;
  EXPECT_EQ(tally["committed"], 1) << "exactly one booking wins";
  EXPECT_EQ(tally["23P01"], kConnections - 1)
      << "every other booking fails with exclusion_violation";
  EXPECT_EQ(tally.size(), 2u) << "no other outcome";

  pqxx::work check{admin};
  EXPECT_EQ(
      check
          .exec_params1("SELECT count(*) FROM bookings.appointments WHERE provider_id = $1 AND "
                        "during && tstzrange($2::timestamptz, $3::timestamptz)",
                        kProviderX, slot_start, slot_end)[0]
          .as<int>(),
      1);
  EXPECT_EQ(
      check
          .exec1(
              "SELECT count(*) FROM bookings.appointments a JOIN bookings.appointments b "
              "ON a.provider_id = b.provider_id AND a.id < b.id AND a.during && b.during "
              "WHERE a.status IN ('pending', 'confirmed') AND b.status IN ('pending', 'confirmed')")
              [0]
          .as<int>(),
      0)
      << "no two live appointments of a provider overlap";
  // Leave the database as it was (the deletion stays in the status history).
  check.exec_params(
      "DELETE FROM bookings.appointments WHERE provider_id = $1 AND "
      "during && tstzrange($2::timestamptz, $3::timestamptz)",
      kProviderX, slot_start, slot_end);
  check.exec_params("DELETE FROM providers.availability WHERE id = $1", range_id);
  check.commit();
}

}  // namespace
