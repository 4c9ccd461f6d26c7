#!/usr/bin/env bash
# careguard: the ledger's shared-memory slots, one per database whose spool is
# in use (docs/audit-trail.md, "Several databases"). On its own cluster with
# careguard.ledger_databases = 2 and three databases: idle connections to two
# databases hold no slot; while two databases have records their writers have
# not stored, the third's records go to the server log with a WARNING (and
# ledger_flush() there fails with 53400, naming the setting); once a spool is
# read to its end its slot serves the third, and a database that lost its
# slot continues its own chain when it comes back. A dropped database (FORCE,
# its spool not read to the end) frees its slot and its spool, and a copy made
# with TEMPLATE stores its own records.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/checks.sh"
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"

start_cluster "$((${PGPORT:-55433} + 103))"
echo "careguard.ledger_databases = 2" >>"$CLUSTER_DIR/data/postgresql.conf"
as_cluster_owner "$PG_BINDIR/pg_ctl" -D "$CLUSTER_DIR/data" -l "$CLUSTER_DIR/server.log" -w restart >/dev/null
sql() { psql -X -q -A -t -v ON_ERROR_STOP=1 "$@"; }
# A superuser's read of patients.profiles bypasses RLS: one ledger record.
read_phi() { sql -d "$1" -c "SELECT count(*) FROM patients.profiles" 2>&1; }
records() { sql -d "$1" -c "SELECT careguard.ledger_flush(20000) >= 0" -c "SELECT count(*) FROM careguard.ledger" | tail -1; }
writers() { sql -c "SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE backend_type = 'careguard ledger writer'"; }
# A writer holds its database's slot until it retires, two idle seconds after
# the last record.
wait_for_writers_to_retire() {
  for _ in $(seq 1 100); do
    [ "$(writers)" = 0 ] && return 0
    sleep 0.1
  done
}
for db in d1 d2 d3; do
  sql -c "CREATE DATABASE $db"
  sql -d "$db" -c "CREATE SCHEMA extensions" \
    -c "SET client_min_messages = warning" \
    -c "CREATE EXTENSION careguard_booking SCHEMA extensions CASCADE" \
    -c "SELECT careguard.seed_demo(20, 4, 100, 42) IS NOT NULL" >/dev/null
  records "$db" >/dev/null
  wait_for_writers_to_retire
done
check "setting up three databases one after another warned nothing" 0 \
  "$(grep -c 'ledger slots serve databases in use' "$CLUSTER_DIR/server.log" || true)"
d3_before="$(records d3)"
wait_for_writers_to_retire

section "idle connections hold no slot"
check "the setting is in force" 2 "$(sql -c 'SHOW careguard.ledger_databases')"
read_phi d1 >/dev/null
check "d1 ledgered its read" 1 "$([ "$(records d1)" -ge 1 ] && echo 1 || echo 0)"
read_phi d2 >/dev/null
check "d2 ledgered its read" 1 "$([ "$(records d2)" -ge 1 ] && echo 1 || echo 0)"
wait_for_writers_to_retire
# Any role that may connect could hold these open (a login-role review found
# that they kept d3's records out of its ledger).
psql -X -q -d d1 -c "SELECT pg_sleep(60)" >/dev/null 2>&1 &
holder1=$!
psql -X -q -d d2 -c "SELECT pg_sleep(60)" >/dev/null 2>&1 &
holder2=$!
sleep 1
out="$(read_phi d3)"
check "with idle connections to d1 and d2, d3's read does not warn" "20" "$out"
check "d3 ledgered it" "$((d3_before + 1))" "$(records d3)"
kill "$holder1" "$holder2" 2>/dev/null || true
sql -c "SELECT count(pg_catalog.pg_terminate_backend(pid)) >= 0 FROM pg_catalog.pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(60)%'" >/dev/null
wait "$holder1" "$holder2" 2>/dev/null || true
wait_for_writers_to_retire

section "two databases whose records wait for their writers hold both slots"
# Their writers cannot save a position (every batch fails and is retried), so
# neither spool is read to the end.
for db in d1 d2; do
  sql -d "$db" -c "ALTER TABLE careguard.ledger_writer_state ADD CONSTRAINT stuck CHECK (false) NOT VALID"
  read_phi "$db" >/dev/null
done
sleep 1
out="$(read_phi d3)"
check_contains "d3's read warns that every slot is busy" \
  "WARNING:  careguard ledger: all 2 ledger slots serve databases in use" "$out"
check_contains "and still returns its rows" "20" "$out"
check_contains "the record is in the server log" "careguard_ledger: " \
  "$(grep -a 'careguard_ledger: ' "$CLUSTER_DIR/server.log" | tail -1)"
out="$(psql -X -q -A -t -d d3 -c "SET client_min_messages = log" -c "SELECT count(*) FROM patients.profiles" 2>&1)"
check_contains "a session with client_min_messages = log gets the WARNING" "all 2 ledger slots" "$out"
check "but not the logged record itself" "" "$(grep 'careguard_ledger:' <<<"$out" || true)"
out="$(sql -d d3 -c "SELECT careguard.ledger_flush(2000)" 2>&1 || true)"
check_contains "ledger_flush() in d3 fails" "ERROR:  all 2 ledger slots serve databases in use" "$out"
check_contains "naming the setting" "Raise careguard.ledger_databases" "$out"

