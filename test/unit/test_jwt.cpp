// JWS/JWT verification and signing: every algorithm, every rejection.
#include "careguard/core/jwt.hpp"

#include "careguard/core/base64url.hpp"
#include "careguard/core/error.hpp"
#include "pem_fixture.hpp"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <functional>
#include <map>

namespace {

using careguard::Error;
using careguard::base64url::encode;
using careguard::jwt::Algorithm;
using careguard::jwt::Key;
using careguard::jwt::KeySet;
using careguard::jwt::VerifiedToken;
using careguard::jwt::VerifyOptions;

constexpr std::int64_t kNow = 1700000000;  // 2023-11-14T22:13:20Z
const std::string kSecret(64, 'k');
const char* kUserSub = "6c9a8a1e-7b7f-4c1e-9d5a-3f0e4b8c2a11";

// Private and public PEM of one freshly generated key.
struct KeyPair {
  std::string private_pem;
  std::string public_pem;
};

KeyPair generate(const char* type, const char* param = nullptr) {
  EVP_PKEY* pkey = nullptr;
  if (std::string(type) == "RSA") {
    pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{2048});
  } else if (param != nullptr) {
    pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, type, param);
  } else {
    pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, type);
  }
  KeyPair pair{careguard_test::pem_of(pkey, true), careguard_test::pem_of(pkey, false)};
  EVP_PKEY_free(pkey);
  return pair;
}

// One generated key pair per key kind, shared by all tests (RSA keygen is slow).
const std::map<std::string, KeyPair>& key_pairs() {
  static const std::map<std::string, KeyPair> pairs = {
      {"rsa", generate("RSA")},          {"rsa-other", generate("RSA")},
      {"p256", generate("EC", "P-256")}, {"p256-other", generate("EC", "P-256")},
      {"p384", generate("EC", "P-384")}, {"p521", generate("EC", "P-521")},
      {"ed", generate("ED25519")},       {"ed-other", generate("ED25519")},
  };
  return pairs;
}

// The kid of the key that signs each algorithm in these tests.
std::string kid_for(Algorithm alg) {
  switch (alg) {
    case Algorithm::HS256:
    case Algorithm::HS384:
    case Algorithm::HS512:
      return "hs";
    case Algorithm::ES256:
      return "p256";
    case Algorithm::ES384:
      return "p384";
    case Algorithm::ES512:
      return "p521";
    case Algorithm::EdDSA:
      return "ed";
    default:
      return "rsa";
  }
}

Key signing_key(const std::string& kid) {
  if (kid == "hs") return Key::from_secret(kSecret, "hs");
  return Key::from_pem(key_pairs().at(kid).private_pem, kid);
}

// Verification keys: public parts only, imported through JWK (not PEM) so
// the JWK import path is what verifies.
KeySet public_keys() {
  KeySet set;
  set.add(Key::from_secret(kSecret, "hs"));
  for (const char* kid : {"rsa", "p256", "p384", "p521", "ed"}) {
    set.add(
        Key::from_jwk_json(Key::from_pem(key_pairs().at(kid).public_pem, kid).public_jwk_json()));
  }
  return set;
}

const KeySet& keys() {
  static const KeySet set = public_keys();
  return set;
}

VerifyOptions options_now() {
  VerifyOptions o;
  o.now = kNow;
  return o;
}

std::string claims_with(const std::string& extra) {
  return "{\"sub\":\"" + std::string(kUserSub) + "\",\"exp\":" + std::to_string(kNow + 3600) +
         (extra.empty() ? "" : "," + extra) + "}";
}

