#!/usr/bin/env bash
# The spool's append (write(2) under O_APPEND, as ledger_spool.cpp does)
# against a copy into a mapped file, per ledger record, on the file system
# of the data directories (TMPDIR): what a mapped spool would save a backend
# per audited statement. bench/ledger.sh measures the whole ledger's cost.
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
tool="$CAREGUARD_ROOT/build/bench/careguard-spool-append"
[ -x "$tool" ] || { echo "build the CMake targets first (scripts/test.sh or build_cmake)"; exit 1; }
work="$(mktemp -d "${TMPDIR:-/tmp}/careguard-spool-append.XXXXXX")"
trap 'rm -rf "$work"' EXIT
echo
echo "== One ledger record into the spool (900 bytes, caches evicted between records; median of ${REPS:-5}) =="
"$tool" "$work" "${REPS:-5}" 20000
