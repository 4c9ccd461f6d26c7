// careguard core: compact JWS verification and signing with claim checks.
#include "careguard/core/jwt.hpp"

#include "careguard/core/base64url.hpp"
#include "careguard/core/calendar.hpp"
#include "careguard/core/error.hpp"
#include "careguard/core/uuid.hpp"

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>

namespace careguard::jwt {

namespace {

// Longest attacker-supplied text (kid, alg) echoed into a message.
constexpr std::size_t kMaxEchoBytes = 64;
// Claims nest (app_metadata, ...) but never this deep in a real token.
constexpr std::size_t kMaxJsonDepth = 64;

[[noreturn]] void reject(const std::string& message, std::string detail = {}) {
  throw Error(sqlstate::kInvalidAuthorization, message, std::move(detail));
}

[[noreturn]] void malformed(const std::string& why) {
  reject("malformed token: " + why);
}

// Quotes token-supplied text for a message, cut at a UTF-8 boundary so a
// hostile token cannot flood logs or split a multi-byte character.
std::string quote_untrusted(std::string_view text) {
  if (text.size() <= kMaxEchoBytes) return json::quote(text);
  std::size_t cut = kMaxEchoBytes;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return json::quote(text.substr(0, cut)) + "...";
}

// Parses a decoded header or payload; JSON errors become "malformed token".
json::Value parse_part(std::string_view text, const char* part, std::size_t max_bytes) {
  json::Limits limits;
  limits.max_depth = kMaxJsonDepth;
  limits.max_bytes = max_bytes;
  try {
    return json::parse(text, part, limits);
  } catch (const Error& e) {
    malformed(e.what());
  }
}

// A NumericDate claim (RFC 7519 section 2): any finite JSON number.
std::optional<double> numeric_date(const json::Value& claims, std::string_view name) {
  const json::Value* v = claims.find(name);
  if (v == nullptr) return std::nullopt;
  if (v->kind != json::Kind::Number) malformed(std::string(name) + " claim is not a number");
  double value = 0;
  const char* first = v->text.data();
  const char* last = first + v->text.size();
  auto [end, ec] = std::from_chars(first, last, value);
  if (ec != std::errc() || end != last || !std::isfinite(value)) {
    malformed(std::string(name) + " claim is out of range");
  }
  return value;
}

std::int64_t current_unix_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Checks exp, nbf and iat against now with the configured leeway.
void check_times(VerifiedToken& token, const VerifyOptions& options) {
  const double now = static_cast<double>(options.now ? *options.now : current_unix_seconds());
  const double leeway = static_cast<double>(options.leeway_seconds);
  token.exp = numeric_date(token.claims, "exp");
  token.nbf = numeric_date(token.claims, "nbf");
  token.iat = numeric_date(token.claims, "iat");
  // RFC 7519 4.1.4: the token is invalid on or after exp.
  if (token.exp && now - leeway >= *token.exp) {
    reject("token expired at " + format_utc(*token.exp));
  }
  if (!token.exp && options.require_exp) reject("missing exp claim");
  if (token.nbf && now + leeway < *token.nbf) {
    reject("token not valid before " + format_utc(*token.nbf));
  }
  if (token.iat && *token.iat > now + leeway) {
    reject("token issued in the future at " + format_utc(*token.iat));
  }
}

void check_issuer(const json::Value& claims, const VerifyOptions& options) {
  if (options.issuer.empty()) return;
  const json::Value* iss = claims.find("iss");
  if (iss == nullptr || iss->kind != json::Kind::String || iss->text != options.issuer) {
    reject("issuer mismatch", "Expected issuer " + json::quote(options.issuer) + ".");
  }
}

bool audience_accepted(std::string_view aud, const VerifyOptions& options) {
  for (const auto& accepted : options.audiences)
    if (aud == accepted) return true;
  return false;
}

void check_audience(const json::Value& claims, const VerifyOptions& options) {
  if (options.audiences.empty()) return;
  const json::Value* aud = claims.find("aud");
  bool accepted = false;
  if (aud == nullptr) {
    accepted = false;
  } else if (aud->kind == json::Kind::String) {
    accepted = audience_accepted(aud->text, options);
  } else if (aud->kind == json::Kind::Array) {
    for (const json::Value& item : aud->items) {
      if (item.kind != json::Kind::String)
        malformed("aud claim is not a string or array of strings");
      accepted = accepted || audience_accepted(item.text, options);
    }
  } else {
    malformed("aud claim is not a string or array of strings");
  }
  if (!accepted) reject("audience mismatch");
}

void check_subject(const json::Value& claims, const VerifyOptions& options) {
  if (!options.require_uuid_sub) return;
  const json::Value* role = claims.find("role");
  if (role != nullptr && role->kind == json::Kind::String) {
    for (const auto& exempt : options.roles_exempt_from_uuid_sub)
      if (role->text == exempt) return;
  }
  const json::Value* sub = claims.find("sub");
  if (sub == nullptr || sub->kind == json::Kind::Null) return;  // auth.uid() is then NULL.
  if (sub->kind != json::Kind::String || !parse_uuid(sub->text)) {
    reject("sub claim is not a uuid", sub->kind == json::Kind::String
                                          ? "The sub claim is " + quote_untrusted(sub->text) + "."
                                          : "The sub claim is not a string.");
  }
}

// Selects the verification key from the header's kid, or the sole key.
const Key& select_key(const std::optional<std::string>& kid, const KeySet& keys) {
  if (kid) {
    const Key* key = keys.find(*kid);
    if (key == nullptr && keys.is_revoked(*kid))
      reject("key " + quote_untrusted(*kid) + " is revoked");
    if (key == nullptr) reject("unknown key id " + quote_untrusted(*kid));
    return *key;
  }
  const Key* key = keys.sole_key();
  if (key == nullptr) {
    reject("missing kid header",
           "The key set holds " + std::to_string(keys.size()) +
               " keys; a token without kid is accepted only when it holds exactly one.");
  }
  return *key;
}

// What verification takes from a protected header: nothing in it depends on
// the key set or the clock, so it can be remembered.
struct HeaderFacts {
  std::string encoded;  // The header part of the token, as sent.
  std::string json;     // Its decoded bytes.
  Algorithm alg = Algorithm::HS256;
  std::optional<std::string> kid;
};

HeaderFacts read_header(std::string_view encoded, std::size_t max_bytes) {
  HeaderFacts facts;
  if (!base64url::decode(encoded, facts.json)) malformed("header is not base64url");
  const json::Value header = parse_part(facts.json, "header", max_bytes);
  if (header.kind != json::Kind::Object) malformed("header is not a JSON object");
  const json::Value* alg = header.find("alg");
  if (alg == nullptr) malformed("header has no alg");
  if (alg->kind != json::Kind::String) malformed("alg header is not a string");
  const std::optional<Algorithm> algorithm = algorithm_from_name(alg->text);
  if (!algorithm) reject("unsupported algorithm " + quote_untrusted(alg->text));
  // RFC 7515 4.1.11: unknown critical extensions must be refused; careguard
  // implements none (this also refuses RFC 7797 unencoded payloads).
  if (header.find("crit") != nullptr) malformed("crit header is not supported");
  facts.alg = *algorithm;
  if (const json::Value* kid = header.find("kid")) {
    if (kid->kind != json::Kind::String) malformed("kid header is not a string");
    facts.kid = kid->text;
  }
  facts.encoded.assign(encoded);
  return facts;
}

// The facts of this header. An issuer's tokens share their header byte for
// byte, so the last accepted one is kept (one entry, so bounded by the token
// size limit): a sign-in then decodes and parses only its payload.
const HeaderFacts& header_facts(std::string_view encoded, std::size_t max_bytes) {
  thread_local HeaderFacts last;
  if (last.encoded.empty() || last.encoded != encoded) last = read_header(encoded, max_bytes);
  return last;
}

}  // namespace

std::string format_utc(double unix_seconds) {
  // Beyond +-10^13 s (year ~318000) a calendar date says nothing useful.
  if (!(std::fabs(unix_seconds) < 1e13)) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g (Unix time)", unix_seconds);
    return buf;
  }
  const CivilTime at = civil_from_unix_seconds(static_cast<std::int64_t>(std::floor(unix_seconds)));
  const std::int64_t secs = at.second_of_day;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lldZ",
                static_cast<long long>(at.date.year), static_cast<long long>(at.date.month),
                static_cast<long long>(at.date.day), static_cast<long long>(secs / 3600),
                static_cast<long long>(secs / 60 % 60), static_cast<long long>(secs % 60));
  return buf;
}

