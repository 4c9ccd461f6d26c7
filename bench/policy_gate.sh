#!/usr/bin/env bash
# What the policy gate costs. (1) A DDL transaction (ALTER TABLE ... ENABLE
# ROW LEVEL SECURITY, a no-op, then COMMIT) on a table the gate protects
# (registered by careguard.protect()) against the same on an identical table
# it does not: the difference is the gate's check at PRE_COMMIT. (2) With
# REF_PGPORT set to a second cluster that runs a careguard built without the
# gate (same PGHOST, same data: seed_demo(20, 4, 200, 42)), request-shaped
# transactions without DDL (SET LOCAL ROLE, claims, the patient's own
# appointments, COMMIT) on both: the gate's cost where it should cost
# nothing. pgbench, 1 client, medians of REPS runs, variants interleaved.
set -euo pipefail
source "$(dirname "$0")/timing.sh"
REPS="${REPS:-5}"
SECONDS_PER_RUN="${SECONDS_PER_RUN:-5}"
PGBENCH="${PGBENCH:-$(dirname "$(command -v psql)")/pgbench}"
[ -x "$PGBENCH" ] || PGBENCH=pgbench

q() { psql -X -At -v ON_ERROR_STOP=1 "$@"; }
if [ "$(q -c "SELECT count(*) FROM auth.users")" = 0 ]; then
  q -c "SELECT careguard.seed_demo(20, 4, 200, 42)" >/dev/null
fi
q >/dev/null <<'SQL'
DROP SCHEMA IF EXISTS bench_gate CASCADE;
CREATE SCHEMA bench_gate;
CREATE TABLE bench_gate.guarded (id bigint PRIMARY KEY, owner uuid NOT NULL);
CREATE TABLE bench_gate.plain (id bigint PRIMARY KEY, owner uuid NOT NULL);
SELECT careguard.protect('bench_gate.guarded', 'owner');
SELECT careguard.protect('bench_gate.plain', 'owner');
DELETE FROM careguard.protected_tables WHERE relation = 'bench_gate.plain'::regclass;
SQL
work="$(mktemp -d /tmp/careguard-bench-gate.XXXXXX)"
trap 'rm -rf "$work"; q -c "DELETE FROM careguard.protected_tables WHERE relation::text LIKE '"'"'bench_gate.%'"'"'" -c "DROP SCHEMA IF EXISTS bench_gate CASCADE" >/dev/null 2>&1 || true' EXIT
for t in guarded plain; do
  printf 'BEGIN;\nALTER TABLE bench_gate.%s ENABLE ROW LEVEL SECURITY;\nCOMMIT;\n' "$t" >"$work/ddl_$t.sql"
done
patient="$(q -c "SELECT id FROM patients.profiles ORDER BY id LIMIT 1")"
cat >"$work/request.sql" <<SQL
BEGIN;
SET LOCAL ROLE patient;
SELECT set_config('request.jwt.claims', '{"sub":"$patient","role":"patient"}', true);
SELECT count(*) FROM bookings.appointments;
COMMIT;
SQL

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
tps() {  # tps PORT SCRIPT
  "$PGBENCH" -n -p "$1" -c 1 -T "$SECONDS_PER_RUN" -f "$2" 2>/dev/null |
    sed -n 's/^tps = \([0-9]*\).*/\1/p'
}
port="${PGPORT:-5432}"
declare -a guarded plain here ref
for ((i = 0; i < REPS; i++)); do
  guarded+=("$(tps "$port" "$work/ddl_guarded.sql")")
  plain+=("$(tps "$port" "$work/ddl_plain.sql")")
  if [ -n "${REF_PGPORT:-}" ]; then
    here+=("$(tps "$port" "$work/request.sql")")
    ref+=("$(tps "$REF_PGPORT" "$work/request.sql")")
  fi
done
echo
echo "== policy gate (pgbench, 1 client, ${SECONDS_PER_RUN} s runs, medians of $REPS)"
g="$(median "${guarded[@]}")" p="$(median "${plain[@]}")"
printf '%-58s %10s TPS\n' "DDL transaction, protected table (gate checks it)" "$g" \
  "DDL transaction, identical unprotected table" "$p"
printf '%-58s %10s\n' "ratio protected / unprotected (TPS)" "$(ratio "$g" "$p")"
if [ -n "${REF_PGPORT:-}" ]; then
  h="$(median "${here[@]}")" r="$(median "${ref[@]}")"
  printf '%-58s %10s TPS\n' "request without DDL, careguard with the gate" "$h" \
    "request without DDL, careguard without it (REF_PGPORT)" "$r"
  printf '%-58s %10s\n' "ratio with / without the gate (TPS)" "$(ratio "$h" "$r")"
else
  echo "(request transactions against a build without the gate: set REF_PGPORT)"
fi