// An HS256 token over raw header/payload segments, MACed with OpenSSL's
// one-shot HMAC (independent of the code under test).
std::string hs256_segments(const std::string& header_segment, const std::string& payload_segment,
                           const std::string& secret = kSecret) {
  std::string input = header_segment + "." + payload_segment;
  unsigned char mac[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
  return input + "." + encode(std::string(reinterpret_cast<char*>(mac), len));
}

std::string hs256_token(const std::string& header_json, const std::string& payload,
                        const std::string& secret = kSecret) {
  return hs256_segments(encode(header_json), encode(payload), secret);
}

std::string hs_header() {
  return R"({"alg":"HS256","typ":"JWT","kid":"hs"})";
}

// Verifies and expects a careguard::Error with this SQLSTATE and message prefix.
void expect_rejected(const std::string& token, const VerifyOptions& options, const char* sqlstate,
                     const std::string& prefix, const KeySet& set = keys()) {
  try {
    careguard::jwt::verify(token, set, options);
  } catch (const Error& e) {
    EXPECT_STREQ(e.sqlstate(), sqlstate) << e.what();
    EXPECT_EQ(std::string(e.what()).rfind(prefix, 0), 0u)
        << "message: " << e.what() << "\nexpected prefix: " << prefix;
    return;
  }
  ADD_FAILURE() << "token accepted; expected: " << prefix;
}

void expect_malformed(const std::string& token, const std::string& why,
                      const VerifyOptions& options = options_now()) {
  expect_rejected(token, options, "28000", "malformed token: " + why);
}

const std::vector<Algorithm> kAllAlgorithms = {
    Algorithm::HS256, Algorithm::HS384, Algorithm::HS512, Algorithm::RS256, Algorithm::RS384,
    Algorithm::RS512, Algorithm::PS256, Algorithm::PS384, Algorithm::PS512, Algorithm::ES256,
    Algorithm::ES384, Algorithm::ES512, Algorithm::EdDSA};

std::string name(Algorithm alg) {
  return std::string(careguard::jwt::algorithm_name(alg));
}

// Replaces one character of a token segment with a different valid one.
std::string flip_char(std::string token, std::size_t pos) {
  token[pos] = token[pos] == 'A' ? 'B' : 'A';
  return token;
}

TEST(Jwt, EveryAlgorithmRoundTrips) {
  for (Algorithm alg : kAllAlgorithms) {
    SCOPED_TRACE(name(alg));
    Key key = signing_key(kid_for(alg));
    std::string claims = claims_with("\"role\":\"authenticated\"");
    std::string token = careguard::jwt::sign(claims, key, name(alg));
    VerifiedToken v = careguard::jwt::verify(token, keys(), options_now());
    EXPECT_EQ(v.alg, alg);
    EXPECT_EQ(v.kid, kid_for(alg));
    EXPECT_EQ(v.key, keys().find(kid_for(alg)));
    EXPECT_EQ(v.payload_json, claims);
    EXPECT_EQ(v.header_json,
              "{\"alg\":\"" + name(alg) + "\",\"typ\":\"JWT\",\"kid\":\"" + kid_for(alg) + "\"}");
    ASSERT_TRUE(v.exp.has_value());
    EXPECT_EQ(*v.exp, static_cast<double>(kNow + 3600));
    EXPECT_FALSE(v.nbf.has_value());
    ASSERT_NE(v.claims.find("role"), nullptr);
    EXPECT_EQ(v.claims.find("role")->text, "authenticated");
  }
}

TEST(Jwt, SignDefaultsToKeyAlgorithm) {
  EXPECT_EQ(careguard::jwt::verify(careguard::jwt::sign(claims_with(""), signing_key("p384")),
                                   keys(), options_now())
                .alg,
            Algorithm::ES384);
  EXPECT_EQ(careguard::jwt::verify(careguard::jwt::sign(claims_with(""), signing_key("rsa")),
                                   keys(), options_now())
                .alg,
            Algorithm::RS256);
  EXPECT_EQ(careguard::jwt::verify(careguard::jwt::sign(claims_with(""), signing_key("hs")), keys(),
                                   options_now())
                .alg,
            Algorithm::HS256);
}

TEST(Jwt, PayloadBytesArePreservedExactly) {
  std::string claims = "{ \"exp\" : " + std::to_string(kNow + 10) + " ,\n\"x\":\"\\u00e9\" }";
  std::string token = careguard::jwt::sign(claims, signing_key("hs"));
  EXPECT_EQ(careguard::jwt::verify(token, keys(), options_now()).payload_json, claims);
}

TEST(Jwt, VerifiesRfc7515HmacExampleAndReportsItsExpiry) {
  // RFC 7515 A.1: no kid, so it verifies against a single-key set only.
  KeySet set = KeySet::from_jwks_json(
      R"({"keys":[{"kty":"oct","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"}]})");
  const std::string token =
      "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9."
      "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVl"
      "fQ."
      "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
  VerifyOptions o;
  o.now = 1300819380 - 60;
  o.issuer = "joe";
  VerifiedToken v = careguard::jwt::verify(token, set, o);
  EXPECT_EQ(v.kid, "");
  EXPECT_EQ(v.claims.find("http://example.com/is_root")->kind, careguard::json::Kind::Bool);
  o.now = 1300819380 + 30;
  expect_rejected(token, o, "28000", "token expired at 2011-03-22T18:43:00Z", set);
}

TEST(Jwt, Rfc8037EdDsaExampleVerifiesButItsPayloadIsNotClaims) {
  KeySet set = KeySet::from_jwks_json(
      R"({"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]})");
  const std::string token =
      "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc."
      "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";
  // Past the signature (which is RFC 8037 A.4's), the payload is plain text.
  expect_rejected(token, options_now(), "28000", "malformed token: payload is not valid JSON", set);
  expect_rejected(flip_char(token, token.size() - 3), options_now(), "28P01", "signature mismatch",
                  set);
}

