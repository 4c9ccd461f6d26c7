#!/usr/bin/env bash
# careguard benchmark helpers: time SQL statements with psql and take medians.
# Sourced by the bench sections.

# Prints the server-side execution time in ms of the last statement of a
# script (EXPLAIN ANALYZE's "Execution Time", so client transfer is excluded).
time_sql() {
  local setup="$1" query="$2"
  psql -X -At -v ON_ERROR_STOP=1 <<SQL | sed -n 's/.*Execution Time: \([0-9.]*\) ms.*/\1/p'
BEGIN;
$setup
EXPLAIN (ANALYZE, TIMING OFF, FORMAT TEXT) $query;
ROLLBACK;
SQL
}

# Median of the numbers given as arguments.
median() {
  printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'
}

# Prints the plan of a query under a setup, for the record.
plan_of() {
  local setup="$1" query="$2"
  psql -X -At -v ON_ERROR_STOP=1 <<SQL | grep -v -E '^(BEGIN|ROLLBACK|SET|\{.*)$' | grep -v '^$'
BEGIN;
$setup
EXPLAIN (COSTS OFF) $query;
ROLLBACK;
SQL
}
