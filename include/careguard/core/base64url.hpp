// careguard core: strict base64url (RFC 4648 section 5) as JOSE uses it:
// no padding, no whitespace, and only the canonical encoding of each byte
// string is accepted, so a token has exactly one spelling.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace careguard::base64url {

// Encodes bytes without padding.
std::string encode(std::string_view bytes);

// Appends the encoding of bytes to out (avoids a temporary when building tokens).
void encode_append(std::string_view bytes, std::string& out);

// Decodes into out (replacing its contents). Returns false, leaving out
// unspecified, on any character outside [A-Za-z0-9_-], on '=' padding, on a
// length of 1 mod 4, or on non-zero unused trailing bits (non-canonical).
bool decode(std::string_view text, std::string& out);

// Convenience form of decode: nullopt when the text is not strict base64url.
std::optional<std::string> decode(std::string_view text);

// Exact decoded length of a valid encoding of `encoded_length` characters.
inline std::size_t decoded_size(std::size_t encoded_length) {
  return encoded_length / 4 * 3 + (encoded_length % 4 == 0 ? 0 : encoded_length % 4 - 1);
}

}  // namespace careguard::base64url