TEST(Jwt, ExpiryHonoursLeewayBoundary) {
  std::string token =
      careguard::jwt::sign("{\"exp\":" + std::to_string(kNow) + "}", signing_key("hs"));
  VerifyOptions o = options_now();
  o.now = kNow + 29;  // Within the 30 s leeway.
  EXPECT_NO_THROW(careguard::jwt::verify(token, keys(), o));
  o.now = kNow + 30;  // exp + leeway: invalid "on or after".
  expect_rejected(token, o, "28000", "token expired at 2023-11-14T22:13:20Z");
  o.leeway_seconds = 0;
  o.now = kNow - 1;
  EXPECT_NO_THROW(careguard::jwt::verify(token, keys(), o));
  o.now = kNow;
  expect_rejected(token, o, "28000", "token expired at 2023-11-14T22:13:20Z");
}

TEST(Jwt, FractionalTimestampsCompareExactly) {
  std::string token =
      careguard::jwt::sign("{\"exp\":" + std::to_string(kNow) + ".5}", signing_key("hs"));
  VerifyOptions o = options_now();
  o.leeway_seconds = 0;
  EXPECT_DOUBLE_EQ(*careguard::jwt::verify(token, keys(), o).exp, kNow + 0.5);
  o.now = kNow + 1;
  expect_rejected(token, o, "28000", "token expired at 2023-11-14T22:13:20Z");
}

TEST(Jwt, NotBeforeHonoursLeeway) {
  Key key = signing_key("hs");
  std::string at_edge =
      careguard::jwt::sign(claims_with("\"nbf\":" + std::to_string(kNow + 30)), key);
  EXPECT_DOUBLE_EQ(*careguard::jwt::verify(at_edge, keys(), options_now()).nbf, kNow + 30);
  std::string too_early =
      careguard::jwt::sign(claims_with("\"nbf\":" + std::to_string(kNow + 31)), key);
  expect_rejected(too_early, options_now(), "28000", "token not valid before 2023-11-14T22:13:51Z");
}

TEST(Jwt, IssuedInFutureHonoursLeeway) {
  Key key = signing_key("hs");
  std::string at_edge =
      careguard::jwt::sign(claims_with("\"iat\":" + std::to_string(kNow + 30)), key);
  EXPECT_NO_THROW(careguard::jwt::verify(at_edge, keys(), options_now()));
  std::string future =
      careguard::jwt::sign(claims_with("\"iat\":" + std::to_string(kNow + 31)), key);
  expect_rejected(future, options_now(), "28000",
                  "token issued in the future at 2023-11-14T22:13:51Z");
}

