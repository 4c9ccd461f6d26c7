// Unit-test helper: PEM text of an OpenSSL key, written by OpenSSL itself,
// so key-import tests do not depend on careguard's own encoders.
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <string>

namespace careguard_test {

// The private (PKCS#8) or public (SPKI) PEM of a key.
inline std::string pem_of(EVP_PKEY* pkey, bool private_part) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (private_part) {
    PEM_write_bio_PrivateKey(bio, pkey, nullptr, nullptr, 0, nullptr, nullptr);
  } else {
    PEM_write_bio_PUBKEY(bio, pkey);
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<std::size_t>(len));
  BIO_free(bio);
  return pem;
}

}  // namespace careguard_test
