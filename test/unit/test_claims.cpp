// Unit tests: claims are read as Supabase's jsonb helpers read them, and the
// cache parses each distinct value once and never serves a stale value.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>

#include <string>

#include "careguard/core/claims.hpp"
#include "careguard/core/error.hpp"

using careguard::Claims;
using careguard::ClaimsCache;
using careguard::ClaimText;
using careguard::Error;
using careguard::UuidClaim;

namespace {
const char* kSub = "8d0f7e6a-1111-4222-8333-944445555666";

std::string claims_with_sub(const std::string& sub) {
  return R"({"sub":")" + sub + R"(","role":"patient","email":"p@example.org"})";
}
}  // namespace

TEST(Claims, ReadsTheHotClaims) {
  Claims c(claims_with_sub(kSub), "request.jwt.claims");
  ASSERT_EQ(c.sub().state, UuidClaim::State::Valid);
  EXPECT_EQ(careguard::format_uuid(c.sub().value), kSub);
  EXPECT_EQ(c.role().value, "patient");
  EXPECT_EQ(c.email().value, "p@example.org");
  EXPECT_EQ(c.provider_id().state, UuidClaim::State::Absent);
}

TEST(Claims, NonUuidSubIsInvalidNotAnError) {
  Claims c(claims_with_sub("user-42"), "request.jwt.claims");
  EXPECT_EQ(c.sub().state, UuidClaim::State::Invalid);
  EXPECT_EQ(c.sub().invalid_text, "user-42");
  EXPECT_EQ(c.role().value, "patient");  // other claims still readable
}

TEST(Claims, RendersLikeJsonbArrowArrow) {
  Claims c(R"({"s":"x","t":true,"f":false,"z":null,"n":1e2,"o":{"k":[1,2]},"a":[1,"b"]})", "x");
  EXPECT_EQ(c.text("s").kind, ClaimText::Kind::Text);
  EXPECT_EQ(c.text("t").value, "true");
  EXPECT_EQ(c.text("f").value, "false");
  EXPECT_EQ(c.text("z").kind, ClaimText::Kind::Absent);  // JSON null reads as SQL NULL
  EXPECT_EQ(c.text("missing").kind, ClaimText::Kind::Absent);
  EXPECT_EQ(c.text("n").kind, ClaimText::Kind::RawJson);  // PostgreSQL normalises numbers
  EXPECT_EQ(c.text("n").value, "1e2");
  EXPECT_EQ(c.text("o").value, R"({"k":[1,2]})");
}

TEST(Claims, PathsWalkObjectsAndArrays) {
  Claims c(R"({"app_metadata":{"roles":["a","b","c"]}})", "x");
  EXPECT_EQ(c.text_at({"app_metadata", "roles", "1"}).value, "b");
  EXPECT_EQ(c.text_at({"app_metadata", "roles", "-1"}).value, "c");
  EXPECT_EQ(c.text_at({"app_metadata", "roles", "3"}).kind, ClaimText::Kind::Absent);
  EXPECT_EQ(c.text_at({"app_metadata", "roles", "x"}).kind, ClaimText::Kind::Absent);
  EXPECT_EQ(c.text_at({"app_metadata", "nope"}).kind, ClaimText::Kind::Absent);
}

TEST(Claims, NonObjectDocumentHasNoClaims) {
  Claims c("[1,2,3]", "x");
  EXPECT_EQ(c.sub().state, UuidClaim::State::Absent);
  EXPECT_EQ(c.role().kind, ClaimText::Kind::Absent);
}

TEST(Claims, EscapedAndUnicodeValues) {
  Claims c(R"({"email":"J\u00fcrgen \"J\" <j@example.org>","role":"pr\u006fvider"})", "x");
  EXPECT_EQ(c.email().value, "J\xC3\xBCrgen \"J\" <j@example.org>");
  EXPECT_EQ(c.role().value, "provider");
}

TEST(Claims, MalformedDocumentNamesTheSetting) {
  try {
    Claims c("{\"sub\":", "request.jwt.claims");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.sqlstate(), "22P02");
    EXPECT_NE(std::string(e.what()).find("setting \"request.jwt.claims\""), std::string::npos);
  }
}

TEST(ClaimsCache, ParsesEachDistinctValueOnce) {
  ClaimsCache cache;
  std::string a = claims_with_sub(kSub);
  for (int i = 0; i < 1000; ++i) cache.get(a, "s");
  EXPECT_EQ(cache.parse_count(), 1u);
}

