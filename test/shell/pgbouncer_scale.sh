#!/usr/bin/env bash
# careguard behind PgBouncer at scale (issue 12, section 3).
#
# Starts its own PgBouncer (pool_mode = transaction, default_pool_size = 2) in
# front of the running test cluster named by PGHOST/PGPORT/PGUSER (a
# superuser; trust authentication), creates a fresh database with careguard
# and demo data, and runs careguard_pool_driver with 40 clients:
#   1. careguard: TRANSACTIONS transactions as randomly chosen demo patients
#      and providers, interleaving the gateway style (SET LOCAL ROLE +
#      set_config(..., true)), the sign-in style (auth.login) and a buggy
#      client (claims set for the session with SET / set_config(..., false),
#      queried in a later transaction). Every transaction must see only its
#      own rows and its own identity; the buggy one none (careguard ignores
#      session-level claims);
#   2. the reference: the same buggy client against a Supabase-style SQL
#      helper (supabase_ref.uid(), the body Supabase ships) and a table whose
#      policy uses it. It must leak (that proves the driver sees a leak when
#      there is one), and the test prints how many transactions saw another
#      identity's rows.
# The closing line is "N passed, M failed"; the exit status is non-zero when
# anything failed.
#
# Usage: PGHOST=... PGPORT=... PGUSER=postgres test/shell/pgbouncer_scale.sh
#   POOL_DRIVER=build/test/careguard_pool_driver   the driver (ctest sets it)
#   PGBOUNCER=/usr/sbin/pgbouncer  TRANSACTIONS=10000  CLIENTS=40  SEED=12
set -euo pipefail

export PGHOST="${PGHOST:-/var/run/postgresql}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}"
ADMIN_DB="${PGDATABASE:-postgres}"
PGBOUNCER="${PGBOUNCER:-/usr/sbin/pgbouncer}"
POOL_DRIVER="${POOL_DRIVER:-$(dirname "${BASH_SOURCE[0]}")/../../build/test/careguard_pool_driver}"
TRANSACTIONS="${TRANSACTIONS:-10000}"
CLIENTS="${CLIENTS:-40}"
SEED="${SEED:-12}"
DB="careguard_pgb_scale_$$"
unset PGOPTIONS PGSERVICE

source "$(dirname "${BASH_SOURCE[0]}")/checks.sh"
source "$(dirname "${BASH_SOURCE[0]}")/pgbouncer.sh"
note() { printf '       %s\n' "$*"; }
die() { printf 'pgbouncer_scale: %s\n' "$*" >&2; printf '%s passed, %s failed\n' "$passed" "$((failed + 1))"; exit 1; }

[ -x "$PGBOUNCER" ] || die "no PgBouncer at $PGBOUNCER (Debian package pgbouncer)"
[ -x "$POOL_DRIVER" ] || die "no driver at $POOL_DRIVER (set POOL_DRIVER)"

