// What this proves: bookings.free_slots is exactly right. For random
// schedules of provider X (seeded PRNG, several seeds: availability ranges,
// some adjacent; appointments of every status, off the grid too; random
// duration and window), every slot free_slots returns books successfully
// as patient A through the real INSERT under RLS, and every other slot of
// the same grid (duration steps from each range's start, inside the window)
// is refused with 23P01, the exclusion constraint. Nothing else is booking:
// each attempt runs in its own subtransaction against the same schedule,
// and each schedule is rolled back. providers.match's first slot for X is
// the first slot free_slots returns.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <pqxx/pqxx>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "pg_support.hpp"

namespace {

using careguard_test::report_sqlstates;
using careguard_test::sqlstate_of;

const std::string kProviderX = "cccccccc-0000-4000-8000-000000000001";
const std::string kPatientA = "aaaaaaaa-0000-4000-8000-000000000001";
constexpr std::int64_t kMinute = 60'000'000;  // microseconds
// Timestamps travel as integer microseconds since the epoch, both ways.
const std::string kTs = "(timestamptz 'epoch' + $1::int8 * interval '1 microsecond')";

using Slot = std::pair<std::int64_t, std::int64_t>;

class BookingServices : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_TRUE(careguard_test::ensure_demo_data())
        << "the database has users but not the demo users; run the tests on a fresh database";
  }
};

std::int64_t to_us(pqxx::transaction_base& tx, const std::string& timestamp) {
  return tx
      .exec_params1("SELECT (extract(epoch FROM $1::timestamptz) * 1000000)::int8", timestamp)[0]
      .as<std::int64_t>();
}

std::string ts_param(int n) {
  std::string s = kTs;
  s.replace(s.find("$1"), 2, "$" + std::to_string(n));
  return s;
}

void act_as_patient_a(pqxx::transaction_base& tx) {
  tx.exec("SET LOCAL ROLE patient");
  tx.exec_params(
      "SELECT set_config('request.jwt.claims', json_build_object('sub', $1::text, 'role', "
      "'patient')::text, true)",
      kPatientA);
}

