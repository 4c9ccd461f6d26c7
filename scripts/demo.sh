#!/usr/bin/env bash
# careguard: the main job, from a fresh Debian 12 machine.
#   scripts/demo.sh                 # KEEP_CLUSTER=1 leaves the cluster running
# Installs missing packages, builds and installs the extension, starts a
# throwaway PostgreSQL 15 cluster, creates the extension, loads demo data and
# shows what each role sees, one blocked write, and a verified sign-in.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$CAREGUARD_ROOT"

ensure_packages "${PACKAGES[@]}"
build_and_install_extension
start_cluster "${CAREGUARD_DEMO_PORT:-55434}"
if [ "${KEEP_CLUSTER:-0}" = 1 ]; then
  trap - EXIT
  log "cluster kept: PGHOST=$PGHOST PGPORT=$PGPORT (stop: pg_ctl -D $CLUSTER_DIR/data stop)"
fi
export PGDATABASE=careguard_demo
psql -X -q -d postgres -c "CREATE DATABASE careguard_demo"

log "CREATE EXTENSION careguard_booking SCHEMA extensions CASCADE, then careguard.seed_demo(500, 12, 5000, 42)"
psql -X -q -v ON_ERROR_STOP=1 <<'SQL'
CREATE SCHEMA extensions;
CREATE EXTENSION careguard_booking SCHEMA extensions CASCADE;
\timing on
SELECT careguard.seed_demo(500, 12, 5000, 42) AS rows_loaded;
SQL

headers="auth.users categories locations prov.profiles availability pat.profiles preferences appointments history"
tables="auth.users public.categories public.locations providers.profiles providers.availability patients.profiles patients.preferences bookings.appointments bookings.status_history"
# Prints one line of visible row counts (or 'denied') for the current identity.
count_line() {
  local label="$1"
  cat <<SQL
DO \$\$
DECLARE t text; n bigint; line text := rpad('$label', 14);
BEGIN
  FOREACH t IN ARRAY string_to_array('$tables', ' ') LOOP
    BEGIN
      EXECUTE 'SELECT count(*) FROM ' || t INTO n;
      line := line || lpad(n::text, 14);
    EXCEPTION WHEN insufficient_privilege THEN
      line := line || lpad('denied', 14);
    END;
  END LOOP;
  RAISE NOTICE '%', line;
END \$\$;
SQL
}

log "what each role sees: visible rows per table, through a PostgREST-style gateway (SET LOCAL ROLE + request.jwt.claims)"
{
  echo '\set VERBOSITY terse'
  echo "DO \$\$ BEGIN RAISE NOTICE '%', rpad('context', 14) || (SELECT string_agg(lpad(h, 14), '') FROM unnest(string_to_array('$headers', ' ')) h); END \$\$;"
  psql -X -At -F $'\t' -c "SELECT label, app_role, claims FROM careguard.demo_users()" |
    while IFS=$'\t' read -r label role claims; do
      echo "BEGIN; SET LOCAL ROLE $role; SELECT set_config('request.jwt.claims', '$claims', true) \\g /dev/null"
      count_line "$label"
      echo "COMMIT;"
    done
  echo "BEGIN; SET LOCAL ROLE anon;"
  count_line "anon"
  echo "COMMIT;"
  echo "BEGIN; SET LOCAL ROLE service_role;"
  count_line "service_role"
  echo "COMMIT;"
} | psql -X -q 2>&1 | sed 's/^NOTICE:  //'

a_claims=$(psql -X -At -c "SELECT claims FROM careguard.demo_users() WHERE label = 'patient A'")
b_id=$(psql -X -At -c "SELECT user_id FROM careguard.demo_users() WHERE label = 'patient B'")
log "a blocked write: patient A tries to book an appointment for patient B"
psql -X -q <<SQL 2>&1 | sed 's/^/    /'
\set VERBOSITY default
BEGIN;
SET LOCAL ROLE patient;
SELECT set_config('request.jwt.claims', '$a_claims', true) \g /dev/null
INSERT INTO bookings.appointments (patient_id, provider_id, starts_at, ends_at, reason)
SELECT '$b_id', s.provider_id, lower(s.during), lower(s.during) + interval '30 minutes', 'booked by someone else'
  FROM providers.availability s LIMIT 1;
ROLLBACK;
SQL

log "verified sign-in: a token signed with the project's key, then a forged one"
psql -X -q <<SQL 2>&1 | sed 's/^/    /'
\set VERBOSITY default
SELECT auth.import_hmac_secret('demo-hs256', 'demo-secret-change-me-0123456789abcdef') \g /dev/null
SELECT auth.sign('$a_claims'::jsonb || jsonb_build_object('exp', extract(epoch FROM now())::int + 600)) AS token \gset
BEGIN;
SELECT auth.login(:'token') ->> 'email' AS signed_in_as, current_user AS now_acting_as;
SELECT count(*) AS my_appointments FROM bookings.appointments;
COMMIT;
BEGIN;
SELECT auth.login(regexp_replace(:'token', '.....$', 'AAAAA'));
ROLLBACK;
SQL

log "booking without the service role: patient A finds a free slot and books it"
psql -X -q -f "$CAREGUARD_ROOT/scripts/demo_booking.sql" 2>&1 | sed 's/^/    /'
log "done"
