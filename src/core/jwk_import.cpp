// careguard core: JWK and PEM key import, public JWK export, and the Key
// accessors.
#include "jwk_internal.hpp"

#include "careguard/core/base64url.hpp"
#include "careguard/core/error.hpp"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include <utility>
#include <vector>

namespace careguard::jwt {

using namespace detail;

namespace detail {

[[noreturn]] void invalid_key(const std::string& message, std::string detail) {
  // OpenSSL's queue may hold diagnostics from the failed call; drop them so
  // they are not misattributed to a later, unrelated operation.
  ERR_clear_error();
  throw Error(sqlstate::kInvalidParameterValue, message, std::move(detail));
}

void cleanse(std::string& s) {
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
  s.clear();
}

std::string bn_to_bytes(const BIGNUM* bn, std::size_t padded_size) {
  std::size_t size = padded_size != 0 ? padded_size : static_cast<std::size_t>(BN_num_bytes(bn));
  std::string out(size, '\0');
  if (BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(size)) < 0) {
    throw Error(sqlstate::kInternalError, "could not encode a big number");
  }
  return out;
}

}  // namespace detail

namespace {

constexpr std::size_t kMinHmacSecretBytes = 32;
constexpr int kMinRsaBits = 2048;

// A JWK member as a string, or nullptr when absent; throws when not a string.
const json::Value* string_member(const json::Value& jwk, std::string_view name) {
  const json::Value* v = jwk.find(name);
  if (v == nullptr) return nullptr;
  if (v->kind != json::Kind::String) {
    invalid_key("JWK member \"" + std::string(name) + "\" must be a string");
  }
  return v;
}

// Decodes a base64url JWK member; empty optional when absent.
std::optional<std::string> bytes_member(const json::Value& jwk, std::string_view name) {
  const json::Value* v = string_member(jwk, name);
  if (v == nullptr) return std::nullopt;
  std::string out;
  if (!base64url::decode(v->text, out) || out.empty()) {
    invalid_key("JWK member \"" + std::string(name) + "\" is not non-empty base64url");
  }
  return out;
}

std::string required_bytes(const json::Value& jwk, std::string_view name, std::string_view kty) {
  auto bytes = bytes_member(jwk, name);
  if (!bytes) {
    invalid_key("JWK of kty \"" + std::string(kty) + "\" lacks member \"" + std::string(name) +
                "\"");
  }
  return std::move(*bytes);
}

BnPtr bn_from_bytes(std::string_view bytes) {
  BnPtr bn(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()),
                     static_cast<int>(bytes.size()), nullptr));
  if (!bn) invalid_key("could not read a big number from the JWK");
  return bn;
}

// Builds an EVP_PKEY of `openssl_type` from parameters via EVP_PKEY_fromdata.
PkeyPtr pkey_from_params(const char* openssl_type, OSSL_PARAM_BLD* bld, bool with_private) {
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld));
  if (!params) invalid_key("could not assemble the key parameters");
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, openssl_type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, with_private ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
                        params.get()) <= 0) {
    invalid_key(std::string("the JWK is not a valid ") + openssl_type + " key");
  }
  return PkeyPtr(raw);
}

// Rejects keys OpenSSL considers inconsistent (point off the curve, private
// part not matching the public one, ...).
void check_key(EVP_PKEY* pkey, bool with_private, const char* what) {
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
  if (!ctx) invalid_key("could not check the key");
  int ok = with_private ? EVP_PKEY_pairwise_check(ctx.get()) : EVP_PKEY_public_check(ctx.get());
  if (ok != 1) invalid_key(std::string("the ") + what + " key failed OpenSSL's consistency check");
}

// Checks a JWK/import "alg" against the key's type, returning the pinned alg.
std::optional<Algorithm> pin_algorithm(std::optional<std::string_view> alg_name, KeyType type) {
  if (!alg_name) return std::nullopt;
  auto alg = algorithm_from_name(*alg_name);
  if (!alg) {
    invalid_key("unsupported algorithm " + json::quote(*alg_name) + " in JWK");
  }
  if (key_type_for(*alg) != type) {
    invalid_key("algorithm " + json::quote(*alg_name) + " does not fit a key of kty " +
                json::quote(key_type_name(type)));
  }
  return alg;
}

