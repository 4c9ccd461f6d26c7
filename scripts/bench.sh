#!/usr/bin/env bash
# JWT verify micro-benchmark (bench/jwt_verify_bench.cpp, -O2) followed by
# `openssl speed` for the same primitives, to compare careguard's per-token
# cost with the bare crypto. Builds into build-bench/.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build-bench
g++ -std=c++17 -O2 -DNDEBUG -Wall -Wextra -Werror -Iinclude bench/jwt_verify_bench.cpp \
  src/core/base64url.cpp src/core/json.cpp src/core/uuid.cpp src/core/jwk_*.cpp src/core/jwt.cpp \
  -lcrypto -o build-bench/jwt_verify_bench
echo "== careguard (median of 7, microseconds per operation)"
build-bench/jwt_verify_bench
echo "== openssl speed -seconds 1 (verify/s; HMAC row: 16..16384-byte blocks)"
openssl speed -seconds 1 ecdsap256 rsa2048 ed25519 2>/dev/null | grep -E "^ *(sign|rsa|[0-9]+ bits ecdsa|[0-9]+ bits EdDSA)"
openssl speed -seconds 1 -evp sha256 2>/dev/null | tail -1
openssl speed -seconds 1 -hmac sha256 2>/dev/null | tail -2
