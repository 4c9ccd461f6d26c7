#!/usr/bin/env bash
# careguard's three extensions install and drop independently, and the
# platform alone works on a database that brings its own tables (a
# public.locations of its own, say); a drop that would take data with it
# (DROP EXTENSION, its CASCADE, DROP SCHEMA ... CASCADE) refuses unless a
# superuser allows it for that transaction. Uses the running cluster named by PG*.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/checks.sh"
DB="careguard_lifecycle_$$"
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" "$@" 2>&1; }
trap 'psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true' EXIT
psql -X -q -d postgres -c "CREATE DATABASE $DB"
q -c "SET client_min_messages = warning" -c "CREATE SCHEMA extensions" >/dev/null

section "the platform alone, next to the user's own public.locations"
q -c "CREATE TABLE public.locations (id int PRIMARY KEY, city text)" >/dev/null
q -c "SET client_min_messages = warning" -c "CREATE EXTENSION careguard SCHEMA extensions" >/dev/null
check "careguard installs beside a user's public.locations" "careguard|extensions" \
  "$(q -c "SELECT extname, extnamespace::regnamespace FROM pg_extension WHERE extname = 'careguard'")"
check "no concern schema comes with it" 0 \
  "$(q -c "SELECT count(*) FROM pg_namespace WHERE nspname IN ('providers', 'patients', 'bookings')")"
check "no booking role is referenced by its policies" 0 \
  "$(q -c "SELECT count(*) FROM pg_policy p, unnest(p.polroles) r WHERE r IN (SELECT oid FROM pg_roles WHERE rolname IN ('patient', 'provider', 'admin'))")"
q -c "GRANT SELECT ON public.locations TO authenticated" >/dev/null
check "the audit covers the user's table (readable, no RLS: reported)" 1 \
  "$(q -c "SELECT count(*) FROM careguard.audit() WHERE object = 'public.locations' AND rule = 'rls_disabled_exposed'" ; true)"
check "the access matrix has only the platform's contexts" "anon,service_role,authenticated" \
  "$(q -c "SELECT string_agg(c ->> 'name', ',') FROM jsonb_array_elements(careguard.access_matrix_default_contexts()) c")"
out="$(q -c "SET client_min_messages = warning" -c "CREATE EXTENSION careguard_booking SCHEMA extensions CASCADE" || true)"
check_contains "the product refuses to take over the user's public.locations" 'relation "locations" already exists' "$out"
q -c "DROP TABLE public.locations" >/dev/null

section "the product and the test helpers on top, then dropped one by one"
q -c "SET client_min_messages = warning" -c "CREATE EXTENSION careguard_booking SCHEMA extensions CASCADE" >/dev/null
check "btree_gist went to extensions, not public" extensions \
  "$(q -c "SELECT extnamespace::regnamespace FROM pg_extension WHERE extname = 'btree_gist'")"
check "the product registered its PHI schemas" "bookings,patients" \
  "$(q -c "SELECT string_agg(schema_name, ',' ORDER BY schema_name) FROM careguard.audit_phi_schemas")"
check "and its matrix contexts" "anon,patient,provider,admin,service_role,authenticated" \
  "$(q -c "SELECT string_agg(c ->> 'name', ',') FROM jsonb_array_elements(careguard.access_matrix_default_contexts()) c")"
check "and its hot queries for the plan audit" "4|4" \
  "$(q -c "SELECT count(*), count(*) FILTER (WHERE active) FROM careguard.registered_queries() WHERE registered_by_extension = 'careguard_booking'")"
q -c "SET client_min_messages = warning" -c "CREATE EXTENSION pgtap" -c "CREATE EXTENSION careguard_test" >/dev/null
check "careguard_test adds its schemas" "careguard_test,test_overrides,tests" \
  "$(q -c "SELECT string_agg(nspname, ',' ORDER BY nspname) FROM pg_namespace WHERE nspname IN ('careguard_test', 'tests', 'test_overrides')")"
check "the production library exports no self-test" 0 \
  "$(q -c "SELECT count(*) FROM pg_proc WHERE probin = '\$libdir/careguard' AND prosrc = 'careguard_guard_selftest'")"
q -c "DROP EXTENSION careguard_test" >/dev/null
check "dropping careguard_test leaves the product" "0|2" \
  "$(q -c "SELECT (SELECT count(*) FROM pg_namespace WHERE nspname IN ('tests', 'careguard_test')), (SELECT count(*) FROM pg_tables WHERE schemaname = 'bookings')" | tr '\n' '|' | sed 's/|$//')"
