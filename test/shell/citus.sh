#!/usr/bin/env bash
# careguard_booking on Citus 13 (issue 12, section 1).
#
# Starts four servers under a temporary directory, as the cluster owner, on
# free ports from CITUS_PORT (default PGPORT + 40) upwards: a single node
# (careguard only: the reference) and a Citus coordinator with two workers
# (listen_addresses 127.0.0.1, trust on loopback, shared_preload_libraries =
# 'citus,careguard', one careguard.node_secret, trust_request_claims off on
# the workers). Both sides get the same demo data; the coordinator then runs
# SELECT * FROM bookings.distribute_on_citus(). Checks:
#   1. the layout: reference tables, co-located tables distributed by
#      provider_id, careguard preloaded on every node;
#   2. the role matrix through the coordinator: every gateway-style (SET
#      LOCAL ROLE + set_config(..., true)) and sign-in (auth.login) context
#      sees, table by table, exactly the rows it sees on the single node
#      (0 unauthorized, 0 missing), patient reads by patient_id included
#      (Citus #7182);
#   3. the trust model on a worker reached directly: no gateway claims, a
#      forged or session-level careguard.node_identity refused (28000), an
#      envelope sealed for another login refused;
#   4. the write rules: each write in its own transaction, SQLSTATE and row
#      count equal to the single node's;
#   5. plans: a provider's dashboard is a router plan (Task Count: 1); the
#      other roles' fan-out is printed;
#   6. careguard.audit() and careguard.access_matrix() on the coordinator
#      (the matrix's read cells equal the single node's);
#   7. the booking race: 16 clients insert the same slot, exactly one wins,
#      every loser gets 23P01 (it commits bookings, so it comes late);
#   8. adding a worker as docs/scale-out.md says: citus_add_node,
#      bookings.citus_prepare_workers(), a rebalance; identities and bookings
#      still hold.
# Citus is built with ../shared/citus/build.sh (or $CITUS_BUILD_SH) when
# citus.so is missing from `pg_config --pkglibdir`; without either it exits 77
# (skipped). The closing line is "N passed, M failed".
#
# Usage: test/shell/citus.sh
#   PG_CONFIG / PG_BINDIR   the PostgreSQL 15 to run (careguard installed in it)
#   CITUS_BUILD_SH          the Citus build script (default ../shared/citus/build.sh)
#   KEEP_WORKDIR=1          leave the temporary directory (logs) behind
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PG_CONFIG="${PG_CONFIG:-pg_config}"
PG_BINDIR="${PG_BINDIR:-$("$PG_CONFIG" --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)}"
DB=careguard_citus
KID=citus-hs256
SECRET="citus-test-hs256-secret-0123456789abcdef"
SHARDS=8
RACE_CLIENTS=16
RACE_ROUNDS=3
unset PGOPTIONS PGSERVICE PGDATABASE

source "$(dirname "${BASH_SOURCE[0]}")/checks.sh"
note() { printf '       %s\n' "$*"; }
die() { printf 'citus: %s\n' "$*" >&2; printf '%s passed, %s failed\n' "$passed" "$((failed + 1))"; exit 1; }
START_SECONDS=$SECONDS

# ---------------------------------------------------------------------------
# Citus itself: installed, or built from the shared source, or skip.
if [ ! -f "$("$PG_CONFIG" --pkglibdir)/citus.so" ]; then
  build="${CITUS_BUILD_SH:-$ROOT/../shared/citus/build.sh}"
  if [ ! -f "$build" ]; then
    echo "citus: SKIP: citus.so is not in $("$PG_CONFIG" --pkglibdir) and there is no build script at $build"
    echo "citus: install Citus 13 for PostgreSQL 15 (Citus's own packages) or set CITUS_BUILD_SH"
    exit 77
  fi
  echo "citus: building Citus with $build (about 1.5 minutes)"
  PG_CONFIG="$(command -v "$PG_CONFIG" || echo "$PG_CONFIG")" bash "$build" || die "the Citus build failed"
  BUILD_SECONDS=$((SECONDS - START_SECONDS))
  echo "citus: built in ${BUILD_SECONDS} s"
fi
RUN_START=$SECONDS

WORK="$(mktemp -d /tmp/careguard-citus.XXXXXX)"
chmod 755 "$WORK"
AS_OWNER=()
if [ "$(id -u)" -eq 0 ]; then
  chown postgres: "$WORK"
  AS_OWNER=(runuser -u postgres --)
