#!/usr/bin/env bash
# The disclosure ledger's cost: ledger on against ledger off (careguard.ledger,
# switched with ALTER SYSTEM + reload between runs, interleaved), pgbench over
# the gateway login (authenticator), simple protocol, for two request-shaped
# transactions:
#   patient:   BEGIN; claims of a random patient (set_config(..., true));
#              SET LOCAL ROLE patient; their appointments in time order; END
#   dashboard: BEGIN; claims of a random provider; SET LOCAL ROLE provider;
#              the confirmed upcoming 50 (the dashboard query); END
# at 1 and 2 clients. Throughput (tps) and per-transaction latency p50/p99
# (pgbench -l), and the server's CPU time per transaction; then the ledger
# writer's CPU per record it stores. Medians of REPS runs. Seeds seed_demo(2000, 200, 20000, 42)
# into an empty database.
set -euo pipefail
source "$(dirname "$0")/timing.sh"
REPS="${REPS:-3}"
SECONDS_PER_RUN="${SECONDS_PER_RUN:-5}"
PGBENCH="${PGBENCH:-$(dirname "$(command -v psql)")/pgbench}"
[ -x "$PGBENCH" ] || PGBENCH=pgbench
export PGHOST PGPORT PGUSER="${PGUSER:-postgres}"
DB="${PGDATABASE:-postgres}"

q() { psql -X -At -v ON_ERROR_STOP=1 -c "$1"; }
if [ "$(q "SELECT count(*) FROM auth.users")" = 0 ]; then
  q "SELECT careguard.seed_demo(2000, 200, 20000, 42)" >/dev/null
  q "VACUUM ANALYZE" >/dev/null
fi
login_before="$(q "SELECT rolcanlogin FROM pg_roles WHERE rolname = 'authenticator'")"
psql -X -q -v ON_ERROR_STOP=1 <<'SQL'
DROP SCHEMA IF EXISTS bench_ledger CASCADE;
CREATE SCHEMA bench_ledger;
CREATE TABLE bench_ledger.patients AS
  SELECT row_number() OVER (ORDER BY id)::int AS k,
         json_build_object('sub', id, 'role', 'patient')::text AS claims
  FROM patients.profiles;
CREATE TABLE bench_ledger.providers AS
  SELECT row_number() OVER (ORDER BY id)::int AS k,
         json_build_object('sub', user_id, 'role', 'provider', 'provider_id', id)::text AS claims
  FROM providers.profiles;
