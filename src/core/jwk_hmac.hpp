// careguard core: HMAC-SHA-2 (RFC 2104) with the key absorbed once.
#pragma once

#include <openssl/sha.h>

#include <cstddef>
#include <string_view>

namespace careguard::jwt::detail {

// The two keyed halves of an HMAC: SHA-2 states that have already absorbed
// K^ipad and K^opad, so a MAC costs two state copies and the hashing proper.
// They are OpenSSL's SHA-2 states rather than EVP_MD_CTXs because copying an
// EVP_MD_CTX allocates and frees its provider state on every copy (perf:
// about 6% of a whole HS256 sign-in here; callgrind: the HMAC went from
// 12,190 to 10,870 instructions). Read-only once keyed, so MACs may share one.
// These states do not pass through OpenSSL's providers: a FIPS provider
// configured for OpenSSL does not cover HS* (docs/security-model.md).
class HmacKey {
 public:
  HmacKey() = default;
  HmacKey(const HmacKey&) = delete;
  HmacKey& operator=(const HmacKey&) = delete;
  ~HmacKey();

  // Keys it for SHA-256, SHA-384 or SHA-512; false for any other size.
  bool init(int hash_bits, std::string_view secret);
  bool keyed() const { return hash_bits_ != 0; }
  // The MAC of `input` into `mac` (64 bytes of room); its length, 0 if unkeyed.
  std::size_t compute(std::string_view input, unsigned char* mac) const;

 private:
  union State {
    SHA256_CTX sha256;
    SHA512_CTX sha512;  // SHA-384 runs on the SHA-512 state.
  };
  int hash_bits_ = 0;
  State inner_{};
  State outer_{};
};

}  // namespace careguard::jwt::detail