// Validates the secret length and prepares the ready-keyed HMAC contexts.
void finish_hmac_key(Key::Impl& impl) {
  if (impl.secret.size() < kMinHmacSecretBytes) {
    invalid_key("HMAC secret is too short",
                "It must be at least " + std::to_string(kMinHmacSecretBytes) + " bytes; it is " +
                    std::to_string(impl.secret.size()) + ".");
  }
  impl.bits = impl.secret.size() * 8;
  if (impl.alg && impl.bits < static_cast<std::size_t>(info(*impl.alg).hash_bits)) {
    invalid_key("HMAC secret is too short for " + std::string(algorithm_name(*impl.alg)),
                "It must be at least as long as the hash output.");
  }
  constexpr std::array<int, 3> kHashBits = {256, 384, 512};
  for (std::size_t i = 0; i < kHashBits.size(); ++i) {
    if (impl.bits < static_cast<std::size_t>(kHashBits[i])) continue;
    if (!impl.hmac_keys[i].init(kHashBits[i], impl.secret)) {
      throw Error(sqlstate::kInternalError, "could not initialise HMAC");
    }
  }
}

std::unique_ptr<Key::Impl> rsa_from_jwk(const json::Value& jwk) {
  auto impl = std::make_unique<Key::Impl>();
  impl->type = KeyType::Rsa;
  std::string n = required_bytes(jwk, "n", "RSA");
  std::string e = required_bytes(jwk, "e", "RSA");
  BnPtr bn_n = bn_from_bytes(n), bn_e = bn_from_bytes(e);
  if (BN_num_bits(bn_n.get()) < kMinRsaBits) {
    invalid_key("RSA key is too small",
                "The modulus has " + std::to_string(BN_num_bits(bn_n.get())) + " bits; at least " +
                    std::to_string(kMinRsaBits) + " are required.");
  }
  impl->bits = static_cast<std::size_t>(BN_num_bits(bn_n.get()));
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld || !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) ||
      !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get())) {
    invalid_key("could not assemble the RSA key");
  }
  auto d = bytes_member(jwk, "d");
  std::vector<BnPtr> private_bns;  // Must outlive OSSL_PARAM_BLD_to_param.
  if (d) {
    // Signing keys need the CRT parameters: OpenSSL's consistency check and
    // fast signing both rely on them, and RFC 7518 6.3.2 says to include them.
    static constexpr std::array<std::pair<const char*, const char*>, 6> kPrivate = {{
        {"d", OSSL_PKEY_PARAM_RSA_D},
        {"p", OSSL_PKEY_PARAM_RSA_FACTOR1},
        {"q", OSSL_PKEY_PARAM_RSA_FACTOR2},
        {"dp", OSSL_PKEY_PARAM_RSA_EXPONENT1},
        {"dq", OSSL_PKEY_PARAM_RSA_EXPONENT2},
        {"qi", OSSL_PKEY_PARAM_RSA_COEFFICIENT1},
    }};
    cleanse(*d);
    for (const auto& [member, param] : kPrivate) {
      std::string bytes = required_bytes(jwk, member, "RSA (private)");
      private_bns.push_back(bn_from_bytes(bytes));
      cleanse(bytes);
      if (!OSSL_PARAM_BLD_push_BN(bld.get(), param, private_bns.back().get())) {
        invalid_key("could not assemble the RSA private key");
      }
    }
    impl->has_private = true;
  }
  impl->pkey = pkey_from_params("RSA", bld.get(), impl->has_private);
  check_key(impl->pkey.get(), impl->has_private, "RSA");
  return impl;
}

