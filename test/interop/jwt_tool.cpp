// careguard_jwt_tool: a command-line face of the JWT core for interop tests.
//   jwt_tool sign <alg|-> <jwk-file> <claims-json> [kid]
//   jwt_tool sign-pem <alg|-> <pem-file> <claims-json> [kid]
//   jwt_tool verify <jwks-file> <token> [--iss ISSUER] [--aud AUDIENCE]...
//   jwt_tool verify-pem <pem-file> <token> [--iss ISSUER] [--aud AUDIENCE]...
// sign prints the token; verify prints the payload JSON. Failures print
// "ERROR <sqlstate>: <message>" on stderr and exit 1; usage errors exit 2.
#include "careguard/core/error.hpp"
#include "careguard/core/jwk.hpp"
#include "careguard/core/jwt.hpp"

#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw careguard::Error(careguard::sqlstate::kInvalidParameterValue, "cannot read " + path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

int usage() {
  std::cerr << "usage: jwt_tool sign|sign-pem <alg|-> <key-file> <claims-json> [kid]\n"
               "       jwt_tool verify|verify-pem <key-file> <token> [--iss I] [--aud A]...\n";
  return 2;
}

// Parses --iss/--aud flags after the positional arguments.
bool parse_flags(int argc, char** argv, int first, careguard::jwt::VerifyOptions& options) {
  for (int i = first; i < argc; i += 2) {
    std::string flag = argv[i];
    if (i + 1 >= argc) return false;
    if (flag == "--iss") {
      options.issuer = argv[i + 1];
    } else if (flag == "--aud") {
      options.audiences.push_back(argv[i + 1]);
    } else {
      return false;
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) return usage();
  const std::string mode = argv[1];
  try {
    if (mode == "sign" || mode == "sign-pem") {
      if (argc < 5 || argc > 6) return usage();
      std::string alg = argv[2] == std::string("-") ? "" : argv[2];
      std::string key_text = read_file(argv[3]);
      careguard::jwt::Key key = mode == "sign" ? careguard::jwt::Key::from_jwk_json(key_text)
                                               : careguard::jwt::Key::from_pem(key_text);
      std::cout << careguard::jwt::sign(argv[4], key, alg, argc == 6 ? argv[5] : "") << "\n";
      return 0;
    }
    if (mode == "verify" || mode == "verify-pem") {
      careguard::jwt::VerifyOptions options;
      options.require_uuid_sub = true;
      options.roles_exempt_from_uuid_sub = {"anon", "service_role"};
      if (!parse_flags(argc, argv, 4, options)) return usage();
      std::string key_text = read_file(argv[2]);
      careguard::jwt::KeySet keys;
      if (mode == "verify") {
        keys = careguard::jwt::KeySet::from_jwks_json(key_text);
      } else {
        keys.add(careguard::jwt::Key::from_pem(key_text));
      }
      std::cout << careguard::jwt::verify(argv[3], keys, options).payload_json << "\n";
      return 0;
    }
    return usage();
  } catch (const careguard::Error& e) {
    std::cerr << "ERROR " << e.sqlstate() << ": " << e.what() << "\n";
    return 1;
  }
}
