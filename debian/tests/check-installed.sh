#!/bin/sh
# Runs inside pg_virtualenv (PG* point at its cluster): the three extensions
# install, careguard is preloaded, a patient sees only her rows, the policy
# gate and the drop guard refuse, and careguard-audit with its manual runs.
set -eu
: "${CAREGUARD_AUDIT:=/usr/bin/careguard-audit}"
passed=0
failed=0
check() {
  if [ "$2" = "$3" ]; then passed=$((passed + 1)); echo "ok     $1"
  else failed=$((failed + 1)); echo "FAIL   $1: expected [$2], got [$3]"; fi
}
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d careguard_pkg "$@" 2>&1; }

psql -X -q -d postgres -c "CREATE DATABASE careguard_pkg"
q -c "SET client_min_messages = warning" -c "CREATE SCHEMA extensions" \
  -c "CREATE EXTENSION careguard_booking SCHEMA extensions CASCADE" \
  -c "CREATE EXTENSION pgtap" -c "CREATE EXTENSION careguard_test" >/dev/null
check "the three extensions are installed at 0.4.1" "careguard|0.4.1,careguard_booking|0.4.1,careguard_test|0.4.1" \
  "$(q -c "SELECT string_agg(extname || '|' || extversion, ',' ORDER BY extname) FROM pg_extension WHERE extname LIKE 'careguard%'")"
check "careguard is preloaded" t "$(q -c "SELECT careguard.is_preloaded()")"
q -c "SET client_min_messages = warning" -c "SELECT careguard.seed_demo(20, 4, 200, 42)" >/dev/null
patient="$(q -c "SELECT patient_id FROM bookings.appointments ORDER BY id LIMIT 1")"
own="$(q -c "SELECT count(*) FROM bookings.appointments WHERE patient_id = '$patient'")"
check "a patient sees exactly her own appointments" "$own" "$(q -c "BEGIN" -c "SET LOCAL ROLE patient" \
  -c "SELECT set_config('request.jwt.claims', '{\"sub\":\"$patient\",\"role\":\"patient\"}', true)" \
  -c "SELECT count(*) FROM bookings.appointments" -c "COMMIT" | tail -1)"
out="$(q -c "ALTER TABLE bookings.appointments DISABLE ROW LEVEL SECURITY" || true)"
case "$out" in *"policy gate: protected table bookings.appointments"*) r=refused ;; *) r="$out" ;; esac
check "the policy gate refuses RLS disabled on a PHI table" refused "$r"
out="$(q -c "DROP EXTENSION careguard_booking" || true)"
case "$out" in *"cannot drop extension \"careguard_booking\""*) r=refused ;; *) r="$out" ;; esac
check "DROP EXTENSION refuses while the tables hold data" refused "$r"
check "careguard-audit runs" "careguard-audit 0.4.1" "$("$CAREGUARD_AUDIT" --version)"
# The product alone (pgtap in public is test tooling, not the product's).
psql -X -q -d postgres -c "CREATE DATABASE careguard_product"
psql -X -q -v ON_ERROR_STOP=1 -d careguard_product -c "SET client_min_messages = warning" \
  -c "CREATE SCHEMA extensions" -c "CREATE EXTENSION careguard_booking SCHEMA extensions CASCADE" >/dev/null
audit=0
"$CAREGUARD_AUDIT" --dsn "dbname=careguard_product" --quiet --fail-on error >/dev/null || audit=$?
check "careguard-audit finds no error on the installed product" 0 "$audit"
manual="$(dirname "$CAREGUARD_AUDIT")/../share/man/man1/careguard-audit.1.gz"
check "the manual page is installed" yes "$([ -f "$manual" ] && echo yes || echo no)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
