// careguard core: the proleptic Gregorian calendar, for the timestamps that
// careguard writes itself (token errors, ledger records) without time_t or
// the C library's locale and time-zone state.
#pragma once

#include <cstdint>

namespace careguard {

struct CivilDate {
  std::int64_t year;  // astronomical: 0 is 1 BC
  std::int64_t month;
  std::int64_t day;
};

// The date `days` after 1970-01-01 (Howard Hinnant's civil_from_days).
inline CivilDate civil_from_days(std::int64_t days) {
  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const std::int64_t doe = days - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const std::int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const std::int64_t month = mp < 10 ? mp + 3 : mp - 9;
  return {yoe + era * 400 + (month <= 2 ? 1 : 0), month, day};
}

// A moment `seconds` after 1970-01-01T00:00:00Z, as a date and the second of
// its day (0..86399), negative times included.
struct CivilTime {
  CivilDate date;
  std::int64_t second_of_day;
};
inline CivilTime civil_from_unix_seconds(std::int64_t seconds) {
  std::int64_t days = seconds / 86400;
  std::int64_t second_of_day = seconds % 86400;
  if (second_of_day < 0) {
    second_of_day += 86400;
    --days;
  }
  return {civil_from_days(days), second_of_day};
}

}  // namespace careguard
