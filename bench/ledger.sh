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
# (pgbench -l). Medians of REPS runs. Seeds seed_demo(2000, 200, 20000, 42)
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
# run SCRIPT CLIENTS -> "tps p50_ms p99_ms"
run() {
  rm -f "$work"/log*
  local tps
  tps=$(cd "$work" && "$PGBENCH" -n -M simple -U authenticator -f "$work/$1.sql" -c "$2" -j "$2" \
    -T "$SECONDS_PER_RUN" -l --log-prefix="$work/log" "$DB" 2>&1 | sed -n 's/^tps = \([0-9.]*\) .*/\1/p')
  cat "$work"/log* | awk '{print $3}' | sort -n | awk -v tps="$tps" '
    {a[NR]=$1} END {printf "%s %.3f %.3f\n", tps, a[int(NR*0.5)+1]/1000, a[int(NR*0.99)+1]/1000}'
}
declare -A tps p50 p99
for ((r = 1; r <= REPS; r++)); do
  for script in patient dashboard; do
    for clients in 1 2; do
      for mode in off on; do
        set_ledger "$mode"
        read -r t a b < <(run "$script" "$clients")
        key="$script/$clients/$mode"
        tps[$key]+=" $t"; p50[$key]+=" $a"; p99[$key]+=" $b"
      done
    done
  done
done
set_ledger on
records=$(q "SELECT careguard.ledger_flush(60000)")

echo
echo "== Disclosure ledger on vs off (pgbench, authenticator, median of $REPS x ${SECONDS_PER_RUN} s) =="
printf '%-10s %7s %10s %10s %7s %9s %9s %9s %9s\n' transaction clients "tps off" "tps on" ratio \
  "p50 off" "p50 on" "p99 off" "p99 on"
for script in patient dashboard; do
  for clients in 1 2; do
    off="$script/$clients/off"; on="$script/$clients/on"
    awk -v s="$script" -v c="$clients" -v t0="$(median ${tps[$off]})" -v t1="$(median ${tps[$on]})" \
        -v a0="$(median ${p50[$off]})" -v a1="$(median ${p50[$on]})" \
        -v b0="$(median ${p99[$off]})" -v b1="$(median ${p99[$on]})" \
      'BEGIN {printf "%-10s %7s %10.0f %10.0f %7.3f %9.3f %9.3f %9.3f %9.3f\n", s, c, t0, t1, t1/t0, a0, a1, b0, b1}'
  done
done
echo "(latencies in ms; the ledger held $records records after the runs, all written by the writer)"
