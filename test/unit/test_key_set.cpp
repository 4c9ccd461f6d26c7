// KeySet: kid lookup, the sole key, revocations and keys imported on first use.
#include "careguard/core/error.hpp"
#include "careguard/core/jwk.hpp"

#include <gtest/gtest.h>

#include "jwk_fixtures.hpp"

#include <string>

namespace {

using careguard::jwt::Key;
using careguard::jwt::KeySet;
using careguard::jwt::KeyType;

using careguard_test::expect_invalid_key;
using careguard_test::kEcPrivateJwk;
using careguard_test::kEdPrivateJwk;
using careguard_test::kOctJwk;

// Its x is not a point of P-256: OpenSSL refuses to import it.
const char* kEcOffCurveJwk =
    R"({"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",)"
    R"("y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a1","kid":"bad"})";

TEST(KeySet, ParsesJwksFindsByKidAndSkipsEncryptionKeys) {
  KeySet set = KeySet::from_jwks_json(std::string(R"({"keys":[)") + kEcPrivateJwk + "," +
                                      kEdPrivateJwk + "," + kOctJwk +
                                      R"(,{"kty":"RSA","use":"enc","n":"AQAB","e":"AQAB"}]})");
  EXPECT_EQ(set.size(), 3u);
  ASSERT_NE(set.find("ed1"), nullptr);
  EXPECT_EQ(set.find("ed1")->type(), KeyType::Okp);
  EXPECT_EQ(set.find("nope"), nullptr);
  EXPECT_EQ(set.find(""), nullptr);
  EXPECT_EQ(set.sole_key(), nullptr);
  std::string jwks = set.public_jwks_json();
  EXPECT_EQ(jwks.rfind("{\"keys\":[{\"kty\":\"EC\"", 0), 0u) << jwks;
  EXPECT_EQ(jwks.find("\"d\""), std::string::npos);
  EXPECT_EQ(jwks.find("\"k\""), std::string::npos);
}

TEST(KeySet, SoleKeyOnlyWithExactlyOneKey) {
  KeySet set;
  EXPECT_EQ(set.sole_key(), nullptr);
  set.add(Key::from_secret(std::string(32, 's')));
  ASSERT_NE(set.sole_key(), nullptr);
  EXPECT_EQ(set.sole_key()->type(), KeyType::Oct);
}

TEST(KeySet, RejectsDuplicateKidAndBadShape) {
  expect_invalid_key(
      [] { KeySet::from_jwks_json(std::string(R"({"keys":[)") + kOctJwk + "," + kOctJwk + "]}"); },
      "duplicate key id \"hs\" in key set");
  expect_invalid_key([] { KeySet::from_jwks_json(R"({"key":[]})"); },
                     "JWKS must be an object with a \"keys\" array");
  expect_invalid_key([] { KeySet::from_jwks_json("{"); }, "JWKS is not valid JSON");
}

TEST(KeySet, DeferredKeyIsImportedOnlyWhenNamed) {
  KeySet set;
  set.add_deferred("bad", kEcOffCurveJwk);
  set.add_deferred("ed1", kEdPrivateJwk);
  set.add(Key::from_jwk_json(kOctJwk));
  EXPECT_EQ(set.size(), 3u);
  // The broken key costs nothing until a token names it.
  const Key* hs = set.find("hs");
  ASSERT_NE(hs, nullptr);
  const Key* ed = set.find("ed1");
  ASSERT_NE(ed, nullptr);
  EXPECT_EQ(ed->type(), KeyType::Okp);
  EXPECT_EQ(set.find("ed1"), ed);  // imported once, then found in place
  EXPECT_EQ(set.find("hs"), hs);   // earlier keys do not move
  EXPECT_EQ(hs->kid(), "hs");
  expect_invalid_key([&] { set.find("bad"); }, "stored key \"bad\" cannot be used");
  expect_invalid_key([&] { set.find("bad"); }, "stored key \"bad\"");  // still refused
  EXPECT_EQ(set.find("none"), nullptr);
}

TEST(KeySet, DeferredKeyMustCarryItsKid) {
  KeySet set;
  set.add_deferred("other", kOctJwk);
  expect_invalid_key([&] { set.find("other"); }, "stored key \"other\" cannot be used");
}

TEST(KeySet, DeferredKeyWithoutKidServesOnlyAsTheSoleKey) {
  const std::string no_kid =
      R"({"kty":"oct","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"})";
  KeySet set;
  set.add_deferred("", no_kid);
  EXPECT_EQ(set.find(""), nullptr);
  ASSERT_NE(set.sole_key(), nullptr);
  EXPECT_EQ(set.sole_key()->kid(), "");
  set.add_deferred("", no_kid);  // like add(): kid-less keys are never looked up by kid
  set.add_deferred("hs", kOctJwk);
  EXPECT_EQ(set.sole_key(), nullptr);
  ASSERT_NE(set.find("hs"), nullptr);
}

TEST(KeySet, DeferredKidsAreUniqueAcrossBothKinds) {
  KeySet set;
  set.add(Key::from_jwk_json(kOctJwk));
  expect_invalid_key([&] { set.add_deferred("hs", kOctJwk); },
                     "duplicate key id \"hs\" in key set");
  set.add_deferred("ec1", kEcPrivateJwk);
  expect_invalid_key([&] { set.add(Key::from_jwk_json(kEcPrivateJwk)); },
                     "duplicate key id \"ec1\" in key set");
}

TEST(KeySet, SoleDeferredKeyAndPublishedSetImportIt) {
  KeySet set;
  set.add_deferred("ed1", kEdPrivateJwk);
  ASSERT_NE(set.sole_key(), nullptr);
  EXPECT_EQ(set.sole_key()->kid(), "ed1");
  set.add_deferred("ec1", kEcPrivateJwk);
  EXPECT_EQ(set.sole_key(), nullptr);
  std::string jwks = set.public_jwks_json();
  EXPECT_NE(jwks.find("\"kid\":\"ec1\""), std::string::npos) << jwks;
  EXPECT_EQ(jwks.find("\"d\""), std::string::npos) << jwks;
}

}  // namespace
