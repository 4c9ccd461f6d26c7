#!/usr/bin/env bash
# Lints every upgrade and downgrade script with squawk (.squawk.toml): each
# is assembled into build/squawk/ with its psql guard line (\echo ... \quit,
# no SQL) blanked, so that line numbers match the shipped script. Installs
# the pinned squawk-cli from test/squawk/package-lock.json when missing.
# Exits non-zero on any finding.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x test/squawk/node_modules/.bin/squawk ]; then
  npm ci --prefix test/squawk --no-audit --no-fund >/dev/null
fi
out=build/squawk
rm -rf "$out" && mkdir -p "$out"
paths="$(sed -n 's/^UPDATE_PATHS *= *//p' Makefile)"
for ext in careguard careguard_booking careguard_test; do
  for path in $paths; do
    name="$ext--$path.sql"
    scripts/assemble-update.sh "sql/$name" | sed 's/^\\echo .*\\quit$/-- (the psql guard line)/' >"$out/$name"
  done
done
echo "squawk $(test/squawk/node_modules/.bin/squawk --version | awk '{print $2}'): $(ls "$out" | wc -l) scripts"
test/squawk/node_modules/.bin/squawk --config .squawk.toml "$out"/*.sql
