// careguard core: JWS signing and verification (HMAC, RSA PKCS#1 v1.5 and
// PSS, ECDSA, Ed25519) over a Key.
#include "jwk_internal.hpp"

#include "careguard/core/error.hpp"

#include <openssl/err.h>
#include <openssl/rsa.h>

#include <cstring>

namespace careguard::jwt {

using namespace detail;

namespace {

// Longest DER ECDSA-Sig-Value for P-521: SEQUENCE header (3 bytes, long
// form) and two INTEGERs of tag, length, sign byte and 66 bytes.
constexpr std::size_t kMaxEcdsaDerBytes = 3 + 2 * (2 + 1 + 66);

// Writes one DER INTEGER holding the unsigned big-endian `bytes` (at most
// 126 of them): leading zero bytes dropped (one kept for zero), a 0x00
// prepended when the top bit is set. Returns the encoded size.
std::size_t der_unsigned_integer(const unsigned char* bytes, std::size_t size, unsigned char* out) {
  while (size > 1 && bytes[0] == 0) {
    ++bytes;
    --size;
  }
  const bool sign_byte = (bytes[0] & 0x80) != 0;
  std::size_t pos = 0;
  out[pos++] = 0x02;
  out[pos++] = static_cast<unsigned char>(size + (sign_byte ? 1 : 0));
  if (sign_byte) out[pos++] = 0x00;
  std::memcpy(out + pos, bytes, size);
  return pos + size;
}

// Raw R||S (JWS) to the DER ECDSA-Sig-Value OpenSSL verifies, written
// directly (the canonical DER that i2d_ECDSA_SIG produces) instead of via
// ECDSA_SIG and two BIGNUMs. Returns the DER size; 0 when raw has the wrong
// size for the curve.
std::size_t ecdsa_raw_to_der(std::string_view raw, std::size_t coordinate_bytes,
                             std::array<unsigned char, kMaxEcdsaDerBytes>& der) {
  if (raw.size() != 2 * coordinate_bytes || coordinate_bytes == 0 || coordinate_bytes > 66) {
    return 0;
  }
  const auto* bytes = reinterpret_cast<const unsigned char*>(raw.data());
  std::array<unsigned char, kMaxEcdsaDerBytes> body{};
  std::size_t body_len = der_unsigned_integer(bytes, coordinate_bytes, body.data());
  body_len +=
      der_unsigned_integer(bytes + coordinate_bytes, coordinate_bytes, body.data() + body_len);
  std::size_t pos = 0;
  der[pos++] = 0x30;
  if (body_len >= 0x80) der[pos++] = 0x81;  // Long form: body_len <= 138 fits one byte.
  der[pos++] = static_cast<unsigned char>(body_len);
  std::memcpy(der.data() + pos, body.data(), body_len);
  return pos + body_len;
}

// DER ECDSA-Sig-Value from OpenSSL to the fixed-size JWS R||S form.
std::string ecdsa_der_to_raw(std::string_view der, std::size_t coordinate_bytes) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig) throw Error(sqlstate::kInternalError, "OpenSSL produced an unreadable ECDSA signature");
  return bn_to_bytes(ECDSA_SIG_get0_r(sig.get()), coordinate_bytes) +
         bn_to_bytes(ECDSA_SIG_get0_s(sig.get()), coordinate_bytes);
}

// A verification context for `alg` (RS*, PS* or ES*) over `pkey`: verify
// initialised, digest (and for PS*: PSS padding, salt length = digest length)
// set, i.e. what EVP_DigestVerifyInit sets up, minus the digest context.
PkeyCtxPtr make_verify_ctx(EVP_PKEY* pkey, Algorithm alg) {
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
  bool ok = ctx && EVP_PKEY_verify_init(ctx.get()) == 1 &&
            EVP_PKEY_CTX_set_signature_md(ctx.get(), digest_for_bits(info(alg).hash_bits)) == 1;
  if (ok && is_pss(alg)) {
    ok = EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PSS_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx.get(), RSA_PSS_SALTLEN_DIGEST) == 1;
  }
  if (!ok) {
    ERR_clear_error();
    return nullptr;
  }
  return ctx;
}

// An Ed25519 EVP_DigestVerifyInit'ed context over `pkey`.
MdCtxPtr make_eddsa_verify_ctx(EVP_PKEY* pkey) {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey) != 1) {
    ERR_clear_error();
    return nullptr;
  }
  return ctx;
}

}  // namespace

bool Key::allows(Algorithm alg) const {
  if (impl_->alg && *impl_->alg != alg) return false;
  const AlgorithmInfo& a = info(alg);
  if (a.type != impl_->type) return false;
  if (impl_->type == KeyType::Ec) return impl_->curve->alg == alg;
  // RFC 7518 3.2: the HMAC key must be at least as long as the hash output.
  if (impl_->type == KeyType::Oct) return impl_->bits >= static_cast<std::size_t>(a.hash_bits);
  return true;
}