section "a slot read to its end serves another database"
for db in d1 d2; do
  sql -d "$db" -c "ALTER TABLE careguard.ledger_writer_state DROP CONSTRAINT stuck"
done
d1_before="$(records d1)"
records d2 >/dev/null
wait_for_writers_to_retire
check "the writers retired" 0 "$(writers)"
d3_before="$(records d3)"
wait_for_writers_to_retire
out="$(read_phi d3)"
check "d3's read no longer warns" "20" "$out"
check "d3 ledgered it" "$((d3_before + 1))" "$(records d3)"
wait_for_writers_to_retire
read_phi d1 >/dev/null
check "d1, back on a reclaimed slot, ledgers again" "$((d1_before + 1))" "$(records d1)"
check "d1's chain verifies across the gap" "t" "$(sql -d d1 -c 'SELECT ok FROM careguard.verify_ledger()')"
check "d3's chain verifies" "t" "$(sql -d d3 -c 'SELECT ok FROM careguard.verify_ledger()')"
section "a dropped database gives its slot and its spool up"
wait_for_writers_to_retire
sql -c "CREATE DATABASE d4"
sql -d d4 -c "CREATE SCHEMA extensions" -c "SET client_min_messages = warning" \
  -c "CREATE EXTENSION careguard_booking SCHEMA extensions CASCADE" \
  -c "SELECT careguard.seed_demo(20, 4, 100, 42) IS NOT NULL" >/dev/null
d4_oid="$(sql -c "SELECT oid FROM pg_catalog.pg_database WHERE datname = 'd4'")"
# The writer cannot save its position (every batch fails and is retried), so
# d4's spool is not read to the end when the database is dropped.
sql -d d4 -c "ALTER TABLE careguard.ledger_writer_state ADD CONSTRAINT stuck CHECK (false) NOT VALID"
for _ in 1 2 3; do read_phi d4 >/dev/null; done
check_contains "d4's writer cannot store them" "did not catch up" \
  "$(sql -d d4 -c "SELECT careguard.ledger_flush(1500)" 2>&1 || true)"
sql -c "DROP DATABASE d4 WITH (FORCE)"
check "DROP DATABASE removed d4's spool" 0 \
  "$([ -e "$CLUSTER_DIR/data/careguard_ledger/$d4_oid" ] && echo 1 || echo 0)"
wait_for_writers_to_retire
# d1 holds one slot (its writer runs for two seconds after the read); d2
# then needs d4's.
psql -X -q -d d1 -c "SELECT count(*) FROM patients.profiles" -c "SELECT pg_sleep(60)" >/dev/null 2>&1 &
holder1=$!
sleep 1
check "with d1 connected, d2 finds d4's slot free" "20" "$(read_phi d2)"
kill "$holder1" 2>/dev/null || true
sql -c "SELECT count(pg_catalog.pg_terminate_backend(pid)) >= 0 FROM pg_catalog.pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(60)%'" >/dev/null
wait "$holder1" 2>/dev/null || true
wait_for_writers_to_retire
sql -c "CREATE DATABASE d4_again OID = $d4_oid"
sql -d d4_again -c "CREATE SCHEMA extensions" -c "SET client_min_messages = warning" \
  -c "CREATE EXTENSION careguard_booking SCHEMA extensions CASCADE" >/dev/null
read_phi d4_again >/dev/null
check "a database given the dropped one's oid stores only its own records" 1 \
  "$(sql -d d4_again -c "SELECT careguard.ledger_flush(20000) >= 0" \
    -c "SELECT count(*) FROM careguard.ledger WHERE record::jsonb ->> 'relation' = 'patients.profiles'" | tail -1)"

section "a copy of a careguard database stores its own records"
wait_for_writers_to_retire
d3_now="$(records d3)"
wait_for_writers_to_retire
# The copy brings d3's ledger and its writer position, which does not fit the
# copy's own, new spool.
sql -c "CREATE DATABASE d5 TEMPLATE d3"
# A burst in one session: the copy's spool grows past the copied offset
# before its writer's first batch (a position check alone would then skip
# the burst's first records).
burst=""
for _ in $(seq 1 20); do burst="$burst SELECT count(*) FROM patients.profiles;"; done
sql -d d5 -c "$burst" >/dev/null
check "d5 ledgers all 20 reads after d3's copied rows" "$((d3_now + 20))" "$(records d5)"
check "d5's chain verifies (nothing malformed)" "t" "$(sql -d d5 -c 'SELECT ok FROM careguard.verify_ledger()')"
check_contains "the writer said why it read the spool from its start" \
  "is not this database's; reading its spool from segment 0" \
  "$(grep -a "is not this database's" "$CLUSTER_DIR/server.log" | tail -1)"
finish_checks
