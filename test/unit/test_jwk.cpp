// JWK / JWKS / PEM import: RFC vectors, private-material handling, rejections.
#include "careguard/core/jwk.hpp"

#include "careguard/core/base64url.hpp"
#include "careguard/core/error.hpp"
#include "jwk_fixtures.hpp"
#include "pem_fixture.hpp"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace {

using careguard::Error;
using careguard::jwt::Algorithm;
using careguard::jwt::Key;
using careguard::jwt::KeySet;
using careguard::jwt::KeyType;

using careguard_test::expect_error;
using careguard_test::expect_invalid_key;
using careguard_test::kEcPrivateJwk;
using careguard_test::kEdPrivateJwk;
using careguard_test::kOctJwk;

// RFC 7515 A.2 RSA key (with CRT parameters) and A.4 P-521 key.
const char* kRsaPrivateJwk =
    R"({"kty":"RSA","kid":"2010-12-29",)"
    R"("n":"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ",)"
    R"("e":"AQAB",)"
    R"("d":"Eq5xpGnNCivDflJsRQBXHx1hdR1k6Ulwe2JZD50LpXyWPEAeP88vLNO97IjlA7_GQ5sLKMgvfTeXZx9SE-7YwVol2NXOoAJe46sui395IW_GO-pWJ1O0BkTGoVEn2bKVRUCgu-GjBVaYLU6f3l9kJfFNS3E0QbVdxzubSu3Mkqzjkn439X0M_V51gfpRLI9JYanrC4D4qAdGcopV_0ZHHzQlBjudU2QvXt4ehNYTCBr6XCLQUShb1juUO1ZdiYoFaFQT5Tw8bGUl_x_jTj3ccPDVZFD9pIuhLhBOneufuBiB4cS98l2SR_RQyGWSeWjnczT0QU91p1DhOVRuOopznQ",)"
    R"("p":"4BzEEOtIpmVdVEZNCqS7baC4crd0pqnRH_5IB3jw3bcxGn6QLvnEtfdUdiYrqBdss1l58BQ3KhooKeQTa9AB0Hw_Py5PJdTJNPY8cQn7ouZ2KKDcmnPGBY5t7yLc1QlQ5xHdwW1VhvKn-nXqhJTBgIPgtldC-KDV5z-y2XDwGUc",)"
    R"("q":"uQPEfgmVtjL0Uyyx88GZFF1fOunH3-7cepKmtH4pxhtCoHqpWmT8YAmZxaewHgHAjLYsp1ZSe7zFYHj7C6ul7TjeLQeZD_YwD66t62wDmpe_HlB-TnBA-njbglfIsRLtXlnDzQkv5dTltRJ11BKBBypeeF6689rjcJIDEz9RWdc",)"
    R"("dp":"BwKfV3Akq5_MFZDFZCnW-wzl-CCo83WoZvnLQwCTeDv8uzluRSnm71I3QCLdhrqE2e9YkxvuxdBfpT_PI7Yz-FOKnu1R6HsJeDCjn12Sk3vmAktV2zb34MCdy7cpdTh_YVr7tss2u6vneTwrA86rZtu5Mbr1C1XsmvkxHQAdYo0",)"
    R"("dq":"h_96-mK1R_7glhsum81dZxjTnYynPbZpHziZjeeHcXYsXaaMwkOlODsWa7I9xXDoRwbKgB719rrmI2oKr6N3Do9U0ajaHF-NKJnwgjMd2w9cjz3_-kyNlxAr2v4IKhGNpmM5iIgOS1VZnOZ68m6_pbLBSp3nssTdlqvd0tIiTHU",)"
    R"("qi":"IYd7DHOhrWvxkwPQsRM2tOgrjbcrfvtQJipd-DlcxyVuuM9sQLdgjVk2oy26F0EmpScGLq2MowX7fhd_QJQ3ydy5cY7YIBi87w93IKLEdfnbJtoOPLUW0ITrJReOgo1cq9SbsxYawBgfp_gh6A5603k2-ZQwVK0JKSHuLFkuQ3U"})";