TEST_F(BookingServices, FreeSlotsAreExactlyTheBookableGridSlots) {
  pqxx::connection c;
  report_sqlstates(c);
  int total_returned = 0, total_refused = 0;
  for (unsigned seed = 1; seed <= 12; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    auto pick = [&rng](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    pqxx::work tx{c};
    const std::int64_t day = to_us(tx, "2046-01-05 00:00+00") + seed * 24 * 60 * kMinute;

    // Availability: one to three ranges, the gaps between them 0 (adjacent)
    // to 60 minutes.
    std::vector<Slot> ranges;
    std::int64_t at = day + (7 * 60 + 15 * pick(0, 8)) * kMinute;
    for (int i = 0, n = pick(1, 3); i < n; ++i) {
      const std::int64_t end = at + 15 * pick(4, 16) * kMinute;
      ranges.emplace_back(at, end);
      tx.exec_params(
          "INSERT INTO providers.availability (provider_id, during) VALUES ($1, tstzrange(" +
              ts_param(2) + ", " + ts_param(3) + "))",
          kProviderX, at, end);
      at = end + 15 * pick(0, 4) * kMinute;
    }
    // Appointments of any status (only pending and confirmed block), on
    // and off the grid; overlapping live ones are skipped by the constraint.
    const char* statuses[] = {"pending", "confirmed", "cancelled", "completed", "no_show"};
    const int span =
        static_cast<int>((ranges.back().second - ranges.front().first) / (5 * kMinute));
    for (int i = 0, n = pick(0, 16); i < n; ++i) {
      const std::int64_t start = ranges.front().first + 5 * pick(-6, span) * kMinute;
      const std::int64_t end = start + 5 * pick(2, 18) * kMinute;
      tx.exec_params(
          "INSERT INTO bookings.appointments (patient_id, provider_id, starts_at, ends_at, status) "
          "SELECT id, $1, " +
              ts_param(2) + ", " + ts_param(3) +
              ", $4::bookings.appointment_status FROM patients.profiles ORDER BY id OFFSET $5 "
              "LIMIT 1 "
              "ON CONFLICT DO NOTHING",
          kProviderX, start, end, statuses[pick(0, 4)], pick(0, 9));
    }
    const int minutes[] = {15, 20, 30, 45, 60, 90};
    const std::int64_t duration = minutes[pick(0, 5)] * kMinute;
    const std::int64_t from = day + (6 * 60 + 5 * pick(0, 40)) * kMinute;
    const std::int64_t to = day + (18 * 60 - 5 * pick(0, 60)) * kMinute;
    const std::string duration_sql = std::to_string(duration / kMinute) + " minutes";

    act_as_patient_a(tx);
    std::set<Slot> returned;
    for (const auto& row : tx.exec_params("SELECT (extract(epoch FROM starts_at) * 1000000)::int8, "
                                          "(extract(epoch FROM ends_at) * "
                                          "1000000)::int8 FROM bookings.free_slots($1, " +
                                              ts_param(2) + ", " + ts_param(3) + ", $4::interval)",
                                          kProviderX, from, to, duration_sql)) {
      returned.emplace(row[0].as<std::int64_t>(), row[1].as<std::int64_t>());
    }
    const auto first = tx.exec_params(
        "SELECT (extract(epoch FROM first_slot_starts_at) * 1000000)::int8 "
        "FROM providers.match(NULL, NULL, " +
            ts_param(1) + ", " + ts_param(2) +
            ", $3::interval) "
            "WHERE provider_id = $4",
        from, to, duration_sql, kProviderX);
    if (returned.empty()) {
      EXPECT_TRUE(first.empty()) << "match offers X only when free_slots has a slot";
    } else {
      ASSERT_EQ(first.size(), 1u) << "match lists X when free_slots has a slot";
      EXPECT_EQ(first[0][0].as<std::int64_t>(), returned.begin()->first)
          << "match's first slot is free_slots' first";
    }
    tx.exec("RESET ROLE");

    // The grid, computed here independently of the database.
    std::vector<Slot> grid;
    for (const auto& [lo, hi] : ranges) {
      for (std::int64_t s = lo; s + duration <= hi; s += duration) {
        if (s >= from && s + duration <= to) grid.emplace_back(s, s + duration);
      }
    }
    for (const auto& slot : returned) {
      EXPECT_NE(std::find(grid.begin(), grid.end(), slot), grid.end())
          << "returned slot starting at " << slot.first << " is on the grid";
    }
    std::map<std::string, int> outcomes;
    for (const auto& [s, e] : grid) {
      const bool offered = returned.count({s, e}) == 1;
      std::string outcome;
      try {
        pqxx::subtransaction attempt{tx, "attempt"};
        act_as_patient_a(attempt);
        attempt.exec_params(
            "INSERT INTO bookings.appointments (patient_id, provider_id, starts_at, ends_at, "
            "reason) "
            "VALUES ($1, $2, " +
                ts_param(3) + ", " + ts_param(4) + ", 'Property test')",
            kPatientA, kProviderX, s, e);
        outcome = "booked";
        attempt.abort();  // keep the schedule as it was for the next attempt
      } catch (const pqxx::sql_error& err) {
        outcome = sqlstate_of(err);
      }
      ++outcomes[outcome];
      if (offered) {
        EXPECT_EQ(outcome, "booked") << "offered slot at " << s << " books";
      } else {
        EXPECT_EQ(outcome, "23P01") << "grid slot at " << s << " that was not offered is refused";
      }
    }
    std::cout << "[ BookingServices ] seed " << seed << ": " << ranges.size() << " ranges, "
              << duration / kMinute << "-minute grid of " << grid.size() << " slots, "
              << returned.size() << " offered;";
    for (const auto& [outcome, n] : outcomes) std::cout << " " << outcome << "=" << n;
    std::cout << std::endl;
    total_returned += static_cast<int>(returned.size());
    total_refused += static_cast<int>(grid.size() - returned.size());
    tx.abort();
  }
  EXPECT_GT(total_returned, 0) << "the seeds produce offered slots";
  EXPECT_GT(total_refused, 0) << "the seeds produce refused grid slots";
}

TEST_F(BookingServices, AnonAndAnalystAreRefusedSlots) {
  for (const char* role : {"anon", "analyst"}) {
    pqxx::connection c;
    report_sqlstates(c);
    pqxx::work tx{c};
    tx.exec(std::string("SET LOCAL ROLE ") + role);
    std::string state = "none";
    try {
      tx.exec_params(
          "SELECT * FROM bookings.free_slots($1, now(), now() + interval '1 day', '30 minutes')",
          kProviderX);
    } catch (const pqxx::sql_error& e) {
      state = sqlstate_of(e);
    }
    EXPECT_EQ(state, "42501") << role << " may not call free_slots";
  }
}

}  // namespace
