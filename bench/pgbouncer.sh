#!/usr/bin/env bash
# Gateway-style throughput through PgBouncer (transaction mode) against
# direct connections: pgbench, one custom script (BEGIN; transaction-local
# claims of a random patient; SET LOCAL ROLE patient; count its
# appointments; END), as the authenticator login, 1 and 8 clients, simple
# query protocol for both (PgBouncer 1.18 cannot pool prepared statements).
# Medians of REPS runs, direct and pooled interleaved. Starts its own
# PgBouncer (test/shell/pgbouncer.sh; pool of POOL server connections) in
# front of the cluster named by PG*; seeds seed_demo(2000, 200, 20000, 42)
# into an empty database.
set -euo pipefail
source "$(dirname "$0")/timing.sh"
REPS="${REPS:-3}"
SECONDS_PER_RUN="${SECONDS_PER_RUN:-5}"
POOL="${POOL:-2}"
PGBOUNCER="${PGBOUNCER:-/usr/sbin/pgbouncer}"
PGBENCH="${PGBENCH:-$(dirname "$(command -v psql)")/pgbench}"
[ -x "$PGBENCH" ] || PGBENCH=pgbench
export PGHOST PGPORT PGUSER="${PGUSER:-postgres}"
DB="${PGDATABASE:-postgres}"
source "$(dirname "$0")/../test/shell/pgbouncer.sh"

q() { psql -X -At -v ON_ERROR_STOP=1 -c "$1"; }
if [ "$(q "SELECT count(*) FROM auth.users")" = 0 ]; then
  q "SELECT careguard.seed_demo(2000, 200, 20000, 42)" >/dev/null
  q "VACUUM ANALYZE" >/dev/null
fi
login_before="$(q "SELECT rolcanlogin FROM pg_roles WHERE rolname = 'authenticator'")"
psql -X -q -v ON_ERROR_STOP=1 <<'SQL'
DROP SCHEMA IF EXISTS bench_pgb CASCADE;
CREATE SCHEMA bench_pgb;
CREATE TABLE bench_pgb.ids AS
  SELECT row_number() OVER (ORDER BY id)::int AS k,
         json_build_object('sub', id, 'role', 'patient')::text AS claims
  FROM patients.profiles;
CREATE UNIQUE INDEX ON bench_pgb.ids (k);
GRANT USAGE ON SCHEMA bench_pgb TO authenticator;
GRANT SELECT ON bench_pgb.ids TO authenticator;
ALTER ROLE authenticator LOGIN;
SQL
patients="$(q "SELECT count(*) FROM bench_pgb.ids")"
work="$(mktemp -d /tmp/careguard-bench-pgb.XXXXXX)"
chmod 755 "$work"
finish() {
  pgb_stop
  q "DROP SCHEMA IF EXISTS bench_pgb CASCADE" >/dev/null 2>&1 || true
  [ "$login_before" = t ] || q "ALTER ROLE authenticator NOLOGIN" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap finish EXIT
pgb_start "$work" "$DB" "$POOL" authenticator || { echo "PgBouncer did not start" >&2; exit 1; }
cat >"$work/gateway.sql" <<SQL
\\set k random(1, $patients)
BEGIN;
SELECT set_config('request.jwt.claims', claims, true) FROM bench_pgb.ids WHERE k = :k;
SET LOCAL ROLE patient;
SELECT count(*) FROM bookings.appointments;
END;
SQL
[ "$(id -u)" -ne 0 ] || chown postgres: "$work/gateway.sql"

tps() {  # tps direct|pooled CLIENTS
  local where=(-h "$PGHOST" -p "$PGPORT")
  [ "$1" = pooled ] && where=(-h 127.0.0.1 -p "$PGB_PORT")
  "$PGBENCH" -n -M simple "${where[@]}" -U authenticator -f "$work/gateway.sql" -c "$2" -j "$2" \
    -T "$SECONDS_PER_RUN" "$DB" 2>&1 | sed -n 's/^tps = \([0-9.]*\) .*/\1/p'
}
declare -A samples
for ((r = 1; r <= REPS; r++)); do
  for clients in 1 8; do
    for where in direct pooled; do samples[$where/$clients]+=" $(tps "$where" "$clients")"; done
  done
done

echo
echo "== Gateway-style transactions through PgBouncer (transaction mode, pool of $POOL) vs direct (tps, median of $REPS x ${SECONDS_PER_RUN} s) =="
printf '%-10s %12s %12s %8s\n' clients direct pgbouncer ratio
for clients in 1 8; do
  d=$(median ${samples[direct/$clients]})
  p=$(median ${samples[pooled/$clients]})
  awk -v c="$clients" -v d="$d" -v p="$p" 'BEGIN {printf "%-10s %12.0f %12.0f %8.2f\n", c, d, p, p/d}'
done