TEST(Jwt, TimestampClaimsMustBeNumbers) {
  Key key = signing_key("hs");
  expect_malformed(careguard::jwt::sign("{\"exp\":\"1700003600\"}", key),
                   "exp claim is not a number");
  expect_malformed(careguard::jwt::sign(claims_with("\"nbf\":true"), key),
                   "nbf claim is not a number");
  expect_malformed(careguard::jwt::sign(claims_with("\"iat\":null"), key),
                   "iat claim is not a number");
  expect_malformed(careguard::jwt::sign("{\"exp\":1e400}", key), "exp claim is out of range");
}

TEST(Jwt, MissingExpIsRejectedUnlessOptional) {
  std::string token = careguard::jwt::sign("{\"sub\":\"x\"}", signing_key("hs"));
  expect_rejected(token, options_now(), "28000", "missing exp claim");
  VerifyOptions o = options_now();
  o.require_exp = false;
  EXPECT_FALSE(careguard::jwt::verify(token, keys(), o).exp.has_value());
}

TEST(Jwt, AlgNoneIsRejected) {
  std::string unsigned_token =
      encode(R"({"alg":"none","typ":"JWT"})") + "." + encode(claims_with("")) + ".";
  expect_rejected(unsigned_token, options_now(), "28000", "unsupported algorithm \"none\"");
  // Also with a kid pointing at a real key, and with a signature attached.
  std::string with_kid = hs256_token(R"({"alg":"none","kid":"hs"})", claims_with(""));
  expect_rejected(with_kid, options_now(), "28000", "unsupported algorithm \"none\"");
  expect_rejected(hs256_token(R"({"alg":"HS1024","kid":"hs"})", claims_with("")), options_now(),
                  "28000", "unsupported algorithm \"HS1024\"");
  expect_rejected(hs256_token(R"({"alg":"hs256","kid":"hs"})", claims_with("")), options_now(),
                  "28000", "unsupported algorithm \"hs256\"");
}

TEST(Jwt, AlgorithmConfusionIsRejected) {
  // Classic attack: HS256 MACed with the RSA public key PEM as the secret.
  const std::string& rsa_public_pem = key_pairs().at("rsa").public_pem;
  std::string forged =
      hs256_token(R"({"alg":"HS256","kid":"rsa"})", claims_with(""), rsa_public_pem);
  expect_rejected(forged, options_now(), "28000", "algorithm mismatch");
  // Same without kid against a set whose only key is that RSA key.
  KeySet rsa_only;
  rsa_only.add(Key::from_pem(rsa_public_pem));
  std::string forged_no_kid = hs256_token(R"({"alg":"HS256"})", claims_with(""), rsa_public_pem);
  expect_rejected(forged_no_kid, options_now(), "28000", "algorithm mismatch", rsa_only);
  // An ES256 signature presented for the P-384 key, and RS256 for a PS256-pinned key.
  std::string es256 = careguard::jwt::sign(claims_with(""), signing_key("p256"), "", "p384");
  expect_rejected(es256, options_now(), "28000", "algorithm mismatch");
  KeySet pinned;
  pinned.add(Key::from_pem(rsa_public_pem, "rsa", Algorithm::PS256));
  std::string rs256 = careguard::jwt::sign(claims_with(""), signing_key("rsa"), "RS256");
  expect_rejected(rs256, options_now(), "28000", "algorithm mismatch", pinned);
  // HS512 needs a 64-byte secret; a 32-byte key never verifies it.
  KeySet short_secret;
  short_secret.add(Key::from_secret(std::string(32, 'k'), "hs"));
  std::string hs512 = careguard::jwt::sign(claims_with(""), signing_key("hs"), "HS512");
  expect_rejected(hs512, options_now(), "28000", "algorithm mismatch", short_secret);
}

