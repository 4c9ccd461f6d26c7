#!/usr/bin/env bash
# Builds every C++ target with clang++-14 and -Werror into build-clang/, so
# that the project keeps building with both compilers. (The extension's own
# .cpp files also go through clang-14 in PGXS's LLVM bitcode step.)
set -euo pipefail
cd "$(dirname "$0")/.."
CXX=clang++-14 CC=clang-14 cmake -S . -B build-clang -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-clang -j"$(nproc)" --target careguard_unit_tests careguard_integration_tests \
  careguard-audit careguard-token-factory careguard_jwt_tool >/dev/null
echo "clang++-14: every C++ target built with -Wall -Wextra -Werror"
