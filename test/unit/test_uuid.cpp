// Unit tests: uuid parsing follows PostgreSQL's uuid_in exactly.
#include <gtest/gtest.h>

#include "careguard/core/uuid.hpp"

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