TEST(Jwt, UnknownKidIsRejected) {
  std::string token = careguard::jwt::sign(claims_with(""), signing_key("hs"), "", "nope");
  expect_rejected(token, options_now(), "28000", "unknown key id \"nope\"");
  std::string empty_kid = careguard::jwt::sign(claims_with(""), signing_key("hs"), "", "");
  // sign() omits an empty kid only when the key has none; craft one explicitly.
  expect_rejected(hs256_token(R"({"alg":"HS256","kid":""})", claims_with("")), options_now(),
                  "28000", "unknown key id \"\"");
  std::string long_kid(5000, 'x');
  try {
    careguard::jwt::verify(
        hs256_token(R"({"alg":"HS256","kid":")" + long_kid + "\"}", claims_with("")), keys(),
        options_now());
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_LT(std::string(e.what()).size(), 100u);  // Echo is truncated.
  }
  (void)empty_kid;
}

TEST(Jwt, MissingKidNeedsExactlyOneKey) {
  std::string token = hs256_token(R"({"alg":"HS256"})", claims_with(""));
  expect_rejected(token, options_now(), "28000", "missing kid header");
  KeySet one;
  one.add(Key::from_secret(kSecret, "whatever"));
  EXPECT_NO_THROW(careguard::jwt::verify(token, one, options_now()));
  expect_rejected(token, options_now(), "28000", "missing kid header", KeySet());
}

TEST(Jwt, WrongKeyIsSignatureMismatch) {
  for (const auto& [other, kid] : std::vector<std::pair<std::string, std::string>>{
           {"rsa-other", "rsa"}, {"p256-other", "p256"}, {"ed-other", "ed"}}) {
    SCOPED_TRACE(other);
    std::string token = careguard::jwt::sign(claims_with(""), signing_key(other), "", kid);
    expect_rejected(token, options_now(), "28P01", "signature mismatch");
  }
  std::string hs = hs256_token(hs_header(), claims_with(""), std::string(64, 'w'));
  expect_rejected(hs, options_now(), "28P01", "signature mismatch");
}

TEST(Jwt, TamperedPayloadOrSignatureIsSignatureMismatch) {
  for (Algorithm alg : kAllAlgorithms) {
    SCOPED_TRACE(name(alg));
    std::string token = careguard::jwt::sign(claims_with(""), signing_key(kid_for(alg)), name(alg));
    std::size_t dot1 = token.find('.'), dot2 = token.rfind('.');
    expect_rejected(flip_char(token, dot1 + 5), options_now(), "28P01", "signature mismatch");
    expect_rejected(flip_char(token, dot2 + 1), options_now(), "28P01", "signature mismatch");
    // Re-encoding the payload with different claims keeps everything canonical.
    std::string swapped = token.substr(0, dot1 + 1) +
                          encode(claims_with("\"role\":\"service_role\"")) + token.substr(dot2);
    expect_rejected(swapped, options_now(), "28P01", "signature mismatch");
    // An empty signature never verifies.
    expect_rejected(token.substr(0, dot2 + 1), options_now(), "28P01", "signature mismatch");
  }
}

TEST(Jwt, RepeatedVerificationsWithOneKeySetStayCorrect) {
  // Keys cache ready verification state across calls: failures in between
  // (bad signature, wrong algorithm for the key) must not affect it.
  const KeySet set = public_keys();  // Fresh: nothing cached yet.
  std::vector<std::string> tokens;
  for (Algorithm alg : kAllAlgorithms) {
    tokens.push_back(careguard::jwt::sign(claims_with(""), signing_key(kid_for(alg)), name(alg)));
  }
  for (int round = 0; round < 3; ++round) {
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      SCOPED_TRACE(name(kAllAlgorithms[i]) + " round " + std::to_string(round));
      const std::string& token = tokens[i];
      EXPECT_EQ(careguard::jwt::verify(token, set, options_now()).alg, kAllAlgorithms[i]);
      expect_rejected(flip_char(token, token.rfind('.') + 2), options_now(), "28P01",
                      "signature mismatch", set);
      EXPECT_EQ(careguard::jwt::verify(token, set, options_now()).alg, kAllAlgorithms[i]);
    }
  }
}

