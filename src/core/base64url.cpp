// careguard core: strict, canonical base64url without padding.
#include "careguard/core/base64url.hpp"

#include <array>
#include <cstdint>

namespace careguard::base64url {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::uint8_t kInvalid = 0xFF;

// Reverse lookup built at compile time; every byte outside the alphabet maps to kInvalid.
constexpr std::array<std::uint8_t, 256> make_reverse_table() {
  std::array<std::uint8_t, 256> table{};
  for (auto& entry : table) entry = kInvalid;
  for (std::uint8_t i = 0; i < 64; ++i) table[static_cast<unsigned char>(kAlphabet[i])] = i;
  return table;
}

constexpr std::array<std::uint8_t, 256> kReverse = make_reverse_table();

}  // namespace

void encode_append(std::string_view bytes, std::string& out) {
  const auto* in = reinterpret_cast<const unsigned char*>(bytes.data());
  std::size_t n = bytes.size();
  out.reserve(out.size() + (n * 4 + 2) / 3);
  std::size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    std::uint32_t v = (std::uint32_t{in[i]} << 16) | (std::uint32_t{in[i + 1]} << 8) | in[i + 2];
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  if (n - i == 1) {
    std::uint32_t v = std::uint32_t{in[i]} << 16;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
  } else if (n - i == 2) {
    std::uint32_t v = (std::uint32_t{in[i]} << 16) | (std::uint32_t{in[i + 1]} << 8);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
  }
}

std::string encode(std::string_view bytes) {
  std::string out;
  encode_append(bytes, out);
  return out;
}

bool decode(std::string_view text, std::string& out) {
  out.clear();
  std::size_t n = text.size();
  // A single leftover character carries only 6 bits: never a whole byte.
  if (n % 4 == 1) return false;
  out.resize(decoded_size(n));
  const auto* in = reinterpret_cast<const unsigned char*>(text.data());
  // Stores go through a raw pointer: a char store through out[] may alias
  // out itself, which makes the compiler reload its buffer every byte.
  auto* dst = reinterpret_cast<unsigned char*>(out.data());
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    std::uint32_t a = kReverse[in[i]], b = kReverse[in[i + 1]], c = kReverse[in[i + 2]],
                  d = kReverse[in[i + 3]];
    if (((a | b | c | d) & 0xC0) != 0) return false;  // kInvalid has the top bits set.
    std::uint32_t v = (a << 18) | (b << 12) | (c << 6) | d;
    dst[0] = static_cast<unsigned char>(v >> 16);
    dst[1] = static_cast<unsigned char>(v >> 8);
    dst[2] = static_cast<unsigned char>(v);
    dst += 3;
  }
  std::size_t rest = n - i;
  if (rest == 2) {
    std::uint32_t a = kReverse[in[i]], b = kReverse[in[i + 1]];
    if (((a | b) & 0xC0) != 0) return false;
    // Canonical form: the 4 unused low bits of the last character are zero.
    if ((b & 0x0F) != 0) return false;
    dst[0] = static_cast<unsigned char>((a << 2) | (b >> 4));
  } else if (rest == 3) {
    std::uint32_t a = kReverse[in[i]], b = kReverse[in[i + 1]], c = kReverse[in[i + 2]];
    if (((a | b | c) & 0xC0) != 0) return false;
    // Canonical form: the 2 unused low bits of the last character are zero.
    if ((c & 0x03) != 0) return false;
    std::uint32_t v = (a << 10) | (b << 4) | (c >> 2);
    dst[0] = static_cast<unsigned char>(v >> 8);
    dst[1] = static_cast<unsigned char>(v);
  }
  return true;
}

std::optional<std::string> decode(std::string_view text) {
  std::string out;
  if (!decode(text, out)) return std::nullopt;
  return out;
}

}  // namespace careguard::base64url
