#!/usr/bin/env bash
# Runs every pgTAP suite with pg_prove in a fresh database that has
# careguard_booking, pgtap and careguard_test installed. Uses the PG* environment of the running cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
db="careguard_pgtap"
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "CREATE SCHEMA extensions" \
  -c "CREATE EXTENSION careguard_booking SCHEMA extensions CASCADE" -c "CREATE EXTENSION pgtap" \
  -c "CREATE EXTENSION careguard_test"
pg_prove --ext .sql -d "$db" test/pgtap/
