#!/usr/bin/env bash
# Assembles an upgrade or downgrade script, sql/<ext>--<from>--<to>.sql, from
# its pieces in sql/<ext>/updates/<from>--<to>/, in name order (C collation),
# and writes it to stdout. Every script starts with the guard against psql
# and the timeouts (docs/migrations.md); a path with no pieces still yields
# that valid, empty script. A piece is one of:
#   NN_topic.sql       taken as it is;
#   NN_topic.include   names (first line not starting with #) an install part
#                      to take whole: new objects that the install script
#                      also creates, stated once;
#   NN_topic.redefine  names an install part made only of functions and views
#                      and their REVOKE/GRANT/COMMENT, taken with CREATE
#                      FUNCTION/VIEW turned into CREATE OR REPLACE: a body
#                      changed in place (same signature, same view columns),
#                      stated once.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${1:?usage: assemble-update.sh sql/<ext>--<from>--<to>.sql}"
name="$(basename "$target" .sql)"
ext="${name%%--*}"
path="${name#*--}"
to="${path#*--}"
dir="sql/$ext/updates/$path"
[[ "$path" == *--* && -n "$ext" ]] || { echo "assemble-update.sh: $target is no <ext>--<from>--<to>.sql" >&2; exit 2; }

named_part() {
  local part
  part="$(grep -v '^#' "$1" | head -n 1)"
  [ -f "$part" ] || { echo "assemble-update.sh: $1 names $part, which does not exist" >&2; exit 2; }
  printf '%s' "$part"
}

cat <<HEADER
-- $ext $path: assembled by scripts/assemble-update.sh from $dir/.
\\echo Use "ALTER EXTENSION $ext UPDATE TO '$to'" to load this file. \\quit

-- An extension script runs in the one transaction of ALTER EXTENSION, so
-- SET LOCAL lasts until that transaction ends. lock_timeout bounds every lock
-- wait of the script at once; statement_timeout applies from the caller's
-- next statement (the running ALTER EXTENSION's timer is already armed):
-- set it before ALTER EXTENSION too (docs/migrations.md).
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '15min';
HEADER

shopt -s nullglob
pieces=()
while IFS= read -r piece; do pieces+=("$piece"); done < <(
  [ -d "$dir" ] && find "$dir" -maxdepth 1 -type f \( -name '*.sql' -o -name '*.include' -o -name '*.redefine' \) |
    LC_ALL=C sort)
if [ ${#pieces[@]} -eq 0 ]; then
  printf '\n-- No changes to %s in this step.\n' "$ext"
fi
for piece in "${pieces[@]}"; do
  printf '\n-- Piece %s\n' "$piece"
  case "$piece" in
    *.sql) cat "$piece" ;;
    *.include) cat "$(named_part "$piece")" ;;
    *.redefine) sed -E 's/^CREATE (FUNCTION|VIEW) /CREATE OR REPLACE \1 /' "$(named_part "$piece")" ;;
  esac
done
