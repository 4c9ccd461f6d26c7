#!/usr/bin/env bash
# careguard: builds the Debian packages (debian/, pg_buildext) from a copy of
# the tree with dpkg-buildpackage -us -uc -b (its build-time test runs the
# regression suite through pg_virtualenv), checks their contents, and runs
# the autopkgtest (debian/tests/installcheck) against them in a throwaway
# pg_virtualenv cluster.
#   CI=true          install the .debs with dpkg -i first (CI's machine is
#                    thrown away after the run), and test the installed files
#   otherwise        unpack them with dpkg -x into a scratch directory and
#                    test from there: the system's PostgreSQL is not touched
#   DEB_TEST_PORT    the port pg_virtualenv's clusters use (default: 7 above
#                    CAREGUARD_TEST_PORT, the test cluster's)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$CAREGUARD_ROOT"
source "$CAREGUARD_ROOT/test/shell/checks.sh"

version="$(sed -n 's/^careguard (\([^)]*\)).*/\1/p' debian/changelog | head -1)"
work="$(mktemp -d /tmp/careguard-deb.XXXXXX)"
chmod 755 "$work"
# KEEP_DEB_WORK=1 keeps the copy, the build log and the .debs for a look.
trap '[ "${KEEP_DEB_WORK:-0}" = 1 ] && echo "kept $work" || rm -rf "$work"' EXIT
tree="$work/careguard-$version"
mkdir "$tree"
# The tracked tree and files not yet committed, never build outputs.
git ls-files -z -co --exclude-standard | tar -c --null -T - | tar -x -C "$tree"
export PGPORT="${DEB_TEST_PORT:-$((${CAREGUARD_TEST_PORT:-55433} + 7))}"

section "dpkg-buildpackage -us -uc -b (pg_buildext; its test runs under pg_virtualenv)"
started=$(date +%s)
if ! (cd "$tree" && dpkg-buildpackage -us -uc -b -j"$(nproc)" >"$work/build.log" 2>&1); then
  tail -60 "$work/build.log"
  fail "dpkg-buildpackage"
  finish_checks
fi
pass "dpkg-buildpackage built the packages in $(($(date +%s) - started)) s"
grep -q "### End 15 installcheck ###" "$work/build.log" && pass "the build-time regression test passed under pg_virtualenv" \
  || fail "the build-time regression test" "$(grep -n 'installcheck' "$work/build.log" | tail -3)"

ext_deb="$(ls "$work"/postgresql-15-careguard_"$version"_*.deb)"
cli_deb="$(ls "$work"/careguard-audit_"$version"_*.deb)"
contents="$(dpkg -c "$ext_deb")"
for f in usr/lib/postgresql/15/lib/careguard.so usr/lib/postgresql/15/lib/careguard_test.so \
  usr/share/postgresql/15/extension/careguard.control \
  usr/share/postgresql/15/extension/careguard--"$version".sql \
  usr/share/postgresql/15/extension/careguard_booking--"$version".sql \
  usr/share/postgresql/15/extension/careguard_test--"$version".sql; do
  check_contains "postgresql-15-careguard holds /$f" "./$f" "$contents"
done
contents="$(dpkg -c "$cli_deb")"
check_contains "careguard-audit holds the command" "./usr/bin/careguard-audit" "$contents"
check_contains "careguard-audit holds its manual page" "./usr/share/man/man1/careguard-audit.1.gz" "$contents"
check "postgresql-15-careguard depends on PostgreSQL 15" yes \
  "$(dpkg-deb -f "$ext_deb" Depends | grep -q 'postgresql-15' && echo yes || echo no)"

section "the packages in a fresh pg_virtualenv cluster (debian/tests/installcheck)"
if [ "${CI:-}" = true ]; then
  as_root dpkg -i "$ext_deb" "$cli_deb" >/dev/null
  out="$(cd "$tree" && debian/tests/installcheck 2>&1)" && rc=0 || rc=$?
else
  root="$work/unpacked"
  dpkg -x "$ext_deb" "$root"
  dpkg -x "$cli_deb" "$root"
  out="$(cd "$tree" && CAREGUARD_DEB_ROOT="$root" debian/tests/installcheck 2>&1)" && rc=0 || rc=$?
fi
echo "$out" | grep -E '^(ok|FAIL) '
check "debian/tests/installcheck passed" 0 "$rc"
[ "$rc" -eq 0 ] || echo "$out" | tail -40
finish_checks
