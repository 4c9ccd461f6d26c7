// Unit tests: uuid parsing follows PostgreSQL's uuid_in exactly.
#include <gtest/gtest.h>

#include "careguard/core/uuid.hpp"

#include <string>

using careguard::format_uuid;
using careguard::parse_uuid;

TEST(Uuid, AcceptsEveryFormUuidInAccepts) {
  const char* canonical = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11";
  for (const char* form :
       {"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11",
        "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}", "a0eebc999c0b4ef8bb6d6bb9bd380a11",
        "a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11", "{a0eebc99-9c0b4ef8-bb6d6bb9-bd380a11}"}) {
    auto parsed = parse_uuid(form);
    ASSERT_TRUE(parsed.has_value()) << form;
    EXPECT_EQ(format_uuid(*parsed), canonical) << form;
  }
}

TEST(Uuid, RejectsWhatUuidInRejects) {
  for (const char* form :
       {"", "not-a-uuid", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1",
        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a111", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11-",
        "-a0eebc999c0b4ef8bb6d6bb9bd380a11", "a0eebc99--9c0b-4ef8-bb6d-6bb9bd380a11",
        "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}",
        " a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "g0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
        "a0e-ebc99-9c0b-4ef8-bb6d-6bb9bd380a11"}) {
    EXPECT_FALSE(parse_uuid(form).has_value()) << form;
  }
}

TEST(Uuid, CanonicalSpellingRejectsANonHexDigitAtEveryPosition) {
  // The 8-4-4-4-12 spelling is read at fixed positions: each of its 32 digits
  // is checked, and a hyphen out of place is left to the general reader.
  const std::string canonical = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11";
  int digits = 0;
  for (std::size_t i = 0; i < canonical.size(); ++i) {
    if (canonical[i] == '-') continue;
    ++digits;
    for (char bad : {'g', 'G', ' ', '-', '\0', '\xff'}) {
      std::string form = canonical;
      form[i] = bad;
      EXPECT_FALSE(parse_uuid(form).has_value()) << "position " << i << " byte " << int(bad);
    }
  }
  EXPECT_EQ(digits, 32);
  for (std::size_t hyphen : {8u, 13u, 18u, 23u}) {
    std::string form = canonical;
    form[hyphen] = '0';
    EXPECT_FALSE(parse_uuid(form).has_value()) << "hyphen " << hyphen;
  }
  std::string mixed = "A0eEbC99-9c0B-4Ef8-bB6d-6Bb9Bd380A11";
  ASSERT_TRUE(parse_uuid(mixed).has_value());
  EXPECT_EQ(format_uuid(*parse_uuid(mixed)), canonical);
}
