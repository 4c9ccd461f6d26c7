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
  if (!key.kid().empty() && find(key.kid()) != nullptr) {
    detail::invalid_key("duplicate key id " + json::quote(key.kid()) + " in key set");
  }
  keys_.push_back(std::move(key));
}

const Key* KeySet::find(std::string_view kid) const {
  if (kid.empty()) return nullptr;
  for (const Key& key : keys_)
    if (key.kid() == kid) return &key;
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
  return keys_.size() == 1 ? &keys_.front() : nullptr;
}

std::string KeySet::public_jwks_json() const {
  std::string out = "{\"keys\":[";
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    if (i != 0) out += ',';
    out += keys_[i].public_jwk_json();
  }
  out += "]}";
  return out;
}

}  // namespace careguard::jwt
