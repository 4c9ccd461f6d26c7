// The ledger's chain link and record text.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <ctime>
#include <random>
#include <string>

#include "careguard/core/ledger.hpp"

using careguard::format_uuid;
using careguard::Uuid;
using careguard::ledger::genesis;
using careguard::ledger::index_record;
using careguard::ledger::link;
using careguard::ledger::read_spool_line;
using careguard::ledger::RecordIndex;
using careguard::ledger::RecordWriter;
using careguard::ledger::spool_index;
using careguard::ledger::to_hex;

namespace {

std::string ids_text(const RecordIndex& index) {
  std::string out;
  for (const Uuid& id : index.patient_ids) out += (out.empty() ? "" : ",") + format_uuid(id);
  return out;
}

Uuid uuid_of(const char* text) {
  return *careguard::parse_uuid(text);
}

}  // namespace

TEST(LedgerChain, GenesisIsZero) {
  EXPECT_EQ(to_hex(genesis()), std::string(64, '0'));
}

// Reference: python3 hashlib.sha256(b'\0'*32 + b'\0'*7 + b'\1' + b'abc').
TEST(LedgerChain, LinkMatchesAnIndependentSha256) {
  EXPECT_EQ(to_hex(link(genesis(), 1, "abc")),
            "328976acf07e9b1c4a8967f2d63902c9a724235b6363ac83087246ad84cd222a");
}

TEST(LedgerChain, EveryInputChangesTheLink) {
  auto base = link(genesis(), 7, "{\"a\":1}");
  EXPECT_NE(base, link(genesis(), 8, "{\"a\":1}"));
  EXPECT_NE(base, link(genesis(), 7, "{\"a\":2}"));
  EXPECT_NE(base, link(link(genesis(), 1, "x"), 7, "{\"a\":1}"));
  EXPECT_EQ(base, link(genesis(), 7, "{\"a\":1}"));
}

TEST(LedgerRecord, EscapesEverythingThatCouldSplitALine) {
  RecordWriter record;
  record.field("q", "a\"b\\c\nd\te\x01");
  record.number("n", -42);
  record.boolean("b", true);
  record.null_field("z");
  record.open_array("ids");
  record.element("x");
  record.element("y");
  record.close_array();
  std::string text = record.finish();
  EXPECT_EQ(text,
            "{\"q\":\"a\\\"b\\\\c\\u000ad\\u0009e\\u0001\",\"n\":-42,\"b\":true,\"z\":null,"
            "\"ids\":[\"x\",\"y\"]}");
  EXPECT_EQ(text.find('\n'), std::string::npos);
}

// JSON string escaping as the record format defines it, byte by byte.
std::string reference_string(const std::string& value) {
  std::string out = "\"";
  for (unsigned char byte : value) {
    if (byte == '"' || byte == '\\') {
      out += '\\';
      out += static_cast<char>(byte);
    } else if (byte < 0x20) {
      char escape[8];
      std::snprintf(escape, sizeof escape, "\\u%04x", byte);
      out += escape;
    } else {
      out += static_cast<char>(byte);
    }
  }
  return out + "\"";
}

TEST(LedgerRecord, EveryFieldKindMatchesTheFormatOnRandomBytes) {
  std::mt19937_64 random(11);
  auto any_text = [&random] {
    std::string text(random() % 70, '\0');
    for (char& c : text) c = static_cast<char>(random() % 256);
    return text;
  };
  for (int round = 0; round < 2000; ++round) {
    RecordWriter record;
    std::string expected = "{";
    bool first = true;
    auto key = [&](const std::string& name) {
      expected += (first ? "" : ",") + reference_string(name) + ":";
      first = false;
    };
    const int fields = static_cast<int>(random() % 12);
    for (int f = 0; f < fields; ++f) {
      const std::string name = any_text();
      switch (random() % 6) {
        case 0: {
          const std::string value = any_text();
          record.field(name, value);
          key(name);
          expected += reference_string(value);
          break;
        }
        case 1:
          record.null_field(name);
          key(name);
          expected += "null";
          break;
        case 2: {
          const auto value = static_cast<std::int64_t>(random());
          record.number(name, value);
          key(name);
          expected += std::to_string(value);
          break;
        }
        case 3: {
          const bool value = random() % 2 == 0;
          record.boolean(name, value);
          key(name);
          expected += value ? "true" : "false";
          break;
        }
        case 4:
          record.raw(name, "{\"a\":[1,2]}");
          key(name);
          expected += "{\"a\":[1,2]}";
          break;
        default: {
          record.open_array(name);
          key(name);
          expected += "[";
          const int elements = static_cast<int>(random() % 4);
          for (int e = 0; e < elements; ++e) {
            const std::string value = any_text();
            record.element(value);
            expected += (e == 0 ? "" : ",") + reference_string(value);
          }
          record.close_array();
          expected += "]";
        }
      }
    }
    ASSERT_EQ(record.finish(), expected + "}") << "round " << round;
  }
  RecordWriter extremes;
  extremes.number("min", INT64_MIN);
  extremes.number("max", INT64_MAX);
  EXPECT_EQ(extremes.finish(), "{\"min\":-9223372036854775808,\"max\":9223372036854775807}");
}

