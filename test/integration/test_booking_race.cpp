// What this proves: the booking race contract (docs/data-model.md, "Booking
// races") at scale. Sixteen connections, each a different patient, book the
// same 150 slots of provider X in the same order; before each slot they meet
// at a barrier, so all sixteen INSERTs of a slot reach the server together.
// Per slot exactly one booking commits and every loser fails with 23P01
// (exclusion_violation): none with 40P01 (deadlock detected, which two
// inserters checking the exclusion constraint against each other's
// uncommitted row produce unless bookings of one provider are serialized),
// nor anything else. Afterwards no two live appointments overlap.
#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <vector>

#include "pg_support.hpp"

namespace {

using careguard_test::report_sqlstates;
using careguard_test::sqlstate_of;

const std::string kProviderX = "cccccccc-0000-4000-8000-000000000001";
constexpr int kClients = 16;
constexpr int kSlots = 150;
constexpr int kSlotMinutes = 10;

// std::barrier is C++20.
class Barrier {
 public:
  explicit Barrier(int parties) : parties_(parties) {}
  void arrive_and_wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    const long generation = generation_;
    if (++arrived_ == parties_) {
      arrived_ = 0;
      ++generation_;
      released_.notify_all();
      return;
    }
    released_.wait(lock, [&] { return generation_ != generation; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable released_;
  const int parties_;
  int arrived_ = 0;
  long generation_ = 0;
};

class BookingRace : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_TRUE(careguard_test::ensure_demo_data())
        << "the database has users but not the demo users; run the tests on a fresh database";
  }
};

TEST_F(BookingRace, SixteenClientsOverManySlotsEveryLoserGetsExclusionViolation) {
  pqxx::connection admin;
  const auto arena = careguard_test::fresh_booking_arena(admin, kProviderX, "2046-01-02",
                                                         kSlots * kSlotMinutes, kClients);
  const std::string& day = arena.day;
  const std::string& range_id = arena.range_id;
  const std::vector<std::string>& patients = arena.patients;
  ASSERT_EQ(patients.size(), static_cast<std::size_t>(kClients)) << "the seed needs 16 patients";

  // outcome[slot][client]: "committed" or a SQLSTATE.
  std::vector<std::vector<std::string>> outcome(kSlots, std::vector<std::string>(kClients));
  Barrier barrier(kClients);
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      std::unique_ptr<pqxx::connection> c;
      try {
        c = std::make_unique<pqxx::connection>();
        report_sqlstates(*c);
      } catch (const std::exception& e) {
        for (auto& slot : outcome) slot[i] = std::string("connect: ") + e.what();
      }
      for (int s = 0; s < kSlots; ++s) {
        barrier.arrive_and_wait();
        if (!c) continue;
        try {
          pqxx::work tx{*c};
          tx.exec("SET LOCAL ROLE patient");
          tx.exec_params(
              "SELECT set_config('request.jwt.claims', json_build_object('sub', $1::text, "
              "'role', 'patient')::text, true)",
              patients[i]);
          tx.exec_params(
              "INSERT INTO bookings.appointments (patient_id, provider_id, starts_at, ends_at, "
              "reason) VALUES ($1, $2, "
              "($3::date + time '09:00') AT TIME ZONE 'UTC' + $4 * interval '1 minute', "
              "($3::date + time '09:00') AT TIME ZONE 'UTC' + $5 * interval '1 minute', "
              "'Race test')",
              patients[i], kProviderX, day, s * kSlotMinutes, (s + 1) * kSlotMinutes);
          tx.commit();
          outcome[s][i] = "committed";
        } catch (const pqxx::sql_error& e) {
          outcome[s][i] = sqlstate_of(e);
        } catch (const std::exception& e) {
          // libpqxx 6.4 throws some server errors (40P01 among them) as
          // classes that are not sql_error; the verbose message has the code.
          const std::string state = careguard_test::sqlstate_in_message(e.what());
          outcome[s][i] = state != "?????" ? state : std::string("exception: ") + e.what();
        }
      }
    });
  }
  for (auto& t : clients) t.join();

  std::map<std::string, int> tally;
  int slots_with_one_winner = 0, slots_with_deadlock = 0;
  for (const auto& slot : outcome) {
    int winners = 0;
    for (const auto& o : slot) {
      ++tally[o];
      if (o == "committed") ++winners;
    }
    if (winners == 1) ++slots_with_one_winner;
    if (std::count(slot.begin(), slot.end(), "40P01") > 0) ++slots_with_deadlock;
  }
  std::cout << "[ BookingRace ] " << kClients << " clients x " << kSlots << " slots:";
  for (const auto& [what, n] : tally) std::cout << " " << what << "=" << n;
  std::cout << "; slots with a deadlock: " << slots_with_deadlock << std::endl;
  EXPECT_EQ(slots_with_one_winner, kSlots) << "exactly one booking wins every slot";
  EXPECT_EQ(tally["committed"], kSlots);
  EXPECT_EQ(tally["40P01"], 0) << "no loser sees a deadlock";
  EXPECT_EQ(tally["23P01"], kSlots * (kClients - 1)) << "every loser gets exclusion_violation";
  tally.erase("40P01");
  EXPECT_EQ(tally.size(), 2u) << "no other outcome";

  pqxx::work check{admin};
  const std::string range =
      "tstzrange(($2::date + time '09:00') AT TIME ZONE 'UTC', "
      "($2::date + time '09:00') AT TIME ZONE 'UTC' + $3 * interval '1 minute')";
  EXPECT_EQ(check
                .exec_params1("SELECT count(*) FROM bookings.appointments WHERE provider_id = $1 "
                              "AND during && " +
                                  range,
                              kProviderX, day, kSlots * kSlotMinutes)[0]
                .as<int>(),
            kSlots);
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
  check.exec_params(
      "DELETE FROM bookings.appointments WHERE provider_id = $1 AND during && " + range, kProviderX,
      day, kSlots * kSlotMinutes);
  check.exec_params("DELETE FROM providers.availability WHERE id = $1", range_id);
  check.commit();
}

}  // namespace
