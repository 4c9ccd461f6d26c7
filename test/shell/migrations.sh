#!/usr/bin/env bash
# Rehearses every shipped upgrade and downgrade path (docs/migrations.md):
#  (a) the newest release (0.4.1) installed fresh equals the oldest (0.2.0)
#      plus every upgrade; 0.4.1 taken down to 0.4.0 equals 0.2.0 taken up
#      to 0.4.0 (0.4.0's install script is no longer shipped; that path was
#      proven equal to it when 0.4.0 was the newest); down to 0.3.0 equals
#      0.2.0 taken up to 0.3.0; and down to 0.2.0 equals a fresh 0.2.0. Compared: a normalized
#      `pg_dump --binary-upgrade --schema-only` (the mode that writes
#      extension members), and policies, grants, comments and config
#      registrations by query (test/migrations/catalogue.sql);
#  (b) up -> down -> up with 100,000 seeded appointments keeps every row:
#      counts and md5 checksums of every table, before and after;
#  (c) policies are unchanged and careguard.access_matrix() is equal before
#      and after the upgrade, with the data in place;
#  plus the refusals of the downgrades that would lose data, the sync
#  trigger of 0.3.0, and lock_timeout. Uses the running cluster named by PG*.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
source "$ROOT/test/shell/checks.sh"
APPOINTMENTS="${MIGRATIONS_APPOINTMENTS:-100000}"
PG_BINDIR="${PG_BINDIR:-$("${PG_CONFIG:-pg_config}" --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)}"
PREFIX="careguard_mig_$$"
# The disclosure ledger off for these sessions: its months are created at
# run time by what a session reads, not by a script, and would show in the
# schema comparisons; a downgrade also refuses to discard its records.
export PGOPTIONS="${PGOPTIONS:-} -c careguard.ledger=off"
OUT="${MIGRATIONS_OUT:-$(mktemp -d /tmp/careguard-migrations.XXXXXX)}"
mkdir -p "$OUT"
EXTS=(careguard careguard_booking careguard_test)
created=()
cleanup() {
  for db in "${created[@]}"; do psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true; done
}
trap cleanup EXIT
now_ms() { echo $(($(date +%s%N) / 1000000)); }
q() { local db="$1"; shift; psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" -c "SET client_min_messages = warning" "$@" 2>&1; }

# newdb NAME VERSION: a database with the three extensions at VERSION.
newdb() {
  local db="${PREFIX}_$1"
  psql -X -q -d postgres -c "CREATE DATABASE $db" >/dev/null
  created+=("$db")
  q "$db" -c "CREATE SCHEMA extensions" \
    -c "CREATE EXTENSION careguard SCHEMA extensions VERSION '$2'" \
    -c "CREATE EXTENSION careguard_booking SCHEMA extensions VERSION '$2' CASCADE" \
    -c "CREATE EXTENSION pgtap SCHEMA extensions" \
    -c "CREATE EXTENSION careguard_test SCHEMA extensions VERSION '$2'" >/dev/null
  printf '%s' "$db"
}
# update DB VERSION [EXT...]: the extensions (all three by default) to
# VERSION, the platform first going up, last going down (the product and
# the helpers sit on it); the direction is the product's.
update() {
  local db="$1" to="$2"; shift 2
  local order=("${@:-${EXTS[@]}}")
  [ $# -gt 0 ] || order=("${EXTS[@]}")
  if [ "$(q "$db" -c "SELECT extversion FROM pg_extension WHERE extname = 'careguard_booking'")" \> "$to" ]; then
    order=($(printf '%s\n' "${order[@]}" | tac))
  fi
  for e in "${order[@]}"; do q "$db" -c "ALTER EXTENSION $e UPDATE TO '$to'"; done
}
# schema DB [--unordered-columns]: the normalized dump and the catalogue.
schema() {
  "$PG_BINDIR/pg_dump" --binary-upgrade --schema-only -d "$1" 2>/dev/null |
    perl "$ROOT/test/migrations/normalize-dump.pl" ${2:-} | grep -v "^SELECT pg_catalog.setval("
  psql -X -q -d "$1" -f "$ROOT/test/migrations/catalogue.sql"
}
# same_schema NAME A B [--unordered-columns]: the diff, kept in $OUT, is empty.
same_schema() {
  local name="$1" diff_file="$OUT/$1.diff"
  schema "$2" "${4:-}" >"$OUT/$1.a"
  schema "$3" "${4:-}" >"$OUT/$1.b"
  diff "$OUT/$1.a" "$OUT/$1.b" >"$diff_file" || true
  check "$name: empty diff ($(wc -l <"$OUT/$1.a") lines compared)" 0 "$(wc -l <"$diff_file")"
  rm -f "$OUT/$1.a" "$OUT/$1.b"
}

section "(a) the newest release fresh equals the oldest plus every upgrade"
fresh4="$(newdb fresh4 0.4.1)"
path4="$(newdb path4 0.2.0)"
update "$path4" 0.3.0
check "0.2.0 -> 0.3.0 along the shipped path" "0.3.0,0.3.0,0.3.0" \
  "$(q "$path4" -c "SELECT string_agg(extversion, ',' ORDER BY extname) FROM pg_extension WHERE extname LIKE 'careguard%'")"
up3="$(newdb up3 0.2.0)"
update "$up3" 0.3.0
up4="$(newdb up4 0.2.0)"
update "$up4" 0.3.0
update "$up4" 0.4.0
update "$path4" 0.4.0
update "$path4" 0.4.1
same_schema "fresh 0.4.1 = 0.2.0 + 0.2.0--0.3.0 + 0.3.0--0.4.0 + 0.4.0--0.4.1" "$fresh4" "$path4"
update "$path4" 0.4.0
same_schema "0.4.1 -> 0.4.0 = 0.2.0 + 0.2.0--0.3.0 + 0.3.0--0.4.0" "$up4" "$path4"
update "$path4" 0.3.0
same_schema "0.4.0 -> 0.3.0 = 0.2.0 + 0.2.0--0.3.0 (column order aside)" "$up3" "$path4" --unordered-columns
# From a fresh 0.4.1 too: a downgrade must undo what the install parts made,
# not only what the upgrade pieces made.
down3="$(newdb down3 0.4.1)"
update "$down3" 0.3.0
same_schema "fresh 0.4.1 -> 0.3.0 = 0.2.0 + 0.2.0--0.3.0 (column order aside)" "$up3" "$down3" --unordered-columns
fresh2="$(newdb fresh2 0.2.0)"
update "$path4" 0.2.0
same_schema "0.4.1 -> 0.4.0 -> 0.3.0 -> 0.2.0 = fresh 0.2.0 (column order aside)" "$fresh2" "$path4" --unordered-columns

section "(b) up -> down -> up keeps every row ($APPOINTMENTS appointments)"
data="$(newdb data 0.2.0)"
q "$data" -c "SELECT careguard.seed_demo($((APPOINTMENTS / 20)), $((APPOINTMENTS / 500)), $APPOINTMENTS, 1, '2026-11-30')" >/dev/null
# Every table of the three extensions' schemas: its row count and the md5
# of its rows in order, each row as jsonb (columns by name: a downgrade
# adds a column back at the end).
checksums() {
  q "$1" -c "
    DO \$\$ DECLARE r record; n bigint; h text; BEGIN
      CREATE TEMP TABLE sums (tbl text, n bigint, md5 text);
      FOR r IN SELECT c.oid::regclass AS t FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
                WHERE c.relkind = 'r' AND s.nspname IN ('auth', 'careguard', 'public', 'providers', 'patients', 'bookings')
                ORDER BY 1::text LOOP
        EXECUTE format('SELECT count(*), md5(coalesce(string_agg(to_jsonb(x)::text, E''\\n'' ORDER BY to_jsonb(x)::text), '''')) FROM %s x', r.t) INTO n, h;
        INSERT INTO sums VALUES (r.t::text, n, h);
      END LOOP; END \$\$" -c "SELECT tbl, n, md5 FROM sums ORDER BY tbl"
}
# The matrix over the product's and auth's tables (the platform's own
# registries fill as the product registers itself: data, not access).
matrix() { q "$1" -c "SELECT md5(string_agg(m::text, E'\n' ORDER BY m::text)), count(*) FROM careguard.access_matrix(NULL, ARRAY['auth', 'public', 'providers', 'patients', 'bookings']) m"; }
checksums "$data" >"$OUT/rows-0.2.0-before.txt"
# The matrix is the platform's function, and 0.4.0's probes more tables:
# the platform goes first, so that before and after run the same matrix
# and only the product's migration lies between them.
q "$data" -c "ALTER EXTENSION careguard UPDATE TO '0.3.0'" -c "ALTER EXTENSION careguard UPDATE TO '0.4.0'"
matrix "$data" >"$OUT/matrix-0.2.0-before.txt"
check "seeded $APPOINTMENTS appointments" "$APPOINTMENTS" \
  "$(q "$data" -c "SELECT count(*) FROM bookings.appointments")"
start=$(now_ms)
update "$data" 0.3.0 careguard_booking careguard_test
update "$data" 0.4.0 careguard_booking careguard_test
echo "up 0.2.0 -> 0.4.0 with data: $(($(now_ms) - start)) ms"
checksums "$data" >"$OUT/rows-0.4.0-first.txt"
matrix "$data" >"$OUT/matrix-0.4.0.txt"
check "(c) the access matrix is the same after the product's upgrade" "$(cat "$OUT/matrix-0.2.0-before.txt")" \
  "$(cat "$OUT/matrix-0.4.0.txt")"
check "every appointment has its provider's location" 0 \
  "$(q "$data" -c "SELECT count(*) FROM bookings.appointments a JOIN providers.profiles p ON p.id = a.provider_id WHERE a.location_id IS DISTINCT FROM p.location_id")"
check "every reminder kept its length" 0 \
  "$(q "$data" -c "SELECT count(*) FROM patients.preferences WHERE reminder_before NOT IN ('01:00', '02:00', '1 day', '2 days')")"
start=$(now_ms)
update "$data" 0.3.0
update "$data" 0.2.0
echo "down 0.4.0 -> 0.2.0 with data: $(($(now_ms) - start)) ms"
checksums "$data" >"$OUT/rows-0.2.0-after.txt"
check "up -> down: every table's rows as before (counts and md5)" "" \
  "$(diff "$OUT/rows-0.2.0-before.txt" "$OUT/rows-0.2.0-after.txt")"
update "$data" 0.3.0
update "$data" 0.4.0
checksums "$data" >"$OUT/rows-0.4.0-second.txt"
check "up -> down -> up: every table's rows as after the first upgrade" "" \
  "$(diff "$OUT/rows-0.4.0-first.txt" "$OUT/rows-0.4.0-second.txt")"
check "(c) the access matrix still holds after up -> down -> up" "$(cat "$OUT/matrix-0.2.0-before.txt")" "$(matrix "$data")"
update "$data" 0.4.1
same_schema "(c) policies and schema with data: upgraded = fresh 0.4.1" "$fresh4" "$data"

section "downgrades that would lose data refuse"
first_patient="$(q "$data" -c "SELECT patient_id FROM patients.preferences ORDER BY 1 LIMIT 1")"
q "$data" -c "UPDATE patients.preferences SET reminder_before = '90 seconds' WHERE patient_id = '$first_patient'" >/dev/null
out="$(psql -X -q -At -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -d "$data" -c "\\set VERBOSITY verbose" \
        -c "ALTER EXTENSION careguard_booking UPDATE TO '0.3.0'" 2>&1 || true)"
check_contains "0.4.1 -> 0.3.0 refuses with CG010" "ERROR:  CG010: downgrade to 0.3.0 would lose data: 1 rows of patients.preferences have a reminder_before that is not a whole number of minutes" "$out"
check "and changed nothing" "0.4.1" "$(q "$data" -c "SELECT extversion FROM pg_extension WHERE extname = 'careguard_booking'")"
q "$data" -c "UPDATE patients.preferences SET reminder_before = '2 minutes' WHERE patient_id = '$first_patient'" >/dev/null
update "$data" 0.3.0
check "after rounding, 0.3.0 holds the minutes" "2|00:02:00" \
  "$(q "$data" -c "SELECT reminder_minutes_before, reminder_before FROM patients.preferences WHERE patient_id = '$first_patient'" | tr '\n' '|' | sed 's/|$//')"

section "0.3.0: the old and the new column stay in sync, new bookings get a location"
q "$data" -c "UPDATE patients.preferences SET reminder_minutes_before = 45 WHERE patient_id = '$first_patient'" >/dev/null
check "writing the old column sets the new" "45|00:45:00" \
  "$(q "$data" -c "SELECT reminder_minutes_before, reminder_before FROM patients.preferences WHERE patient_id = '$first_patient'" | tr '\n' '|' | sed 's/|$//')"
q "$data" -c "UPDATE patients.preferences SET reminder_before = '3 hours' WHERE patient_id = '$first_patient'" >/dev/null
check "writing the new column sets the old" "180|03:00:00" \
  "$(q "$data" -c "SELECT reminder_minutes_before, reminder_before FROM patients.preferences WHERE patient_id = '$first_patient'" | tr '\n' '|' | sed 's/|$//')"
out="$(q "$data" -c "UPDATE patients.preferences SET reminder_before = '30 seconds' WHERE patient_id = '$first_patient'" || true)"
check_contains "a value the old column cannot hold is refused while both exist" "is not a whole number of minutes" "$out"
out="$(q "$data" -c "UPDATE patients.preferences SET reminder_before = '1 hour', reminder_minutes_before = 5 WHERE patient_id = '$first_patient'" || true)"
check_contains "two disagreeing columns are refused" "disagree" "$out"
provider="$(q "$data" -c "SELECT id FROM providers.profiles ORDER BY id LIMIT 1")"
q "$data" -c "INSERT INTO bookings.appointments (patient_id, provider_id, starts_at, ends_at, status) SELECT '$first_patient', '$provider', '2041-01-01 10:00+00', '2041-01-01 10:30+00', 'cancelled'" >/dev/null
check "a new booking gets its provider's location" t \
  "$(q "$data" -c "SELECT a.location_id = p.location_id FROM bookings.appointments a JOIN providers.profiles p ON p.id = a.provider_id WHERE a.starts_at = '2041-01-01 10:00+00'")"
q "$data" -c "UPDATE bookings.appointments SET location_id = (SELECT id FROM public.locations WHERE id <> (SELECT location_id FROM providers.profiles WHERE id = '$provider') ORDER BY id LIMIT 1) WHERE starts_at = '2041-01-01 10:00+00'" >/dev/null
out="$(psql -X -q -At -d "$data" -c "\\set VERBOSITY verbose" -c "ALTER EXTENSION careguard_booking UPDATE TO '0.2.0'" 2>&1 || true)"
check_contains "0.3.0 -> 0.2.0 refuses with CG010 while an appointment is elsewhere" "ERROR:  CG010: downgrade to 0.2.0 would lose data: 1 rows of bookings.appointments have a location_id other than their provider's location" "$out"
q "$data" -c "DELETE FROM bookings.appointments WHERE starts_at = '2041-01-01 10:00+00'" >/dev/null
update "$data" 0.2.0
check "without it, 0.3.0 -> 0.2.0 goes through" "0.2.0" "$(q "$data" -c "SELECT extversion FROM pg_extension WHERE extname = 'careguard_booking'")"

section "lock_timeout: an upgrade that cannot get its lock gives up"
psql -X -q -d "$data" -c "BEGIN" -c "LOCK TABLE patients.preferences IN ACCESS SHARE MODE" -c "SELECT pg_sleep(60)" >/dev/null 2>&1 &
holder=$!
for _ in $(seq 50); do
  [ "$(q "$data" -c "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'preferences' AND l.mode = 'AccessShareLock' AND l.pid <> pg_backend_pid()")" = 1 ] && break
  sleep 0.1
done
start=$(now_ms)
out="$(psql -X -q -At -d "$data" -c "\\set VERBOSITY verbose" -c "ALTER EXTENSION careguard_booking UPDATE TO '0.3.0'" 2>&1 || true)"
waited=$(($(now_ms) - start))
check_contains "the upgrade fails with 55P03 lock_not_available" "ERROR:  55P03: canceling statement due to lock timeout" "$out"
echo "gave up after $waited ms (lock_timeout 5s)"
q "$data" -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()" >/dev/null
wait "$holder" 2>/dev/null || true
check "and left the version alone" "0.2.0" "$(q "$data" -c "SELECT extversion FROM pg_extension WHERE extname = 'careguard_booking'")"

section "careguard-audit rehearse, and the rehearsal of the example migrations with the data in place"
AUDIT="${CAREGUARD_AUDIT:-$ROOT/build/tools/careguard-audit}"
update "$data" 0.4.0 >/dev/null 2>&1 || true
q "$data" -c "ALTER EXTENSION careguard_booking UPDATE TO '0.2.0'" >/dev/null
rehearse() { "$AUDIT" rehearse --quiet --dsn "dbname=$data" "$@"; }
printf '%s\n' "ALTER EXTENSION careguard_booking UPDATE TO '0.3.0';" >"$OUT/up-0.3.0.sql"
printf '%s\n' "ALTER EXTENSION careguard_booking UPDATE TO '0.2.0';" >"$OUT/down-0.2.0.sql"
printf '%s\n' "ALTER EXTENSION careguard_booking UPDATE TO '0.4.0';" >"$OUT/up-0.4.0.sql"
printf '%s\n' "ALTER EXTENSION careguard_booking UPDATE TO '0.3.0';" >"$OUT/down-0.3.0.sql"
set +e
rehearse "$OUT/up-0.3.0.sql" "$OUT/down-0.2.0.sql" >"$OUT/rehearse-0.2.0--0.3.0.txt"; rc=$?
set -e
cat "$OUT/rehearse-0.2.0--0.3.0.txt"
check "rehearsal of 0.2.0 -> 0.3.0 -> 0.2.0 passes (exit 0)" 0 "$rc"
q "$data" -c "ALTER EXTENSION careguard_booking UPDATE TO '0.3.0'" >/dev/null
set +e
rehearse "$OUT/up-0.4.0.sql" "$OUT/down-0.3.0.sql" >"$OUT/rehearse-0.3.0--0.4.0.txt"; rc=$?
set -e
cat "$OUT/rehearse-0.3.0--0.4.0.txt"
check "rehearsal of 0.3.0 -> 0.4.0 -> 0.3.0 passes (exit 0)" 0 "$rc"
check "and left the database at 0.3.0" "0.3.0" "$(q "$data" -c "SELECT extversion FROM pg_extension WHERE extname = 'careguard_booking'")"
printf '%s\n' "CREATE TABLE bookings.cli_notes (id int); GRANT SELECT ON bookings.cli_notes TO patient;" >"$OUT/up-open.sql"
printf '%s\n' "DROP TABLE bookings.cli_notes;" >"$OUT/down-open.sql"
set +e
out="$(rehearse --schemas bookings --format json "$OUT/up-open.sql" "$OUT/down-open.sql")"; rc=$?
set -e
check "a migration that leaves a PHI table open fails the gate (exit 1)" 1 "$rc"
check_contains "naming the table and what is missing" '"detail": "row level security is disabled"' "$out"
printf '%s\n' "CREATE INDEX cli_idx ON bookings.appointments (created_at);" >"$OUT/up-index.sql"
printf '%s\n' "SELECT 1;" >"$OUT/down-nothing.sql"
set +e
out="$(rehearse --schemas bookings "$OUT/up-index.sql" "$OUT/down-nothing.sql")"; rc=$?
set -e
check "a down migration that leaves the index fails the gate (exit 1)" 1 "$rc"
check_contains "with the difference" "added by up/down: index | bookings.cli_idx" "$out"
printf '%s\n' "CREATE INDEX CONCURRENTLY cli_idx ON bookings.appointments (created_at);" >"$OUT/up-concurrently.sql"
set +e
out="$(rehearse "$OUT/up-concurrently.sql" "$OUT/down-nothing.sql" 2>&1)"; rc=$?
set -e
check "CONCURRENTLY is refused as a usage error (exit 2)" 2 "$rc"
check_contains "saying why" "cannot run inside a transaction" "$out"

printf '\nchecksums and diffs kept in %s\n' "$OUT"
finish_checks