out="$(q -c "DROP EXTENSION careguard" || true)"
check_contains "the platform cannot be dropped from under the product" 'extension careguard_booking depends on extension careguard' "$out"
q -c "DROP EXTENSION careguard_booking" >/dev/null
check "dropping the product leaves the platform and auth.users" "careguard|1" \
  "$(q -c "SELECT string_agg(extname, ','), (SELECT count(*) FROM pg_tables WHERE schemaname = 'auth' AND tablename = 'users') FROM pg_extension WHERE extname LIKE 'careguard%'")"
check "the audit still runs with the product gone" t \
  "$(q -c "SELECT count(*) >= 0 FROM careguard.audit()")"
check "the product's queries stay registered but inactive, and no plan is judged" "4|0|0" \
  "$(q -c "SELECT count(*), count(*) FILTER (WHERE active), (SELECT count(*) FROM careguard.audit() WHERE rule LIKE 'plan\_%') FROM careguard.registered_queries()")"
q -c "SET client_min_messages = warning" -c "CREATE EXTENSION careguard_booking SCHEMA extensions" >/dev/null
check "the product installs again (its policy on auth.users is kept, not duplicated)" 1 \
  "$(q -c "SELECT count(*) FROM pg_policy WHERE polname = 'users_select_admin'")"
check "and registers its queries again, active, not duplicated" "4|4" \
  "$(q -c "SELECT count(*), count(*) FILTER (WHERE active) FROM careguard.registered_queries()")"
section "destructive drops refuse while the tables hold data"
q -c "SET client_min_messages = warning" -c "SELECT careguard.seed_demo(5, 2, 20, 1)" >/dev/null
out="$(q -v VERBOSITY=verbose -c "DROP EXTENSION careguard_booking" || true)"
check_contains "DROP EXTENSION careguard_booking refuses with 2BP01" 'ERROR:  2BP01: cannot drop extension "careguard_booking"' "$out"
check_contains "the error names each table with its rows" 'bookings.appointments (20 rows)' "$out"
check_contains "every table with data is named" 'patients.profiles (5 rows)' "$out"
out="$(q -c "DROP SCHEMA extensions CASCADE" || true)"
check_contains "DROP SCHEMA extensions CASCADE (it takes every extension) refuses" 'cannot drop extension "careguard' "$out"
out="$(q -c "DROP EXTENSION btree_gist CASCADE" || true)"
check_contains "DROP EXTENSION btree_gist CASCADE (takes the product) refuses" 'cannot drop extension "careguard_booking"' "$out"
out="$(q -c "SET careguard.allow_destructive_drop = on" -c "DROP EXTENSION careguard_booking" || true)"
check_contains "a session-level setting does not count" 'cannot drop extension' "$out"
psql -X -q -d "$DB" -c "CREATE ROLE lifecycle_dba_$$ LOGIN" >/dev/null
out="$(psql -X -q -d "$DB" -U "lifecycle_dba_$$" -c "SET LOCAL careguard.allow_destructive_drop = on" 2>&1 || true)"
check_contains "only a superuser may allow it" 'permission denied to set parameter' "$out"
psql -X -q -d "$DB" -c "DROP ROLE lifecycle_dba_$$" >/dev/null
check "nothing was dropped" 1 "$(q -c "SELECT count(*) FROM pg_extension WHERE extname = 'careguard_booking'")"
out="$(q -c "BEGIN" -c "SET LOCAL careguard.allow_destructive_drop = on" -c "DROP EXTENSION careguard_booking" -c "COMMIT" 2>&1)"
check_contains "SET LOCAL by a superuser lets it drop, with a warning" 'WARNING:  dropping extension "careguard_booking" with the data of' "$out"
check "the product is gone" 0 "$(q -c "SELECT count(*) FROM pg_extension WHERE extname = 'careguard_booking'")"
q -c "SELECT auth.import_hmac_secret('lifecycle', 'lifecycle-secret-0123456789abcdef0123456789')" >/dev/null
out="$(q -c "DROP EXTENSION careguard" || true)"
check_contains "DROP EXTENSION careguard refuses while signing keys exist" 'auth.signing_keys (1 row)' "$out"
q -c "DELETE FROM auth.signing_keys" -c "DELETE FROM auth.users" >/dev/null
q -c "DROP EXTENSION careguard" >/dev/null
check "and the platform drops last once it holds no data" 0 \
  "$(q -c "SELECT count(*) FROM pg_namespace WHERE nspname IN ('auth', 'careguard')")"

finish_checks