TEST(ClaimsCache, KeyIsTheValueNotThePointer) {
  ClaimsCache cache;
  std::string buffer = claims_with_sub(kSub);
  const Claims& first = cache.get(buffer, "s");
  EXPECT_EQ(first.role().value, "patient");
  // Same storage, new content: must not be served from the cache.
  buffer = R"({"sub":"8d0f7e6a-1111-4222-8333-944445555666","role":"admin","email":"p@example.o"})";
  const Claims& second = cache.get(buffer, "s");
  EXPECT_EQ(second.role().value, "admin");
  EXPECT_EQ(cache.parse_count(), 2u);
}

TEST(ClaimsCache, ReturnsToAnEarlierValueWithoutReparsing) {
  ClaimsCache cache;
  std::string a = claims_with_sub(kSub);
  std::string b = claims_with_sub("b1ffcd00-0d1c-4f09-8c7e-7cc0ce491b22");
  cache.get(a, "s");
  cache.get(b, "s");
  EXPECT_EQ(careguard::format_uuid(cache.get(a, "s").sub().value), kSub);
  EXPECT_EQ(cache.parse_count(), 2u);
}

TEST(ClaimsCache, IsBoundedAndClears) {
  ClaimsCache cache(4);
  for (int i = 0; i < 100; ++i) cache.get("{\"n\":" + std::to_string(i) + "}", "s");
  EXPECT_EQ(cache.size(), 4u);
  cache.clear();
  EXPECT_EQ(cache.size(), 0u);
  cache.get("{\"n\":1}", "s");
  EXPECT_EQ(cache.parse_count(), 101u);
}

TEST(ClaimsCache, EvictsTheLeastRecentlyUsed) {
  ClaimsCache cache(3);
  auto doc = [](int n) { return "{\"n\":" + std::to_string(n) + "}"; };
  cache.get(doc(1), "s");
  cache.get(doc(2), "s");
  cache.get(doc(3), "s");
  cache.get(doc(1), "s");  // 1 is now the most recent; 2 the least
  cache.get(doc(4), "s");  // evicts 2
  EXPECT_EQ(cache.parse_count(), 4u);
  cache.get(doc(1), "s");
  cache.get(doc(3), "s");
  EXPECT_EQ(cache.parse_count(), 4u);
  cache.get(doc(2), "s");
  EXPECT_EQ(cache.parse_count(), 5u);
}

TEST(ClaimsCache, StaysWithinItsByteBudgetButKeepsTheLatest) {
  // The worst shape for a parsed form: one small value per two bytes.
  auto big = [](int n) {
    std::string doc = "{\"n\":" + std::to_string(n) + ",\"x\":[";
    for (int i = 0; i < 8000; ++i) doc += "0,";
    return doc + "0]}";
  };
  ClaimsCache cache(8, 1u << 20);
  std::size_t largest = 0;
  for (int i = 0; i < 50; ++i) {
    const careguard::Claims& claims = cache.get(big(i), "s");
    EXPECT_EQ(claims.root().find("n")->text, std::to_string(i));
    largest = std::max(largest, claims.footprint());
    EXPECT_LE(cache.bytes(), std::max<std::size_t>(1u << 20, largest));
  }
  EXPECT_GE(cache.size(), 1u);
  // The parsed form costs a bounded multiple of its text; the figure is
  // printed so the note can report it.
  double ratio = static_cast<double>(largest) / static_cast<double>(big(0).size());
  EXPECT_LT(ratio, 160.0);
  std::printf("[ memory ] worst-case parsed claims: %zu bytes for %zu bytes of text (%.0fx)\n",
              largest, big(0).size(), ratio);
}

TEST(ClaimsCache, AdoptedDocumentsAreNotParsedAgain) {
  // What auth.login() does: the verifier parsed the claims already.
  ClaimsCache cache;
  std::string text = claims_with_sub(kSub);
  careguard::json::Value parsed = careguard::json::parse(text);
  const careguard::Claims& adopted = cache.adopt(text, std::move(parsed));
  adopted.adapter_cache() = "jsonb image";
  EXPECT_EQ(cache.parse_count(), 0u);
  const careguard::Claims& found = cache.get(text, "s");
  EXPECT_EQ(&found, &adopted);
  EXPECT_EQ(cache.parse_count(), 0u);
  EXPECT_EQ(careguard::format_uuid(found.sub().value), kSub);
  EXPECT_EQ(found.adapter_cache(), "jsonb image");
  // Adopting the same text again replaces the entry, never duplicates it.
  cache.adopt(text, careguard::json::parse(text));
  EXPECT_EQ(cache.size(), 1u);
}

TEST(ClaimsCache, MalformedValueIsNotCached) {
  ClaimsCache cache;
  EXPECT_THROW(cache.get("{", "s"), Error);
  EXPECT_THROW(cache.get("{", "s"), Error);
  EXPECT_EQ(cache.size(), 0u);
}

TEST(ClaimsCache, EmptyTextIsMalformed) {
  ClaimsCache cache;
  EXPECT_THROW(cache.get("", "s"), Error);
}
