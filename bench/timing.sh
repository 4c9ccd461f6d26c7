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

# Reads numbers that cycle through $1 interleaved series (a, b, c, a, b, c,
# ...) and prints each series' median, in order, on one line.
interleaved_medians() {
  awk -v k="$1" '{c = (NR - 1) % k; v[c, ++n[c]] = $1 + 0}
    function med(c,   i, j, t, m) { m = n[c]; for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++)
        if (v[c, j] < v[c, i]) { t = v[c, i]; v[c, i] = v[c, j]; v[c, j] = t }
      return m % 2 ? v[c, (m + 1) / 2] : (v[c, m / 2] + v[c, m / 2 + 1]) / 2 }
    END { for (c = 0; c < k; c++) printf "%s%s", (c ? " " : ""), med(c); print "" }'
}

# callgrind_annotate --inclusive tables: the program's total, and the
# inclusive count of the first function matching a pattern (0 if none).
callgrind_total() { awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1; exit}' <<<"$1"; }
callgrind_part() {
  awk -v pat="$2" 'index($0, pat) {gsub(",", "", $1); print $1; found = 1; exit} END {if (!found) print 0}' <<<"$1"
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