CREATE UNIQUE INDEX ON bench_ledger.patients (k);
CREATE UNIQUE INDEX ON bench_ledger.providers (k);
GRANT USAGE ON SCHEMA bench_ledger TO authenticator;
GRANT SELECT ON ALL TABLES IN SCHEMA bench_ledger TO authenticator;
ALTER ROLE authenticator LOGIN;
SQL
patients="$(q "SELECT count(*) FROM bench_ledger.patients")"
providers="$(q "SELECT count(*) FROM bench_ledger.providers")"
work="$(mktemp -d /tmp/careguard-bench-ledger.XXXXXX)"
chmod 777 "$work"
finish() {
  [ -n "${writer:-}" ] && kill -CONT "$writer" 2>/dev/null || true
  q "ALTER SYSTEM RESET careguard.ledger" >/dev/null 2>&1 || true
  q "SELECT pg_reload_conf()" >/dev/null 2>&1 || true
  q "DROP SCHEMA IF EXISTS bench_ledger CASCADE" >/dev/null 2>&1 || true
  [ "$login_before" = t ] || q "ALTER ROLE authenticator NOLOGIN" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap finish EXIT
cat >"$work/patient.sql" <<SQL
\\set k random(1, $patients)
BEGIN;
SELECT set_config('request.jwt.claims', claims, true) FROM bench_ledger.patients WHERE k = :k;
SET LOCAL ROLE patient;
SELECT id, provider_id, starts_at, status FROM bookings.appointments ORDER BY starts_at;
END;
SQL
cat >"$work/dashboard.sql" <<SQL
\\set k random(1, $providers)
BEGIN;
SELECT set_config('request.jwt.claims', claims, true) FROM bench_ledger.providers WHERE k = :k;
SET LOCAL ROLE provider;
SELECT * FROM bookings.appointments WHERE status = 'confirmed' AND starts_at >= now()
 ORDER BY starts_at LIMIT 50;
END;
SQL

set_ledger() {
  q "ALTER SYSTEM SET careguard.ledger = $1" >/dev/null
  q "SELECT pg_reload_conf()" >/dev/null
  sleep 0.2
}
# The server's CPU time so far, in clock ticks: the postmaster's own and its
# reaped children's (backends that have exited, a writer that retired), and
# every live child's, the ledger writer among them.
postmaster="$(awk '{print $4}' "/proc/$(q "SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'")/stat")"
server_ticks() {
  local total child
  total=$(awk '{print $14 + $15 + $16 + $17}' "/proc/$postmaster/stat")
  for child in $(pgrep -P "$postmaster"); do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$child/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}
TICKS_PER_SECOND="$(getconf CLK_TCK)"
# run SCRIPT CLIENTS MODE -> "tps p50_ms p99_ms server_cpu_us_per_transaction"
# With the ledger on, the run ends when the writer has stored every record
# (ledger_flush): the next run starts with no backlog, and the server CPU
# counted includes all of the writer's work for this run.
run() {
  rm -f "$work"/log*
  local tps before after
  before=$(server_ticks)
  tps=$(cd "$work" && "$PGBENCH" -n -M simple -U authenticator -f "$work/$1.sql" -c "$2" -j "$2" \
    -T "$SECONDS_PER_RUN" -l --log-prefix="$work/log" "$DB" 2>&1 | sed -n 's/^tps = \([0-9.]*\) .*/\1/p')
  [ "$3" = on ] && q "SELECT careguard.ledger_flush(120000)" >/dev/null
  # pgbench's backends count once the postmaster has reaped them.
  until [ "$(q "SELECT count(*) FROM pg_stat_activity WHERE usename = 'authenticator'")" = 0 ]; do
    sleep 0.05
  done
  sleep 0.2
  after=$(server_ticks)
  local transactions
  transactions=$(cat "$work"/log* | wc -l)
  cat "$work"/log* | awk '{print $3}' | sort -n | awk -v tps="$tps" -v ticks=$((after - before)) \
    -v hz="$TICKS_PER_SECOND" -v n="$transactions" '
    {a[NR]=$1} END {printf "%s %.3f %.3f %.1f\n", tps, a[int(NR*0.5)+1]/1000, a[int(NR*0.99)+1]/1000,
                    ticks * 1e6 / hz / n}'
}
declare -A tps p50 p99 cpu pair
for ((r = 1; r <= REPS; r++)); do
  # ABBA: every other repetition runs "on" first, so a drift of the machine
  # over the run does not favour whichever variant always runs second.
  modes="off on"
  ((r % 2 == 0)) && modes="on off"
  for script in patient dashboard; do
    for clients in 1 2; do
      for mode in $modes; do
        set_ledger "$mode"
        read -r t a b c < <(run "$script" "$clients" "$mode")
        key="$script/$clients/$mode"
        tps[$key]+=" $t"; p50[$key]+=" $a"; p99[$key]+=" $b"; cpu[$key]+=" $c"
        [ "$mode" = on ] && t_on=$t || t_off=$t
      done
      # This repetition's own ratio: its two runs are seconds apart, so a
      # drift of the machine between repetitions cancels out of it.
      pair[$script/$clients]+=" $(awk -v a="$t_on" -v b="$t_off" 'BEGIN {printf "%.3f", a / b}')"
    done
  done
done
set_ledger on
records=$(q "SELECT careguard.ledger_flush(60000)")

echo
echo "== Disclosure ledger on vs off (pgbench, authenticator, median of $REPS x ${SECONDS_PER_RUN} s) =="
printf '%-10s %7s %10s %10s %7s %7s %9s %9s %9s %9s %8s %8s %7s\n' transaction clients "tps off" "tps on" ratio \
  pairs "p50 off" "p50 on" "p99 off" "p99 on" "cpu off" "cpu on" ratio
for script in patient dashboard; do
  for clients in 1 2; do
    off="$script/$clients/off"; on="$script/$clients/on"
    awk -v s="$script" -v c="$clients" -v t0="$(median ${tps[$off]})" -v t1="$(median ${tps[$on]})" \
        -v a0="$(median ${p50[$off]})" -v a1="$(median ${p50[$on]})" \
        -v b0="$(median ${p99[$off]})" -v b1="$(median ${p99[$on]})" \
        -v c0="$(median ${cpu[$off]})" -v c1="$(median ${cpu[$on]})" \
        -v pr="$(median ${pair[$script/$clients]})" \
      'BEGIN {printf "%-10s %7s %10.0f %10.0f %7.3f %7.3f %9.3f %9.3f %9.3f %9.3f %8.1f %8.1f %7.3f\n",
              s, c, t0, t1, t1/t0, pr, a0, a1, b0, b1, c0, c1, c1/c0}'
  done
done
echo "(ratio: of the medians; pairs: the median of the repetitions' own on/off ratios, each"
echo " repetition's ratio: ${pair[patient/2]# }, for the patient at 2 clients)"
echo "(latencies in ms; cpu: the server's CPU time per transaction in microseconds, every backend and"
echo " the ledger writer included, until the writer has stored the run's records; the ledger held"
echo " $records records after the runs, all written by the writer)"

# The writer's own cost: its CPU time per record stored, for each kind of
# record. The writer is stopped (SIGSTOP) while 2 clients spool records,
# then resumed; its CPU time until it has stored them all, over their count.
writer_pid() {
  q "SELECT pid FROM pg_stat_activity WHERE backend_type = 'careguard ledger writer'"
}
declare -A per_record
for ((r = 1; r <= REPS; r++)); do
  for script in patient dashboard; do
    (cd "$work" && "$PGBENCH" -n -M simple -U authenticator -f "$work/$script.sql" -c 1 -t 20 "$DB" >/dev/null 2>&1)
    q "SELECT careguard.ledger_flush(120000)" >/dev/null
    writer="$(writer_pid)"
    [ -n "$writer" ] || continue
    kill -STOP "$writer"
    (cd "$work" && "$PGBENCH" -n -M simple -U authenticator -f "$work/$script.sql" -c 2 -j 2 \
      -t "${WRITER_RECORDS:-10000}" "$DB" >/dev/null 2>&1)
    first=$(q "SELECT last_seq FROM careguard.ledger_writer_state")
    before=$(awk '{print $14 + $15}' "/proc/$writer/stat")
    kill -CONT "$writer"
    last=$(q "SELECT careguard.ledger_flush(120000)")
    after=$(awk '{print $14 + $15}' "/proc/$writer/stat")
    per_record[$script]+=" $(awk -v t=$((after - before)) -v hz="$TICKS_PER_SECOND" -v n=$((last - first)) \
      'BEGIN {printf "%.1f", t * 1e6 / hz / n}')"
  done
done
echo
echo "== The ledger writer's CPU per record stored (median of $REPS x ${WRITER_RECORDS:-10000} x 2 transactions) =="
for script in patient dashboard; do
  printf '%-10s %8s us\n' "$script" "$(median ${per_record[$script]})"
done
