#!/usr/bin/env bash
# careguard: no path lets a non-superuser weaken a security setting or make
# it fall back to a weaker value (docs/security-model.md, "Preload").
#
# Preloaded (the running test cluster named by PG*): the startup packet,
# SET / set_config, ALTER ROLE / ALTER DATABASE SET, a function's SET clause,
# session_preload_libraries and LOAD are each refused for every security
# setting, and the DBA's value holds.
# Not preloaded (a second throwaway cluster this script starts): a client's
# startup option does make PostgreSQL fall back to the compiled-in default,
# which is the 0.1.0 exploit; careguard then trusts no claims, refuses
# auth.login() with a hint naming shared_preload_libraries, warns at CREATE
# EXTENSION, and the audit reports careguard_not_preloaded.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/checks.sh"
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"

ATTACKER="careguard_attacker_$$"
DB="careguard_preload_$$"
PATIENT_A='aaaaaaaa-0000-4000-8000-000000000001'
CLAIMS_A="{\"sub\":\"$PATIENT_A\",\"role\":\"patient\"}"
SETTINGS=(trust_request_claims trust_session_claims jwt_issuer jwt_audience login_roles
  jwt_leeway_seconds jwt_require_exp jwt_max_token_bytes max_claims_bytes allow_session_state
  gateway_roles small_cell_threshold verified_claims leader_trusted_settings)
# A value for each setting that would weaken it if accepted.
weak_value() {
  case "$1" in
    trust_request_claims | trust_session_claims | allow_session_state) echo on ;;
    jwt_require_exp) echo off ;;
    jwt_issuer) echo https://attacker.example ;;
    jwt_audience) echo anything ;;
    login_roles) echo service_role ;;
    gateway_roles) echo postgres ;;
    jwt_leeway_seconds) echo 3600 ;;
    jwt_max_token_bytes | max_claims_bytes) echo 1048576 ;;
    small_cell_threshold) echo 2 ;;
    verified_claims) echo "{\"sub\":\"$PATIENT_A\",\"role\":\"patient\"}" ;;
    leader_trusted_settings) echo 63 ;;
  esac
}

admin() { psql -X -q -A -t -v ON_ERROR_STOP=1 "$@"; }
# The first error line (or the output) of a statement run as the attacker.
as_attacker() {
  psql -X -A -t -U "$ATTACKER" -d "$DB" -v ON_ERROR_STOP=1 -v VERBOSITY=verbose "$@" 2>&1 || true
}

SECOND_DIR=""
cleanup() {
  if [ -n "$SECOND_DIR" ] && [ -d "$SECOND_DIR/data" ]; then
    as_cluster_owner "$PG_BINDIR/pg_ctl" -D "$SECOND_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$SECOND_DIR"
  fi
  admin -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
  admin -d postgres -c "DROP ROLE IF EXISTS $ATTACKER" >/dev/null 2>&1 || true
}
trap cleanup EXIT

setup_database() {
  admin -d postgres -c "CREATE DATABASE $DB"
  admin -d "$DB" -c "SET client_min_messages = error" -c "CREATE SCHEMA IF NOT EXISTS extensions; CREATE EXTENSION careguard_booking SCHEMA extensions CASCADE" \
    -c "SELECT careguard.seed_demo(20, 4, 200, 42) IS NOT NULL" >/dev/null
  admin -d postgres -c "CREATE ROLE $ATTACKER LOGIN" -c "GRANT patient TO $ATTACKER" \
    -c "GRANT CREATE ON DATABASE $DB TO $ATTACKER" 2>/dev/null || true
  admin -d "$DB" -c "GRANT CREATE ON SCHEMA public TO $ATTACKER"
  # The DBA's choice for direct clients: gateway claims are not trusted.
  admin -d postgres -c "ALTER DATABASE $DB SET careguard.trust_request_claims = off"
}

# What a gateway-style request by the attacker reads: uid, own rows.
forged_request() {
  PGOPTIONS="${1:-}" as_attacker -c "BEGIN" -c "SET LOCAL ROLE patient" \
    -c "SELECT set_config('request.jwt.claims', '$CLAIMS_A', true) IS NULL" \
    -c "SELECT coalesce(auth.uid()::text, 'null') || ' ' || (SELECT count(*) FROM bookings.appointments)" \
    -c "COMMIT" | grep -v '^f$' | grep -v '^BEGIN\|^SET\|^COMMIT' | grep -v WARNING | grep -v HINT | grep -v LOCATION | tail -1
}