const char* kP521PrivateJwk =
    R"({"kty":"EC","crv":"P-521",)"
    R"("x":"AekpBQ8ST8a8VcfVOTNl353vSrDCLLJXmPk06wTjxrrjcBpXp5EOnYG_NjFZ6OvLFV1jSfS9tsz4qUxcWceqwQGk",)"
    R"("y":"ADSmRA43Z1DSNx_RvcLI87cdL07l6jQyyBXMoxVg_l2Th-x3S1WDhjDly79ajL4Kkd0AZMaZmh9ubmf63e3kyMj2",)"
    R"("d":"AY5pb7A0UFiB3RELSD64fTLOSV_jazdF7fLYyuTw8lOfRhWg6Y6rUrPAxerEzgdRhajnu0ferB0d53vM9mE15j2C"})";
const char* kRfc7515Payload =
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlf"
    "Q";

std::string rsa_pem(bool private_part) {
  static EVP_PKEY* pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{2048});
  return careguard_test::pem_of(pkey, private_part);
}

TEST(Jwk, ParsesEcPrivateKeyAndExportsOnlyPublicPart) {
  Key key = Key::from_jwk_json(kEcPrivateJwk);
  EXPECT_EQ(key.kid(), "ec1");
  EXPECT_EQ(key.type(), KeyType::Ec);
  EXPECT_TRUE(key.has_private());
  EXPECT_EQ(key.default_algorithm(), Algorithm::ES256);
  EXPECT_TRUE(key.allows(Algorithm::ES256));
  EXPECT_FALSE(key.allows(Algorithm::ES384));
  EXPECT_FALSE(key.allows(Algorithm::HS256));
  EXPECT_EQ(key.public_jwk_json(),
            R"({"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",)"
            R"("y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","kid":"ec1"})");
}

TEST(Jwk, ParsesEd25519PrivateKeyAndReproducesRfc8037Signature) {
  Key key = Key::from_jwk_json(kEdPrivateJwk);
  EXPECT_EQ(key.type(), KeyType::Okp);
  EXPECT_EQ(key.default_algorithm(), Algorithm::EdDSA);
  // RFC 8037 A.4: Ed25519 is deterministic, so the signature is exact.
  std::string sig =
      key.sign_bytes(Algorithm::EdDSA, "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc");
  EXPECT_EQ(
      careguard::base64url::encode(sig),
      "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg");
  EXPECT_EQ(
      key.public_jwk_json(),
      R"({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"ed1"})");
}

TEST(Jwk, VerifiesRfc7515EcdsaExample) {
  Key key = Key::from_jwk_json(kEcPrivateJwk);
  auto sig = careguard::base64url::decode(
      "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q");
  ASSERT_TRUE(sig);
  const std::string input = std::string("eyJhbGciOiJFUzI1NiJ9.") + kRfc7515Payload;
  EXPECT_TRUE(key.verify_bytes(Algorithm::ES256, input, *sig));
  EXPECT_FALSE(key.verify_bytes(Algorithm::ES256, input + "x", *sig));
  EXPECT_FALSE(key.verify_bytes(Algorithm::ES256, input, sig->substr(1)));  // Wrong length.
}

TEST(Jwk, RsaPrivateJwkReproducesRfc7515Rs256Signature) {
  Key key = Key::from_jwk_json(kRsaPrivateJwk);
  EXPECT_TRUE(key.has_private());
  EXPECT_EQ(key.bits(), 2048u);
  // RSASSA-PKCS1-v1_5 is deterministic: RFC 7515 A.2's signature, exactly.
  const std::string input = std::string("eyJhbGciOiJSUzI1NiJ9.") + kRfc7515Payload;
  std::string sig = key.sign_bytes(Algorithm::RS256, input);
  EXPECT_EQ(careguard::base64url::encode(sig),
            "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_"
            "O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_"
            "nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjt"
            "QBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-"
            "eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2"
            "w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw");
  EXPECT_TRUE(Key::from_jwk_json(key.public_jwk_json()).verify_bytes(Algorithm::RS256, input, sig));
}

