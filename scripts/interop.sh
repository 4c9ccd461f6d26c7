#!/usr/bin/env bash
# JWT interop: builds careguard_jwt_tool standalone into build-interop/,
# installs the pinned `jose` from test/interop/package-lock.json when
# missing, then runs jose <-> careguard sign/verify for every algorithm.
# Prints "N passed, M failed" and exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD="${INTEROP_BUILD_DIR:-build-interop}"
cmake -S test/interop -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" --target careguard_jwt_tool -j"$(nproc)" >/dev/null
if [ ! -d test/interop/node_modules/jose ]; then
  npm ci --prefix test/interop --no-audit --no-fund >/dev/null
fi
node test/interop/jose_interop.mjs "$PWD/$BUILD/careguard_jwt_tool"
