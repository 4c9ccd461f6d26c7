#!/usr/bin/env bash
# What the disclosure ledger costs a backend per audited statement, in
# instructions (callgrind), not seconds: the counts do not move with the
# machine's load. A single-user backend runs a patient's appointments query
# 100 and 400 times in one transaction, with careguard.ledger off and on; the
# difference of the two lengths, per statement, leaves out start-up and the
# first statement's catalogue loads. Then the same for whole transactions as
# the gateway sends them (BEGIN, the claims, SET LOCAL ROLE, the read,
# COMMIT), so that what the ledger costs per transaction, commit included,
# is counted too. The record's write(2) runs in the kernel,
# which valgrind does not count, and the writer's insert is another process
# (bench/ledger.sh measures both in CPU time).
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
source "$(dirname "$0")/timing.sh"
command -v valgrind >/dev/null || { echo "ledger_parts: valgrind is not installed; skipped"; exit 0; }
start_cluster "${LEDGER_PARTS_PORT:-55496}"
psql -X -q -v ON_ERROR_STOP=1 <<'SQL' >/dev/null
CREATE SCHEMA extensions;
CREATE EXTENSION careguard_booking SCHEMA extensions CASCADE;
SET client_min_messages = warning;
SELECT careguard.seed_demo(20, 4, 200, 42);
SQL
claims="$(psql -X -At -v ON_ERROR_STOP=1 -c "SELECT claims::text FROM careguard.demo_users() WHERE label = 'patient A'")"
as_cluster_owner "$PG_BINDIR/pg_ctl" -D "$CLUSTER_DIR/data" -m fast -w stop >/dev/null

statements() {  # $1: on|off, $2: how many reads
  printf 'SET careguard.ledger = %s;\nBEGIN;\n' "$1"
  printf "SELECT set_config('request.jwt.claims', '%s', true);\nSET LOCAL ROLE patient;\n" "$claims"
  for ((i = 0; i < $2; i++)); do
    echo "SELECT id, provider_id, starts_at, status FROM bookings.appointments ORDER BY starts_at;"
  done
  echo "COMMIT;"
}
transactions() {  # $1: on|off, $2: how many patient transactions
  printf 'SET careguard.ledger = %s;\n' "$1"
  for ((i = 0; i < $2; i++)); do
    printf "BEGIN;\nSELECT set_config('request.jwt.claims', '%s', true);\nSET LOCAL ROLE patient;\n" "$claims"
    echo "SELECT id, provider_id, starts_at, status FROM bookings.appointments ORDER BY starts_at;"
    echo "COMMIT;"
  done
}
profile() {  # $1: on|off, $2: count[, $3: the generator]; prints callgrind's inclusive table
  "${3:-statements}" "$1" "$2" | as_cluster_owner valgrind --tool=callgrind \
    --callgrind-out-file="$CLUSTER_DIR/cg.$1.$2" "$PG_BINDIR/postgres" --single -D "$CLUSTER_DIR/data" postgres \
    2>&1 | grep -m3 ERROR >&2 || true
  as_cluster_owner callgrind_annotate --inclusive=yes "$CLUSTER_DIR/cg.$1.$2" 2>/dev/null
}
off_short="$(profile off 100)"
off_long="$(profile off 400)"
on_short="$(profile on 100)"
on_long="$(profile on 400)"
per() {  # per statement, from the two lengths: $1 long, $2 short
  awk -v a="$1" -v b="$2" 'BEGIN {printf "%.0f", (a - b) / 300}'
}
statement_off="$(per "$(callgrind_total "$off_long")" "$(callgrind_total "$off_short")")"
statement_on="$(per "$(callgrind_total "$on_long")" "$(callgrind_total "$on_short")")"
part_of() { per "$(callgrind_part "$on_long" "$1")" "$(callgrind_part "$on_short" "$1")"; }
echo
echo "== the ledger in a backend: instructions per audited statement (callgrind, 400 - 100 patient reads) =="
awk -v off="$statement_off" -v on="$statement_on" \
  -v record="$(part_of 'careguard::pg::write_statement_records(')" \
  -v spool="$(part_of 'careguard::pg::spool_record(')" \
  -v open="$(part_of 'careguard::pg::(anonymous namespace)::open_statement(')" \
  -v ids="$(part_of 'careguard::pg::id_set_add(')" \
  -v walk="$(part_of 'careguard::pg::(anonymous namespace)::query_reads_audited(')" 'BEGIN {
  printf "%-58s %8.0f\n", "the statement, ledger off", off
  printf "%-58s %8.0f\n", "the statement, ledger on", on
  printf "%-58s %8.0f  %4.1f%%\n", "the ledger, all told", on - off, 100 * (on - off) / off
  printf "%-58s %8.0f\n", "  the record: built, indexed, spooled (write(2) excluded)", record
  printf "%-58s %8.0f\n", "    of which the spool append", spool
  printf "%-58s %8.0f\n", "  who is asking (names, claims), at ExecutorStart", open
  printf "%-58s %8.0f\n", "  patient ids seen by the scans", ids
  printf "%-58s %8.0f\n", "  the planner walk that keeps PHI reads serial", walk
}'

tx_off="$(per "$(callgrind_total "$(profile off 400 transactions)")" "$(callgrind_total "$(profile off 100 transactions)")")"
tx_on="$(per "$(callgrind_total "$(profile on 400 transactions)")" "$(callgrind_total "$(profile on 100 transactions)")")"
echo
echo "== the same per whole patient transaction (BEGIN, claims, SET LOCAL ROLE, the read, COMMIT; 400 - 100) =="
awk -v off="$tx_off" -v on="$tx_on" 'BEGIN {
  printf "%-58s %8.0f\n", "the transaction, ledger off", off
  printf "%-58s %8.0f\n", "the transaction, ledger on", on
  printf "%-58s %8.0f  %4.1f%%\n", "the ledger, all told", on - off, 100 * (on - off) / off
}'