std::string Key::sign_bytes(Algorithm alg, std::string_view signing_input) const {
  if (!allows(alg)) {
    invalid_key("key " + describe() + " does not allow algorithm " +
                json::quote(algorithm_name(alg)));
  }
  if (!impl_->has_private) invalid_key("key " + describe() + " has no private part to sign with");
  const AlgorithmInfo& a = info(alg);
  const auto* input = reinterpret_cast<const unsigned char*>(signing_input.data());
  if (impl_->type == KeyType::Oct) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
    const std::size_t len =
        impl_->hmac_keys[(a.hash_bits - 256) / 128].compute(signing_input, mac.data());
    if (len != static_cast<std::size_t>(a.hash_bits / 8)) {
      throw Error(sqlstate::kInternalError, "HMAC computation failed");
    }
    return std::string(reinterpret_cast<const char*>(mac.data()), len);
  }
  MdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;  // Owned by ctx.
  const EVP_MD* md = a.hash_bits != 0 ? digest_for_bits(a.hash_bits) : nullptr;
  bool ok = ctx && EVP_DigestSignInit(ctx.get(), &pctx, md, nullptr, impl_->pkey.get()) == 1;
  if (ok && is_pss(alg)) {
    ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1;
  }
  std::size_t len = 0;
  ok = ok && EVP_DigestSign(ctx.get(), nullptr, &len, input, signing_input.size()) == 1;
  std::string sig(len, '\0');
  ok = ok && EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, input,
                            signing_input.size()) == 1;
  if (!ok) {
    ERR_clear_error();
    throw Error(sqlstate::kInternalError, "signing with key " + describe() + " failed");
  }
  sig.resize(len);
  if (impl_->type == KeyType::Ec) return ecdsa_der_to_raw(sig, impl_->curve->coordinate_bytes);
  return sig;
}

bool Key::verify_bytes(Algorithm alg, std::string_view signing_input,
                       std::string_view signature) const {
  if (!allows(alg)) return false;
  const AlgorithmInfo& a = info(alg);
  if (impl_->type == KeyType::Oct) {
    const std::size_t mac_size = static_cast<std::size_t>(a.hash_bits / 8);
    if (signature.size() != mac_size) return false;
    std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
    const std::size_t len =
        impl_->hmac_keys[(a.hash_bits - 256) / 128].compute(signing_input, mac.data());
    const bool valid =
        len == mac_size && CRYPTO_memcmp(mac.data(), signature.data(), mac_size) == 0;
    // The right MAC for an input the caller chose is not left on the stack.
    OPENSSL_cleanse(mac.data(), mac.size());
    return valid;
  }
  EVP_PKEY* pkey = impl_->pkey.get();
  const auto* sig = reinterpret_cast<const unsigned char*>(signature.data());
  std::size_t sig_len = signature.size();
  bool ok = false;
  if (impl_->type == KeyType::Okp) {
    // Ed25519 hashes internally: copy the DigestVerifyInit'ed template.
    if (sig_len != 2 * kEd25519Bytes) return false;
    const EVP_MD_CTX* tmpl =
        impl_->eddsa_verify_template.get([pkey] { return make_eddsa_verify_ctx(pkey); });
    MdCtxPtr ctx(EVP_MD_CTX_new());
    if (tmpl == nullptr || !ctx || EVP_MD_CTX_copy_ex(ctx.get(), tmpl) != 1) {
      ctx = make_eddsa_verify_ctx(pkey);  // A provider that cannot copy: initialise afresh.
    }
    ok = ctx && EVP_DigestVerify(ctx.get(), sig, sig_len,
                                 reinterpret_cast<const unsigned char*>(signing_input.data()),
                                 signing_input.size()) == 1;
  } else {
    // RSA and ECDSA: hash with the prefetched digest, then check the hash
    // with a duplicate of the key's ready context for alg. This is exactly
    // what EVP_DigestVerify does inside the provider, minus the fetches.
    // RFC 8017 8.2.2 and 8.1.2: an RSA signature is exactly as long as the
    // modulus. OpenSSL also accepts one with a leading zero byte dropped.
    if (impl_->type == KeyType::Rsa &&
        sig_len != static_cast<std::size_t>(EVP_PKEY_get_size(pkey))) {
      return false;
    }
    std::array<unsigned char, kMaxEcdsaDerBytes> der{};
    if (impl_->type == KeyType::Ec) {
      sig_len = ecdsa_raw_to_der(signature, impl_->curve->coordinate_bytes, der);
      if (sig_len == 0) return false;
      sig = der.data();
    }
    std::array<unsigned char, EVP_MAX_MD_SIZE> hash{};
    unsigned int hash_len = 0;
    const std::size_t slot =
        impl_->type == KeyType::Rsa
            ? static_cast<std::size_t>(alg) - static_cast<std::size_t>(Algorithm::RS256)
            : 0;
    const EVP_PKEY_CTX* tmpl =
        impl_->verify_templates[slot].get([pkey, alg] { return make_verify_ctx(pkey, alg); });
    PkeyCtxPtr ctx(tmpl != nullptr ? EVP_PKEY_CTX_dup(tmpl) : nullptr);
    if (!ctx) ctx = make_verify_ctx(pkey, alg);  // A provider that cannot duplicate.
    ok = ctx &&
         EVP_Digest(signing_input.data(), signing_input.size(), hash.data(), &hash_len,
                    digest_for_bits(a.hash_bits), nullptr) == 1 &&
         EVP_PKEY_verify(ctx.get(), sig, sig_len, hash.data(), hash_len) == 1;
  }
  if (!ok) ERR_clear_error();
  return ok;
}

}  // namespace careguard::jwt
