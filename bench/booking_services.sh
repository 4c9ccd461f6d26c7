#!/usr/bin/env bash
# Booking services (issue 14) against what a service-role Edge Function
# would run by hand: free slots of one provider over a week, provider
# matching over all providers for a week, and one analytics aggregate over
# every appointment. The services run under their callers' roles and claims
# (patient A; the analyst); the hand-written queries run as a superuser,
# i.e. with the service role's BYPASSRLS. Data: careguard.seed_demo(150000,
# 200, 1000000, 42), seeded here unless appointments are already loaded.
# Each sample is the mean of LOOPS executions inside one plpgsql loop.
set -euo pipefail
source "$(dirname "$0")/timing.sh"
REPS="${REPS:-5}"

if [ "$(psql -X -At -c "SELECT count(*) > 0 FROM bookings.appointments")" != t ]; then
  echo
  echo "== Seeding: careguard.seed_demo(150000, 200, 1000000, 42) =="
  start=$(date +%s.%N)
  psql -X -At -v ON_ERROR_STOP=1 -c "SELECT careguard.seed_demo(150000, 200, 1000000, 42)"
  psql -X -q -v ON_ERROR_STOP=1 -c "VACUUM ANALYZE"
  awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN {printf "seed_demo + VACUUM ANALYZE: %.1f s\n", e-s}'
fi

patient_claims=$(psql -X -At -c "SELECT claims FROM careguard.demo_users() WHERE label = 'patient A'")
provider_id=$(psql -X -At -c "SELECT provider_id FROM careguard.demo_users() WHERE label = 'provider X'")
analyst_claims='{"sub":"eeeeeeee-0000-4000-8000-000000000001","role":"analyst"}'
as_role() { echo "SET LOCAL ROLE $1; SELECT set_config('request.jwt.claims', '$2', true);"; }
week="now(), now() + interval '7 days'"
d="interval '30 minutes'"
live="a.status IN ('pending', 'confirmed')"

declare -A setup query loops
setup[free_slots]=$(as_role patient "$patient_claims")
query[free_slots]="SELECT * FROM bookings.free_slots('$provider_id', $week, $d)"
loops[free_slots]=200
# The Edge Function: the same grid, candidate by candidate, as service_role.
setup[free_slots_hand]=""
query[free_slots_hand]="SELECT s, s + $d FROM providers.availability av
  CROSS JOIN LATERAL generate_series(lower(av.during), upper(av.during) - $d, $d) AS s
  WHERE av.provider_id = '$provider_id' AND av.during && tstzrange($week)
    AND s >= now() AND s + $d <= now() + interval '7 days'
    AND NOT EXISTS (SELECT 1 FROM bookings.appointments a WHERE a.provider_id = av.provider_id AND $live
                     AND a.during && tstzrange(s, s + $d))
  ORDER BY s"
loops[free_slots_hand]=200
setup[match]=$(as_role patient "$patient_claims")
query[match]="SELECT * FROM providers.match(NULL, NULL, $week, $d, 10)"
loops[match]=50
setup[match_hand]=""
query[match_hand]="SELECT p.id, p.display_name, p.category_id, p.location_id, f.s FROM providers.profiles p
  CROSS JOIN LATERAL (SELECT s FROM providers.availability av
    CROSS JOIN LATERAL generate_series(lower(av.during), upper(av.during) - $d, $d) AS s
    WHERE av.provider_id = p.id AND av.during && tstzrange($week)
      AND s >= now() AND s + $d <= now() + interval '7 days'
      AND NOT EXISTS (SELECT 1 FROM bookings.appointments a WHERE a.provider_id = p.id AND $live
                       AND a.during && tstzrange(s, s + $d))
    ORDER BY s LIMIT 1) AS f
  ORDER BY f.s, p.display_name, p.id LIMIT 10"
loops[match_hand]=50
setup[analytics]=$(as_role analyst "$analyst_claims")
query[analytics]="SELECT * FROM analytics.bookings_by_week('2020-01-01', '2022-12-31')"
# Every appointment: the window is whole seeded period (the cap is 3 years).
window_from=$(psql -X -At -c "SELECT (min(starts_at)::date)::text FROM bookings.appointments")
window_to=$(psql -X -At -c "SELECT (least(max(starts_at)::date + 1, min(starts_at)::date + 1096))::text FROM bookings.appointments")
query[analytics]="SELECT * FROM analytics.bookings_by_week('$window_from', '$window_to')"
loops[analytics]=1
# The Edge Function's aggregate: the same cells, without suppression.
setup[analytics_hand]=""
query[analytics_hand]="SELECT p.category_id, p.location_id, date_trunc('week', timezone(l.timezone, a.starts_at))::date AS week,
    count(*), count(*) FILTER (WHERE a.status = 'cancelled'), count(*) FILTER (WHERE a.status = 'no_show'),
    count(DISTINCT a.patient_id)
  FROM bookings.appointments a JOIN providers.profiles p ON p.id = a.provider_id
  JOIN public.locations l ON l.id = p.location_id
  WHERE timezone(l.timezone, (date_trunc('week', timezone(l.timezone, a.starts_at))::date + 7)::timestamp) <= now()
  GROUP BY 1, 2, 3"
loops[analytics_hand]=1

# Mean ms per execution over loops[k] runs.
loop_ms() {
  psql -X -q -v ON_ERROR_STOP=1 2>&1 <<SQL | sed -n 's/.*per_call_ms=\([0-9.]*\) rows=\([0-9]*\).*/\1 \2/p'
BEGIN;
${setup[$1]}
DO \$\$
DECLARE started timestamptz := clock_timestamp(); rows bigint := 0; n bigint;
BEGIN
  FOR i IN 1..${loops[$1]} LOOP
    PERFORM * FROM (${query[$1]}) q;
    GET DIAGNOSTICS n = ROW_COUNT; rows := rows + n;
  END LOOP;
  RAISE NOTICE 'per_call_ms=% rows=%', extract(epoch FROM clock_timestamp() - started) * 1000 / ${loops[$1]}, rows / ${loops[$1]};
END \$\$;
ROLLBACK;
SQL
}

keys=(free_slots free_slots_hand match match_hand analytics analytics_hand)
declare -A samples rows_of
for ((r = 1; r <= REPS; r++)); do
  for k in "${keys[@]}"; do
    read -r ms rows < <(loop_ms "$k")
    samples[$k]+=" $ms"
    rows_of[$k]=$rows
  done
done

echo
echo "== Booking services vs the service role's hand-written queries, $(psql -X -At -c "SELECT to_char(count(*), 'FM9,999,999') FROM bookings.appointments") appointments (ms per call) =="
printf '%-12s %14s %14s %8s %10s %10s\n' service "service (ms)" "by hand (ms)" ratio rows "rows hand"
for k in free_slots match analytics; do
  m=$(median ${samples[$k]})
  h=$(median ${samples[${k}_hand]})
  awk -v k="$k" -v m="$m" -v h="$h" -v r="${rows_of[$k]}" -v rh="${rows_of[${k}_hand]}" \
    'BEGIN {printf "%-12s %14.3f %14.3f %8.2f %10s %10s\n", k, m, h, m/h, r, rh}'
done
echo "(free_slots: provider X, the next 7 days, 30 minutes; match: all providers, the next 7 days,"
echo " 30 minutes, limit 10; analytics: analytics.bookings_by_week over $window_from..$window_to, k = $(psql -X -At -c 'SHOW careguard.small_cell_threshold'))"
