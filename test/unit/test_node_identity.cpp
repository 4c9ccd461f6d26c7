// The identity a Citus coordinator seals for its workers: what opens, and
// every way an envelope is refused (forged, altered, expired, another user,
// another secret, malformed).
#include "careguard/core/node_identity.hpp"

#include <gtest/gtest.h>

#include "careguard/core/base64url.hpp"
#include "careguard/core/error.hpp"

namespace {

using careguard::node_identity::Identity;
using careguard::node_identity::open;
using careguard::node_identity::OpenResult;
using careguard::node_identity::seal;

const std::string kSecret = "node-secret-for-unit-tests-0123456789abcdef";
const std::string kClaims = R"({"sub": "aaaaaaaa-0000-4000-8000-000000000001", "role": "patient"})";

std::string sealed_for(const std::string& user, std::int64_t expires_at,
                       const std::string& secret = kSecret) {
  return seal(secret, Identity{expires_at, user, kClaims});
}

TEST(NodeIdentity, OpensWhatItSealed) {
  Identity out;
  ASSERT_EQ(open(kSecret, sealed_for("patient", 1000), "patient", 990, 0, out), OpenResult::kOk);
  EXPECT_EQ(out.user, "patient");
  EXPECT_EQ(out.expires_at, 1000);
  EXPECT_EQ(out.claims, kClaims);
}

TEST(NodeIdentity, ClaimsWithLineBreaksSurvive) {
  Identity out;
  std::string claims = "{\n\"sub\": \"x\"\n}";
  std::string envelope = seal(kSecret, Identity{1000, "provider", claims});
  ASSERT_EQ(open(kSecret, envelope, "provider", 0, 0, out), OpenResult::kOk);
  EXPECT_EQ(out.claims, claims);
}

TEST(NodeIdentity, RefusesAnotherSecret) {
  Identity out;
  std::string other = "another-node-secret-0123456789abcdef0123";
  EXPECT_EQ(open(other, sealed_for("patient", 1000), "patient", 0, 0, out), OpenResult::kBadSeal);
}

TEST(NodeIdentity, RefusesAnAlteredPayload) {
  Identity out;
  std::string envelope = sealed_for("patient", 1000);
  std::size_t dot = envelope.rfind('.');
  // A payload sealed for someone else, with this envelope's seal.
  std::string forged_payload = careguard::base64url::encode(
      "1000\npatient\n{\"sub\": \"bbbbbbbb-0000-4000-8000-000000000002\"}");
  std::string forged = "cg1." + forged_payload + envelope.substr(dot);
  EXPECT_EQ(open(kSecret, forged, "patient", 0, 0, out), OpenResult::kBadSeal);
}

TEST(NodeIdentity, RefusesAnExpiredEnvelopeBeyondTheLeeway) {
  Identity out;
  std::string envelope = sealed_for("patient", 1000);
  EXPECT_EQ(open(kSecret, envelope, "patient", 1030, 30, out), OpenResult::kOk);
  EXPECT_EQ(open(kSecret, envelope, "patient", 1031, 30, out), OpenResult::kExpired);
}

TEST(NodeIdentity, RefusesAnotherUser) {
  Identity out;
  EXPECT_EQ(open(kSecret, sealed_for("patient", 1000), "provider", 0, 0, out),
            OpenResult::kOtherUser);
}

TEST(NodeIdentity, RefusesMalformedEnvelopes) {
  Identity out;
  for (const char* text :
       {"", "cg1.", "cg1.abc", "cg2.abc.def", "cg1.abc.d=f", "cg1..", "plain text"}) {
    OpenResult result = open(kSecret, text, "patient", 0, 0, out);
    EXPECT_TRUE(result == OpenResult::kMalformed || result == OpenResult::kBadSeal) << text;
  }
}

TEST(NodeIdentity, RefusesShortSecrets) {
  EXPECT_THROW(seal("short", Identity{1, "u", "{}"}), careguard::Error);
  Identity out;
  EXPECT_THROW(open("short", sealed_for("patient", 1000), "patient", 0, 0, out), careguard::Error);
}

TEST(NodeIdentity, RefusesUserNamesWithLineBreaks) {
  EXPECT_THROW(seal(kSecret, Identity{1, "pa\ntient", "{}"}), careguard::Error);
}

}  // namespace