fi
STARTED=()
cleanup() {
  local rc=$?
  set +e
  for ((i = ${#STARTED[@]} - 1; i >= 0; i--)); do
    "${AS_OWNER[@]}" "$PG_BINDIR/pg_ctl" -D "${STARTED[$i]}" -m fast -w stop >/dev/null 2>&1
  done
  if [ "${KEEP_WORKDIR:-0}" = 1 ]; then echo "work directory kept: $WORK" >&2; else rm -rf "$WORK"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_is_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && [ ! -e "/tmp/.s.PGSQL.$1" ] &&
    [ ! -e "/var/run/postgresql/.s.PGSQL.$1" ]
}
next_free_port() {
  local p="$1"
  for _ in $(seq 60); do
    if port_is_free "$p"; then echo "$p"; return 0; fi
    p=$((p + 1))
  done
  return 1
}
declare -A PORT
PORT[single]="$(next_free_port "${CITUS_PORT:-$((${PGPORT:-55433} + 40))}")" || die "no free port"
PORT[coord]="$(next_free_port $((PORT[single] + 1)))" || die "no free port"
PORT[w1]="$(next_free_port $((PORT[coord] + 1)))" || die "no free port"
PORT[w2]="$(next_free_port $((PORT[w1] + 1)))" || die "no free port"
NODE_SECRET="$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')"

# psql on one server: on NODE [USER] [psql options...] (SQL on stdin or -c)
on() {
  local node="$1" user="${2:-postgres}"; shift 2 || shift $#
  psql -X -At -q -h "$WORK" -p "${PORT[$node]}" -U "$user" -d "$DB" "$@"
}
q() { on "$1" postgres -v ON_ERROR_STOP=1 -c "$2"; }

# ---------------------------------------------------------------------------
section "set-up: single node :${PORT[single]}, coordinator :${PORT[coord]}, workers :${PORT[w1]} :${PORT[w2]}"
for node in single coord w1 w2; do
  "${AS_OWNER[@]}" "$PG_BINDIR/initdb" -D "$WORK/$node" -U postgres --auth=trust --no-sync -E UTF8 \
    --locale=C.UTF-8 >/dev/null || die "initdb failed"
  preload="citus,careguard"; [ "$node" = single ] && preload=careguard
  cat >>"$WORK/$node/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = ${PORT[$node]}
unix_socket_directories = '$WORK'
fsync = off
max_connections = 120
max_prepared_transactions = 100
shared_preload_libraries = '$preload'
CONF
  if [ "$node" != single ]; then
    # The same secret on every node; in production an included file only
    # the server can read.
    printf "careguard.node_secret = '%s'\n" "$NODE_SECRET" >>"$WORK/$node/postgresql.conf"
  fi
  case "$node" in w1 | w2) echo "careguard.trust_request_claims = off" >>"$WORK/$node/postgresql.conf" ;; esac
  # A write to a reference table locks the reference tables it points at
  # (auth.users) as the writing user, which needs write privileges there
  # unless this is on (docs/scale-out.md).
  [ "$node" = single ] || echo "citus.skip_advisory_lock_permission_checks = on" >>"$WORK/$node/postgresql.conf"
  "${AS_OWNER[@]}" "$PG_BINDIR/pg_ctl" -D "$WORK/$node" -l "$WORK/$node.log" -w start >/dev/null ||
    die "the $node server did not start: $(tail -n 5 "$WORK/$node.log")"
  STARTED+=("$WORK/$node")
  psql -X -q -h "$WORK" -p "${PORT[$node]}" -U postgres -d postgres -v ON_ERROR_STOP=1 \
    -c "CREATE DATABASE $DB" >/dev/null || die "cannot create the database on $node"
  [ "$node" = single ] || q "$node" "SET client_min_messages = warning; CREATE EXTENSION citus" >/dev/null ||
    die "CREATE EXTENSION citus failed on $node"
done
q coord "SELECT citus_set_coordinator_host('127.0.0.1', ${PORT[coord]});
         SELECT citus_add_node('127.0.0.1', ${PORT[w1]}); SELECT citus_add_node('127.0.0.1', ${PORT[w2]})" \
  >/dev/null || die "cannot add the workers"
for node in single coord; do
  on "$node" postgres -v ON_ERROR_STOP=1 >/dev/null <<SQL || die "cannot install careguard_booking on $node"
SET client_min_messages = warning;
CREATE SCHEMA extensions;
CREATE EXTENSION careguard_booking SCHEMA extensions CASCADE;
SELECT careguard.seed_demo(20, 4, 200, 42);
ALTER ROLE authenticator LOGIN;
SELECT auth.import_hmac_secret('$KID', '$SECRET');
SQL
done
check "the demo data is the same on both sides (appointment ids)" \
  "$(q single "SELECT md5(string_agg(id::text || status, ',' ORDER BY id)) FROM bookings.appointments")" \
  "$(q coord "SELECT md5(string_agg(id::text || status, ',' ORDER BY id)) FROM bookings.appointments")"
t0=$SECONDS
layout="$(on coord postgres -v ON_ERROR_STOP=1 -c "SET client_min_messages = warning" \
  -c "SELECT relation || ':' || kind || ':' || COALESCE(distribution_column, '-') || ':' || shards FROM bookings.distribute_on_citus($SHARDS)" 2>"$WORK/distribute.err")" ||
  die "bookings.distribute_on_citus() failed: $(cat "$WORK/distribute.err")"
note "bookings.distribute_on_citus($SHARDS) took $((SECONDS - t0)) s:"
while IFS= read -r line; do note "  $line"; done <<<"$layout"

# ---------------------------------------------------------------------------
section "1. the layout"
check "reference tables: auth.users, public.*, providers.profiles, patients.*" 6 \
  "$(q coord "SELECT count(*) FROM pg_dist_partition WHERE partmethod = 'n' AND repmodel = 't'")"
check "distributed by provider_id, co-located: availability, appointments, status_history" "3|1|provider_id" \
  "$(q coord "SELECT count(*) || '|' || count(DISTINCT colocationid) || '|' || string_agg(DISTINCT column_to_column_name(logicalrelid, partkey), ',')
              FROM pg_dist_partition WHERE partmethod = 'h'")"
check "the appointments are all in the shards" 200 "$(q coord "SELECT count(*) FROM bookings.appointments")"
check "careguard is preloaded on every worker" "t,t" \
  "$(q coord "SELECT string_agg(result, ',') FROM run_command_on_workers('SELECT careguard.is_preloaded()')")"
check "every worker holds shards" 2 \
  "$(q coord "SELECT count(DISTINCT nodeport) FROM pg_dist_shard_placement p JOIN pg_dist_shard s USING (shardid)
              WHERE s.logicalrelid = 'bookings.appointments'::regclass")"
check "a second call refuses (55000)" "55000" \
  "$(on coord postgres -v ON_ERROR_STOP=0 -c "SELECT bookings.distribute_on_citus()" -c '\echo :SQLSTATE' 2>/dev/null | tail -n 1)"
check "a single node refuses (55000)" "55000" \
  "$(on single postgres -v ON_ERROR_STOP=0 -c "SELECT bookings.distribute_on_citus()" -c '\echo :SQLSTATE' 2>/dev/null | tail -n 1)"

# ---------------------------------------------------------------------------
section "2. the role matrix through the coordinator equals the single node's"
# table|key: the rows a context sees, by a column every reader may select.
TABLES=("auth.users|id" "public.categories|id" "public.locations|id" "providers.profiles|id"
  "providers.availability|id" "patients.profiles|id" "patients.preferences|patient_id"
  "bookings.appointments|id"
  "bookings.status_history|appointment_id || ':' || from_status || ':' || COALESCE(to_status::text, '-')")
mapfile -t DEMO < <(q single "SELECT label || '|' || app_role || '|' || claims::text FROM careguard.demo_users() ORDER BY label")
[ "${#DEMO[@]}" -eq 5 ] || die "careguard.demo_users() did not return the 5 demo users"
demo() { q single "SELECT $2 FROM careguard.demo_users() WHERE label = '$1'"; }
A_ID="$(demo 'patient A' user_id)"; B_ID="$(demo 'patient B' user_id)"
X_ID="$(demo 'provider X' provider_id)"; Y_ID="$(demo 'provider Y' provider_id)"
A_CLAIMS="$(demo 'patient A' claims)"; X_CLAIMS="$(demo 'provider X' claims)"; ADMIN_CLAIMS="$(demo admin claims)"
token_for() {
  q coord "SELECT auth.sign('$1'::jsonb || jsonb_build_object('exp', extract(epoch FROM now())::int + 900), '$KID')"
}
GATEWAY=("${DEMO[@]}" 'anon|anon|{"role": "anon"}'
  "authenticated|authenticated|{\"sub\": \"$A_ID\", \"role\": \"authenticated\"}"
  'service_role|service_role|{"role": "service_role"}')
LOGINS=()
for row in "${DEMO[@]}" 'anon|anon|{"role": "anon"}'; do
  LOGINS+=("${row%%|*}|$(token_for "${row#*|*|}")")
done
# How a context takes its identity: gateway NAME|ROLE|CLAIMS or login NAME|TOKEN.
become() {
  if [ "$1" = login ]; then
    printf "SELECT auth.login('%s') \\\\g /dev/null\n" "${2#*|}"
  else
    local rest="${2#*|}"
    printf "SET LOCAL ROLE %s;\nSELECT set_config('request.jwt.claims', '%s', true) \\\\g /dev/null\n" \
      "${rest%%|*}" "${rest#*|}"
  fi
}
matrix_script() {
  local mode="$1" entry name t table key
  local entries=("${GATEWAY[@]}"); [ "$mode" = login ] && entries=("${LOGINS[@]}")
  for entry in "${entries[@]}"; do
    name="${entry%%|*}"
    printf 'BEGIN;\n'; become "$mode" "$entry"
    for t in "${TABLES[@]}"; do
      table="${t%%|*}"; key="${t#*|}"
      printf "SAVEPOINT s;\nSELECT '%s|%s|' || (%s) FROM %s;\n\\\\if :ERROR\n\\\\echo %s|%s|denied :SQLSTATE\nROLLBACK TO SAVEPOINT s;\n\\\\endif\n" \
        "$name" "$table" "$key" "$table" "$name" "$table"
    done
    printf "SELECT '%s|who|' || current_user || '/' || coalesce(auth.uid()::text, '');\nROLLBACK;\n" "$name"
  done
}
for mode in gateway login; do
  matrix_script "$mode" >"$WORK/$mode.sql"
  for node in single coord; do
    on "$node" authenticator -v ON_ERROR_STOP=0 -f "$WORK/$mode.sql" 2>"$WORK/$mode.$node.err" | sort >"$WORK/$mode.$node"
  done
  rows="$(wc -l <"$WORK/$mode.single")"
  extra="$(comm -13 "$WORK/$mode.single" "$WORK/$mode.coord" | wc -l)"
  missing="$(comm -23 "$WORK/$mode.single" "$WORK/$mode.coord" | wc -l)"
  visible="$(grep -c -v '|who|\||denied ' "$WORK/$mode.single" || true)"
  note "$mode: $rows lines ($visible visible rows), $extra unauthorized on Citus, $missing missing"
  check "$mode: 0 rows on Citus that the single node does not show" 0 "$extra"
  check "$mode: 0 rows of the single node missing on Citus" 0 "$missing"
  [ "$extra$missing" = 00 ] || { comm -3 "$WORK/$mode.single" "$WORK/$mode.coord" | head -n 10 | sed 's/^/       /'; }
  check "$mode: nothing failed on the coordinator but privilege refusals" 0 \
    "$(grep -v 'permission denied' "$WORK/$mode.coord.err" | grep -c 'ERROR' || true)"
  check "$mode: patient A is patient/$A_ID through the coordinator" "patient A|who|patient/$A_ID" \
    "$(grep '^patient A|who|' "$WORK/$mode.coord")"
done
a_all="$(q single "SELECT count(*) FROM bookings.appointments WHERE patient_id = '$A_ID'")"
check "patient A sees its appointments, selected by patient_id (Citus #7182)" "$a_all" \
  "$(grep -c '^patient A|bookings.appointments|' "$WORK/gateway.coord" || true)"
check "... and no other patient's, whatever it asks for" "0" "$(on coord authenticator -v ON_ERROR_STOP=1 <<SQL
BEGIN;
SET LOCAL ROLE patient;
SELECT set_config('request.jwt.claims', '$A_CLAIMS', true) \\g /dev/null
SELECT count(*) FROM bookings.appointments WHERE patient_id <> '$A_ID' OR patient_id IS NULL;
ROLLBACK;
SQL
)"
check "provider X sees all its appointments (several shards' worth of patients)" \
  "$(q single "SELECT count(*) FROM bookings.appointments WHERE provider_id = '$X_ID'")" \
  "$(grep -c '^provider X|bookings.appointments|' "$WORK/gateway.coord" || true)"

# ---------------------------------------------------------------------------
section "3. the trust model on a worker reached directly"
direct() {  # direct USER 'SQL': runs on worker 1, prints the SQLSTATE (or output) of the last line
  psql -X -At -q -h "$WORK" -p "${PORT[w1]}" -U "$1" -d "$DB" -v ON_ERROR_STOP=0 2>&1 <<<"$2"
}
out="$(direct patient "BEGIN;
SELECT set_config('request.jwt.claims', '$A_CLAIMS', true) \\g /dev/null
SELECT 'uid=' || coalesce(auth.uid()::text, 'none'), 'rows=' || count(*) FROM bookings.appointments;
ROLLBACK;")"
check_contains "gateway claims set on a worker give no identity" "uid=none|rows=0" "$out"
forged="cg1.$(printf '9999999999\npatient\n%s' "$A_CLAIMS" | base64 -w0 | tr '+/' '-_' | tr -d '=').AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
out="$(direct patient "BEGIN;
SET LOCAL careguard.node_identity = '$forged';
SELECT count(*) FROM bookings.appointments;
\\echo state=:SQLSTATE
ROLLBACK;")"
check_contains "a forged envelope is refused (28000)" "state=28000" "$out"
check_contains "... because its seal does not verify" "seal does not verify" "$out"
# A real envelope, read as a superuser on the coordinator after a patient's query.
envelope="$(on coord postgres -v ON_ERROR_STOP=1 <<SQL
BEGIN;
SET LOCAL ROLE patient;
SELECT set_config('request.jwt.claims', '$A_CLAIMS', true) \\g /dev/null
SELECT count(*) FROM bookings.appointments \\g /dev/null
SET LOCAL ROLE postgres;
SELECT current_setting('careguard.node_identity');
ROLLBACK;
SQL
)"
check_prefix "the coordinator sealed the patient's identity" "cg1." "$envelope"
out="$(direct patient "SET careguard.node_identity = '$envelope';
BEGIN;
SELECT count(*) FROM bookings.appointments;
\\echo state=:SQLSTATE
ROLLBACK;")"
check_contains "the envelope set for the session is refused (28000)" "state=28000" "$out"
check_contains "... as session state" "was set for the session" "$out"
out="$(direct provider "BEGIN;
SET LOCAL careguard.node_identity = '$envelope';
SELECT count(*) FROM bookings.appointments;
\\echo state=:SQLSTATE
ROLLBACK;")"
check_contains "the envelope under another login is refused (28000)" "state=28000" "$out"
check_contains "... as sealed for another user" "sealed for another user" "$out"
out="$(on coord authenticator -v ON_ERROR_STOP=0 2>&1 <<SQL
SELECT set_config('request.jwt.claims', '$A_CLAIMS', false) \\g /dev/null
BEGIN;
SET LOCAL ROLE patient;
SELECT 'rows=' || count(*) FROM bookings.appointments;
ROLLBACK;
SQL
)"
check_contains "session-level claims on the coordinator reach no shard" "rows=0" "$out"

# ---------------------------------------------------------------------------
section "4. the write rules: each write's SQLSTATE and row count equal the single node's"
pick() { q single "$1"; }
A_PENDING="$(pick "SELECT id FROM bookings.appointments WHERE patient_id = '$A_ID' AND status = 'pending' ORDER BY id LIMIT 1")"
B_APPT="$(pick "SELECT id FROM bookings.appointments WHERE patient_id = '$B_ID' ORDER BY id LIMIT 1")"
X_PENDING="$(pick "SELECT id FROM bookings.appointments WHERE provider_id = '$X_ID' AND status = 'pending' ORDER BY id LIMIT 1")"
Y_APPT="$(pick "SELECT id FROM bookings.appointments WHERE provider_id = '$Y_ID' AND status IN ('pending', 'confirmed') ORDER BY id LIMIT 1")"
mapfile -t FREE < <(pick "SELECT s FROM providers.availability av,
    generate_series(lower(av.during), upper(av.during) - interval '30 minutes', interval '30 minutes') s
  WHERE av.provider_id = '$X_ID' AND s > now() + interval '1 day'
    AND NOT EXISTS (SELECT 1 FROM bookings.appointments a WHERE a.provider_id = '$X_ID'
                      AND a.status IN ('pending', 'confirmed') AND a.during && tstzrange(s, s + interval '30 minutes'))
  ORDER BY s LIMIT $((RACE_ROUNDS + 1))")
[ -n "$A_PENDING" ] && [ -n "$X_PENDING" ] && [ -n "$Y_APPT" ] && [ "${#FREE[@]}" -gt "$RACE_ROUNDS" ] ||
  die "the demo data has no pending appointments or free slots to write with"
A_TOKEN="$(token_for "$A_CLAIMS")"
as_a="patient A|patient|$A_CLAIMS"; as_x="provider X|provider|$X_CLAIMS"
as_admin="admin|admin|$ADMIN_CLAIMS"; as_anon='anon|anon|{"role": "anon"}'
book() { echo "INSERT INTO bookings.appointments (patient_id, provider_id, starts_at, ends_at${3:-}) VALUES ('$1', '$X_ID', '$2', '$2'::timestamptz + interval '30 minutes'${4:-})"; }
WRITES=(
  "a books a free slot|gateway|$as_a|$(book "$A_ID" "${FREE[0]}")"
  "a books for patient B|gateway|$as_a|$(book "$B_ID" "${FREE[0]}")"
  "a books outside availability|gateway|$as_a|$(book "$A_ID" '2001-01-01 10:00+00')"
  "a books as confirmed|gateway|$as_a|$(book "$A_ID" "${FREE[0]}" ', status' ", 'confirmed'")"
  "a cancels its own|gateway|$as_a|UPDATE bookings.appointments SET status = 'cancelled' WHERE id = '$A_PENDING'"
  "a cancels one of patient B|gateway|$as_a|UPDATE bookings.appointments SET status = 'cancelled' WHERE id = '$B_APPT'"
  "a confirms its own|gateway|$as_a|UPDATE bookings.appointments SET status = 'confirmed' WHERE id = '$A_PENDING'"
  "x confirms its own (history +1)|gateway|$as_x|UPDATE bookings.appointments SET status = 'confirmed' WHERE id = '$X_PENDING'"
  "x cancels one of provider Y|gateway|$as_x|UPDATE bookings.appointments SET status = 'cancelled' WHERE id = '$Y_APPT'"
  "x pending to completed|gateway|$as_x|UPDATE bookings.appointments SET status = 'completed' WHERE id = '$X_PENDING'"
  "x reassigns to Y|gateway|$as_x|UPDATE bookings.appointments SET provider_id = '$Y_ID' WHERE id = '$X_PENDING'"
  "x edits its profile|gateway|$as_x|UPDATE providers.profiles SET bio = 'citus' WHERE id = '$X_ID'"
  "x adds availability|gateway|$as_x|INSERT INTO providers.availability (provider_id, during) VALUES ('$X_ID', '[2031-01-01 09:00+00, 2031-01-01 12:00+00)')"
  "x adds availability for Y|gateway|$as_x|INSERT INTO providers.availability (provider_id, during) VALUES ('$Y_ID', '[2031-01-01 09:00+00, 2031-01-01 12:00+00)')"
  "admin moves to patient B|gateway|$as_admin|UPDATE bookings.appointments SET patient_id = '$B_ID' WHERE id = '$A_PENDING'"
  "admin deletes (history +1)|gateway|$as_admin|DELETE FROM bookings.appointments WHERE id = '$A_PENDING'"
  "admin adds a category|gateway|$as_admin|INSERT INTO public.categories (slug, name) VALUES ('citus-test', 'Citus test')"
  "a adds a category|gateway|$as_a|INSERT INTO public.categories (slug, name) VALUES ('citus-test', 'Citus test')"
  "a edits its preferences|gateway|$as_a|UPDATE patients.preferences SET reminders_enabled = NOT reminders_enabled WHERE patient_id = '$A_ID'"
  "a edits the preferences of B|gateway|$as_a|UPDATE patients.preferences SET reminders_enabled = NOT reminders_enabled WHERE patient_id = '$B_ID'"
  "a edits its record|gateway|$as_a|UPDATE patients.profiles SET notes = 'citus' WHERE id = '$A_ID'"
  "anon books|gateway|$as_anon|$(book "$A_ID" "${FREE[0]}")"
  "signed-in a cancels its own|login|patient A|$A_TOKEN|UPDATE bookings.appointments SET status = 'cancelled' WHERE id = '$A_PENDING'"
)
write_script() {
  local w name rest mode entry sql
  for w in "${WRITES[@]}"; do
    name="${w%%|*}"; rest="${w#*|}"; mode="${rest%%|*}"; rest="${rest#*|}"
    if [ "$mode" = login ]; then
      entry="${rest%%|*}|$(cut -d'|' -f2 <<<"$rest")"; sql="$(cut -d'|' -f3- <<<"$rest")"
    else
      entry="$(cut -d'|' -f1-3 <<<"$rest")"; sql="$(cut -d'|' -f4- <<<"$rest")"
    fi
    printf 'BEGIN;\n'; become "$mode" "$entry"
    printf '%s;\n\\echo %s|:SQLSTATE|:ROW_COUNT\n' "$sql" "$name"
    printf "SELECT '%s|history|' || count(*) FROM bookings.status_history WHERE appointment_id IN ('%s', '%s');\n" \
      "$name" "$A_PENDING" "$X_PENDING"
    printf 'ROLLBACK;\n'
  done
}
write_script >"$WORK/writes.sql"
for node in single coord; do
  on "$node" authenticator -v ON_ERROR_STOP=0 -f "$WORK/writes.sql" 2>"$WORK/writes.$node.err" >"$WORK/writes.$node"
done
while IFS= read -r line; do
  name="${line%%|*}"
  expected="$line"
  # The one known difference: Citus refuses any change of a distribution
  # column (0A000) while planning, before the column privilege (42501) is
  # checked. Refused either way, nothing written.
  [ "$name" = "x reassigns to Y" ] && expected="${line/|42501|0/|0A000|0}"
  check "$name: $(cut -d'|' -f2- <<<"$expected")" "$expected" \
    "$(grep -F "$name|" "$WORK/writes.coord" | grep -v '|history|' | head -n 1)"
done < <(grep -v '|history|' "$WORK/writes.single")
check "the status history each write leaves (as its writer sees it) is the single node's" \
  "$(grep '|history|' "$WORK/writes.single" | md5sum)" "$(grep '|history|' "$WORK/writes.coord" | md5sum)"
check "the write set both allows and refuses (not vacuous)" "yes" \
  "$(grep -q '|00000|1$' "$WORK/writes.single" && grep -q '|42501|' "$WORK/writes.single" && echo yes)"

# ---------------------------------------------------------------------------
section "5. plans"
explain() {  # explain 'name|role|claims' 'query': the plan text
  on coord authenticator -v ON_ERROR_STOP=1 <<SQL
BEGIN;
$(become gateway "$1")
EXPLAIN (COSTS OFF) $2;
ROLLBACK;
SQL
}
dashboard="SELECT id, patient_id, starts_at FROM bookings.appointments WHERE status = 'confirmed' ORDER BY starts_at LIMIT 50"
plan="$(explain "$as_x" "$dashboard")"
printf '%s\n' "$plan" >"$WORK/dashboard.plan"
note "provider X's dashboard: $dashboard"
while IFS= read -r line; do note "  $line"; done <"$WORK/dashboard.plan"
check_contains "the dashboard is a router plan: one shard" "Task Count: 1" "$plan"
# A plan routed with provider X's value must never serve provider Y: a
# generic plan of a prepared statement is re-planned in the next transaction,
# and reused within one after the claims changed it fails (CG003), loudly.
Y_CLAIMS="$(demo 'provider Y' claims)"
count_confirmed() { q single "SELECT least(50, count(*)) FROM bookings.appointments WHERE provider_id = '$1' AND status = 'confirmed'"; }
prepared="$(on coord postgres -v ON_ERROR_STOP=0 2>&1 <<SQL
SET plan_cache_mode = force_generic_plan;
PREPARE dash AS SELECT count(*) FROM ($dashboard) d;
BEGIN;
SET LOCAL ROLE provider;
SELECT set_config('request.jwt.claims', '$X_CLAIMS', true) \\g /dev/null
EXECUTE dash \\gset x_
\\echo x=:x_count
ROLLBACK;
BEGIN;
SET LOCAL ROLE provider;
SELECT set_config('request.jwt.claims', '$Y_CLAIMS', true) \\g /dev/null
EXECUTE dash \\gset y_
\\echo y=:y_count
ROLLBACK;
BEGIN;
SET LOCAL ROLE provider;
SELECT set_config('request.jwt.claims', '$X_CLAIMS', true) \\g /dev/null
EXECUTE dash \\g /dev/null
SELECT set_config('request.jwt.claims', '$Y_CLAIMS', true) \\g /dev/null
EXECUTE dash \\g /dev/null
\\echo switched=:SQLSTATE
ROLLBACK;
SQL
)"
check_contains "a prepared dashboard (generic plan) as provider X: X's rows" "x=$(count_confirmed "$X_ID")" "$prepared"
check_contains "... in the next transaction as provider Y: Y's rows (planned afresh)" "y=$(count_confirmed "$Y_ID")" "$prepared"
check_contains "... reused within a transaction after the claims changed: refused (CG003)" "switched=CG003" "$prepared"
for case in "patient A's appointments|$as_a|SELECT id FROM bookings.appointments ORDER BY starts_at" \
  "admin's appointments|$as_admin|SELECT id FROM bookings.appointments" \
  "provider X's patients|$as_x|SELECT id, full_name FROM patients.profiles" \
  "patient A's record|$as_a|SELECT * FROM patients.profiles" \
  "provider X's status history|$as_x|SELECT * FROM bookings.status_history"; do
  name="${case%%|*}"; rest="${case#*|}"; ctx="$(cut -d'|' -f1-3 <<<"$rest")"; sql="$(cut -d'|' -f4- <<<"$rest")"
  tasks="$(explain "$ctx" "$sql" | sed -n 's/.*Task Count: //p' | head -n 1)"
  note "fan-out: $name: ${tasks:-?} task(s) of $SHARDS shards"
done

# ---------------------------------------------------------------------------
section "6. careguard.audit() and careguard.access_matrix() on the coordinator"
findings="$(on coord postgres -v ON_ERROR_STOP=1 -c "SELECT count(*) FROM careguard.audit()" 2>&1)"
check "careguard.audit() runs on the coordinator" number "$([[ $findings =~ ^[0-9]+$ ]] && echo number || echo "$findings")"
note "findings: coordinator $findings, single node $(q single "SELECT count(*) FROM careguard.audit()")"
# The disclosure ledger records each node's own reads, so its row count
# differs by nature; for it only whether the context may read it is compared.
reads="SELECT context || '|' || relation || '|' || CASE WHEN relation = 'careguard.ledger' AND selectable_rows IS NOT NULL
         THEN 'readable' ELSE coalesce(selectable_rows::text, select_sqlstate) END FROM careguard.access_matrix() ORDER BY 1"
q single "$reads" >"$WORK/matrix.single" 2>/dev/null
on coord postgres -v ON_ERROR_STOP=1 -c "$reads" >"$WORK/matrix.coord" 2>"$WORK/matrix.err"
note "access_matrix(): $(wc -l <"$WORK/matrix.single") read cells on the single node"
check "access_matrix() read cells on the coordinator equal the single node's" "" \
  "$(diff "$WORK/matrix.single" "$WORK/matrix.coord" | grep '^[<>]' | head -n 6 | tr '\n' ' ')"
check "access_matrix() write cells of Citus tables say not probed (NULL, 0A000)" "0" \
  "$(q coord "SELECT count(*) FROM careguard.access_matrix() m JOIN pg_dist_partition p ON p.logicalrelid = m.relation::regclass
              WHERE NOT (m.can_insert IS NULL AND m.insert_sqlstate = '0A000' AND m.writes_not_probed = 'Citus table')" 2>/dev/null)"
check_contains "access_matrix() warns about it" "no write can be probed on a Citus table" "$(cat "$WORK/matrix.err")"

# ---------------------------------------------------------------------------
section "7. the booking race on Citus: $RACE_CLIENTS clients, one slot, $RACE_ROUNDS rounds"
mapfile -t RACERS < <(q single "SELECT id FROM patients.profiles ORDER BY id LIMIT $RACE_CLIENTS")
for round in $(seq 1 "$RACE_ROUNDS"); do
  slot="${FREE[$round]}"
  at="$(q coord "SELECT (clock_timestamp() + interval '2 seconds')::text")"
  pids=()
  for i in $(seq 0 $((RACE_CLIENTS - 1))); do
    pid_claims="{\"sub\": \"${RACERS[$i]}\", \"role\": \"patient\"}"
    on coord authenticator -v ON_ERROR_STOP=0 >"$WORK/race.$round.$i" 2>/dev/null <<SQL &
BEGIN;
SET LOCAL ROLE patient;
SELECT set_config('request.jwt.claims', '$pid_claims', true) \\g /dev/null
SELECT pg_sleep(greatest(0, extract(epoch FROM '$at'::timestamptz - clock_timestamp()))) \\g /dev/null
$(book "${RACERS[$i]}" "$slot");
\\echo result=:SQLSTATE
COMMIT;
SQL
    pids+=($!)
  done
  wait "${pids[@]}"
  results="$(cat "$WORK"/race."$round".* | sed -n 's/^result=//p' | sort | uniq -c | awk '{print $2 "x" $1}' | paste -sd' ')"
  note "round $round: $results"
  check "round $round: exactly one winner, every loser 23P01" "00000x1 23P01x$((RACE_CLIENTS - 1))" "$results"
  check "round $round: one live appointment in the slot" 1 \
    "$(q coord "SELECT count(*) FROM bookings.appointments WHERE provider_id = '$X_ID' AND starts_at = '$slot' AND status IN ('pending', 'confirmed')")"
done

# ---------------------------------------------------------------------------
section "8. adding a worker (docs/scale-out.md)"
PORT[w3]="$(next_free_port $((PORT[w2] + 1)))" || die "no free port"
"${AS_OWNER[@]}" "$PG_BINDIR/initdb" -D "$WORK/w3" -U postgres --auth=trust --no-sync -E UTF8 \
  --locale=C.UTF-8 >/dev/null || die "initdb failed"
{
  grep -v '^port = ' "$WORK/w1/postgresql.conf" | sed -n '/^listen_addresses = /,$p'
  echo "port = ${PORT[w3]}"
} >>"$WORK/w3/postgresql.conf.new"
cat "$WORK/w3/postgresql.conf.new" >>"$WORK/w3/postgresql.conf"
"${AS_OWNER[@]}" "$PG_BINDIR/pg_ctl" -D "$WORK/w3" -l "$WORK/w3.log" -w start >/dev/null ||
  die "the new worker did not start: $(tail -n 5 "$WORK/w3.log")"
STARTED+=("$WORK/w3")
psql -X -q -h "$WORK" -p "${PORT[w3]}" -U postgres -d postgres -v ON_ERROR_STOP=1 -c "CREATE DATABASE $DB" >/dev/null
q w3 "SET client_min_messages = warning; CREATE EXTENSION citus" >/dev/null
# The extensions as on the coordinator, then their empty booking tables go
# (Citus's own copy of the extension would collide with its shells).
check "bookings.citus_prepare_new_worker() drops the 9 empty booking tables" 9 "$(on w3 postgres -v ON_ERROR_STOP=1 2>&1 <<'SQL'
SET client_min_messages = warning;
CREATE SCHEMA extensions;
CREATE EXTENSION careguard_booking SCHEMA extensions CASCADE;
SELECT bookings.citus_prepare_new_worker();
SQL
)"
check "... and refuses on a node with data (55000)" 55000 \
  "$(on single postgres -v ON_ERROR_STOP=0 -c "SELECT bookings.citus_prepare_new_worker()" -c '\echo :SQLSTATE' 2>/dev/null | tail -n 1)"
