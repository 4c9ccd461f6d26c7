# careguard shell tests: counting checks. Sourced, not run. Each test prints
# one line per check and closes with "N passed, M failed", which CI reads.
passed=0 failed=0
pass() { passed=$((passed + 1)); printf 'ok     %s\n' "$1"; }
fail() { failed=$((failed + 1)); printf 'FAIL   %s\n' "$1"; [ -z "${2:-}" ] || printf '       %s\n' "$2"; }
# check NAME EXPECTED ACTUAL
check() {
  if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "expected [$2], got [$3]"; fi
}
# check_contains NAME NEEDLE HAYSTACK
check_contains() {
  case "$3" in *"$2"*) pass "$1" ;; *) fail "$1" "expected output containing [$2], got [$3]" ;; esac
}
# check_prefix NAME PREFIX ACTUAL
check_prefix() {
  case "$3" in "$2"*) pass "$1" ;; *) fail "$1" "expected a value starting [$2], got [$3]" ;; esac
}
section() { printf '\n== %s\n' "$*"; }
# Prints the closing line; the exit status says whether anything failed.
finish_checks() {
  printf '%s passed, %s failed\n' "$passed" "$failed"
  [ "$failed" -eq 0 ]
}
