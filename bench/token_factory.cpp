// careguard benchmark helper: mints distinct JWTs outside the database.
//   careguard-token-factory <HS256|ES256|RS256|EdDSA> <count> <sub> <role>
// Prints the public JWKS on the first line (for HS256: the shared secret),
// then one token per line, each with a distinct jti so no cache can help.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "careguard/core/jwk.hpp"
#include "careguard/core/jwt.hpp"

namespace jwt = careguard::jwt;

namespace {

std::string run(const std::string& command) {
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  std::string out;
  char buffer[4096];
  while (pipe && fgets(buffer, sizeof buffer, pipe.get())) out += buffer;
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::cerr << "usage: careguard-token-factory <HS256|ES256|RS256|EdDSA> <count> <sub> <role>\n";
    return 2;
  }
  std::string alg = argv[1];
  long count = std::stol(argv[2]);
  const char* kSecret = "benchmark-hmac-secret-with-at-least-32-bytes!";
  jwt::Key key = [&] {
    if (alg == "HS256") return jwt::Key::from_secret(kSecret, "bench-hs256", jwt::Algorithm::HS256);
    const char* args = alg == "ES256"   ? "-algorithm EC -pkeyopt ec_paramgen_curve:P-256"
                       : alg == "RS256" ? "-algorithm RSA -pkeyopt rsa_keygen_bits:2048"
                                        : "-algorithm ED25519";
    return jwt::Key::from_pem(run(std::string("openssl genpkey ") + args + " 2>/dev/null"),
                              "bench-" + alg);
  }();
  std::cout << (alg == "HS256" ? std::string(kSecret)
                               : "{\"keys\":[" + key.public_jwk_json() + "]}")
            << "\n";
  long exp = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count() +
             86400;
  for (long i = 0; i < count; ++i) {
    std::string claims = std::string(R"({"sub":")") + argv[3] + R"(","role":")" + argv[4] +
                         R"(","exp":)" + std::to_string(exp) + R"(,"jti":")" + std::to_string(i) +
                         "\"}";
    std::cout << jwt::sign(claims, key) << "\n";
  }
  return 0;
}