// The writer copies eight clean bytes at a time: one byte to escape, at each
// position of a longer clean text, must still be escaped where it stands.
TEST(LedgerRecord, OneByteToEscapeAtEveryPosition) {
  for (const char special : {'"', '\\', '\n', '\x01', '\x1f'}) {
    for (std::size_t length = 1; length <= 40; ++length) {
      for (std::size_t at = 0; at < length; ++at) {
        std::string value(length, 'a');
        value[at] = special;
        value.back() = at + 1 == length ? special : static_cast<char>(0xc3);
        RecordWriter record;
        record.field("k", value);
        ASSERT_EQ(record.finish(), "{\"k\":" + reference_string(value) + "}")
            << "length " << length << ", at " << at;
      }
    }
  }
}

TEST(LedgerRecord, EmptyArray) {
  RecordWriter record;
  record.open_array("ids");
  record.close_array();
  EXPECT_EQ(record.finish(), "{\"ids\":[]}");
}

TEST(LedgerIndex, KindAndIdsOfARecord) {
  auto index =
      index_record(R"({"kind":"access","patient_ids":["AAAAAAAA-0000-4000-8000-000000000001",)"
                   R"("aaaaaaaa-0000-4000-8000-000000000002"]})");
  EXPECT_EQ(index.kind, "access");
  EXPECT_EQ(ids_text(index),
            "aaaaaaaa-0000-4000-8000-000000000001,aaaaaaaa-0000-4000-8000-000000000002");
}

TEST(LedgerIndex, MalformedAndMissingParts) {
  EXPECT_EQ(index_record("{\"kind\":").kind, "malformed");
  EXPECT_EQ(index_record("[1]").kind, "malformed");
  auto index = index_record(R"({"patient_ids":["not-a-uuid", 7]})");
  EXPECT_EQ(index.kind, "unknown");
  EXPECT_TRUE(index.patient_ids.empty());
}

TEST(LedgerSpoolLine, TheIndexAheadOfTheRecordIsReadBackWithoutParsing) {
  std::vector<Uuid> ids = {uuid_of("aaaaaaaa-0000-4000-8000-000000000001"),
                           uuid_of("ffffffff-0000-4000-8000-0000000000ab")};
  std::string line = spool_index("access", ids) + "{\"not\": parsed}";
  RecordIndex index;
  std::string_view record;
  read_spool_line(line, index, record);
  EXPECT_EQ(index.kind, "access");
  EXPECT_EQ(ids_text(index),
            "aaaaaaaa-0000-4000-8000-000000000001,ffffffff-0000-4000-8000-0000000000ab");
  EXPECT_EQ(record, "{\"not\": parsed}");
  read_spool_line(spool_index("purge", {}) + "{}", index, record);
  EXPECT_EQ(index.kind, "purge");
  EXPECT_TRUE(index.patient_ids.empty());
  EXPECT_EQ(record, "{}");
}

