#!/usr/bin/env bash
# Each role's hot query under careguard's policies, against the limit: the
# same query written by hand with an explicit WHERE, run as a superuser.
# Data: careguard.seed_demo(150000, 200, 1000000, 42). Each sample is the
# mean of LOOPS executions of a cached plan inside one plpgsql loop.
set -euo pipefail
source "$(dirname "$0")/timing.sh"
REPS="${REPS:-5}"
LOOPS="${LOOPS:-2000}"

if [ "${SKIP_SEED:-0}" != 1 ]; then
  echo
  echo "== Seeding: careguard.seed_demo(150000, 200, 1000000, 42) =="
  start=$(date +%s.%N)
  psql -X -At -v ON_ERROR_STOP=1 -c "SELECT careguard.seed_demo(150000, 200, 1000000, 42)"
  psql -X -q -v ON_ERROR_STOP=1 -c "VACUUM ANALYZE"
  awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN {printf "seed_demo + VACUUM ANALYZE: %.1f s\n", e-s}'
fi

field() { psql -X -At -c "SELECT $1 FROM careguard.demo_users() WHERE label = '$2'"; }
patient_id=$(field user_id "patient A")
patient_claims=$(field claims "patient A")
provider_id=$(field provider_id "provider X")
provider_claims=$(field claims "provider X")
admin_claims=$(field claims "admin")
booking_id=$(psql -X -At -c "SELECT id FROM bookings.appointments ORDER BY id OFFSET 500000 LIMIT 1")

as_role() { echo "SET LOCAL ROLE $1; SELECT set_config('request.jwt.claims', '$2', true);"; }
declare -A setup query
setup[patient]=$(as_role patient "$patient_claims")
query[patient]="SELECT * FROM bookings.appointments"
setup[patient_limit]=""
query[patient_limit]="SELECT * FROM bookings.appointments WHERE patient_id = '$patient_id'"
dashboard="status = 'confirmed' AND starts_at >= now() ORDER BY starts_at LIMIT 50"
# The dashboard as an application sends it: the policy supplies provider_id.
setup[provider]=$(as_role provider "$provider_claims")
query[provider]="SELECT * FROM bookings.appointments WHERE $dashboard"
setup[provider_limit]=""
query[provider_limit]="SELECT * FROM bookings.appointments WHERE provider_id = '$provider_id' AND $dashboard"
# The same with provider_id also written out: the planner then adds a gating
# Result node ($0 = literal) above the same index scan.
setup[provider_explicit]=$(as_role provider "$provider_claims")
query[provider_explicit]=${query[provider_limit]}
setup[provider_explicit_limit]=""
query[provider_explicit_limit]=${query[provider_limit]}
# A provider listing its patients' care fields (no key given: the policy
# decides), against the same set written by hand.
setup[provider_patients]=$(as_role provider "$provider_claims")
query[provider_patients]="SELECT id, full_name FROM patients.profiles"
setup[provider_patients_limit]=""
query[provider_patients_limit]="SELECT id, full_name FROM patients.profiles WHERE id IN (SELECT patient_id FROM bookings.appointments WHERE provider_id = '$provider_id')"
setup[admin]=$(as_role admin "$admin_claims")
query[admin]="SELECT * FROM bookings.appointments WHERE id = '$booking_id'"
setup[admin_limit]=""
query[admin_limit]=${query[admin]}

# Mean ms per execution of a query over LOOPS runs of one cached plan.
loop_ms() {
  psql -X -q -v ON_ERROR_STOP=1 2>&1 <<SQL | sed -n 's/.*per_call_ms=\([0-9.]*\) rows=\([0-9]*\).*/\1 \2/p'
BEGIN;
${setup[$1]}
DO \$\$
DECLARE started timestamptz := clock_timestamp(); rows bigint := 0; n bigint;
BEGIN
  FOR i IN 1..$LOOPS LOOP
    PERFORM * FROM (${query[$1]}) q;
    GET DIAGNOSTICS n = ROW_COUNT; rows := rows + n;
  END LOOP;
  RAISE NOTICE 'per_call_ms=% rows=%', extract(epoch FROM clock_timestamp() - started) * 1000 / $LOOPS, rows / $LOOPS;
END \$\$;
ROLLBACK;
SQL
}

declare -A samples rows_of
for ((r = 1; r <= REPS; r++)); do
  for k in patient patient_limit provider provider_limit provider_explicit provider_explicit_limit provider_patients provider_patients_limit admin admin_limit; do
    read -r ms rows < <(loop_ms $k)
    samples[$k]+=" $ms"
    rows_of[$k]=$rows
  done
done

echo
echo "== Hot queries under the policies, 1,000,000 appointments (ms per execution) =="
printf '%-18s %14s %14s %8s %10s\n' role "under policy" "limit (hand)" ratio "rows"
for k in patient provider provider_explicit provider_patients admin; do
  m=$(median ${samples[$k]})
  l=$(median ${samples[${k}_limit]})
  rows=${rows_of[$k]}
  awk -v k="$k" -v m="$m" -v l="$l" -v r="$rows" 'BEGIN {printf "%-18s %14.4f %14.4f %8.2f %10s\n", k, m, l, m/l, r}'
done
for k in patient provider provider_explicit provider_patients admin; do
  echo
  echo "Plan, $k under its policy:"
  plan_of "${setup[$k]}" "${query[$k]}" | sed 's/^/    /'
done