TEST(Jwk, RsaPrivateJwkNeedsAllCrtParameters) {
  std::string text = kRsaPrivateJwk;
  std::size_t qi = text.find(",\"qi\"");
  text = text.substr(0, qi) + "}";
  expect_invalid_key([&] { Key::from_jwk_json(text); },
                     "JWK of kty \"RSA (private)\" lacks member \"qi\"");
}

TEST(Jwk, VerifiesRfc7515EcdsaP521Example) {
  Key key = Key::from_jwk_json(kP521PrivateJwk);
  EXPECT_EQ(key.default_algorithm(), Algorithm::ES512);
  EXPECT_EQ(key.bits(), 521u);
  auto sig = careguard::base64url::decode(
      "AdwMgeerwtHoh-l192l60hp9wAHZFVJbLfD_UxMi70cwnZOYaRI1bKPWROc-mZZqwqT2SI-KGDKB34XO0aw_"
      "7XdtAG8Ga"
      "SwFKdCAPZgoXD2YBJZCPEX3xKpRwcdOO8KpEHwJjyqOgzDO7iKvU8vcnwNrmxYbSW9ERBXukOXolLzeO_Jn");
  ASSERT_TRUE(sig);
  EXPECT_EQ(sig->size(), 132u);
  EXPECT_TRUE(key.verify_bytes(Algorithm::ES512, "eyJhbGciOiJFUzUxMiJ9.UGF5bG9hZA", *sig));
  EXPECT_FALSE(key.verify_bytes(Algorithm::ES512, "eyJhbGciOiJFUzUxMiJ9.UGF5bG9hZB", *sig));
  // Our own signatures are fixed-size R||S too and verify.
  std::string own = key.sign_bytes(Algorithm::ES512, "abc");
  EXPECT_EQ(own.size(), 132u);
  EXPECT_TRUE(key.verify_bytes(Algorithm::ES512, "abc", own));
}

TEST(Jwk, OctKeyExportsNoSecret) {
  Key key = Key::from_jwk_json(kOctJwk);
  EXPECT_EQ(key.type(), KeyType::Oct);
  EXPECT_EQ(key.bits(), 512u);
  EXPECT_TRUE(key.allows(Algorithm::HS512));
  EXPECT_EQ(key.public_jwk_json(), R"({"kty":"oct","kid":"hs"})");
}

TEST(Jwk, PublicJwkNeverContainsPrivateMembers) {
  for (const char* text :
       {kEcPrivateJwk, kEdPrivateJwk, kOctJwk, kRsaPrivateJwk, kP521PrivateJwk}) {
    std::string pub = Key::from_jwk_json(text).public_jwk_json();
    EXPECT_EQ(pub.find("\"d\""), std::string::npos) << pub;
    EXPECT_EQ(pub.find("\"k\""), std::string::npos) << pub;
  }
  std::string rsa = Key::from_pem(rsa_pem(true)).public_jwk_json();
  for (const char* member : {"\"d\"", "\"p\"", "\"q\"", "\"dp\"", "\"dq\"", "\"qi\""}) {
    EXPECT_EQ(rsa.find(member), std::string::npos) << rsa;
  }
  EXPECT_NE(rsa.find("\"n\":"), std::string::npos);
  EXPECT_NE(rsa.find("\"e\":\"AQAB\""), std::string::npos);
}

TEST(Jwk, RsaPemRoundTripsThroughPublicJwk) {
  Key priv = Key::from_pem(rsa_pem(true), "r1");
  EXPECT_TRUE(priv.has_private());
  EXPECT_EQ(priv.bits(), 2048u);
  Key pub = Key::from_jwk_json(priv.public_jwk_json());
  EXPECT_FALSE(pub.has_private());
  EXPECT_EQ(pub.kid(), "r1");
  for (Algorithm alg : {Algorithm::RS256, Algorithm::RS384, Algorithm::RS512, Algorithm::PS256}) {
    std::string sig = priv.sign_bytes(alg, "hello");
    EXPECT_TRUE(pub.verify_bytes(alg, "hello", sig));
    EXPECT_FALSE(pub.verify_bytes(alg, "hellp", sig));
  }
  Key pem_pub = Key::from_pem(rsa_pem(false));
  EXPECT_FALSE(pem_pub.has_private());
  EXPECT_EQ(pem_pub.public_jwk_json(), Key::from_pem(rsa_pem(true)).public_jwk_json());
}

