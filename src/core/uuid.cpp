// careguard core: uuid parsing and formatting.
#include "careguard/core/uuid.hpp"

#include <array>

namespace careguard {

namespace {
// Hex digit values by byte, -1 for every other byte: one load per digit.
constexpr std::array<signed char, 256> make_hex_table() {
  std::array<signed char, 256> table{};
  for (auto& entry : table) entry = -1;
  for (int c = '0'; c <= '9'; ++c)
    table[static_cast<std::size_t>(c)] = static_cast<signed char>(c - '0');
  for (int c = 'a'; c <= 'f'; ++c)
    table[static_cast<std::size_t>(c)] = static_cast<signed char>(c - 'a' + 10);
  for (int c = 'A'; c <= 'F'; ++c)
    table[static_cast<std::size_t>(c)] = static_cast<signed char>(c - 'A' + 10);
  return table;
}
constexpr std::array<signed char, 256> kHexValue = make_hex_table();
int hex_value(char c) {
  return kHexValue[static_cast<unsigned char>(c)];
}

// The canonical 8-4-4-4-12 spelling, which nearly every claim uses, read at
// fixed positions; std::nullopt sends anything else to the general reader.
std::optional<Uuid> parse_canonical_uuid(std::string_view text) {
  static constexpr unsigned char kDigitAt[16] = {0,  2,  4,  6,  9,  11, 14, 16,
                                                 19, 21, 24, 26, 28, 30, 32, 34};
  if (text.size() != 36 || text[8] != '-' || text[13] != '-' || text[18] != '-' ||
      text[23] != '-') {
    return std::nullopt;
  }
  Uuid out{};
  int invalid = 0;
  for (std::size_t i = 0; i < out.size(); ++i) {
    const int hi = hex_value(text[kDigitAt[i]]);
    const int lo = hex_value(text[kDigitAt[i] + 1u]);
    invalid |= hi | lo;  // -1 sets the sign bit
    out[i] =
        static_cast<std::uint8_t>((static_cast<unsigned>(hi) << 4) | static_cast<unsigned>(lo));
  }
  if (invalid < 0) return std::nullopt;
  return out;
}
}  // namespace

std::optional<Uuid> parse_uuid(std::string_view text) {
  if (auto canonical = parse_canonical_uuid(text)) return canonical;
  Uuid out{};
  std::size_t pos = 0;
  bool braces = !text.empty() && text[0] == '{';
  if (braces) ++pos;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (pos + 2 > text.size()) return std::nullopt;
    int hi = hex_value(text[pos]);
    int lo = hex_value(text[pos + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<std::uint8_t>((hi << 4) | lo);
    pos += 2;
    // uuid_in allows one hyphen after every second byte, never at the end.
    if (pos < text.size() && text[pos] == '-' && (i % 2) == 1 && i < out.size() - 1) ++pos;
  }
  if (braces) {
    if (pos >= text.size() || text[pos] != '}') return std::nullopt;
    ++pos;
  }
  if (pos != text.size()) return std::nullopt;
  return out;
}

void format_uuid_to(const Uuid& uuid, char* out) {
  static const char kHex[] = "0123456789abcdef";
  for (std::size_t i = 0; i < uuid.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) *out++ = '-';
    *out++ = kHex[uuid[i] >> 4];
    *out++ = kHex[uuid[i] & 0xF];
  }
}

std::string format_uuid(const Uuid& uuid) {
  std::string out(kUuidTextLength, '\0');
  format_uuid_to(uuid, out.data());
  return out;
}

}  // namespace careguard