std::unique_ptr<Key::Impl> ec_from_jwk(const json::Value& jwk) {
  auto impl = std::make_unique<Key::Impl>();
  impl->type = KeyType::Ec;
  const json::Value* crv = string_member(jwk, "crv");
  if (crv == nullptr) invalid_key("JWK of kty \"EC\" lacks member \"crv\"");
  impl->curve = curve_by_jose_name(crv->text);
  if (impl->curve == nullptr) invalid_key("unsupported EC curve " + json::quote(crv->text));
  impl->bits = impl->curve->coordinate_bytes == 66 ? 521 : impl->curve->coordinate_bytes * 8;
  std::string x = required_bytes(jwk, "x", "EC");
  std::string y = required_bytes(jwk, "y", "EC");
  const std::size_t size = impl->curve->coordinate_bytes;
  // RFC 7518 6.2.1.2: coordinates are full-length octet strings.
  if (x.size() != size || y.size() != size) {
    invalid_key("EC coordinates must be " + std::to_string(size) + " bytes for " +
                std::string(impl->curve->jose_name));
  }
  std::string point = "\x04" + x + y;  // SEC1 uncompressed point.
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      !OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME,
                                       impl->curve->openssl_group, 0) ||
      !OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                        point.size())) {
    invalid_key("could not assemble the EC key");
  }
  BnPtr bn_d;
  if (auto d = bytes_member(jwk, "d")) {
    bool right_size = d->size() == size;
    bn_d = bn_from_bytes(*d);
    cleanse(*d);
    if (!right_size) invalid_key("EC private key \"d\" has the wrong length");
    if (!OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, bn_d.get())) {
      invalid_key("could not assemble the EC private key");
    }
    impl->has_private = true;
  }
  impl->pkey = pkey_from_params("EC", bld.get(), impl->has_private);
  check_key(impl->pkey.get(), impl->has_private, "EC");
  return impl;
}

std::unique_ptr<Key::Impl> okp_from_jwk(const json::Value& jwk) {
  auto impl = std::make_unique<Key::Impl>();
  impl->type = KeyType::Okp;
  impl->bits = 256;
  const json::Value* crv = string_member(jwk, "crv");
  if (crv == nullptr) invalid_key("JWK of kty \"OKP\" lacks member \"crv\"");
  if (crv->text != "Ed25519") invalid_key("unsupported OKP curve " + json::quote(crv->text));
  std::string x = required_bytes(jwk, "x", "OKP");
  if (x.size() != kEd25519Bytes) invalid_key("Ed25519 public key \"x\" must be 32 bytes");
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld) invalid_key("could not assemble the Ed25519 key");
  auto d = bytes_member(jwk, "d");
  if (d) {
    if (d->size() != kEd25519Bytes) {
      cleanse(*d);
      invalid_key("Ed25519 private key \"d\" must be 32 bytes");
    }
    // The builder keeps a pointer to d until pkey_from_params copies it.
    bool pushed =
        OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, d->data(), d->size());
    impl->has_private = true;
    // The public key is derived from d, then compared with x below:
    // OpenSSL does not check that a supplied pair belongs together.
    try {
      if (!pushed) invalid_key("could not assemble the Ed25519 key");
      impl->pkey = pkey_from_params("ED25519", bld.get(), true);
    } catch (...) {
      cleanse(*d);
      throw;
    }
    cleanse(*d);
    std::array<unsigned char, kEd25519Bytes> derived{};
    std::size_t len = derived.size();
    if (EVP_PKEY_get_raw_public_key(impl->pkey.get(), derived.data(), &len) != 1 ||
        len != derived.size() || CRYPTO_memcmp(derived.data(), x.data(), len) != 0) {
      invalid_key("Ed25519 private key \"d\" does not match public key \"x\"");
    }
    return impl;
  }
  if (!OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, x.data(), x.size())) {
    invalid_key("could not assemble the Ed25519 key");
  }
  impl->pkey = pkey_from_params("ED25519", bld.get(), false);
  return impl;
}