TEST(Jwk, PinnedAlgorithmRestrictsKey) {
  Key key = Key::from_pem(rsa_pem(false), "r", Algorithm::PS256);
  EXPECT_TRUE(key.allows(Algorithm::PS256));
  EXPECT_FALSE(key.allows(Algorithm::RS256));
  EXPECT_EQ(key.default_algorithm(), Algorithm::PS256);
}

TEST(Jwk, PublicKeyCannotSign) {
  Key key = Key::from_pem(rsa_pem(false));
  expect_invalid_key([&] { key.sign_bytes(Algorithm::RS256, "x"); },
                     "key (no kid) has no private part");
}

TEST(Jwk, SignRefusesAlgorithmOutsideKeyFamily) {
  Key key = Key::from_jwk_json(kEcPrivateJwk);
  expect_invalid_key([&] { key.sign_bytes(Algorithm::HS256, "x"); }, "key \"ec1\" does not allow");
}

TEST(Jwk, HmacSecretMinimumLengths) {
  expect_invalid_key([] { Key::from_secret("too-short"); }, "HMAC secret is too short");
  expect_invalid_key([] { Key::from_secret(std::string(40, 'a'), "", Algorithm::HS512); },
                     "HMAC secret is too short for HS512");
  Key key = Key::from_secret(std::string(40, 'a'));
  EXPECT_TRUE(key.allows(Algorithm::HS256));
  EXPECT_FALSE(key.allows(Algorithm::HS384));  // 320 bits < 384.
}

TEST(Jwk, SecretNeverAppearsInErrors) {
  const std::string secret_b64 = "c2VjcmV0LXZhbHVlLXRoYXQtbXVzdC1ub3QtbGVhaw";  // 31 bytes
  Error e =
      expect_error([&] { Key::from_jwk_json(R"({"kty":"oct","k":")" + secret_b64 + R"("})"); });
  EXPECT_STREQ(e.sqlstate(), "22023");
  std::string all = std::string(e.what()) + e.detail();
  EXPECT_EQ(all.find(secret_b64), std::string::npos);
  EXPECT_EQ(all.find("secret-value"), std::string::npos);
  // Broken JSON around a secret must not echo the parser's view of it.
  Error bad_json = expect_error([&] { Key::from_jwk_json(R"({"kty":"oct","k":")" + secret_b64); });
  EXPECT_STREQ(bad_json.what(), "JWK is not valid JSON");
}

TEST(Jwk, RejectsMalformedKeys) {
  expect_invalid_key([] { Key::from_jwk_json("[]"); }, "a JWK must be a JSON object");
  expect_invalid_key([] { Key::from_jwk_json(R"({"n":"AQAB"})"); }, "JWK lacks member \"kty\"");
  expect_invalid_key([] { Key::from_jwk_json(R"({"kty":"DSA"})"); }, "unsupported JWK kty \"DSA\"");
  expect_invalid_key([] { Key::from_jwk_json(R"({"kty":"RSA","e":"AQAB"})"); },
                     "JWK of kty \"RSA\" lacks member \"n\"");
  expect_invalid_key([] { Key::from_jwk_json(R"({"kty":"RSA","n":"AQAB","e":"AQAB"})"); },
                     "RSA key is too small");
  expect_invalid_key([] { Key::from_jwk_json(R"({"kty":"EC","crv":"P-192","x":"AA","y":"AA"})"); },
                     "unsupported EC curve \"P-192\"");
  expect_invalid_key([] { Key::from_jwk_json(R"({"kty":"OKP","crv":"Ed448","x":"AA"})"); },
                     "unsupported OKP curve \"Ed448\"");
  expect_invalid_key([] { Key::from_jwk_json(R"({"kty":"OKP","crv":"Ed25519","x":"AA"})"); },
                     "Ed25519 public key \"x\" must be 32 bytes");
  expect_invalid_key([] { Key::from_jwk_json(R"({"kty":"oct","k":"a+b"})"); },
                     "JWK member \"k\" is not non-empty base64url");
  expect_invalid_key([] { Key::from_jwk_json(R"({"kty":"oct","k":5})"); },
                     "JWK member \"k\" must be a string");
}

TEST(Jwk, RejectsEcPointOffCurve) {
  // RFC 7515 A.3's x with y changed in its last byte.
  expect_invalid_key(
      [] {
        Key::from_jwk_json(
            R"({"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",)"
            R"("y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a4"})");
      },
      "the JWK is not a valid EC key");
}

TEST(Jwk, RejectsShortEcCoordinates) {
  expect_invalid_key(
      [] {
        Key::from_jwk_json(
            R"({"kty":"EC","crv":"P-256","x":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",)"
            R"("y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"})");
      },
      "EC coordinates must be 32 bytes for P-256");
}

TEST(Jwk, RejectsMismatchedPrivateParts) {
  // Ed25519 d from RFC 8037 with another key's x.
  expect_invalid_key(
      [] {
        Key::from_jwk_json(
            R"({"kty":"OKP","crv":"Ed25519","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",)"
            R"("x":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"})");
      },
      "Ed25519 private key \"d\" does not match public key \"x\"");
  // P-256 d that is not the private key of RFC 7515 A.3's point.
  expect_invalid_key(
      [] {
        Key::from_jwk_json(
            R"({"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",)"
            R"("y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",)"
            R"("d":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE"})");
      },
      "the EC key failed OpenSSL's consistency check");
}