TEST(Jwt, RememberedHeaderDecidesNothingButItsOwnBytes) {
  // verify() keeps the last accepted header's decoded facts; the key set,
  // the signature and any other header are judged afresh every time.
  const std::string good = hs256_token(hs_header(), claims_with(""));
  EXPECT_EQ(careguard::jwt::verify(good, keys(), options_now()).kid, "hs");
  expect_rejected(hs256_token(R"({"alg":"HS256","typ":"JWT","kid":"ht"})", claims_with("")),
                  options_now(), "28000", "unknown key id \"ht\"");
  expect_malformed(hs256_token(R"({"alg":"HS256","kid":"hs","crit":["b64"]})", claims_with("")),
                   "crit header is not supported");
  expect_rejected(hs256_token(R"({"alg":"RS256","typ":"JWT","kid":"hs"})", claims_with("")),
                  options_now(), "28000", "algorithm mismatch");
  EXPECT_EQ(careguard::jwt::verify(good, keys(), options_now()).header_json, hs_header());
  // The same header bytes: a key set without the key, and another secret.
  expect_rejected(good, options_now(), "28000", "unknown key id \"hs\"", KeySet());
  KeySet other;
  other.add(Key::from_secret(std::string(64, 'w'), "hs"));
  expect_rejected(good, options_now(), "28P01", "signature mismatch", other);
  expect_rejected(hs256_token(hs_header(), claims_with(""), std::string(64, 'w')), options_now(),
                  "28P01", "signature mismatch");
  EXPECT_EQ(careguard::jwt::verify(good, keys(), options_now()).alg, Algorithm::HS256);
}

TEST(Jwt, TruncatedTokensAreMalformed) {
  std::string token = careguard::jwt::sign(claims_with(""), signing_key("hs"));
  std::size_t dot2 = token.rfind('.');
  expect_malformed(token.substr(0, dot2), "expected three dot-separated parts");
  expect_malformed(token.substr(0, token.find('.')), "expected three dot-separated parts");
  expect_malformed("", "expected three dot-separated parts");
  expect_malformed(token + ".x", "expected three dot-separated parts");
  // The signature one byte short, still canonical base64url.
  std::string sig = *careguard::base64url::decode(token.substr(dot2 + 1));
  expect_rejected(token.substr(0, dot2 + 1) + encode(sig.substr(0, sig.size() - 1)), options_now(),
                  "28P01", "signature mismatch");
  // Two cut: 41 characters is not a base64url length.
  expect_malformed(token.substr(0, token.size() - 2), "signature is not base64url");
}

TEST(Jwt, BadBase64IsMalformed) {
  std::string token = careguard::jwt::sign(claims_with(""), signing_key("hs"));
  std::size_t dot1 = token.find('.'), dot2 = token.rfind('.');
  expect_malformed("e+J." + token.substr(dot1 + 1), "header is not base64url");
  expect_malformed(token.substr(0, dot2 + 1) + "ab/c", "signature is not base64url");
  expect_malformed(token + "=", "signature is not base64url");
  // A correctly MACed token whose payload segment is not base64url: the
  // signature passes, the payload decode must still fail.
  expect_malformed(hs256_segments(encode(hs_header()), "eyJ=="), "payload is not base64url");
  expect_malformed(hs256_segments(encode(hs_header()), "Zh"), "payload is not base64url");
}

TEST(Jwt, OversizedTokenIsRejectedBeforeDecoding) {
  std::string token = careguard::jwt::sign(claims_with(""), signing_key("hs"));
  VerifyOptions o = options_now();
  o.max_token_bytes = token.size();
  EXPECT_NO_THROW(careguard::jwt::verify(token, keys(), o));
  o.max_token_bytes = token.size() - 1;
  expect_rejected(token, o, "28000", "token too large");
  expect_rejected(std::string(16385, 'a'), options_now(), "28000", "token too large");
}

TEST(Jwt, PayloadMustBeAJsonObject) {
  expect_malformed(hs256_token(hs_header(), "[1,2]"), "payload is not a JSON object");
  expect_malformed(hs256_token(hs_header(), "\"str\""), "payload is not a JSON object");
  expect_malformed(hs256_token(hs_header(), "{\"exp\":1,}"), "payload is not valid JSON");
  expect_malformed(hs256_token(hs_header(), ""), "payload is not valid JSON");
  std::string deep = std::string(100, '[') + std::string(100, ']');
  expect_malformed(hs256_token(hs_header(), "{\"a\":" + deep + "}"),
                   "payload is nested too deeply");
}