// Fills type, curve and size for a PEM-imported key; rejects unsupported kinds.
void classify_pem_key(Key::Impl& impl) {
  EVP_PKEY* pkey = impl.pkey.get();
  if (EVP_PKEY_is_a(pkey, "RSA")) {
    impl.type = KeyType::Rsa;
    impl.bits = static_cast<std::size_t>(EVP_PKEY_get_bits(pkey));
    if (impl.bits < static_cast<std::size_t>(kMinRsaBits)) {
      invalid_key("RSA key is too small",
                  "At least " + std::to_string(kMinRsaBits) + " bits are required.");
    }
  } else if (EVP_PKEY_is_a(pkey, "EC")) {
    impl.type = KeyType::Ec;
    char group[64] = {0};
    std::size_t len = 0;
    if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                       &len) != 1) {
      invalid_key("the EC key has no named curve");
    }
    impl.curve = curve_by_openssl_group(group);
    if (impl.curve == nullptr) invalid_key("unsupported EC curve " + json::quote(group));
    impl.bits = static_cast<std::size_t>(EVP_PKEY_get_bits(pkey));
  } else if (EVP_PKEY_is_a(pkey, "ED25519")) {
    impl.type = KeyType::Okp;
    impl.bits = 256;
  } else {
    invalid_key("unsupported PEM key type", "Use an RSA, EC (P-256, P-384, P-521) or Ed25519 key.");
  }
}

// Refuses to prompt for a passphrase: encrypted PEM simply fails to load.
int no_passphrase(char*, int, int, void*) {
  return -1;
}

}  // namespace

Key::Key(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Key::Key(Key&&) noexcept = default;
Key& Key::operator=(Key&&) noexcept = default;
Key::~Key() = default;

const std::string& Key::kid() const {
  return impl_->kid;
}
KeyType Key::type() const {
  return impl_->type;
}
std::optional<Algorithm> Key::pinned_algorithm() const {
  return impl_->alg;
}
bool Key::has_private() const {
  return impl_->has_private;
}
std::size_t Key::bits() const {
  return impl_->bits;
}

std::string Key::describe() const {
  return impl_->kid.empty() ? std::string("(no kid)") : json::quote(impl_->kid);
}

Algorithm Key::default_algorithm() const {
  if (impl_->alg) return *impl_->alg;
  switch (impl_->type) {
    case KeyType::Oct:
      return Algorithm::HS256;
    case KeyType::Rsa:
      return Algorithm::RS256;
    case KeyType::Ec:
      return impl_->curve->alg;
    case KeyType::Okp:
      return Algorithm::EdDSA;
  }
  return Algorithm::HS256;
}

Key Key::from_jwk(const json::Value& jwk) {
  if (jwk.kind != json::Kind::Object) invalid_key("a JWK must be a JSON object");
  const json::Value* kty = string_member(jwk, "kty");
  if (kty == nullptr) invalid_key("JWK lacks member \"kty\"");
  std::unique_ptr<Impl> impl;
  if (kty->text == "RSA") {
    impl = rsa_from_jwk(jwk);
  } else if (kty->text == "EC") {
    impl = ec_from_jwk(jwk);
  } else if (kty->text == "OKP") {
    impl = okp_from_jwk(jwk);
  } else if (kty->text == "oct") {
    impl = std::make_unique<Impl>();
    impl->type = KeyType::Oct;
    impl->has_private = true;
    impl->secret = required_bytes(jwk, "k", "oct");
  } else {
    invalid_key("unsupported JWK kty " + json::quote(kty->text));
  }
  if (const json::Value* kid = string_member(jwk, "kid")) impl->kid = kid->text;
  if (const json::Value* use = string_member(jwk, "use")) {
    if (use->text != "sig") invalid_key("JWK use " + json::quote(use->text) + " is not \"sig\"");
    impl->use = use->text;
  }
  const json::Value* alg = string_member(jwk, "alg");
  impl->alg =
      pin_algorithm(alg ? std::optional<std::string_view>(alg->text) : std::nullopt, impl->type);
  if (impl->alg && impl->type == KeyType::Ec && *impl->alg != impl->curve->alg) {
    invalid_key("algorithm " + json::quote(algorithm_name(*impl->alg)) + " does not fit curve " +
                json::quote(impl->curve->jose_name));
  }
  if (impl->type == KeyType::Oct) finish_hmac_key(*impl);
  return Key(std::move(impl));
}

Key Key::from_jwk_json(std::string_view text) {
  json::Value jwk;
  DomWiper wiper{jwk};
  try {
    jwk = json::parse(text, "JWK");
  } catch (const Error&) {
    // Re-raised without the parser's byte offsets into secret material.
    throw Error(sqlstate::kInvalidParameterValue, "JWK is not valid JSON");
  }
  return from_jwk(jwk);
}

Key Key::from_pem(std::string_view pem, std::string kid, std::optional<Algorithm> alg) {
  auto impl = std::make_unique<Impl>();
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) invalid_key("could not read the PEM text");
  if (pem.find("PRIVATE KEY-----") != std::string_view::npos) {
    impl->pkey.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
    impl->has_private = true;
  } else {
    impl->pkey.reset(PEM_read_bio_PUBKEY(bio.get(), nullptr, no_passphrase, nullptr));
  }
  if (!impl->pkey) invalid_key("the PEM text is not an unencrypted public or private key");
  classify_pem_key(*impl);
  check_key(impl->pkey.get(), impl->has_private, std::string(key_type_name(impl->type)).c_str());
  impl->kid = std::move(kid);
  if (alg) {
    impl->alg = pin_algorithm(algorithm_name(*alg), impl->type);
    if (impl->type == KeyType::Ec && *alg != impl->curve->alg) {
      invalid_key("algorithm " + json::quote(algorithm_name(*alg)) + " does not fit curve " +
                  json::quote(impl->curve->jose_name));
    }
  }
  return Key(std::move(impl));
}

