// Unit tests: the strict JSON parser accepts exactly what ::jsonb accepts.
#include <gtest/gtest.h>

#include <string>

#include "careguard/core/error.hpp"
#include "careguard/core/json.hpp"

using careguard::Error;
namespace json = careguard::json;

namespace {

// Returns the SQLSTATE a parse raised, or "" when it succeeded.
std::string parse_error(const std::string& text, const json::Limits& limits = {}) {
  try {
    json::parse(text, "test", limits);
    return "";
  } catch (const Error& e) {
    return e.sqlstate();
  }
}

}  // namespace

TEST(Json, ParsesScalarsAndContainers) {
  json::Value v = json::parse(R"({"a": [1, -2.5e3, true, false, null], "b": {"c": "d"}})");
  ASSERT_EQ(v.kind, json::Kind::Object);
  const json::Value* a = v.find("a");
  ASSERT_NE(a, nullptr);
  ASSERT_EQ(a->items.size(), 5u);
  EXPECT_EQ(a->items[0].text, "1");
  EXPECT_EQ(a->items[1].text, "-2.5e3");
  EXPECT_TRUE(a->items[2].boolean);
  EXPECT_EQ(a->items[4].kind, json::Kind::Null);
  EXPECT_EQ(v.find("b")->find("c")->text, "d");
}

TEST(Json, DuplicateKeysLastWinsAsInJsonb) {
  json::Value v = json::parse(R"({"sub": "first", "sub": "second"})");
  EXPECT_EQ(v.find("sub")->text, "second");
}

TEST(Json, RecordsSourceSpans) {
  std::string text = R"({"n": 1.50, "o": {"x": [1]}})";
  json::Value v = json::parse(text);
  const json::Value* o = v.find("o");
  EXPECT_EQ(text.substr(o->begin, o->end - o->begin), R"({"x": [1]})");
}

TEST(Json, EmptyAndWhitespaceOnlyAreRejected) {
  EXPECT_EQ(parse_error(""), "22P02");
  EXPECT_EQ(parse_error("   \n\t"), "22P02");
}

TEST(Json, MalformedInputIsRejectedWithInvalidTextRepresentation) {
  for (const char* bad : {"{",
                          "}",
                          "{\"a\"}",
                          "{\"a\":}",
                          "[1,]",
                          "{\"a\":1,}",
                          "01",
                          "1.",
                          ".5",
                          "-",
                          "1e",
                          "+1",
                          "tru",
                          "nul",
                          "'a'",
                          "{a:1}",
                          "[1 2]",
                          "{} {}",
                          "\"unterminated",
                          "\"bad \\x escape\"",
                          "\"tab\there\"",
                          "NaN",
                          "Infinity"}) {
    EXPECT_EQ(parse_error(bad), "22P02") << bad;
  }
}

TEST(Json, ErrorMessageNamesTheInputAndPosition) {
  try {
    json::parse("{\"a\": x}", "setting \"request.jwt.claims\"");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_STREQ(
        e.what(),
        "setting \"request.jwt.claims\" is not valid JSON: unexpected character at byte 6");
  }
}

TEST(Json, UnicodeEscapesDecodeToUtf8) {
  json::Value v = json::parse(R"(["\u00e9", "\u20ac", "\ud83d\ude00", "caf\u00E9", "a\/b\n"])");
  EXPECT_EQ(v.items[0].text, "\xC3\xA9");
  EXPECT_EQ(v.items[1].text, "\xE2\x82\xAC");
  EXPECT_EQ(v.items[2].text, "\xF0\x9F\x98\x80");
  EXPECT_EQ(v.items[3].text, "caf\xC3\xA9");
  EXPECT_EQ(v.items[4].text, "a/b\n");
}

TEST(Json, RawUtf8PassesAndInvalidUtf8IsRejected) {
  EXPECT_EQ(json::parse("\"h\xC3\xA9llo \xF0\x9F\x98\x80\"").text, "h\xC3\xA9llo \xF0\x9F\x98\x80");
  EXPECT_EQ(parse_error("\"\xC3\""), "22P02");          // truncated
  EXPECT_EQ(parse_error("\"\xC0\xAF\""), "22P02");      // overlong
  EXPECT_EQ(parse_error("\"\xED\xA0\x80\""), "22P02");  // encoded surrogate
  EXPECT_EQ(parse_error("\"\xFF\""), "22P02");
}

TEST(Json, JsonbOnlyRulesNulAndLoneSurrogates) {
  EXPECT_EQ(parse_error(R"("\u0000")"), "22P02");
  EXPECT_EQ(parse_error(R"("\ud83d")"), "22P02");
  EXPECT_EQ(parse_error(R"("\ude00")"), "22P02");
  EXPECT_EQ(parse_error(R"("\ud83d\u0041")"), "22P02");
}

TEST(Json, DeepNestingIsALimitNotACrash) {
  std::string deep(100000, '[');
  EXPECT_EQ(parse_error(deep), "54000");
  std::string ok = std::string(500, '[') + std::string(500, ']');
  EXPECT_EQ(parse_error(ok), "");
}

TEST(Json, OneMegabyteDocumentParses) {
  std::string big = "{\"sub\":\"x\",\"pad\":\"" + std::string(1 << 20, 'p') + "\"}";
  json::Value v = json::parse(big);
  EXPECT_EQ(v.find("pad")->text.size(), 1u << 20);
  json::Limits small;
  small.max_bytes = 1000;
  EXPECT_EQ(parse_error(big, small), "54000");
}

TEST(Json, QuoteEscapesControlCharacters) {
  EXPECT_EQ(json::quote("a\"b\\c\n\x01"), R"("a\"b\\c\n\u0001")");
  EXPECT_EQ(json::parse(json::quote("round \"trip\"\t")).text, "round \"trip\"\t");
}
