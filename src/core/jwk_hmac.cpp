// careguard core: HMAC-SHA-2 on OpenSSL's SHA-2 states (see jwk_hmac.hpp).
// OpenSSL 3 marks the SHA-2 state functions deprecated in favour of EVP; they
// are kept for exactly this use, and this file is the only one using them.
#define OPENSSL_SUPPRESS_DEPRECATED
#include "jwk_hmac.hpp"

#include <openssl/crypto.h>

#include <array>
#include <cstring>

namespace careguard::jwt::detail {

namespace {

constexpr std::size_t kMaxBlockBytes = 128;  // SHA-384/512; SHA-256 has 64.

std::size_t block_bytes(int hash_bits) {
  return hash_bits == 256 ? 64 : 128;
}

bool digest_init(int hash_bits, SHA256_CTX* s256, SHA512_CTX* s512) {
  switch (hash_bits) {
    case 256:
      return SHA256_Init(s256) == 1;
    case 384:
      return SHA384_Init(s512) == 1;
    default:
      return SHA512_Init(s512) == 1;
  }
}

bool digest_update(int hash_bits, SHA256_CTX* s256, SHA512_CTX* s512, const void* data,
                   std::size_t size) {
  return hash_bits == 256 ? SHA256_Update(s256, data, size) == 1
                          : (hash_bits == 384 ? SHA384_Update(s512, data, size)
                                              : SHA512_Update(s512, data, size)) == 1;
}

bool digest_final(int hash_bits, SHA256_CTX* s256, SHA512_CTX* s512, unsigned char* out) {
  return hash_bits == 256
             ? SHA256_Final(out, s256) == 1
             : (hash_bits == 384 ? SHA384_Final(out, s512) : SHA512_Final(out, s512)) == 1;
}

}  // namespace

HmacKey::~HmacKey() {
  OPENSSL_cleanse(&inner_, sizeof inner_);
  OPENSSL_cleanse(&outer_, sizeof outer_);
}

bool HmacKey::init(int hash_bits, std::string_view secret) {
  hash_bits_ = 0;
  if (hash_bits != 256 && hash_bits != 384 && hash_bits != 512) return false;
  const std::size_t block = block_bytes(hash_bits);
  // K0: the secret, hashed first when longer than a block, zero-padded.
  std::array<unsigned char, kMaxBlockBytes> key0{};
  bool ok = true;
  if (secret.size() > block) {
    State scratch{};
    ok = digest_init(hash_bits, &scratch.sha256, &scratch.sha512) &&
         digest_update(hash_bits, &scratch.sha256, &scratch.sha512, secret.data(), secret.size()) &&
         digest_final(hash_bits, &scratch.sha256, &scratch.sha512, key0.data());
    OPENSSL_cleanse(&scratch, sizeof scratch);
  } else {
    std::memcpy(key0.data(), secret.data(), secret.size());
  }
  std::array<unsigned char, kMaxBlockBytes> pad{};
  for (std::size_t i = 0; i < block; ++i) pad[i] = static_cast<unsigned char>(key0[i] ^ 0x36);
  ok = ok && digest_init(hash_bits, &inner_.sha256, &inner_.sha512) &&
       digest_update(hash_bits, &inner_.sha256, &inner_.sha512, pad.data(), block);
  for (std::size_t i = 0; i < block; ++i) pad[i] = static_cast<unsigned char>(key0[i] ^ 0x5c);
  ok = ok && digest_init(hash_bits, &outer_.sha256, &outer_.sha512) &&
       digest_update(hash_bits, &outer_.sha256, &outer_.sha512, pad.data(), block);
  OPENSSL_cleanse(key0.data(), key0.size());
  OPENSSL_cleanse(pad.data(), pad.size());
  if (ok) hash_bits_ = hash_bits;
  return ok;
}

std::size_t HmacKey::compute(std::string_view input, unsigned char* mac) const {
  if (hash_bits_ == 0) return 0;
  const std::size_t mac_size = static_cast<std::size_t>(hash_bits_) / 8;
  State state = inner_;
  std::array<unsigned char, 64> inner_mac{};
  bool ok = digest_update(hash_bits_, &state.sha256, &state.sha512, input.data(), input.size()) &&
            digest_final(hash_bits_, &state.sha256, &state.sha512, inner_mac.data());
  state = outer_;
  ok = ok && digest_update(hash_bits_, &state.sha256, &state.sha512, inner_mac.data(), mac_size) &&
       digest_final(hash_bits_, &state.sha256, &state.sha512, mac);
  OPENSSL_cleanse(&state, sizeof state);
  OPENSSL_cleanse(inner_mac.data(), inner_mac.size());
  return ok ? mac_size : 0;
}

}  // namespace careguard::jwt::detail