section "preloaded: every path to a security setting is closed to a non-superuser"
check_contains "the test cluster preloads careguard" careguard "$(admin -d postgres -c 'SHOW shared_preload_libraries')"
setup_database
for name in "${SETTINGS[@]}"; do
  value="$(weak_value "$name")"
  out="$(PGOPTIONS="-c careguard.$name=$(printf %s "$value" | sed 's/ /\\ /g')" as_attacker -c 'SELECT 1')"
  check_contains "startup option careguard.$name is refused" 'permission denied to set parameter' "$out"
  out="$(as_attacker -c "SET careguard.$name = '$value'")"
  check_contains "SET careguard.$name is refused" '42501' "$out"
  out="$(as_attacker -c "SELECT set_config('careguard.$name', '$value', false)")"
  check_contains "set_config(careguard.$name) is refused" '42501' "$out"
  out="$(as_attacker -c "ALTER ROLE $ATTACKER SET careguard.$name = '$value'")"
  check_contains "ALTER ROLE ... SET careguard.$name is refused" '42501' "$out"
  out="$(as_attacker -c "CREATE FUNCTION public.weak_$name() RETURNS int LANGUAGE sql SET careguard.$name = '$value' AS 'SELECT 1'")"
  check_contains "a function's SET careguard.$name is refused" '42501' "$out"
done
out="$(as_attacker -c "ALTER DATABASE $DB SET careguard.trust_request_claims = on")"
check_contains "ALTER DATABASE ... SET is refused" '42501' "$out"
out="$(as_attacker -c "SET session_preload_libraries = 'careguard'")"
check_contains "session_preload_libraries is refused" '42501' "$out"
out="$(as_attacker -c "LOAD 'careguard'")"
check_contains "LOAD 'careguard' is refused" 'not allowed' "$out"
check "the DBA's trust_request_claims = off holds" off "$(as_attacker -c 'SHOW careguard.trust_request_claims')"
check "forged gateway claims read nothing (uid, rows)" "null 0" "$(forged_request)"

section "not preloaded: a client's startup option forces the default, careguard fails closed"
SECOND_PORT=$((${PGPORT:-55433} + 101))
SECOND_DIR="$(mktemp -d /tmp/careguard-nopreload.XXXXXX)"
chmod 755 "$SECOND_DIR"
if [ "$(id -u)" -eq 0 ]; then chown postgres: "$SECOND_DIR"; fi
as_cluster_owner "$PG_BINDIR/initdb" -D "$SECOND_DIR/data" -U postgres --auth=trust --no-sync \
  -E UTF8 --locale=C.UTF-8 >/dev/null
cat >>"$SECOND_DIR/data/postgresql.conf" <<CONF
listen_addresses = ''
port = $SECOND_PORT
unix_socket_directories = '$SECOND_DIR'
fsync = off
CONF
as_cluster_owner "$PG_BINDIR/pg_ctl" -D "$SECOND_DIR/data" -l "$SECOND_DIR/server.log" -w start >/dev/null
export PGHOST="$SECOND_DIR" PGPORT="$SECOND_PORT"
out="$(psql -X -q -d postgres -c "CREATE DATABASE $DB" -d postgres 2>&1 &&
  psql -X -q -d "$DB" -c 'CREATE SCHEMA IF NOT EXISTS extensions; CREATE EXTENSION careguard_booking SCHEMA extensions CASCADE' 2>&1)"
check_contains "CREATE EXTENSION warns that careguard is not preloaded" 'not in shared_preload_libraries' "$out"
admin -d "$DB" -c "SELECT careguard.seed_demo(20, 4, 200, 42) IS NOT NULL" >/dev/null
admin -d postgres -c "CREATE ROLE $ATTACKER LOGIN" -c "GRANT patient TO $ATTACKER"
admin -d postgres -c "ALTER DATABASE $DB SET careguard.trust_request_claims = off"
shown="$(PGOPTIONS='-c careguard.trust_request_claims=off' as_attacker -c 'SELECT auth.role() IS NULL' -c 'SHOW careguard.trust_request_claims' | tail -1)"
check "the startup option made the setting fall back to its default (the 0.1.0 hole)" on "$shown"
check "forged gateway claims read nothing anyway (uid, rows)" "null 0" \
  "$(forged_request '-c careguard.trust_request_claims=off')"
out="$(as_attacker -c "SELECT auth.login('a.b.c')")"
check_contains "auth.login() is refused" 'ERROR:  55000: auth.login() needs careguard in shared_preload_libraries' "$out"
check_contains "its hint names the setting" 'HINT:  Add careguard to shared_preload_libraries' "$out"
check "careguard.is_preloaded() is false" f "$(admin -d "$DB" -c 'SELECT careguard.is_preloaded()')"
check "the audit reports careguard_not_preloaded as an error" "careguard_not_preloaded|error" \
  "$(admin -d "$DB" -c "SELECT rule, severity FROM careguard.audit() WHERE rule = 'careguard_not_preloaded'")"
admin -d postgres -c "ALTER DATABASE $DB SET session_preload_libraries = 'careguard'"
check "session_preload_libraries does not count as preloaded" "f" \
  "$(admin -d "$DB" -c 'SELECT careguard.is_preloaded()')"
check "with session_preload_libraries, forged claims still read nothing" "null 0" \
  "$(forged_request '-c careguard.trust_request_claims=off')"

finish_checks
