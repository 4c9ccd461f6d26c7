// libFuzzer harness over the JWT core: base64url, JSON, JWK and verify().
// The first input byte picks a target; every target must either succeed or
// throw careguard::Error. Any other exception, crash or sanitizer report is
// a finding.
#include "careguard/core/base64url.hpp"
#include "careguard/core/error.hpp"
#include "careguard/core/json.hpp"
#include "careguard/core/jwk.hpp"
#include "careguard/core/jwt.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

using careguard::jwt::Key;
using careguard::jwt::KeySet;

const std::string kSecret = "fuzz-secret-fuzz-secret-fuzz-secret-0123456789abcdef0123456789ab";

// Fixed keys: HMAC (kid hs), RFC 7515 A.3 P-256 (kid ec), RFC 8037 Ed25519 (kid ed).
const KeySet& fixed_keys() {
  static const KeySet set = [] {
    KeySet s;
    s.add(Key::from_secret(kSecret, "hs"));
    s.add(Key::from_jwk_json(
        R"({"kty":"EC","crv":"P-256","kid":"ec","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",)"
        R"("y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"})"));
    s.add(Key::from_jwk_json(
        R"({"kty":"OKP","crv":"Ed25519","kid":"ed","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})"));
    return s;
  }();
  return set;
}

careguard::jwt::VerifyOptions fixed_options() {
  careguard::jwt::VerifyOptions o;
  o.now = 1700000000;
  o.issuer = "https://issuer.example";
  o.audiences = {"authenticated"};
  o.require_uuid_sub = true;
  o.roles_exempt_from_uuid_sub = {"anon", "service_role"};
  return o;
}

// Successful verifications must satisfy what verify() promises.
void check_invariants(const careguard::jwt::VerifiedToken& v) {
  if (v.key == nullptr) std::abort();
  if (v.claims.kind != careguard::json::Kind::Object) std::abort();
  if (!v.exp) std::abort();  // require_exp is on.
}

void fuzz_verify(std::string_view token) {
  try {
    check_invariants(careguard::jwt::verify(token, fixed_keys(), fixed_options()));
  } catch (const careguard::Error&) {
  }
}

// Builds a correctly HS256-MACed token around fuzzer-chosen header and
// payload bytes, so claim checking is reached despite the signature.
void fuzz_signed_parts(std::string_view input) {
  std::size_t split = input.find('\n');
  std::string_view header = split == std::string_view::npos
                                ? std::string_view("{\"alg\":\"HS256\",\"kid\":\"hs\"}")
                                : input.substr(0, split);
  std::string_view payload = split == std::string_view::npos ? input : input.substr(split + 1);
  std::string token =
      careguard::base64url::encode(header) + "." + careguard::base64url::encode(payload);
  unsigned char mac[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), kSecret.data(), static_cast<int>(kSecret.size()),
       reinterpret_cast<const unsigned char*>(token.data()), token.size(), mac, &len);
  token += '.';
  token += careguard::base64url::encode(std::string_view(reinterpret_cast<char*>(mac), len));
  fuzz_verify(token);
}

// decode() must accept exactly the canonical encodings.
void fuzz_base64url(std::string_view input) {
  std::string decoded;
  if (careguard::base64url::decode(input, decoded)) {
    if (careguard::base64url::encode(decoded) != input) std::abort();
  }
  if (careguard::base64url::decode(careguard::base64url::encode(input)) != std::string(input)) {
    std::abort();
  }
}

void fuzz_jwk(std::string_view input) {
  try {
    Key key = Key::from_jwk_json(input);
    std::string pub = key.public_jwk_json();
    // The exported public JWK must re-import.
    Key again = Key::from_jwk_json(pub);
    if (again.public_jwk_json() != pub) std::abort();
  } catch (const careguard::Error&) {
  }
  try {
    KeySet::from_jwks_json(input);
  } catch (const careguard::Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4) {
    case 0:
      fuzz_verify(input);
      break;
    case 1:
      fuzz_signed_parts(input);
      break;
    case 2:
      fuzz_base64url(input);
      break;
    case 3:
      fuzz_jwk(input);
      break;
  }
  return 0;
}