TEST(Jwt, HeaderMustBeAnObjectWithStringAlgAndKid) {
  expect_malformed(hs256_token("[]", claims_with("")), "header is not a JSON object");
  expect_malformed(hs256_token("{", claims_with("")), "header is not valid JSON");
  expect_malformed(hs256_token(R"({"typ":"JWT"})", claims_with("")), "header has no alg");
  expect_malformed(hs256_token(R"({"alg":256})", claims_with("")), "alg header is not a string");
  expect_malformed(hs256_token(R"({"alg":"HS256","kid":7})", claims_with("")),
                   "kid header is not a string");
  expect_malformed(
      hs256_token(R"({"alg":"HS256","kid":"hs","crit":["exp"],"exp":1})", claims_with("")),
      "crit header is not supported");
}

TEST(Jwt, IssuerIsCheckedWhenConfigured) {
  Key key = signing_key("hs");
  VerifyOptions o = options_now();
  o.issuer = "https://auth.example/v1";
  EXPECT_NO_THROW(careguard::jwt::verify(
      careguard::jwt::sign(claims_with("\"iss\":\"https://auth.example/v1\""), key), keys(), o));
  expect_rejected(careguard::jwt::sign(claims_with("\"iss\":\"https://evil.example\""), key), o,
                  "28000", "issuer mismatch");
  expect_rejected(careguard::jwt::sign(claims_with(""), key), o, "28000", "issuer mismatch");
  expect_rejected(careguard::jwt::sign(claims_with("\"iss\":[\"https://auth.example/v1\"]"), key),
                  o, "28000", "issuer mismatch");
  // Not configured: any iss passes.
  EXPECT_NO_THROW(careguard::jwt::verify(
      careguard::jwt::sign(claims_with("\"iss\":\"https://evil.example\""), key), keys(),
      options_now()));
}

TEST(Jwt, AudienceAsStringOrArray) {
  Key key = signing_key("hs");
  VerifyOptions o = options_now();
  o.audiences = {"authenticated", "api"};
  EXPECT_NO_THROW(
      careguard::jwt::verify(careguard::jwt::sign(claims_with("\"aud\":\"api\""), key), keys(), o));
  EXPECT_NO_THROW(careguard::jwt::verify(
      careguard::jwt::sign(claims_with("\"aud\":[\"other\",\"authenticated\"]"), key), keys(), o));
  expect_rejected(careguard::jwt::sign(claims_with("\"aud\":\"other\""), key), o, "28000",
                  "audience mismatch");
  expect_rejected(careguard::jwt::sign(claims_with("\"aud\":[\"x\",\"y\"]"), key), o, "28000",
                  "audience mismatch");
  expect_rejected(careguard::jwt::sign(claims_with("\"aud\":[]"), key), o, "28000",
                  "audience mismatch");
  expect_rejected(careguard::jwt::sign(claims_with(""), key), o, "28000", "audience mismatch");
  expect_malformed(careguard::jwt::sign(claims_with("\"aud\":42"), key),
                   "aud claim is not a string or array of strings", o);
  expect_malformed(careguard::jwt::sign(claims_with("\"aud\":[\"api\",1]"), key),
                   "aud claim is not a string or array of strings", o);
}

