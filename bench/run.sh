#!/usr/bin/env bash
# careguard benchmark: one command, one throwaway cluster, every figure taken
# in the same run as medians of REPS repetitions, variants interleaved so that
# machine noise hits them alike. Prints tables and writes bench/results/.
#   bench/run.sh            # all sections
#   REPS=7 bench/run.sh
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
export CAREGUARD_ROOT
REPS="${REPS:-5}"
SECTIONS="${SECTIONS:-claims policies booking_services login login_parts booking_race pgbouncer audit_scale policy_gate citus ledger ledger_parts spool_append}"
ensure_packages "${PACKAGES[@]}"
ensure_node
build_and_install_extension
build_cmake
start_cluster "${BENCH_PORT:-55490}"
psql -X -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE careguard_bench"
export PGDATABASE=careguard_bench
psql -X -q -v ON_ERROR_STOP=1 -c "CREATE SCHEMA IF NOT EXISTS extensions; CREATE EXTENSION careguard_booking SCHEMA extensions CASCADE"
mkdir -p "$CAREGUARD_ROOT/bench/results"
out="$CAREGUARD_ROOT/bench/results/$(date -u +%Y%m%dT%H%M%SZ).txt"
{
  echo "careguard benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(psql -X -At -c 'SHOW server_version')"
  echo "medians of $REPS repetitions, variants interleaved within each repetition"
  for section in $SECTIONS; do
    "$CAREGUARD_ROOT/bench/$section.sh"
  done
} 2>&1 | tee "$out"
echo "results written to $out"
