// careguard core: what the jwk_*.cpp files share: Key::Impl, the algorithm
// and curve lookups, the OpenSSL ownership types and the HMAC and lazy
// context templates. Private to src/core: it names OpenSSL types, which the
// public jwk.hpp keeps out of its users' way.
#pragma once

#include "careguard/core/jwk.hpp"
#include "jwk_hmac.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/params.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace careguard::jwt {
namespace detail {

// unique_ptr deleter calling an OpenSSL free function.
template <auto FreeFn>
struct OsslFree {
  template <class T>
  void operator()(T* p) const {
    FreeFn(p);
  }
};

using PkeyPtr = std::unique_ptr<EVP_PKEY, OsslFree<EVP_PKEY_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, OsslFree<EVP_PKEY_CTX_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, OsslFree<EVP_MD_CTX_free>>;
using MdPtr = std::unique_ptr<EVP_MD, OsslFree<EVP_MD_free>>;
using ParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, OsslFree<OSSL_PARAM_BLD_free>>;
using ParamPtr = std::unique_ptr<OSSL_PARAM, OsslFree<OSSL_PARAM_free>>;
using BnPtr = std::unique_ptr<BIGNUM, OsslFree<BN_clear_free>>;
using BioPtr = std::unique_ptr<BIO, OsslFree<BIO_free>>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, OsslFree<ECDSA_SIG_free>>;

// RFC 8032: an Ed25519 public key (and private seed) is 32 bytes, a
// signature twice that.
constexpr std::size_t kEd25519Bytes = 32;

struct AlgorithmInfo {
  Algorithm alg;
  std::string_view name;
  KeyType type;
  int hash_bits;  // 0 for EdDSA, which hashes internally.
};

// The table row of an algorithm.
const AlgorithmInfo& info(Algorithm alg);

// Whether alg is one of the RSASSA-PSS algorithms (PS256, PS384, PS512).
bool is_pss(Algorithm alg);

// JOSE curves careguard supports, with OpenSSL's group name and the fixed
// coordinate size RFC 7518 requires for x, y, d and each half of R||S.
struct Curve {
  std::string_view jose_name;
  const char* openssl_group;
  std::size_t coordinate_bytes;
  Algorithm alg;
};

// The curve of a JWK "crv" ("P-256", ...), or nullptr when unsupported.
const Curve* curve_by_jose_name(std::string_view name);

// The curve of an OpenSSL group name, or nullptr when unsupported.
const Curve* curve_by_openssl_group(std::string_view group);

// The SHA-2 digest of `bits` (256, 384 or 512); throws when OpenSSL lacks it.
const EVP_MD* digest_for_bits(int bits);

// Throws careguard::Error 22023 (invalid key input) with OpenSSL's error
// queue cleared.
[[noreturn]] void invalid_key(const std::string& message, std::string detail = {});

// Wipes a string's bytes before it is released.
void cleanse(std::string& s);

// A big number as unsigned big-endian bytes, left-padded with zeros to
// padded_size when that is not 0.
std::string bn_to_bytes(const BIGNUM* bn, std::size_t padded_size = 0);

// An OpenSSL object built on first use and immutable afterwards, owned (and
// freed) by the Key it belongs to. Used for the per-key, per-algorithm
// verification contexts: building one costs provider and algorithm fetches
// under OpenSSL's locks (~2 us for RSA on OpenSSL 3.0), duplicating it does
// not. Lazy rather than built at import because a key imported just to sign
// (auth.sign re-imports its key on every call) never needs them.
//
// Thread-safe even though the PostgreSQL backend is single-threaded: the
// pointer is atomic, racing first uses each build one and all but the
// first published are freed, and the published object is only ever read
// (EVP_PKEY_CTX_dup / EVP_MD_CTX_copy_ex take it const).
template <class T, auto FreeFn>
class LazyTemplate {
 public:
  using Ptr = std::unique_ptr<T, OsslFree<FreeFn>>;

  LazyTemplate() = default;
  LazyTemplate(const LazyTemplate&) = delete;
  LazyTemplate& operator=(const LazyTemplate&) = delete;
  ~LazyTemplate() { FreeFn(ptr_.load(std::memory_order_acquire)); }

  // The object, built by make() (returning Ptr; null on failure, which is
  // not cached) the first time.
  template <class Make>
  const T* get(Make&& make) const {
    if (const T* existing = ptr_.load(std::memory_order_acquire)) return existing;
    Ptr fresh = make();
    if (!fresh) return nullptr;
    T* expected = nullptr;
    if (ptr_.compare_exchange_strong(expected, fresh.get(), std::memory_order_acq_rel,
                                     std::memory_order_acquire)) {
      return fresh.release();
    }
    return expected;  // Another thread published first; ours is freed.
  }

 private:
  mutable std::atomic<T*> ptr_{nullptr};
};

using LazyPkeyCtx = LazyTemplate<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;
using LazyMdCtx = LazyTemplate<EVP_MD_CTX, EVP_MD_CTX_free>;

// Wipes every string of a parsed JWK/JWKS when it goes out of scope: the DOM
// holds copies of private members.
struct DomWiper {
  json::Value& root;
  static void wipe(json::Value& v) {
    cleanse(v.text);
    for (auto& item : v.items) wipe(item);
    for (auto& member : v.members) wipe(member.second);
  }
  ~DomWiper() { wipe(root); }
};

}  // namespace detail

struct Key::Impl {
  KeyType type = KeyType::Oct;
  std::string kid;
  std::string use;
  std::optional<Algorithm> alg;
  bool has_private = false;
  std::size_t bits = 0;
  const detail::Curve* curve = nullptr;  // EC only.
  detail::PkeyPtr pkey;                  // Asymmetric keys.
  std::string secret;                    // oct only.
  // oct only: HMAC halves keyed and ready, one per HS* the key allows
  // (HS256, HS384, HS512), built at import; see HmacKey.
  std::array<detail::HmacKey, 3> hmac_keys;
  // Verification contexts, built on first use (see LazyTemplate): RSA keys
  // have one EVP_PKEY_CTX per algorithm (RS256..PS512 in enum order: digest
  // and padding set), EC keys use slot 0 (their curve's ES*), and Ed25519
  // keys the EVP_MD_CTX below (EVP_DigestVerifyInit done; OpenSSL 3.0 has
  // no pre-hashed Ed25519 verify to build an EVP_PKEY_CTX for). Each
  // verification duplicates one instead of fetching and initialising anew.
  // The Key itself stays logically const: these only cache derived state.
  std::array<detail::LazyPkeyCtx, 6> verify_templates;
  detail::LazyMdCtx eddsa_verify_template;

  ~Impl() { detail::cleanse(secret); }
};

}  // namespace careguard::jwt