TEST(LedgerSpoolLine, ALineWithoutAWellFormedIndexIsIndexedFromItsRecord) {
  const std::string json =
      R"({"kind":"access","patient_ids":["aaaaaaaa-0000-4000-8000-000000000001"]})";
  RecordIndex index;
  std::string_view record;
  for (const std::string& line :
       {json, "=access\t" + json, "=Access\t\t" + json, "=access\tabc\t" + json,
        "=access\t" + std::string(31, 'a') + "g\t" + json, "=\t\t" + json,
        "=" + std::string(65, 'a') + "\t\t" + json}) {
    read_spool_line(line, index, record);
    EXPECT_EQ(record, line) << line;
    EXPECT_EQ(index.kind, line == json ? "access" : "malformed") << line;
  }
  read_spool_line(json, index, record);
  EXPECT_EQ(ids_text(index), "aaaaaaaa-0000-4000-8000-000000000001");
}

// A line torn by a crash runs into the next one: its index is not trusted.
TEST(LedgerSpoolLine, ATornLineRunIntoTheNextIsMalformed) {
  std::vector<Uuid> first = {uuid_of("aaaaaaaa-0000-4000-8000-000000000001")};
  std::vector<Uuid> second = {uuid_of("aaaaaaaa-0000-4000-8000-000000000002")};
  std::string torn = spool_index("access", first) + R"({"v":1,"kind":"access","patient_ids":["aa)" +
                     spool_index("access", second) + R"({"v":1,"kind":"access"})";
  RecordIndex index;
  std::string_view record;
  read_spool_line(torn, index, record);
  EXPECT_EQ(index.kind, "malformed");
  EXPECT_EQ(record, torn);
  for (const std::string& cut :
       {spool_index("access", first) + "{\"v\":1", spool_index("access", first) + "x{}",
        spool_index("access", first)}) {
    read_spool_line(cut, index, record);
    EXPECT_EQ(index.kind, "malformed") << cut;
  }
}

// The record's timestamps, against the C library's calendar and printf.
std::string libc_utc_micros(std::int64_t unix_micros) {
  std::int64_t seconds = unix_micros / 1000000;
  std::int64_t micros = unix_micros % 1000000;
  if (micros < 0) {
    micros += 1000000;
    --seconds;
  }
  auto t = static_cast<std::time_t>(seconds);
  std::tm parts{};
  gmtime_r(&t, &parts);
  char text[64];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", parts.tm_year + 1900,
                parts.tm_mon + 1, parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec,
                static_cast<long long>(micros));
  return text;
}

std::string utc_micros(std::int64_t unix_micros) {
  char text[careguard::ledger::kUtcTimestampBytes];
  return std::string(text, careguard::ledger::format_utc_micros(unix_micros, text));
}

TEST(LedgerRecord, TimestampsMatchTheCalendarOverPostgresRange) {
  EXPECT_EQ(utc_micros(0), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(utc_micros(-1), "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ(utc_micros(1796244555123456), "2026-12-02T20:49:15.123456Z");  // date -u -d @1796244555
  // PostgreSQL's timestamps run from 4714 BC to 294276 AD: years of one to
  // six digits, and negative ones, all as printf's %04d writes them.
  // (The last ones overflow microseconds since 1970: the range ends there.)
  const std::int64_t first = -210866803200LL * 1000000;  // 4714-11-24 BC
  const std::int64_t last = INT64_MAX;                   // 294247 AD
  const std::int64_t edges[] = {first,
                                last,
                                253402300799999999LL,  // 9999-12-31T23:59:59.999999
                                253402300800000000LL,  // 10000-01-01
                                -62167219200000000LL,  // 0000-01-01
                                -62167219200000001LL,  // the last microsecond of 1 BC's eve
                                951782400000000LL};    // 2000-02-29
  for (std::int64_t edge : edges) {
    EXPECT_EQ(utc_micros(edge), libc_utc_micros(edge)) << edge;
  }
  std::mt19937_64 random(20261201);
  std::uniform_int_distribution<std::int64_t> anywhere(first, last);
  std::uniform_int_distribution<std::int64_t> recent(0, 4102444800LL * 1000000);
  for (int i = 0; i < 200000; ++i) {
    const std::int64_t value = i % 2 ? anywhere(random) : recent(random);
    ASSERT_EQ(utc_micros(value), libc_utc_micros(value)) << value;
  }
}
