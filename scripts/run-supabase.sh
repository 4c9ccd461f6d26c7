#!/usr/bin/env bash
# Runs a Supabase project's files unchanged against careguard with the
# Supabase profile on: test/supabase/migrations/*.sql, seed.sql, then the
# pgTAP suites in test/supabase/tests/ (written with supabase_test_helpers'
# conventions). Then checks what the profile promises: without it, a table a
# migration creates is not granted to authenticated; with it, the audit
# flags a table in public without RLS. Uses the running cluster's PG*.
set -euo pipefail
cd "$(dirname "$0")/.."
db="careguard_supabase"
run() { psql -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"; }
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
run -c "SET client_min_messages = warning" -c "CREATE SCHEMA extensions" \
  -c "CREATE EXTENSION careguard SCHEMA extensions" -c "CREATE EXTENSION pgtap" \
  -c "CREATE EXTENSION careguard_test" -c "SELECT careguard.supabase_profile(true)" >/dev/null
for migration in test/supabase/migrations/*.sql; do run -f "$migration" >/dev/null; done
run -f test/supabase/seed.sql >/dev/null
pg_prove -d "$db" test/supabase/tests/*.sql

# The profile's promises, checked as counts (0 = as promised).
failed=0
expect() {  # expect NAME WANT GOT
  if [ "$2" = "$3" ]; then echo "ok     $1"; else echo "FAIL   $1: expected [$2], got [$3]"; failed=$((failed + 1)); fi
}
run -c "CREATE TABLE public.no_rls_table (id int PRIMARY KEY)" >/dev/null
expect "with the profile, a new table is granted to authenticated" t \
  "$(run -At -c "SELECT has_table_privilege('authenticated', 'public.no_rls_table', 'SELECT')")"
expect "and the audit flags it for its missing RLS" "rls_disabled_exposed|error" \
  "$(run -At -c "SELECT rule, severity FROM careguard.audit(ARRAY['public']) WHERE object = 'public.no_rls_table'")"
expect "the Supabase tables themselves have no error finding" 0 \
  "$(run -At -c "SELECT count(*) FROM careguard.audit(ARRAY['public']) WHERE severity = 'error' AND object NOT LIKE '%no_rls_table%' AND object NOT LIKE '%(%'")"
run -c "SELECT careguard.supabase_profile(false)" -c "CREATE TABLE public.after_profile (id int)" >/dev/null
expect "without the profile, a new table is not granted" f \
  "$(run -At -c "SELECT has_table_privilege('authenticated', 'public.after_profile', 'SELECT')")"
psql -X -q -d postgres -c "DROP DATABASE $db"
[ "$failed" -eq 0 ]
