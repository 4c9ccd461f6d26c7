// Micro-benchmark: microseconds per jwt::verify() for HS256, ES256, RS256,
// PS256 and EdDSA (median of 7 repetitions), next to the bare signature check
// (Key::verify_bytes) so the JOSE/JSON/claims overhead is visible.
// Build and compare with `openssl speed`: scripts/bench.sh.
#include "careguard/core/jwk.hpp"
#include "careguard/core/jwt.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

namespace {

using careguard::jwt::Algorithm;
using careguard::jwt::Key;
using careguard::jwt::KeySet;

constexpr int kRepetitions = 7;

std::string private_pem(EVP_PKEY* pkey) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, pkey, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<std::size_t>(len));
  BIO_free(bio);
  EVP_PKEY_free(pkey);
  return pem;
}

// Median microseconds per call of fn, each repetition lasting ~0.2 s.
double median_us(const std::function<void()>& fn) {
  using clock = std::chrono::steady_clock;
  int iterations = 1;
  for (;;) {  // Calibrate.
    auto start = clock::now();
    for (int i = 0; i < iterations; ++i) fn();
    if (clock::now() - start > std::chrono::milliseconds(50)) break;
    iterations *= 2;
  }
  iterations *= 4;
  std::vector<double> samples;
  for (int r = 0; r < kRepetitions; ++r) {
    auto start = clock::now();
    for (int i = 0; i < iterations; ++i) fn();
    std::chrono::duration<double, std::micro> elapsed = clock::now() - start;
    samples.push_back(elapsed.count() / iterations);
  }
  std::sort(samples.begin(), samples.end());
  return samples[kRepetitions / 2];
}

}  // namespace

int main() {
  struct Case {
    const char* name;
    Key key;
  };
  std::vector<Case> cases;
  cases.push_back({"HS256", Key::from_secret(std::string(32, 's'), "hs")});
  cases.push_back(
      {"ES256",
       Key::from_pem(private_pem(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")), "es")});
  const std::string rsa_pem =
      private_pem(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{2048}));
  cases.push_back({"RS256", Key::from_pem(rsa_pem, "rs")});
  cases.push_back({"PS256", Key::from_pem(rsa_pem, "ps")});
  cases.push_back(
      {"EdDSA", Key::from_pem(private_pem(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")), "ed")});

  const long long now = 1700000000;
  // A typical Supabase access token's claims (~400 bytes).
  const std::string claims =
      "{\"aud\":\"authenticated\",\"exp\":" + std::to_string(now + 3600) +
      ",\"iat\":" + std::to_string(now) +
      ",\"iss\":\"https://project.supabase.co/auth/"
      "v1\",\"sub\":\"6c9a8a1e-7b7f-4c1e-9d5a-3f0e4b8c2a11\","
      "\"email\":\"user@example.com\",\"phone\":\"\",\"app_metadata\":{\"provider\":\"email\","
      "\"providers\":[\"email\"]},\"user_metadata\":{},\"role\":\"authenticated\",\"aal\":\"aal1\","
      "\"amr\":[{\"method\":\"password\",\"timestamp\":1699999000}],\"session_id\":"
      "\"0b6f7c1e-2a4d-4e7f-9c3b-5d8e1f2a3b4c\",\"is_anonymous\":false}";
  careguard::jwt::VerifyOptions options;
  options.now = now;
  options.issuer = "https://project.supabase.co/auth/v1";
  options.audiences = {"authenticated"};
  options.require_uuid_sub = true;
  options.roles_exempt_from_uuid_sub = {"anon", "service_role"};

  std::printf("%-6s %14s %18s %10s\n", "alg", "verify() us", "verify_bytes() us", "token B");
  for (auto& c : cases) {
    const Algorithm alg = *careguard::jwt::algorithm_from_name(c.name);
    std::string token = careguard::jwt::sign(claims, c.key, c.name);
    // Verification uses public keys imported from JWK, as in production.
    KeySet set;
    set.add(c.key.type() == careguard::jwt::KeyType::Oct
                ? Key::from_secret(std::string(32, 's'), "hs")
                : Key::from_jwk_json(c.key.public_jwk_json()));
    const std::size_t dot2 = token.rfind('.');
    const std::string signing_input = token.substr(0, dot2);
    const std::string signature = c.key.sign_bytes(alg, signing_input);
    const Key& verifier = set.keys().front();
    double full = median_us([&] {
      auto v = careguard::jwt::verify(token, set, options);
      if (v.key == nullptr) std::abort();
    });
    double bare = median_us([&] {
      if (!verifier.verify_bytes(alg, signing_input, signature)) std::abort();
    });
    std::printf("%-6s %14.2f %18.2f %10zu\n", c.name, full, bare, token.size());
  }
  return 0;
}
