// Unit-test helpers shared by the JWK and KeySet tests: RFC example keys and
// the check that a call throws careguard's invalid-key error.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "careguard/core/error.hpp"

namespace careguard_test {

// RFC 7515 A.3 (P-256) and RFC 8037 A.1 (Ed25519) example keys, and a
// 64-byte oct key.
inline const char* const kEcPrivateJwk =
    R"({"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",)"
    R"("y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",)"
    R"("d":"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI","kid":"ec1"})";
inline const char* const kEdPrivateJwk =
    R"({"kty":"OKP","crv":"Ed25519","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",)"
    R"("x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"ed1"})";
inline const char* const kOctJwk =
    R"({"kty":"oct","kid":"hs","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"})";

// Runs fn and returns the careguard::Error it throws; fails the test otherwise.
inline careguard::Error expect_error(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const careguard::Error& e) {
    return e;
  }
  ADD_FAILURE() << "expected careguard::Error";
  return careguard::Error("00000", "no error");
}

// fn throws 22023 with a message starting message_prefix.
inline void expect_invalid_key(const std::function<void()>& fn, const std::string& message_prefix) {
  careguard::Error e = expect_error(fn);
  EXPECT_STREQ(e.sqlstate(), "22023");
  EXPECT_EQ(std::string(e.what()).rfind(message_prefix, 0), 0u) << e.what();
}

}  // namespace careguard_test