q coord "SELECT citus_add_node('127.0.0.1', ${PORT[w3]})" >/dev/null 2>"$WORK/add_node.err" ||
  die "citus_add_node failed: $(cat "$WORK/add_node.err")"
check "bookings.citus_prepare_workers() checks and prepares 3 workers" 3 \
  "$(q coord "SELECT bookings.citus_prepare_workers()" 2>&1)"
t0=$SECONDS
# Two statements, two transactions: the background job must be committed
# before anything can wait for it.
on coord postgres -v ON_ERROR_STOP=1 -c "SELECT citus_rebalance_start(shard_transfer_mode => 'block_writes')" \
  -c "SELECT citus_rebalance_wait()" >/dev/null 2>"$WORK/rebalance.err" ||
  die "the rebalance failed: $(cat "$WORK/rebalance.err")"
q coord "SELECT bookings.citus_prepare_workers()" >/dev/null
note "rebalanced in $((SECONDS - t0)) s"
check "the new worker holds appointment shards" 3 \
  "$(q coord "SELECT count(DISTINCT nodeport) FROM pg_dist_shard_placement p JOIN pg_dist_shard s USING (shardid)
              WHERE s.logicalrelid = 'bookings.appointments'::regclass")"
sees() {  # sees 'name|role|claims' 'query'
  on coord authenticator -v ON_ERROR_STOP=1 <<SQL
BEGIN;
$(become gateway "$1")
$2;
ROLLBACK;
SQL
}
check "provider X still sees exactly its appointments" \
  "$(q coord "SELECT count(*) FROM bookings.appointments WHERE provider_id = '$X_ID'")" \
  "$(sees "$as_x" "SELECT count(*) FROM bookings.appointments")"
check "patient A still sees exactly its appointments" \
  "$(q coord "SELECT count(*) FROM bookings.appointments WHERE patient_id = '$A_ID'")" \
  "$(sees "$as_a" "SELECT count(*) FROM bookings.appointments")"
check "patient A can still book (INSERT on the moved shards)" "00000|1" \
  "$(on coord authenticator -v ON_ERROR_STOP=0 2>/dev/null <<SQL
BEGIN;
$(become gateway "$as_a")
$(book "$A_ID" "${FREE[0]}");
\\echo :SQLSTATE|:ROW_COUNT
ROLLBACK;
SQL
)"
check_contains "provider X's dashboard is still one shard" "Task Count: 1" "$(explain "$as_x" "$dashboard")"

echo
note "run time: $((SECONDS - RUN_START)) s (plus ${BUILD_SECONDS:-0} s building Citus)"
finish_checks
