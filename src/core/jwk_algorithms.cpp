// careguard core: the JWS algorithm and JOSE curve tables, and the digests
// they name.
#include "jwk_internal.hpp"

#include "careguard/core/error.hpp"

namespace careguard::jwt {
namespace detail {

namespace {

// In enum order: info() indexes it by Algorithm.
constexpr std::array<AlgorithmInfo, 13> kAlgorithms = {{
    {Algorithm::HS256, "HS256", KeyType::Oct, 256},
    {Algorithm::HS384, "HS384", KeyType::Oct, 384},
    {Algorithm::HS512, "HS512", KeyType::Oct, 512},
    {Algorithm::RS256, "RS256", KeyType::Rsa, 256},
    {Algorithm::RS384, "RS384", KeyType::Rsa, 384},
    {Algorithm::RS512, "RS512", KeyType::Rsa, 512},
    {Algorithm::PS256, "PS256", KeyType::Rsa, 256},
    {Algorithm::PS384, "PS384", KeyType::Rsa, 384},
    {Algorithm::PS512, "PS512", KeyType::Rsa, 512},
    {Algorithm::ES256, "ES256", KeyType::Ec, 256},
    {Algorithm::ES384, "ES384", KeyType::Ec, 384},
    {Algorithm::ES512, "ES512", KeyType::Ec, 512},
    {Algorithm::EdDSA, "EdDSA", KeyType::Okp, 0},
}};

constexpr std::array<Curve, 3> kCurves = {{
    {"P-256", "prime256v1", 32, Algorithm::ES256},
    {"P-384", "secp384r1", 48, Algorithm::ES384},
    {"P-521", "secp521r1", 66, Algorithm::ES512},
}};

}  // namespace

const AlgorithmInfo& info(Algorithm alg) {
  return kAlgorithms[static_cast<std::size_t>(alg)];
}

bool is_pss(Algorithm alg) {
  return alg == Algorithm::PS256 || alg == Algorithm::PS384 || alg == Algorithm::PS512;
}

const Curve* curve_by_jose_name(std::string_view name) {
  for (const auto& c : kCurves)
    if (c.jose_name == name) return &c;
  return nullptr;
}

const Curve* curve_by_openssl_group(std::string_view group) {
  for (const auto& c : kCurves)
    if (group == c.openssl_group) return &c;
  // OpenSSL may report the NIST alias for a PEM-imported key.
  return curve_by_jose_name(group);
}

// Digests fetched once per process: EVP_MD_fetch is a locked table lookup,
// not something to repeat on every verification.
const EVP_MD* digest_for_bits(int bits) {
  static const std::array<MdPtr, 3> digests = {
      MdPtr(EVP_MD_fetch(nullptr, "SHA256", nullptr)),
      MdPtr(EVP_MD_fetch(nullptr, "SHA384", nullptr)),
      MdPtr(EVP_MD_fetch(nullptr, "SHA512", nullptr)),
  };
  const EVP_MD* md = bits == 256   ? digests[0].get()
                     : bits == 384 ? digests[1].get()
                                   : digests[2].get();
  if (md == nullptr) throw Error(sqlstate::kInternalError, "OpenSSL has no SHA-2 digest");
  return md;
}

}  // namespace detail

std::string_view algorithm_name(Algorithm alg) {
  return detail::info(alg).name;
}

std::optional<Algorithm> algorithm_from_name(std::string_view name) {
  for (const auto& a : detail::kAlgorithms)
    if (a.name == name) return a.alg;
  return std::nullopt;
}

KeyType key_type_for(Algorithm alg) {
  return detail::info(alg).type;
}

std::string_view key_type_name(KeyType type) {
  switch (type) {
    case KeyType::Oct:
      return "oct";
    case KeyType::Rsa:
      return "RSA";
    case KeyType::Ec:
      return "EC";
    case KeyType::Okp:
      return "OKP";
  }
  return "?";
}

}  // namespace careguard::jwt
