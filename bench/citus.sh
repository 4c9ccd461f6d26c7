#!/usr/bin/env bash
# Request latency on Citus (a coordinator and 2 workers on this machine)
# against the single node named by PG*: pgbench, one client, gateway-style
# transactions (BEGIN; transaction-local claims; SET LOCAL ROLE; the query;
# END) as the authenticator login, simple protocol, for
#   dashboard     a provider's confirmed appointments in start order, LIMIT 50
#                 (a router plan on Citus: one shard);
#   patient read  a patient's appointments in start order (every shard: the
#                 table is distributed by provider_id).
# Both sides hold seed_demo(2000, 200, 20000, 42); the Citus side is laid out
# by bookings.distribute_on_citus(). Medians of REPS runs of SECONDS_PER_RUN
# seconds, single node and Citus interleaved; the ratio is Citus / single.
# Skipped (with a line saying so) where Citus is not installed and cannot be
# built from ../shared/citus/build.sh.
set -euo pipefail
source "$(dirname "$0")/timing.sh"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
REPS="${REPS:-3}"
SECONDS_PER_RUN="${SECONDS_PER_RUN:-5}"
PG_CONFIG="${PG_CONFIG:-pg_config}"
PG_BINDIR="${PG_BINDIR:-$("$PG_CONFIG" --bindir)}"
PGBENCH="${PGBENCH:-$PG_BINDIR/pgbench}"
[ -x "$PGBENCH" ] || PGBENCH=pgbench
export PGHOST PGPORT PGUSER="${PGUSER:-postgres}"
DB="${PGDATABASE:-postgres}"

echo
echo "== Citus (coordinator + 2 workers, one machine) vs a single node: request latency (ms, median of $REPS x ${SECONDS_PER_RUN} s) =="
if [ ! -f "$("$PG_CONFIG" --pkglibdir)/citus.so" ]; then
  build="${CITUS_BUILD_SH:-$ROOT/../shared/citus/build.sh}"
  if [ ! -f "$build" ]; then echo "skipped: no citus.so and no $build"; exit 0; fi
  PG_CONFIG="$(command -v "$PG_CONFIG" || echo "$PG_CONFIG")" bash "$build" >/dev/null
fi

work="$(mktemp -d /tmp/careguard-bench-citus.XXXXXX)"
chmod 755 "$work"
as_owner=()
if [ "$(id -u)" -eq 0 ]; then chown postgres: "$work"; as_owner=(runuser -u postgres --); fi
started=()
finish() {
  for dir in "${started[@]}"; do "${as_owner[@]}" "$PG_BINDIR/pg_ctl" -D "$dir" -m fast -w stop >/dev/null 2>&1; done
  rm -rf "$work"
}
trap finish EXIT
base="${BENCH_CITUS_PORT:-$((PGPORT + 10))}"
secret="$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')"
for i in 0 1 2; do
  "${as_owner[@]}" "$PG_BINDIR/initdb" -D "$work/n$i" -U postgres --auth=trust --no-sync -E UTF8 --locale=C.UTF-8 >/dev/null
  cat >>"$work/n$i/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $((base + i))
unix_socket_directories = '$work'
fsync = off
shared_buffers = 256MB
max_connections = 100
max_prepared_transactions = 100
shared_preload_libraries = 'citus,careguard'
careguard.node_secret = '$secret'
citus.skip_advisory_lock_permission_checks = on
CONF
  [ "$i" = 0 ] || echo "careguard.trust_request_claims = off" >>"$work/n$i/postgresql.conf"
  "${as_owner[@]}" "$PG_BINDIR/pg_ctl" -D "$work/n$i" -l "$work/n$i.log" -w start >/dev/null
  started+=("$work/n$i")
  psql -X -q -h "$work" -p $((base + i)) -U postgres -d postgres -c "CREATE DATABASE bench" \
    -c '\c bench' -c "SET client_min_messages = warning" -c "CREATE EXTENSION citus" >/dev/null
done
citus() { psql -X -At -q -v ON_ERROR_STOP=1 -h "$work" -p "$base" -U postgres -d bench "$@"; }
single() { psql -X -At -q -v ON_ERROR_STOP=1 -d "$DB" "$@"; }
citus -c "SELECT citus_set_coordinator_host('127.0.0.1', $base)" \
  -c "SELECT citus_add_node('127.0.0.1', $((base + 1)))" -c "SELECT citus_add_node('127.0.0.1', $((base + 2)))" >/dev/null
citus >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE SCHEMA extensions;
CREATE EXTENSION careguard_booking SCHEMA extensions CASCADE;
SELECT careguard.seed_demo(2000, 200, 20000, 42);
ALTER ROLE authenticator LOGIN;
SELECT count(*) FROM bookings.distribute_on_citus();
SQL
if [ "$(single -c "SELECT count(*) FROM auth.users")" = 0 ]; then
  single -c "SET client_min_messages = warning" -c "SELECT careguard.seed_demo(2000, 200, 20000, 42)" >/dev/null