TEST(Jwk, RejectsAlgorithmThatDoesNotFitKey) {
  expect_invalid_key(
      [] {
        Key::from_jwk_json(
            R"({"kty":"EC","crv":"P-256","alg":"ES384","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",)"
            R"("y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"})");
      },
      "algorithm \"ES384\" does not fit curve \"P-256\"");
  expect_invalid_key([] { Key::from_jwk_json(R"({"kty":"oct","alg":"RS256","k":"AAAA"})"); },
                     "algorithm \"RS256\" does not fit a key of kty \"oct\"");
  expect_invalid_key([] { Key::from_jwk_json(R"({"kty":"oct","alg":"none","k":"AAAA"})"); },
                     "unsupported algorithm \"none\" in JWK");
  expect_invalid_key([] { Key::from_jwk_json(R"({"kty":"oct","use":"enc","k":"AAAA"})"); },
                     "JWK use \"enc\" is not \"sig\"");
}

TEST(Jwk, PemRejectsUnsupportedInput) {
  expect_invalid_key([] { Key::from_pem("not a pem"); },
                     "the PEM text is not an unencrypted public or private key");
  EVP_PKEY* ed448 = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED448");
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, ed448);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<std::size_t>(len));
  BIO_free(bio);
  EVP_PKEY_free(ed448);
  expect_invalid_key([&] { Key::from_pem(pem); }, "unsupported PEM key type");
}

// --- Verification fast paths (pre-keyed HMAC, cached verify contexts, direct
// --- DER encoding of ECDSA signatures): same results as plain OpenSSL.

std::string hex(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

// A fresh private key of this type through PEM, as careguard imports it.
Key generated_private_key(EVP_PKEY* pkey) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, pkey, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<std::size_t>(len));
  BIO_free(bio);
  EVP_PKEY_free(pkey);
  return Key::from_pem(pem, "gen");
}

Key public_copy(const Key& key) {
  return Key::from_jwk_json(key.public_jwk_json());
}