VerifiedToken verify(std::string_view token, const KeySet& keys, const VerifyOptions& options) {
  if (token.size() > options.max_token_bytes) {
    reject("token too large", "The limit is " + std::to_string(options.max_token_bytes) +
                                  " bytes; the token has " + std::to_string(token.size()) + ".");
  }
  const std::size_t dot1 = token.find('.');
  const std::size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    malformed("expected three dot-separated parts");
  }
  const std::string_view header_part = token.substr(0, dot1);
  const std::string_view payload_part = token.substr(dot1 + 1, dot2 - dot1 - 1);
  const std::string_view signature_part = token.substr(dot2 + 1);

  VerifiedToken out;
  const HeaderFacts& header = header_facts(header_part, options.max_token_bytes);
  out.header_json = header.json;
  out.alg = header.alg;
  if (header.kid) out.kid = *header.kid;
  const Key& key = select_key(header.kid, keys);
  if (!key.allows(out.alg)) {
    reject("algorithm mismatch: key " + key.describe() + " does not allow " +
           json::quote(algorithm_name(out.alg)));
  }
  // Reused, like the header above: a signature is public and bounded by the token limit.
  thread_local std::string signature;
  if (!base64url::decode(signature_part, signature)) malformed("signature is not base64url");
  if (!key.verify_bytes(out.alg, token.substr(0, dot2), signature)) {
    throw Error(sqlstate::kInvalidPassword, "signature mismatch");
  }
  out.key = &key;

  // Only now, with the signature checked, is the payload looked at.
  if (!base64url::decode(payload_part, out.payload_json)) malformed("payload is not base64url");
  out.claims = parse_part(out.payload_json, "payload", options.max_token_bytes);
  if (out.claims.kind != json::Kind::Object) malformed("payload is not a JSON object");
  check_times(out, options);
  check_issuer(out.claims, options);
  check_audience(out.claims, options);
  check_subject(out.claims, options);
  return out;
}

