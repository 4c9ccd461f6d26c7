#!/usr/bin/env bash
# Per-row cost of the claim helpers in a policy (issue: foundation).
# count(*) over 1,000,000 rows under `owner = <helper>`, sequential scan, as
# role patient, for: a literal (the limit), careguard's auth.uid() (hoisted by
# default, and per row with hoisting off), Supabase's SQL definition, and the
# same wrapped as (select ...). Serial plans for the per-row cost; then
# whether each variant still allows a parallel plan.
set -euo pipefail
source "$(dirname "$0")/timing.sh"
REPS="${REPS:-5}"
uid=8f14e45f-ceea-167a-5a36-dedd4bea2543

psql -X -q -v ON_ERROR_STOP=1 <<'SQL'
CREATE SCHEMA bench_ref;
-- Supabase's definition (supabase/auth migration 20220224000811).
CREATE FUNCTION bench_ref.uid() RETURNS uuid LANGUAGE sql STABLE AS $$
  select coalesce(nullif(current_setting('request.jwt.claim.sub', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'))::uuid $$;
GRANT USAGE ON SCHEMA bench_ref TO patient;
CREATE TABLE bench_ref.rows (id bigint, owner uuid);
INSERT INTO bench_ref.rows SELECT i, md5((i % 1000)::text)::uuid FROM generate_series(1, 1000000) i;
VACUUM ANALYZE bench_ref.rows;
GRANT SELECT ON bench_ref.rows TO patient;
SQL

claims="{\"sub\":\"$uid\",\"role\":\"patient\",\"email\":\"p@example.org\",\"aud\":\"authenticated\",\"exp\":4102444800,\"app_metadata\":{\"provider\":\"email\",\"providers\":[\"email\"]},\"user_metadata\":{}}"
base="SET LOCAL ROLE patient; SELECT set_config('request.jwt.claims', '$claims', true);"
serial="SET LOCAL max_parallel_workers_per_gather = 0;"
declare -A predicate=(
  [literal]="owner = '$uid'::uuid"
  [careguard]="owner = auth.uid()"
  [careguard_per_row]="owner = auth.uid()"
  [supabase]="owner = bench_ref.uid()"
  [supabase_wrapped]="owner = (select bench_ref.uid())"
)
variants=(literal careguard careguard_per_row supabase supabase_wrapped)
setup_for() {
  local v="$1" extra="$2"
  local s="$base $extra"
  [ "$v" = careguard_per_row ] && s="$s SET LOCAL careguard.hoist_claim_helpers = off;"
  echo "$s"
}

declare -A samples
for ((r = 1; r <= REPS; r++)); do
  for v in "${variants[@]}"; do
    samples[$v]+=" $(time_sql "$(setup_for "$v" "$serial")" "SELECT count(*) FROM bench_ref.rows WHERE ${predicate[$v]}")"
  done
done

echo
echo "== Claim helpers in a policy: count(*) over 1,000,000 rows, sequential scan, serial =="
printf '%-20s %12s %12s %14s %10s\n' variant "median ms" "x literal" "ns/row extra" parallel
lit=$(median ${samples[literal]})
for v in "${variants[@]}"; do
  m=$(median ${samples[$v]})
  plan=$(plan_of "$(setup_for "$v" "SET LOCAL parallel_setup_cost = 0; SET LOCAL min_parallel_table_scan_size = 0;")" \
    "SELECT count(*) FROM bench_ref.rows WHERE ${predicate[$v]}")
  if grep -q Gather <<<"$plan"; then par=yes; else par=no; fi
  awk -v v="$v" -v m="$m" -v l="$lit" -v p="$par" \
    'BEGIN {printf "%-20s %12.1f %12.2f %14.1f %10s\n", v, m, m/l, (m-l), p}'
done
echo "(careguard = auth.uid() as written in the policy; careguard_per_row = the same with"
echo " careguard.hoist_claim_helpers = off, so the C function runs once per row.)"
echo
echo "Plan of careguard's auth.uid() with parallel plans allowed:"
plan_of "$(setup_for careguard "SET LOCAL parallel_setup_cost = 0; SET LOCAL min_parallel_table_scan_size = 0;")" \
  "SELECT count(*) FROM bench_ref.rows WHERE owner = auth.uid()" | sed 's/^/    /'

declare -A psamples
pvariants=(literal careguard careguard_per_row supabase_wrapped)
parallel="SET LOCAL max_parallel_workers_per_gather = 2; SET LOCAL parallel_setup_cost = 0; SET LOCAL min_parallel_table_scan_size = 0;"
for ((r = 1; r <= REPS; r++)); do
  for v in "${pvariants[@]}"; do
    psamples[$v]+=" $(time_sql "$(setup_for "$v" "$parallel")" "SELECT count(*) FROM bench_ref.rows WHERE ${predicate[$v]}")"
  done
done
echo
echo "== The same with parallel plans allowed (2 workers) =="
printf '%-20s %12s %12s\n' variant "median ms" "x literal"
plit=$(median ${psamples[literal]})
for v in "${pvariants[@]}"; do
  m=$(median ${psamples[$v]})
  awk -v v="$v" -v m="$m" -v l="$plit" 'BEGIN {printf "%-20s %12.1f %12.2f\n", v, m, m/l}'
done
echo "(supabase unwrapped is left out here: PARALLEL UNSAFE, so it never runs in parallel.)"
