// careguard core: uuid text parsing with exactly PostgreSQL's uuid_in rules.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace careguard {

using Uuid = std::array<std::uint8_t, 16>;

// Accepts what uuid_in accepts: 32 hex digits, optional braces, and an
// optional '-' after any group of four digits. Returns nullopt otherwise.
std::optional<Uuid> parse_uuid(std::string_view text);

// Canonical lower-case 8-4-4-4-12 form.
std::string format_uuid(const Uuid& uuid);

// The same, written to out[0..35] (no terminator), for callers that format
// many ids without a string each.
constexpr std::size_t kUuidTextLength = 36;
void format_uuid_to(const Uuid& uuid, char* out);

}  // namespace careguard