TEST(Jwk, HmacMatchesRfc4231KeysLongerThanABlock) {
  // RFC 4231 test cases 6 and 7: a 131-byte key, hashed before use.
  const std::string secret(131, '\xaa');
  Key key = Key::from_secret(secret, "long");
  const std::string data6 = "Test Using Larger Than Block-Size Key - Hash Key First";
  const std::string data7 =
      "This is a test using a larger than block-size key and a larger than block-size data. The "
      "key needs to be hashed before being used by the HMAC algorithm.";
  struct Vector {
    Algorithm alg;
    const std::string* data;
    const char* mac;
  };
  const Vector vectors[] = {
      {Algorithm::HS256, &data6,
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
      {Algorithm::HS256, &data7,
       "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
      {Algorithm::HS384, &data6,
       "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c60c2ef6ab4030fe8296248df163f"
       "4"
       "4952"},
      {Algorithm::HS384, &data7,
       "6617178e941f020d351e2f254e8fd32c602420feb0b8fb9adccebb82461e99c5a678cc31e799176d3860e6110c4"
       "6"
       "523e"},
      {Algorithm::HS512, &data6,
       "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f3526b56d037e05f2598bd0fd2215d6"
       "a"
       "1e5295e64f73f63f0aec8b915a985d786598"},
      {Algorithm::HS512, &data7,
       "e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944b6022cac3c4982b10d5eeb55c3e"
       "4"
       "de15134676fb6de0446065c97440fa8c6a58"},
  };
  for (const Vector& v : vectors) {
    SCOPED_TRACE(std::string(careguard::jwt::algorithm_name(v.alg)) + " " + *v.data);
    std::string mac = key.sign_bytes(v.alg, *v.data);
    EXPECT_EQ(hex(mac), v.mac);
    EXPECT_TRUE(key.verify_bytes(v.alg, *v.data, mac));
    mac[mac.size() / 2] ^= 0x01;
    EXPECT_FALSE(key.verify_bytes(v.alg, *v.data, mac));
  }
}

TEST(Jwk, HmacMatchesOpenSslAroundBlockSizes) {
  // SHA-256 blocks are 64 bytes, SHA-384/512 blocks 128: secrets shorter,
  // equal and longer take different paths through the HMAC key schedule.
  const std::vector<std::size_t> secret_sizes = {32, 48, 63, 64, 65, 127, 128, 129, 300};
  const std::vector<std::size_t> input_sizes = {0, 1, 55, 56, 64, 111, 112, 128, 700};
  const std::pair<Algorithm, const char*> algs[] = {
      {Algorithm::HS256, "SHA256"}, {Algorithm::HS384, "SHA384"}, {Algorithm::HS512, "SHA512"}};
  for (std::size_t secret_size : secret_sizes) {
    std::string secret(secret_size, '\0');
    for (std::size_t i = 0; i < secret_size; ++i) secret[i] = static_cast<char>(i * 7 + 3);
    Key key = Key::from_secret(secret);
    for (std::size_t input_size : input_sizes) {
      std::string input(input_size, '\0');
      for (std::size_t i = 0; i < input_size; ++i) input[i] = static_cast<char>(i * 13 + 1);
      for (const auto& [alg, digest] : algs) {
        SCOPED_TRACE(std::string(digest) + " secret " + std::to_string(secret_size) + " input " +
                     std::to_string(input_size));
        if (!key.allows(alg)) continue;  // Secret shorter than the hash output.
        unsigned char expected[EVP_MAX_MD_SIZE];
        std::size_t expected_len = 0;
        ASSERT_NE(EVP_Q_mac(nullptr, "HMAC", nullptr, digest, nullptr, secret.data(), secret.size(),
                            reinterpret_cast<const unsigned char*>(input.data()), input.size(),
                            expected, sizeof expected, &expected_len),
                  nullptr);
        const std::string want(reinterpret_cast<const char*>(expected), expected_len);
        EXPECT_EQ(hex(key.sign_bytes(alg, input)), hex(want));
        EXPECT_TRUE(key.verify_bytes(alg, input, want));
        EXPECT_FALSE(key.verify_bytes(alg, input + "x", want));
        EXPECT_FALSE(key.verify_bytes(alg, input, want.substr(1)));
      }
    }
  }
}

TEST(Jwk, EcdsaSignaturesWithLeadingZeroOrHighBitComponentsVerify) {
  // R and S are fixed-size in JWS but minimal, sign-padded INTEGERs in DER:
  // find P-256 signatures whose R or S loses a leading zero byte in DER
  // (about 1 in 128) and has the top bit set (about 1 in 2); they verify.
  Key key = generated_private_key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  Key verifier = public_copy(key);
  bool leading_zero = false;
  bool high_bit = false;
  for (int i = 0; i < 20000 && !(leading_zero && high_bit); ++i) {
    const std::string input = "message " + std::to_string(i);
    const std::string sig = key.sign_bytes(Algorithm::ES256, input);
    ASSERT_EQ(sig.size(), 64u);
    // A zero byte before one below 0x80: DER drops it (before one of 0x80
    // or more it stays, as the sign byte).
    const bool zero = (sig[0] == '\0' && (static_cast<unsigned char>(sig[1]) & 0x80) == 0) ||
                      (sig[32] == '\0' && (static_cast<unsigned char>(sig[33]) & 0x80) == 0);
    const bool high = (static_cast<unsigned char>(sig[0]) & 0x80) != 0 ||
                      (static_cast<unsigned char>(sig[32]) & 0x80) != 0;
    if (!(zero && !leading_zero) && !(high && !high_bit) && i > 8) continue;
    leading_zero = leading_zero || zero;
    high_bit = high_bit || high;
    SCOPED_TRACE("signature " + hex(sig));
    EXPECT_TRUE(verifier.verify_bytes(Algorithm::ES256, input, sig));
    EXPECT_FALSE(verifier.verify_bytes(Algorithm::ES256, input + ".", sig));
    std::string tampered = sig;
    tampered[63] ^= 0x01;
    EXPECT_FALSE(verifier.verify_bytes(Algorithm::ES256, input, tampered));
  }
  EXPECT_TRUE(leading_zero);
  EXPECT_TRUE(high_bit);
}

TEST(Jwk, EcdsaRejectsOutOfRangeOrMisSizedComponents) {
  Key key = Key::from_jwk_json(kEcPrivateJwk);
  const std::string input = "input";
  const std::string good = key.sign_bytes(Algorithm::ES256, input);
  ASSERT_TRUE(key.verify_bytes(Algorithm::ES256, input, good));
  // The P-256 group order n: R = n and S = n are out of range.
  const std::string n =
      *careguard::base64url::decode("_____wAAAAD__________7zm-q2nF56E87nKwvxjJVE");
  ASSERT_EQ(n.size(), 32u);
  EXPECT_FALSE(key.verify_bytes(Algorithm::ES256, input, n + good.substr(32)));
  EXPECT_FALSE(key.verify_bytes(Algorithm::ES256, input, good.substr(0, 32) + n));
  EXPECT_FALSE(key.verify_bytes(Algorithm::ES256, input, std::string(64, '\0')));
  EXPECT_FALSE(
      key.verify_bytes(Algorithm::ES256, input, good.substr(0, 32) + std::string(32, '\0')));
  EXPECT_FALSE(key.verify_bytes(Algorithm::ES256, input, std::string(64, '\xff')));
  EXPECT_FALSE(key.verify_bytes(Algorithm::ES256, input, good.substr(0, 63)));
  EXPECT_FALSE(key.verify_bytes(Algorithm::ES256, input, good + '\0'));
  EXPECT_FALSE(key.verify_bytes(Algorithm::ES256, input, ""));
  // A P-521 signature is 132 bytes: its DER needs the long length form.
  Key p521 = Key::from_jwk_json(kP521PrivateJwk);
  const std::string sig521 = p521.sign_bytes(Algorithm::ES512, input);
  ASSERT_EQ(sig521.size(), 132u);
  EXPECT_TRUE(public_copy(p521).verify_bytes(Algorithm::ES512, input, sig521));
  EXPECT_FALSE(public_copy(p521).verify_bytes(Algorithm::ES512, input, sig521.substr(0, 130)));
}

TEST(Jwk, RsaVerifiesEachAlgorithmOnlyWithItsOwnSignature) {
  // One key, six algorithms, each with its own cached verification context:
  // a signature made for one algorithm must not verify under another, in
  // whatever order the contexts get built, and repeatedly.
  Key signer = Key::from_pem(rsa_pem(true), "rsa");
  Key verifier = Key::from_pem(rsa_pem(false), "rsa");
  const Algorithm algs[] = {Algorithm::PS384, Algorithm::RS256, Algorithm::PS512,
                            Algorithm::RS512, Algorithm::PS256, Algorithm::RS384};
  const std::string input = "header.payload";
  for (int round = 0; round < 2; ++round) {
    for (Algorithm signed_with : algs) {
      const std::string sig = signer.sign_bytes(signed_with, input);
      for (Algorithm checked_with : algs) {
        SCOPED_TRACE(std::string(careguard::jwt::algorithm_name(signed_with)) + " checked as " +
                     std::string(careguard::jwt::algorithm_name(checked_with)));
        EXPECT_EQ(verifier.verify_bytes(checked_with, input, sig), signed_with == checked_with);
      }
      std::string tampered = sig;
      tampered[10] ^= 0x40;
      EXPECT_FALSE(verifier.verify_bytes(signed_with, input, tampered));
      EXPECT_FALSE(verifier.verify_bytes(signed_with, input, sig.substr(1)));
      EXPECT_TRUE(verifier.verify_bytes(signed_with, input, sig));  // Unaffected by failures.
    }
  }
  // A pinned key never builds or uses a context for another algorithm.
  Key pinned = Key::from_pem(rsa_pem(false), "rsa", Algorithm::PS256);
  EXPECT_TRUE(
      pinned.verify_bytes(Algorithm::PS256, input, signer.sign_bytes(Algorithm::PS256, input)));
  EXPECT_FALSE(
      pinned.verify_bytes(Algorithm::RS256, input, signer.sign_bytes(Algorithm::RS256, input)));
}

// A PSS signature starts with a zero byte once in 256; OpenSSL then also
// accepts it with that byte dropped. RFC 8017 allows only the modulus length.
TEST(Jwk, RsaSignatureShorterThanTheModulusIsRejected) {
  Key signer = Key::from_pem(rsa_pem(true), "rsa");
  const std::string input = "header.payload";
  std::string sig;
  for (int attempt = 0; attempt < 5000; ++attempt) {
    sig = signer.sign_bytes(Algorithm::PS256, input + std::to_string(attempt));
    if (sig[0] == '\0') {
      EXPECT_TRUE(signer.verify_bytes(Algorithm::PS256, input + std::to_string(attempt), sig));
      EXPECT_FALSE(
          signer.verify_bytes(Algorithm::PS256, input + std::to_string(attempt), sig.substr(1)));
      return;
    }
  }
  FAIL() << "no signature with a leading zero byte in 5000 attempts";
}

TEST(Jwk, ConcurrentVerificationsWithFreshKeysAgree) {
  // The per-key verification contexts are built on first use; racing first
  // uses from several threads must each get a correct answer.
  struct Case {
    Algorithm alg;
    Key signer;
  };
  std::vector<Case> cases;
  cases.push_back({Algorithm::RS256, Key::from_pem(rsa_pem(true), "rsa")});
  cases.push_back({Algorithm::PS256, Key::from_pem(rsa_pem(true), "rsa")});
  cases.push_back({Algorithm::ES256, Key::from_jwk_json(kEcPrivateJwk)});
  cases.push_back({Algorithm::EdDSA, Key::from_jwk_json(kEdPrivateJwk)});
  cases.push_back({Algorithm::HS256, Key::from_jwk_json(kOctJwk)});
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(careguard::jwt::algorithm_name(c.alg)));
    const std::string input = "concurrent.input";
    const std::string sig = c.signer.sign_bytes(c.alg, input);
    std::string bad = sig;
    bad[bad.size() - 1] ^= 0x01;
    for (int round = 0; round < 5; ++round) {
      Key verifier =
          c.alg == Algorithm::HS256 ? Key::from_jwk_json(kOctJwk) : public_copy(c.signer);
      std::atomic<int> wrong{0};
      std::vector<std::thread> threads;
      for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
          for (int i = 0; i < 10; ++i) {
            if (!verifier.verify_bytes(c.alg, input, sig)) ++wrong;
            if (verifier.verify_bytes(c.alg, input, bad)) ++wrong;
          }
        });
      }
      for (auto& thread : threads) thread.join();
      EXPECT_EQ(wrong.load(), 0);
    }
  }
}

}  // namespace