WORK="$(mktemp -d /tmp/careguard-pgb-scale.XXXXXX)"
chmod 755 "$WORK"
cleanup() {
  local rc=$?
  set +e
  pgb_stop
  pgb_drop_database "$ADMIN_DB" "$DB"
  if [ "${KEEP_WORKDIR:-0}" = 1 ]; then echo "work directory kept: $WORK" >&2; else rm -rf "$WORK"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

section "set-up: database $DB on ${PGHOST}:${PGPORT}"
pgb_create_database "$ADMIN_DB" "$DB" || die "cannot create database $DB"
# The reference: Supabase's SQL auth.uid() (supabase/auth migration
# 20220224000811, LANGUAGE sql STABLE, no SET clause) in a scratch schema,
# and a copy of the appointments under a policy that uses it.
psql -X -q -d "$DB" -v ON_ERROR_STOP=1 >/dev/null <<'SQL' || die "cannot install careguard and the reference in $DB"
SET client_min_messages = warning;
CREATE SCHEMA extensions;
CREATE EXTENSION careguard_booking SCHEMA extensions CASCADE;
SELECT careguard.seed_demo(20, 4, 200, 42);
ALTER ROLE authenticator LOGIN;
SELECT auth.import_hmac_secret('pgb-scale-hs256', 'pgbouncer-scale-test-hs256-secret-0123456789abcdef');
CREATE SCHEMA supabase_ref;
CREATE FUNCTION supabase_ref.uid() RETURNS uuid LANGUAGE sql STABLE AS $$
  SELECT coalesce(nullif(current_setting('request.jwt.claim.sub', true), ''),
                  (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'))::uuid
$$;
CREATE TABLE supabase_ref.appointments AS SELECT id, patient_id FROM bookings.appointments;
ALTER TABLE supabase_ref.appointments ENABLE ROW LEVEL SECURITY;
CREATE POLICY own ON supabase_ref.appointments FOR SELECT TO patient USING (patient_id = supabase_ref.uid());
GRANT USAGE ON SCHEMA supabase_ref TO patient;
GRANT SELECT ON supabase_ref.appointments TO patient;
GRANT EXECUTE ON FUNCTION supabase_ref.uid() TO patient;
SQL
[ "$(psql -X -At -d "$DB" -c "SELECT careguard.is_preloaded()")" = t ] ||
  die "careguard is not in shared_preload_libraries of the cluster at ${PGHOST}:${PGPORT}"

pgb_start "$WORK" "$DB" 2 authenticator ||
  die "PgBouncer did not start: $(tail -n 5 "$WORK/pgbouncer.log" 2>/dev/null)"
note "PgBouncer $("$PGBOUNCER" --version | head -n 1 | awk '{print $2}') pid $PGB_PID on 127.0.0.1:$PGB_PORT (pool_mode transaction, default_pool_size 2)"
DIRECT="host=$PGHOST port=$PGPORT user=$PGUSER dbname=$DB"
POOLED="host=127.0.0.1 port=$PGB_PORT user=authenticator dbname=$DB"

# run MODE: the driver's key=value output in $WORK/MODE.out
run() {
  "$POOL_DRIVER" "$1" "$DIRECT" "$POOLED" "$CLIENTS" "$TRANSACTIONS" "$SEED" >"$WORK/$1.out" 2>"$WORK/$1.err" ||
    fail "driver ($1) exit status" "$(tail -n 3 "$WORK/$1.err")"
  sed 's/^/       /' "$WORK/$1.out"
}
get() { sed -n "s/^$2=//p" "$WORK/$1.out" | head -n 1; }
servers() {
  psql -X -At -d "$ADMIN_DB" -c "SELECT count(DISTINCT pid) FROM pg_stat_activity WHERE datname = '$DB' AND usename = 'authenticator'"
}

section "1. careguard: $TRANSACTIONS transactions, $CLIENTS clients, pool of 2"
run careguard
check "every transaction ran" "$TRANSACTIONS" "$(get careguard transactions)"
check "no transaction failed" 0 "$(get careguard errors)"
check "cross-identity rows" 0 "$(get careguard cross_identity_rows)"
check "transactions with a wrong identity (auth.uid(), current_user)" 0 "$(get careguard wrong_identity)"
check "transactions that saw other than exactly their own rows" 0 "$(get careguard wrong_own_count)"
for style in gateway login buggy; do
  [ "$(get careguard "$style")" -gt 0 ] && pass "the mix has $style transactions ($(get careguard "$style"))" ||
    fail "the mix has $style transactions"
done
exposed="$(get careguard exposed_buggy)"
note "buggy transactions whose server connection held another identity's session claims: $exposed"
check "the buggy client was exposed to other identities' session claims" true "$([ "${exposed:-0}" -gt 0 ] && echo true || echo false)"
check "PgBouncer used at most 2 server connections" true "$([ "$(servers)" -le 2 ] && echo true || echo false)"

section "2. reference: the buggy client against a Supabase-style SQL auth.uid()"
run reference
check "every transaction ran" "$TRANSACTIONS" "$(get reference transactions)"
check "no transaction failed" 0 "$(get reference errors)"
leaked="$(get reference cross_identity_transactions)"
note "transactions that saw another identity's rows: $leaked of $TRANSACTIONS ($(get reference cross_identity_rows) rows)"
check "the reference leaks (the driver detects a leak when there is one)" true "$([ "${leaked:-0}" -gt 0 ] && echo true || echo false)"

section "summary"
printf '  careguard (gateway %s, sign-in %s, buggy %s, of which exposed %s): cross-identity rows %s, wrong identities %s\n' \
  "$(get careguard gateway)" "$(get careguard login)" "$(get careguard buggy)" "$exposed" \
  "$(get careguard cross_identity_rows)" "$(get careguard wrong_identity)"
printf '  reference (buggy, Supabase-style SQL uid()): %s of %s transactions saw another identity'"'"'s rows, %s wrong identities\n' \
  "$leaked" "$TRANSACTIONS" "$(get reference wrong_identity)"
echo
finish_checks
