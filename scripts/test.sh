#!/usr/bin/env bash
# careguard: every test, from a fresh Debian 12 machine.
#   scripts/test.sh
# Installs missing packages, builds the extension (PGXS) and the C++ tests and
# tools (CMake), starts a throwaway cluster, and runs every layer through
# ctest: GoogleTest (core), pg_regress, pgTAP (pg_prove), libpqxx
# integration, JWT interop with an independent implementation, and a bounded
# fuzzing run.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$CAREGUARD_ROOT"

ensure_packages "${PACKAGES[@]}"
ensure_node
build_and_install_extension
build_cmake
start_cluster "${CAREGUARD_TEST_PORT:-55433}"

log "creating the integration database"
psql -X -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE careguard_test"
psql -X -q -v ON_ERROR_STOP=1 -d careguard_test \
  -c "CREATE SCHEMA extensions" -c "CREATE EXTENSION careguard_booking SCHEMA extensions CASCADE" \
  -c "CREATE EXTENSION pgtap" -c "CREATE EXTENSION careguard_test"
export PGDATABASE=careguard_test

log "running every test layer with ctest"
cd build
ctest --output-on-failure --timeout 1200 "$@"