Key Key::from_secret(std::string_view secret, std::string kid, std::optional<Algorithm> alg) {
  auto impl = std::make_unique<Impl>();
  impl->type = KeyType::Oct;
  impl->has_private = true;
  impl->secret.assign(secret.data(), secret.size());
  impl->kid = std::move(kid);
  if (alg) impl->alg = pin_algorithm(algorithm_name(*alg), KeyType::Oct);
  finish_hmac_key(*impl);
  return Key(std::move(impl));
}

std::string Key::public_jwk_json() const {
  std::string out = "{\"kty\":" + json::quote(key_type_name(impl_->type));
  EVP_PKEY* pkey = impl_->pkey.get();
  // Appends one base64url member.
  auto add_bytes = [&out](const char* name, std::string_view bytes) {
    out += ",\"";
    out += name;
    out += "\":\"";
    base64url::encode_append(bytes, out);
    out += '"';
  };
  // Appends one big-number member read from the key.
  auto add_bn = [&](const char* name, const char* param, std::size_t padded) {
    BIGNUM* raw = nullptr;
    if (EVP_PKEY_get_bn_param(pkey, param, &raw) != 1) {
      ERR_clear_error();
      throw Error(sqlstate::kInternalError, "could not export the public key");
    }
    BnPtr bn(raw);
    add_bytes(name, bn_to_bytes(bn.get(), padded));
  };
  switch (impl_->type) {
    case KeyType::Oct:
      break;  // Nothing public to show for a shared secret.
    case KeyType::Rsa:
      add_bn("n", OSSL_PKEY_PARAM_RSA_N, 0);
      add_bn("e", OSSL_PKEY_PARAM_RSA_E, 0);
      break;
    case KeyType::Ec:
      out += ",\"crv\":" + json::quote(impl_->curve->jose_name);
      add_bn("x", OSSL_PKEY_PARAM_EC_PUB_X, impl_->curve->coordinate_bytes);
      add_bn("y", OSSL_PKEY_PARAM_EC_PUB_Y, impl_->curve->coordinate_bytes);
      break;
    case KeyType::Okp: {
      out += ",\"crv\":\"Ed25519\"";
      std::array<unsigned char, kEd25519Bytes> x{};
      std::size_t len = x.size();
      if (EVP_PKEY_get_raw_public_key(pkey, x.data(), &len) != 1) {
        ERR_clear_error();
        throw Error(sqlstate::kInternalError, "could not export the public key");
      }
      add_bytes("x", std::string_view(reinterpret_cast<const char*>(x.data()), len));
      break;
    }
  }
  if (!impl_->kid.empty()) out += ",\"kid\":" + json::quote(impl_->kid);
  if (impl_->alg) out += ",\"alg\":" + json::quote(algorithm_name(*impl_->alg));
  if (!impl_->use.empty()) out += ",\"use\":" + json::quote(impl_->use);
  out += '}';
  return out;
}

}  // namespace careguard::jwt