fi
login_before="$(single -c "SELECT rolcanlogin FROM pg_roles WHERE rolname = 'authenticator'")"
single -c "ALTER ROLE authenticator LOGIN" >/dev/null
# Who to be: a local lookup table on each side (the coordinator's is a plain
# table), read before SET LOCAL ROLE.
for side in single citus; do
  "$side" >/dev/null <<'SQL'
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS bench_citus CASCADE;
CREATE SCHEMA bench_citus;
CREATE TABLE bench_citus.who AS
  SELECT 'provider' AS kind, row_number() OVER (ORDER BY id)::int AS k,
         json_build_object('sub', user_id, 'role', 'provider', 'provider_id', id)::text AS claims
    FROM providers.profiles
  UNION ALL
  SELECT 'patient', row_number() OVER (ORDER BY id)::int,
         json_build_object('sub', id, 'role', 'patient')::text
    FROM patients.profiles;
CREATE UNIQUE INDEX ON bench_citus.who (kind, k);
GRANT USAGE ON SCHEMA bench_citus TO authenticator;
GRANT SELECT ON bench_citus.who TO authenticator;
ANALYZE;
SQL
done
providers="$(single -c "SELECT count(*) FROM providers.profiles")"
patients="$(single -c "SELECT count(*) FROM patients.profiles")"
script() {  # script NAME KIND COUNT ROLE QUERY
  cat >"$work/$1.sql" <<SQL
\\set k random(1, $3)
BEGIN;
SELECT set_config('request.jwt.claims', claims, true) FROM bench_citus.who WHERE kind = '$2' AND k = :k;
SET LOCAL ROLE $4;
$5;
END;
SQL
  [ "$(id -u)" -ne 0 ] || chown postgres: "$work/$1.sql"
}
script dashboard provider "$providers" provider \
  "SELECT id, patient_id, starts_at FROM bookings.appointments WHERE status = 'confirmed' ORDER BY starts_at LIMIT 50"
script patient_read patient "$patients" patient "SELECT id, provider_id, starts_at, status FROM bookings.appointments ORDER BY starts_at"
latency() {  # latency single|citus NAME: average ms per transaction
  local where=(-d "$DB")
  [ "$1" = citus ] && where=(-h "$work" -p "$base" -d bench)
  "$PGBENCH" -n -M simple "${where[@]}" -U authenticator -f "$work/$2.sql" -c 1 -j 1 -T "$SECONDS_PER_RUN" 2>&1 |
    sed -n 's/^latency average = \([0-9.]*\) ms.*/\1/p'
}
declare -A samples
for ((r = 1; r <= REPS; r++)); do
  for name in dashboard patient_read; do
    for side in single citus; do samples[$side/$name]+=" $(latency "$side" "$name")"; done
  done
done
[ "$login_before" = t ] || single -c "ALTER ROLE authenticator NOLOGIN" >/dev/null
single -c "SET client_min_messages = warning" -c "DROP SCHEMA bench_citus CASCADE" >/dev/null
tasks="$(psql -X -At -h "$work" -p "$base" -U authenticator -d bench <<'SQL' | sed -n 's/.*Task Count: //p' | paste -sd/
BEGIN;
SELECT set_config('request.jwt.claims', claims, true) FROM bench_citus.who WHERE kind = 'provider' AND k = 1;
SET LOCAL ROLE provider;
EXPLAIN (COSTS OFF) SELECT id, patient_id, starts_at FROM bookings.appointments WHERE status = 'confirmed' ORDER BY starts_at LIMIT 50;
ROLLBACK;
BEGIN;
SELECT set_config('request.jwt.claims', claims, true) FROM bench_citus.who WHERE kind = 'patient' AND k = 1;
SET LOCAL ROLE patient;
EXPLAIN (COSTS OFF) SELECT id, provider_id, starts_at, status FROM bookings.appointments ORDER BY starts_at;
ROLLBACK;
SQL
)"
printf '%-14s %10s %10s %8s\n' query single citus ratio
for name in dashboard patient_read; do
  s=$(median ${samples[single/$name]})
  c=$(median ${samples[citus/$name]})
  awk -v n="$name" -v s="$s" -v c="$c" 'BEGIN {printf "%-14s %10.3f %10.3f %8.2f\n", n, s, c, c/s}'
done
echo "Citus tasks (dashboard/patient read): $tasks of $(psql -X -At -h "$work" -p "$base" -U postgres -d bench -c "SELECT count(*) FROM pg_dist_shard WHERE logicalrelid = 'bookings.appointments'::regclass") shards"
