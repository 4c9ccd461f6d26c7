// careguard core: sealing and opening the identity a coordinator forwards to
// its workers (see include/careguard/core/node_identity.hpp).
#include "careguard/core/node_identity.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <charconv>

#include "careguard/core/base64url.hpp"
#include "careguard/core/error.hpp"

namespace careguard::node_identity {

namespace {

constexpr std::string_view kPrefix = "cg1.";
// Domain separation: this key never signs anything else, but the MAC input
// still says what it is for.
constexpr std::string_view kContext = "careguard node identity v1\n";

std::string mac_of(std::string_view secret, std::string_view encoded_payload) {
  if (secret.size() < kMinSecretBytes) {
    throw Error(sqlstate::kInvalidParameterValue, "careguard.node_secret is too short",
                "It needs at least 32 bytes.");
  }
  std::string input;
  input.reserve(kContext.size() + encoded_payload.size());
  input.append(kContext).append(encoded_payload);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_size = 0;
  if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac,
           &mac_size) == nullptr) {
    throw Error(sqlstate::kInternalError, "HMAC computation failed");
  }
  return std::string(reinterpret_cast<const char*>(mac), mac_size);
}

}  // namespace

std::string seal(std::string_view secret, const Identity& identity) {
  if (identity.user.find('\n') != std::string::npos) {
    throw Error(sqlstate::kInvalidParameterValue, "a user name with a line break cannot be sealed");
  }
  std::string payload = std::to_string(identity.expires_at);
  payload.append("\n").append(identity.user).append("\n").append(identity.claims);
  std::string envelope(kPrefix);
  base64url::encode_append(payload, envelope);
  std::string_view encoded_payload(envelope.data() + kPrefix.size(),
                                   envelope.size() - kPrefix.size());
  std::string mac = mac_of(secret, encoded_payload);
  envelope.push_back('.');
  base64url::encode_append(mac, envelope);
  return envelope;
}

OpenResult open(std::string_view secret, std::string_view envelope, std::string_view user,
                std::int64_t now, std::int64_t leeway_seconds, Identity& out) {
  if (envelope.substr(0, kPrefix.size()) != kPrefix) return OpenResult::kMalformed;
  std::string_view rest = envelope.substr(kPrefix.size());
  std::size_t dot = rest.find('.');
  if (dot == std::string_view::npos) return OpenResult::kMalformed;
  std::string_view encoded_payload = rest.substr(0, dot);
  std::string given_mac;
  if (!base64url::decode(rest.substr(dot + 1), given_mac)) return OpenResult::kMalformed;
  std::string expected_mac = mac_of(secret, encoded_payload);
  if (given_mac.size() != expected_mac.size() ||
      CRYPTO_memcmp(given_mac.data(), expected_mac.data(), expected_mac.size()) != 0) {
    return OpenResult::kBadSeal;
  }
  // Only a sealed payload is parsed.
  std::string payload;
  if (!base64url::decode(encoded_payload, payload)) return OpenResult::kMalformed;
  std::size_t first = payload.find('\n');
  std::size_t second = first == std::string::npos ? first : payload.find('\n', first + 1);
  if (second == std::string::npos) return OpenResult::kMalformed;
  std::int64_t expires_at = 0;
  auto parsed = std::from_chars(payload.data(), payload.data() + first, expires_at);
  if (parsed.ec != std::errc() || parsed.ptr != payload.data() + first)
    return OpenResult::kMalformed;
  if (expires_at + leeway_seconds < now) return OpenResult::kExpired;
  std::string_view sealed_user(payload.data() + first + 1, second - first - 1);
  if (sealed_user != user) return OpenResult::kOtherUser;
  out.expires_at = expires_at;
  out.user = std::string(sealed_user);
  out.claims = payload.substr(second + 1);
  return OpenResult::kOk;
}

const char* describe(OpenResult result) {
  switch (result) {
    case OpenResult::kOk:
      return "valid";
    case OpenResult::kMalformed:
      return "malformed";
    case OpenResult::kBadSeal:
      return "its seal does not verify with careguard.node_secret";
    case OpenResult::kExpired:
      return "expired";
    case OpenResult::kOtherUser:
      return "it was sealed for another user";
  }
  return "invalid";
}

}  // namespace careguard::node_identity
