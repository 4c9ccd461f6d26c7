#!/usr/bin/env bash
# What the per-provider booking lock (bookings.appointments_lock_provider,
# docs/data-model.md "Booking races") costs: pgbench booking transactions
# (one INSERT of a free, non-conflicting slot each, as a superuser, so that
# only the trigger differs) with the trigger enabled and disabled, 1 and 8
# clients, over random providers and over one hot provider (the worst case:
# bookings of one provider that never conflict still take turns); and a bulk
# INSERT ... SELECT of BULK rows. Medians of REPS runs, variants interleaved.
# Needs careguard with demo data (it seeds seed_demo(2000, 200, 20000, 42)
# into an empty database).
set -euo pipefail
source "$(dirname "$0")/timing.sh"
REPS="${REPS:-3}"
SECONDS_PER_RUN="${SECONDS_PER_RUN:-4}"
BULK="${BULK:-100000}"
PGBENCH="${PGBENCH:-$(dirname "$(command -v psql)")/pgbench}"
[ -x "$PGBENCH" ] || PGBENCH=pgbench

q() { psql -X -At -v ON_ERROR_STOP=1 -c "$1"; }
if [ "$(q "SELECT count(*) FROM auth.users")" = 0 ]; then
  q "SELECT careguard.seed_demo(2000, 200, 20000, 42)" >/dev/null
  q "VACUUM ANALYZE" >/dev/null
fi
psql -X -q -v ON_ERROR_STOP=1 <<'SQL'
DROP SCHEMA IF EXISTS bench_booking CASCADE;
CREATE SCHEMA bench_booking;
CREATE SEQUENCE bench_booking.slot;
-- k -> a (patient, provider) pair; k = 1 is the hot provider.
CREATE TABLE bench_booking.pick AS
  SELECT row_number() OVER (ORDER BY pr.id)::int AS k, pa.id AS patient_id, pr.id AS provider_id
  FROM providers.profiles pr
  CROSS JOIN LATERAL (SELECT id FROM patients.profiles ORDER BY id LIMIT 1) pa;
CREATE UNIQUE INDEX ON bench_booking.pick (k);
SQL
providers="$(q "SELECT count(*) FROM bench_booking.pick")"
work="$(mktemp -d /tmp/careguard-bench-booking.XXXXXX)"
trap 'rm -rf "$work"; q "ALTER TABLE bookings.appointments ENABLE TRIGGER appointments_lock_provider" >/dev/null 2>&1 || true' EXIT
book='INSERT INTO bookings.appointments (patient_id, provider_id, starts_at, ends_at)
  SELECT p.patient_id, p.provider_id, s.t, s.t + interval '\''10 minutes'\''
  FROM bench_booking.pick p,
       LATERAL (SELECT timestamptz '\''2100-01-01 00:00+00'\'' + pg_catalog.nextval('\''bench_booking.slot'\'') * interval '\''10 minutes'\'' AS t) s
  WHERE p.k = :k;'
printf '\\set k random(1, %s)\n%s\n' "$providers" "$book" >"$work/random.sql"
printf '\\set k 1\n%s\n' "$book" >"$work/hot.sql"

trigger() { q "ALTER TABLE bookings.appointments ${1} TRIGGER appointments_lock_provider" >/dev/null; }
tps() {
  "$PGBENCH" -n -M prepared -f "$work/$1.sql" -c "$2" -j "$2" -T "$SECONDS_PER_RUN" 2>&1 |
    sed -n 's/^tps = \([0-9.]*\) .*/\1/p'
}
bulk_ms() {
  time_sql "" "INSERT INTO bookings.appointments (patient_id, provider_id, starts_at, ends_at)
    SELECT p.patient_id, p.provider_id, t, t + interval '10 minutes'
    FROM generate_series(1, $BULK) g,
         LATERAL (SELECT timestamptz '2200-01-01 00:00+00' + g * interval '10 minutes' AS t) s,
         bench_booking.pick p WHERE p.k = 1 + g % $providers"
}

declare -A samples
for ((r = 1; r <= REPS; r++)); do
  for variant in ENABLE DISABLE; do
    trigger "$variant"
    for case in random:1 random:8 hot:1 hot:8; do
      samples[$variant/$case]+=" $(tps "${case%%:*}" "${case##*:}")"
    done
    samples[$variant/bulk]+=" $(bulk_ms)"
  done
done
trigger ENABLE
# The bench's bookings are far in the future; remove them.
q "DELETE FROM bookings.appointments WHERE starts_at >= '2100-01-01'" >/dev/null
q "DROP SCHEMA bench_booking CASCADE" >/dev/null

echo
echo "== Booking lock: pgbench booking transactions (tps, median of $REPS x ${SECONDS_PER_RUN} s) =="
printf '%-30s %12s %12s %8s\n' workload "with lock" "without" ratio
for case in random:1 random:8 hot:1 hot:8; do
  on=$(median ${samples[ENABLE/$case]})
  off=$(median ${samples[DISABLE/$case]})
  label="${case%%:*} provider(s), ${case##*:} client(s)"
  awk -v l="$label" -v a="$on" -v b="$off" 'BEGIN {printf "%-30s %12.0f %12.0f %8.2f\n", l, a, b, a/b}'
done
on=$(median ${samples[ENABLE/bulk]})
off=$(median ${samples[DISABLE/bulk]})
awk -v n="$BULK" -v a="$on" -v b="$off" \
  'BEGIN {printf "%-30s %10.1f ms %9.1f ms %8.2f\n", "bulk INSERT of " n " rows", a, b, a/b}'
