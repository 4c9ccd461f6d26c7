// careguard core: JSON Web Keys (RFC 7517, RFC 7518 section 6, RFC 8037) and
// the raw JWS signature primitives over them, built on OpenSSL 3 EVP APIs.
//
// A Key pins what it may be used for: its JWK "alg" when present, otherwise
// the algorithms its type allows (oct: HS*, RSA: RS* and PS*, EC: the one ES*
// of its curve, OKP Ed25519: EdDSA). A token's "alg" header is only ever
// checked against this, never trusted on its own, which is what rules out
// algorithm confusion (an RSA key never verifies an HS* token).
//
// Minimum strengths (RFC 7518): RSA moduli of 2048 bits or more; HMAC
// secrets of at least 32 bytes, and at least the hash size for HS384/HS512.
//
// Errors: invalid key input throws careguard::Error with SQLSTATE 22023.
// Messages and details name the offending JWK member, never its value, so
// private or secret material never reaches a log.
#pragma once

#include "careguard/core/json.hpp"

#include <cstddef>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace careguard::jwt {

// JWS algorithms careguard signs and verifies. "none" is deliberately absent.
enum class Algorithm {
  HS256,
  HS384,
  HS512,
  RS256,
  RS384,
  RS512,
  PS256,
  PS384,
  PS512,
  ES256,
  ES384,
  ES512,
  EdDSA,  // Ed25519 only.
};

// JWK "kty" values careguard understands.
enum class KeyType { Oct, Rsa, Ec, Okp };

// The JOSE name of an algorithm, e.g. "RS256".
std::string_view algorithm_name(Algorithm alg);

// The algorithm with this JOSE name; nullopt for "none" and anything unknown.
std::optional<Algorithm> algorithm_from_name(std::string_view name);

// The key type an algorithm needs.
KeyType key_type_for(Algorithm alg);

// The JWK "kty" spelling of a key type.
std::string_view key_type_name(KeyType type);

// One verification (and optionally signing) key. Move-only; owns its
// OpenSSL objects and wipes secret bytes on destruction.
class Key {
 public:
  // Parses one JWK object. `use` other than "sig" is rejected.
  static Key from_jwk(const json::Value& jwk);
  static Key from_jwk_json(std::string_view text);

  // Imports a PEM "PUBLIC KEY" (SPKI) or "PRIVATE KEY" (PKCS#8, or the
  // traditional RSA/EC forms). Encrypted PEM is rejected, never prompted for.
  static Key from_pem(std::string_view pem, std::string kid = {},
                      std::optional<Algorithm> alg = std::nullopt);

  // An HMAC key from raw secret bytes (e.g. a Supabase-style JWT secret).
  static Key from_secret(std::string_view secret, std::string kid = {},
                         std::optional<Algorithm> alg = std::nullopt);

  Key(Key&&) noexcept;
  Key& operator=(Key&&) noexcept;
  ~Key();

  const std::string& kid() const;  // Empty when the key has none.
  KeyType type() const;
  // The JWK "alg" (or the alg given on import); nullopt when not pinned.
  std::optional<Algorithm> pinned_algorithm() const;
  // What sign() uses when no alg is requested: the pinned alg, else HS256,
  // RS256, the curve's ES*, or EdDSA.
  Algorithm default_algorithm() const;
  // Whether a token with this alg may be verified or signed with this key.
  bool allows(Algorithm alg) const;
  // True for HMAC secrets and asymmetric keys that include the private part.
  bool has_private() const;
  // RSA modulus bits, EC/OKP curve bits, HMAC secret bits.
  std::size_t bits() const;
  // Human-readable name for messages: the quoted kid, or "(no kid)".
  std::string describe() const;

  // The public JWK as compact JSON: kty, crv/n/e/x/y, kid, alg, use. Never
  // contains d, p, q, dp, dq, qi or k; for an oct key it has no key material.
  std::string public_jwk_json() const;

  // Raw JWS signature over `signing_input` (ES*: the fixed-size R||S form).
  // Throws 22023 when the key lacks private material or does not allow alg.
  std::string sign_bytes(Algorithm alg, std::string_view signing_input) const;

  // True when `signature` (JWS form) is valid for `signing_input`. False
  // too when the key does not allow alg or the signature has the wrong size.
  // HMAC comparison is constant-time.
  bool verify_bytes(Algorithm alg, std::string_view signing_input,
                    std::string_view signature) const;

  struct Impl;  // Opaque: keeps OpenSSL types out of this header.

 private:
  explicit Key(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The keys currently allowed to verify tokens. Key lifecycle (standby, in
// use, revoked) is the adapter's business: it only puts usable keys here.
class KeySet {
 public:
  KeySet() = default;

  // Parses {"keys":[...]} (RFC 7517 section 5). Keys marked "use":"enc" are
  // skipped; anything else invalid rejects the whole set (22023).
  static KeySet from_jwks_json(std::string_view text);

  // Adds a key; throws 22023 when its kid duplicates one already present
  // (kid lookup must be unambiguous).
  void add(Key key);

  // Adds a key by kid and JWK text, imported (and checked by OpenSSL) only
  // when a token first selects it: a fresh backend's first sign-in then pays
  // for its own key, not for every RSA and EC key of the set. An import that
  // fails, or a JWK whose kid is not `kid`, throws 22023 at that sign-in. As
  // with add(), a key without kid is never found by kid, only as sole key.
  void add_deferred(std::string kid, std::string jwk_json);

  // The key with exactly this kid, or nullptr. An empty kid never matches.
  const Key* find(std::string_view kid) const;

  // Records the kid of a revoked key: it never verifies, but a token naming
  // it is told so instead of "unknown key id".
  void add_revoked(std::string kid);
  bool is_revoked(std::string_view kid) const;

  // The only key of the set, or nullptr when there are zero or several.
  // Tokens without a "kid" header verify only against this.
  const Key* sole_key() const;

  std::size_t size() const { return keys_.size() + deferred_.size(); }
  bool empty() const { return size() == 0; }

  // {"keys":[...]} with every key's public_jwk_json(): safe to publish.
  // Imports any deferred keys first.
  std::string public_jwks_json() const;

 private:
  struct Deferred {
    std::string kid;
    std::string jwk_json;  // May hold an HMAC secret: wiped when dropped.
    Deferred(std::string kid_, std::string jwk_json_);
    Deferred(Deferred&&) noexcept = default;
    Deferred& operator=(Deferred&&) noexcept = default;
    ~Deferred();
  };
  bool has_kid(std::string_view kid) const;
  const Key& import_deferred(std::size_t index) const;

  // Imported keys; a deque, so a Key's address (VerifiedToken::key) stays put
  // while deferred keys are imported behind it.
  mutable std::deque<Key> keys_;
  mutable std::vector<Deferred> deferred_;
  std::vector<std::string> revoked_;
};

}  // namespace careguard::jwt
