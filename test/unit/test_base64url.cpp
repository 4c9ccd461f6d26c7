// Strict base64url: RFC 4648 vectors, canonical-form and alphabet rejections.
#include "careguard/core/base64url.hpp"

#include <gtest/gtest.h>

#include <random>

namespace {

using careguard::base64url::decode;
using careguard::base64url::encode;

TEST(Base64Url, EncodesRfc4648Vectors) {
  EXPECT_EQ(encode(""), "");
  EXPECT_EQ(encode("f"), "Zg");
  EXPECT_EQ(encode("fo"), "Zm8");
  EXPECT_EQ(encode("foo"), "Zm9v");
  EXPECT_EQ(encode("foob"), "Zm9vYg");
  EXPECT_EQ(encode("fooba"), "Zm9vYmE");
  EXPECT_EQ(encode("foobar"), "Zm9vYmFy");
}

TEST(Base64Url, UsesUrlSafeAlphabet) {
  EXPECT_EQ(encode(std::string("\xfb\xff\xbf", 3)), "-_-_");
  EXPECT_EQ(decode("-_-_"), std::string("\xfb\xff\xbf", 3));
}

TEST(Base64Url, DecodesRfc4648Vectors) {
  EXPECT_EQ(decode(""), std::string());
  EXPECT_EQ(decode("Zg"), std::string("f"));
  EXPECT_EQ(decode("Zm8"), std::string("fo"));
  EXPECT_EQ(decode("Zm9vYmFy"), std::string("foobar"));
}

TEST(Base64Url, RejectsPaddingAndStandardAlphabet) {
  EXPECT_EQ(decode("Zg=="), std::nullopt);
  EXPECT_EQ(decode("Zm8="), std::nullopt);
  EXPECT_EQ(decode("+/+/"), std::nullopt);
}

TEST(Base64Url, RejectsWhitespaceAndForeignBytes) {
  EXPECT_EQ(decode("Zm9v YmFy"), std::nullopt);
  EXPECT_EQ(decode("Zm9v\nYmFy"), std::nullopt);
  EXPECT_EQ(decode(std::string("Zm9\0", 4)), std::nullopt);
  EXPECT_EQ(decode("Zm9\xc3\xa9"), std::nullopt);
}

TEST(Base64Url, RejectsImpossibleLength) {
  EXPECT_EQ(decode("Z"), std::nullopt);
  EXPECT_EQ(decode("Zm9vY"), std::nullopt);
}

TEST(Base64Url, RejectsNonCanonicalTrailingBits) {
  // "Zg" is 'f'; "Zh" carries the same byte plus a non-zero unused bit.
  EXPECT_EQ(decode("Zh"), std::nullopt);
  EXPECT_EQ(decode("Zm8"), std::string("fo"));
  EXPECT_EQ(decode("Zm9"), std::nullopt);  // "fo" with the low unused bit set.
  EXPECT_EQ(decode("Zm-"), std::nullopt);  // "fo" with the high unused bit set.
}

TEST(Base64Url, RoundTripsRandomBytesAndDecodedSizeIsExact) {
  std::mt19937 rng(42);
  for (std::size_t n = 0; n < 200; ++n) {
    std::string bytes(n, '\0');
    for (auto& b : bytes) b = static_cast<char>(rng());
    std::string text = encode(bytes);
    EXPECT_EQ(text.find('='), std::string::npos);
    EXPECT_EQ(careguard::base64url::decoded_size(text.size()), n);
    auto back = decode(text);
    ASSERT_TRUE(back.has_value()) << n;
    EXPECT_EQ(*back, bytes);
  }
}

TEST(Base64Url, EveryAcceptedTextIsTheCanonicalEncoding) {
  // Exhaustive over all 2- and 3-character strings: decode succeeds exactly
  // when re-encoding gives the same text back.
  const std::string alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/.";
  int accepted = 0;
  for (char a : alphabet) {
    for (char b : alphabet) {
      std::string two{a, b};
      if (auto d = decode(two)) {
        ++accepted;
        EXPECT_EQ(encode(*d), two);
      }
      for (char c : alphabet) {
        std::string three{a, b, c};
        if (auto d = decode(three)) {
          ++accepted;
          EXPECT_EQ(encode(*d), three);
        }
      }
    }
  }
  EXPECT_EQ(accepted, 256 + 65536);  // One text per 1-byte and per 2-byte string.
}

}  // namespace