TEST(Jwt, SubMustBeUuidForSignedInRoles) {
  Key key = signing_key("hs");
  VerifyOptions o = options_now();
  o.require_uuid_sub = true;
  o.roles_exempt_from_uuid_sub = {"anon", "service_role"};
  const std::string exp = "\"exp\":" + std::to_string(kNow + 60);
  auto token = [&](const std::string& body) {
    return careguard::jwt::sign("{" + exp + body + "}", key);
  };
  EXPECT_NO_THROW(
      careguard::jwt::verify(token(",\"sub\":\"" + std::string(kUserSub) + "\""), keys(), o));
  EXPECT_NO_THROW(
      careguard::jwt::verify(token(",\"sub\":\"{6C9A8A1E7B7F4C1E9D5A3F0E4B8C2A11}\""), keys(), o));
  EXPECT_NO_THROW(careguard::jwt::verify(token(""), keys(), o));               // Absent.
  EXPECT_NO_THROW(careguard::jwt::verify(token(",\"sub\":null"), keys(), o));  // NULL uid.
  EXPECT_NO_THROW(careguard::jwt::verify(token(",\"role\":\"anon\",\"sub\":\"x\""), keys(), o));
  EXPECT_NO_THROW(
      careguard::jwt::verify(token(",\"role\":\"service_role\",\"sub\":\"svc\""), keys(), o));
  expect_rejected(token(",\"role\":\"authenticated\",\"sub\":\"user-1\""), o, "28000",
                  "sub claim is not a uuid");
  expect_rejected(token(",\"sub\":\"user-1\""), o, "28000", "sub claim is not a uuid");
  expect_rejected(token(",\"sub\":12345"), o, "28000", "sub claim is not a uuid");
  expect_rejected(token(",\"role\":[\"anon\"],\"sub\":\"x\""), o, "28000",
                  "sub claim is not a uuid");
  o.require_uuid_sub = false;
  EXPECT_NO_THROW(careguard::jwt::verify(token(",\"sub\":\"user-1\""), keys(), o));
}

TEST(Jwt, SignWritesHeaderAndRejectsBadInput) {
  Key key = signing_key("p256");
  std::string token = careguard::jwt::sign("{}", key, "", "rotated-1");
  auto header = careguard::base64url::decode(token.substr(0, token.find('.')));
  ASSERT_TRUE(header);
  EXPECT_EQ(*header, R"({"alg":"ES256","typ":"JWT","kid":"rotated-1"})");
  Key no_kid = Key::from_secret(kSecret);
  std::string plain = careguard::jwt::sign("{}", no_kid);
  EXPECT_EQ(*careguard::base64url::decode(plain.substr(0, plain.find('.'))),
            R"({"alg":"HS256","typ":"JWT"})");

  auto expect_22023 = [](const std::function<void()>& fn, const std::string& prefix) {
    try {
      fn();
      ADD_FAILURE() << "no error; expected " << prefix;
    } catch (const Error& e) {
      EXPECT_STREQ(e.sqlstate(), "22023");
      EXPECT_EQ(std::string(e.what()).rfind(prefix, 0), 0u) << e.what();
    }
  };
  expect_22023([&] { careguard::jwt::sign("[1]", key); }, "claims must be a JSON object");
  expect_22023([&] { careguard::jwt::sign("{", key); }, "claims is not valid JSON");
  expect_22023([&] { careguard::jwt::sign("{}", key, "none"); }, "unsupported algorithm \"none\"");
  expect_22023([&] { careguard::jwt::sign("{}", key, "ES384"); },
               "key \"p256\" does not allow algorithm \"ES384\"");
  expect_22023([&] { careguard::jwt::sign("{}", key, "HS256"); },
               "key \"p256\" does not allow algorithm \"HS256\"");
  Key public_only = Key::from_pem(key_pairs().at("ed").public_pem, "ed");
  expect_22023([&] { careguard::jwt::sign("{}", public_only); }, "key \"ed\" has no private part");
}

TEST(Jwt, FormatsUtcTimestamps) {
  EXPECT_EQ(careguard::jwt::format_utc(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(careguard::jwt::format_utc(-1), "1969-12-31T23:59:59Z");
  EXPECT_EQ(careguard::jwt::format_utc(951782400), "2000-02-29T00:00:00Z");
  EXPECT_EQ(careguard::jwt::format_utc(1700000000.9), "2023-11-14T22:13:20Z");
  EXPECT_EQ(careguard::jwt::format_utc(253402300799), "9999-12-31T23:59:59Z");
  EXPECT_EQ(careguard::jwt::format_utc(1e20), "1e+20 (Unix time)");
}

}  // namespace