std::string sign(std::string_view claims_json, const Key& key, std::string_view alg,
                 std::string_view kid_override) {
  Algorithm algorithm = key.default_algorithm();
  if (!alg.empty()) {
    auto named = algorithm_from_name(alg);
    if (!named) {
      throw Error(sqlstate::kInvalidParameterValue, "unsupported algorithm " + json::quote(alg));
    }
    algorithm = *named;
  }
  json::Value claims;
  try {
    claims = json::parse(claims_json, "claims");
  } catch (const Error& e) {
    throw Error(sqlstate::kInvalidParameterValue, e.what());
  }
  if (claims.kind != json::Kind::Object) {
    throw Error(sqlstate::kInvalidParameterValue, "claims must be a JSON object");
  }
  std::string header = "{\"alg\":" + json::quote(algorithm_name(algorithm)) + ",\"typ\":\"JWT\"";
  const std::string_view kid = kid_override.empty() ? std::string_view(key.kid()) : kid_override;
  if (!kid.empty()) header += ",\"kid\":" + json::quote(kid);
  header += '}';

  std::string token;
  token.reserve((header.size() + claims_json.size()) * 4 / 3 + 200);
  base64url::encode_append(header, token);
  token += '.';
  base64url::encode_append(claims_json, token);
  const std::string signature = key.sign_bytes(algorithm, token);
  token += '.';
  base64url::encode_append(signature, token);
  return token;
}

}  // namespace careguard::jwt
