// careguard core: KeySet, the keys allowed to verify tokens and the kids of
// revoked ones.
#include "jwk_internal.hpp"

#include "careguard/core/error.hpp"

#include <utility>

namespace careguard::jwt {

KeySet KeySet::from_jwks_json(std::string_view text) {
  json::Value doc;
  detail::DomWiper wiper{doc};
  try {
    doc = json::parse(text, "JWKS");
  } catch (const Error&) {
    throw Error(sqlstate::kInvalidParameterValue, "JWKS is not valid JSON");
  }
  const json::Value* keys = doc.find("keys");
  if (keys == nullptr || keys->kind != json::Kind::Array) {
    detail::invalid_key("JWKS must be an object with a \"keys\" array");
  }
  KeySet set;
  for (const json::Value& jwk : keys->items) {
    const json::Value* use = jwk.find("use");
    if (use != nullptr && use->kind == json::Kind::String && use->text == "enc") continue;
    set.add(Key::from_jwk(jwk));
  }
  return set;
}

void KeySet::add(Key key) {
  if (has_kid(key.kid())) {
    detail::invalid_key("duplicate key id " + json::quote(key.kid()) + " in key set");
  }
  keys_.push_back(std::move(key));
}

void KeySet::add_deferred(std::string kid, std::string jwk_json) {
  if (has_kid(kid)) {
    detail::cleanse(jwk_json);
    detail::invalid_key("duplicate key id " + json::quote(kid) + " in key set");
  }
  deferred_.emplace_back(std::move(kid), std::move(jwk_json));
}

bool KeySet::has_kid(std::string_view kid) const {
  if (kid.empty()) return false;
  for (const Key& key : keys_)
    if (key.kid() == kid) return true;
  for (const Deferred& pending : deferred_)
    if (pending.kid == kid) return true;
  return false;
}

const Key& KeySet::import_deferred(std::size_t index) const {
  Deferred& pending = deferred_[index];
  // Whoever presents a token naming the kid sees this error, signed or not:
  // it says which key is unusable, never why (a secret's length, another
  // key's kid). The key's owner finds out with careguard.inspect_jwk().
  const auto unusable = [&pending] {
    detail::invalid_key("stored key " + json::quote(pending.kid) + " cannot be used",
                        "careguard.inspect_jwk() on its JWK in auth.signing_keys says why.");
  };
  std::optional<Key> imported;
  try {
    imported.emplace(Key::from_jwk_json(pending.jwk_json));
  } catch (const Error&) {
    unusable();
  }
  Key key = std::move(*imported);
  if (key.kid() != pending.kid) unusable();
  detail::cleanse(pending.jwk_json);  // before erase() moves buffers around
  deferred_.erase(deferred_.begin() + static_cast<std::ptrdiff_t>(index));
  keys_.push_back(std::move(key));
  return keys_.back();
}

const Key* KeySet::find(std::string_view kid) const {
  if (kid.empty()) return nullptr;
  for (const Key& key : keys_)
    if (key.kid() == kid) return &key;
  for (std::size_t i = 0; i < deferred_.size(); ++i)
    if (deferred_[i].kid == kid) return &import_deferred(i);
  return nullptr;
}

void KeySet::add_revoked(std::string kid) {
  if (!kid.empty()) revoked_.push_back(std::move(kid));
}

bool KeySet::is_revoked(std::string_view kid) const {
  for (const std::string& revoked : revoked_)
    if (revoked == kid) return true;
  return false;
}

const Key* KeySet::sole_key() const {
  if (size() != 1) return nullptr;
  return keys_.empty() ? &import_deferred(0) : &keys_.front();
}

KeySet::Deferred::Deferred(std::string kid_, std::string jwk_json_)
    : kid(std::move(kid_)), jwk_json(std::move(jwk_json_)) {}

KeySet::Deferred::~Deferred() {
  detail::cleanse(jwk_json);
}

std::string KeySet::public_jwks_json() const {
  while (!deferred_.empty()) import_deferred(0);
  std::string out = "{\"keys\":[";
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    if (i != 0) out += ',';
    out += keys_[i].public_jwk_json();
  }
  out += "]}";
  return out;
}

}  // namespace careguard::jwt
