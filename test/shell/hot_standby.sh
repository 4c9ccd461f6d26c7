#!/usr/bin/env bash
# careguard on a hot standby (issue 12, part A).
#
# Starts its own primary (careguard preloaded, wal_level replica, a physical
# replication slot) and a streaming standby made with pg_basebackup -R, both
# under a temporary directory, as the cluster owner, on free ports from
# HOT_STANDBY_PORT (default PGPORT + 20) upwards. Installs careguard and the
# demo data on the primary, waits until the standby has replayed it, and
# checks on the standby:
#   1. reads: gateway-style claims (SET LOCAL ROLE + transaction-local
#      request.jwt.claims) and auth.login(token) as the authenticator login
#      work, and every context sees exactly the rows it sees on the primary,
#      table by table;
#   2. writes fail with 25006;
#   3. the audit: careguard.audit() gives the primary's findings, and
#      careguard.access_matrix() gives the primary's read cells but says that
#      no write could be probed (NULL verdicts, 25006, writes_not_probed, a
#      WARNING), as does the careguard-audit CLI;
#   4. keys: a key revoked on the primary is refused once replayed (28000,
#      'key "<kid>" is revoked'), also in a standby backend that had cached it.
# The closing line is "N passed, M failed"; the exit status is non-zero when
# anything failed.
#
# Usage: test/shell/hot_standby.sh
#   PG_CONFIG / PG_BINDIR   the PostgreSQL 15 to run (careguard installed in it)
#   CAREGUARD_AUDIT         the careguard-audit binary (default: from PATH)
#   KEEP_WORKDIR=1          leave the temporary directory (logs) behind
set -euo pipefail

PG_BINDIR="${PG_BINDIR:-$("${PG_CONFIG:-pg_config}" --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)}"
CAREGUARD_AUDIT="${CAREGUARD_AUDIT:-$(command -v careguard-audit || true)}"
DB=careguard_standby
KID=standby-hs256
SECRET="hot-standby-test-hs256-secret-0123456789abcdef"
unset PGOPTIONS PGSERVICE PGDATABASE

source "$(dirname "${BASH_SOURCE[0]}")/checks.sh"
note() { printf '       %s\n' "$*"; }
die() { printf 'hot_standby: %s\n' "$*" >&2; printf '%s passed, %s failed\n' "$passed" "$((failed + 1))"; exit 1; }

WORK="$(mktemp -d /tmp/careguard-standby.XXXXXX)"
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
  [ -z "${CACHED_PID:-}" ] || kill "$CACHED_PID" 2>/dev/null
  # Standby first, so the primary is not left waiting for it.
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
PP="$(next_free_port "${HOT_STANDBY_PORT:-$((${PGPORT:-55433} + 20))}")" || die "no free port for the primary"
SP="$(next_free_port $((PP + 1)))" || die "no free port for the standby"

# ---------------------------------------------------------------------------
section "set-up: primary on port $PP, standby on port $SP ($PG_BINDIR)"
"${AS_OWNER[@]}" "$PG_BINDIR/initdb" -D "$WORK/primary" -U postgres --auth=trust --no-sync -E UTF8 \
  --locale=C.UTF-8 >/dev/null || die "initdb failed"
cat >>"$WORK/primary/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PP
unix_socket_directories = '$WORK'
fsync = off
wal_level = replica
max_wal_senders = 4
max_replication_slots = 4
hot_standby = on
shared_preload_libraries = 'careguard'
CONF
"${AS_OWNER[@]}" "$PG_BINDIR/pg_ctl" -D "$WORK/primary" -l "$WORK/primary.log" -w start >/dev/null ||
  die "the primary did not start: $(tail -n 5 "$WORK/primary.log")"
STARTED+=("$WORK/primary")

# psql on one server: on primary|standby [USER] [psql options...] (SQL on stdin or -c)
on() {
  local port=$PP; [ "$1" = standby ] && port=$SP
  local user="${2:-postgres}"; shift 2 || shift $#
  psql -X -At -q -h "$WORK" -p "$port" -U "$user" -d "$DB" "$@"
}
q_primary() { on primary postgres -v ON_ERROR_STOP=1 -c "$1"; }
q_standby() { on standby postgres -v ON_ERROR_STOP=1 -c "$1"; }

psql -X -q -h "$WORK" -p "$PP" -U postgres -d postgres -v ON_ERROR_STOP=1 \
  -c "CREATE DATABASE $DB" -c "SELECT pg_create_physical_replication_slot('careguard_standby')" \
  >/dev/null || die "cannot create the database or the slot"
"${AS_OWNER[@]}" "$PG_BINDIR/pg_basebackup" -h "$WORK" -p "$PP" -U postgres -D "$WORK/standby" \
  -R -S careguard_standby -X stream >/dev/null 2>"$WORK/basebackup.err" ||
  die "pg_basebackup failed: $(cat "$WORK/basebackup.err")"
printf "port = %s\n" "$SP" >>"$WORK/standby/postgresql.conf"
"${AS_OWNER[@]}" "$PG_BINDIR/pg_ctl" -D "$WORK/standby" -l "$WORK/standby.log" -w start >/dev/null ||
  die "the standby did not start: $(tail -n 5 "$WORK/standby.log")"
STARTED+=("$WORK/standby")

# Everything below is created on the primary after the base backup, so the
# standby gets it only by replaying WAL.
on primary postgres -v ON_ERROR_STOP=1 >/dev/null <<SQL || die "cannot install careguard on the primary"
SET client_min_messages = warning;
CREATE SCHEMA extensions;
CREATE EXTENSION careguard_booking SCHEMA extensions CASCADE;
SELECT careguard.seed_demo(20, 4, 200, 42);
ALTER ROLE authenticator LOGIN;
SELECT auth.import_hmac_secret('$KID', '$SECRET');
SQL

# Waits until the standby has replayed everything the primary has written.
wait_for_replay() {
  local lsn
  lsn="$(psql -X -At -h "$WORK" -p "$PP" -U postgres -d postgres -c "SELECT pg_current_wal_lsn()")"
  for _ in $(seq 600); do
    [ "$(psql -X -At -h "$WORK" -p "$SP" -U postgres -d postgres \
      -c "SELECT pg_last_wal_replay_lsn() >= '$lsn'::pg_lsn" 2>/dev/null)" = t ] && return 0
    sleep 0.1
  done
  return 1
}
wait_for_replay || die "the standby did not replay the primary's WAL"
check "the standby is in recovery" t "$(q_standby "SELECT pg_is_in_recovery()")"
check "the primary is not" f "$(q_primary "SELECT pg_is_in_recovery()")"
check "careguard is preloaded on the standby" t "$(q_standby "SELECT careguard.is_preloaded()")"
check "the standby has the demo appointments" "$(q_primary "SELECT count(*) FROM bookings.appointments")" \
  "$(q_standby "SELECT count(*) FROM bookings.appointments")"

# ---------------------------------------------------------------------------
section "1. reads: every context sees on the standby exactly what it sees on the primary"
TABLES=(auth.users public.categories public.locations providers.profiles providers.availability
  patients.profiles patients.preferences bookings.appointments bookings.status_history)
mapfile -t DEMO < <(q_primary "SELECT label || '|' || app_role || '|' || claims::text FROM careguard.demo_users() ORDER BY label")
[ "${#DEMO[@]}" -eq 5 ] || die "careguard.demo_users() did not return the 5 demo users"
A_ID="$(q_primary "SELECT user_id FROM careguard.demo_users() WHERE label = 'patient A'")"
token_for() {
  q_primary "SELECT auth.sign('$1'::jsonb || jsonb_build_object('exp', extract(epoch FROM now())::int + 900), '$KID')"
}
# Gateway contexts (name|role|claims): the demo users plus anon,
# authenticated without an app role, and service_role.
GATEWAY=("${DEMO[@]}" 'anon|anon|{"role": "anon"}'
  "authenticated|authenticated|{\"sub\": \"$A_ID\", \"role\": \"authenticated\"}"
  'service_role|service_role|{"role": "service_role"}')
# Sign-in contexts (name|token): every demo user and anon, signed on the primary.
LOGINS=()
for row in "${DEMO[@]}" 'anon|anon|{"role": "anon"}'; do
  LOGINS+=("${row%%|*}|$(token_for "${row#*|*|}")")
done

# A psql script printing "context|table|rows or SQLSTATE" for every context
# and table; each context in its own rolled-back transaction.
matrix_script() {
  local mode="$1" entry name become t
  local entries=("${GATEWAY[@]}"); [ "$mode" = login ] && entries=("${LOGINS[@]}")
  for entry in "${entries[@]}"; do
    name="${entry%%|*}"
    if [ "$mode" = login ]; then
      become="SELECT auth.login('${entry#*|}') \\g /dev/null
\\echo $name|login|:SQLSTATE"
    else
      t="${entry#*|}"
      become="SET LOCAL ROLE ${t%%|*};
SELECT set_config('request.jwt.claims', '${entry#*|*|}', true) \\g /dev/null"
    fi
    printf 'BEGIN;\n%s\n' "$become"
    for t in "${TABLES[@]}"; do
      printf "SAVEPOINT s;\nSELECT '%s|%s|' || count(*) FROM %s;\n\\\\if :ERROR\n\\\\echo %s|%s|:SQLSTATE\nROLLBACK TO SAVEPOINT s;\n\\\\endif\n" \
        "$name" "$t" "$t" "$name" "$t"
    done
    printf "SELECT '%s|who|' || current_user || '/' || coalesce(auth.uid()::text, '');\nROLLBACK;\n" "$name"
  done
}
for mode in gateway login; do
  matrix_script "$mode" >"$WORK/$mode.sql"
  on primary authenticator -v ON_ERROR_STOP=0 -f "$WORK/$mode.sql" >"$WORK/$mode.primary" 2>"$WORK/$mode.primary.err"
  on standby authenticator -v ON_ERROR_STOP=0 -f "$WORK/$mode.sql" >"$WORK/$mode.standby" 2>"$WORK/$mode.standby.err"
  cells="$(grep -c -v '|who|\||login|' "$WORK/$mode.primary" || true)"
  differ="$(diff "$WORK/$mode.primary" "$WORK/$mode.standby" | grep -c '^>' || true)"
  note "$mode: $cells (context, table) cells compared, $differ differ"
  contexts=${#GATEWAY[@]}; [ "$mode" = gateway ] || contexts=${#LOGINS[@]}
  check "$mode: every context x table cell is there on the primary" $((contexts * ${#TABLES[@]})) "$cells"
  check "$mode: the standby's visible rows equal the primary's in every cell" 0 "$differ"
  [ "$differ" = 0 ] || diff "$WORK/$mode.primary" "$WORK/$mode.standby" | head -n 10 | sed 's/^/       /'
done
check "login: every sign-in succeeded on the standby" 0 "$(grep '|login|' "$WORK/login.standby" | grep -c -v '|00000$' || true)"
check "gateway on the standby: patient A is patient/$A_ID" "patient A|who|patient/$A_ID" \
  "$(grep '^patient A|who|' "$WORK/gateway.standby")"
check "login on the standby: patient A is patient/$A_ID" "patient A|who|patient/$A_ID" \
  "$(grep '^patient A|who|' "$WORK/login.standby")"
a_appts="$(sed -n 's/^patient A|bookings.appointments|//p' "$WORK/gateway.standby")"
all_appts="$(q_primary "SELECT count(*) FROM bookings.appointments WHERE patient_id = '$A_ID'")"
check "patient A sees exactly its own appointments on the standby" "$all_appts" "$a_appts"
check "patient A is denied auth.users on the standby" "patient A|auth.users|42501" \
  "$(grep '^patient A|auth.users|' "$WORK/gateway.standby")"
check "anon is denied appointments on the standby (sign-in)" "anon|bookings.appointments|42501" \
  "$(grep '^anon|bookings.appointments|' "$WORK/login.standby")"
check "admin sees every appointment on the standby" "$(q_primary "SELECT count(*) FROM bookings.appointments")" \
  "$(sed -n 's/^admin|bookings.appointments|//p' "$WORK/login.standby")"

# ---------------------------------------------------------------------------
section "2. writes fail with 25006 on the standby"
A_CLAIMS="$(q_primary "SELECT claims FROM careguard.demo_users() WHERE label = 'patient A'")"
ADMIN_CLAIMS="$(q_primary "SELECT claims FROM careguard.demo_users() WHERE label = 'admin'")"
X_ID="$(q_primary "SELECT provider_id FROM careguard.demo_users() WHERE label = 'provider X'")"
write_state() {  # write_state USER 'SET-UP' 'WRITE'
  on standby "$1" -v ON_ERROR_STOP=0 2>/dev/null <<SQL
BEGIN;
$2
$3;
\\echo :SQLSTATE
ROLLBACK;
SQL
}
as_patient="SET LOCAL ROLE patient;
SELECT set_config('request.jwt.claims', '$A_CLAIMS', true) \\g /dev/null"
as_admin="SET LOCAL ROLE admin;
SELECT set_config('request.jwt.claims', '$ADMIN_CLAIMS', true) \\g /dev/null"
check "a patient's booking INSERT" 25006 "$(write_state authenticator "$as_patient" \
  "INSERT INTO bookings.appointments (patient_id, provider_id, starts_at, ends_at) VALUES ('$A_ID', '$X_ID', now() + interval '30 days', now() + interval '30 days 30 minutes')")"
check "a patient's cancellation UPDATE" 25006 "$(write_state authenticator "$as_patient" \
  "UPDATE bookings.appointments SET status = 'cancelled' WHERE status = 'pending'")"
check "an admin's DELETE" 25006 "$(write_state authenticator "$as_admin" "DELETE FROM bookings.appointments")"
check "a superuser's INSERT" 25006 "$(write_state postgres "" "INSERT INTO public.categories (name) VALUES ('x')")"
check "auth.set_key_state" 25006 "$(write_state postgres "" "SELECT auth.set_key_state('$KID', 'revoked')")"
check "auth.import_hmac_secret" 25006 "$(write_state postgres "" "SELECT auth.import_hmac_secret('other', '$SECRET')")"

# ---------------------------------------------------------------------------
section "3. the audit on the standby"
findings="SELECT count(*) || ':' || md5(string_agg(rule || '|' || object || '|' || detail, E'\\n' ORDER BY rule, object, detail)) FROM careguard.audit()"
p_findings="$(q_primary "$findings")"
check "careguard.audit() on the standby gives the primary's findings" "$p_findings" "$(q_standby "$findings")"
note "findings (count:md5): $p_findings"
# (The disclosure ledger's row counts are left out: it grows with the
# primary's own reads, the audit's included, and reaches the standby by replay.)
reads="SELECT count(*) || ':' || md5(string_agg(context || '|' || relation || '|' || CASE WHEN relation::text ~ '^careguard[.]ledger' AND selectable_rows IS NOT NULL THEN 'ledger' ELSE coalesce(selectable_rows::text, select_sqlstate) END, ',' ORDER BY context, relation)) FROM careguard.access_matrix()"
p_reads="$(q_primary "$reads")"
s_reads="$(on standby postgres -v ON_ERROR_STOP=1 -c "$reads" 2>"$WORK/matrix.err")"
check "access_matrix() on the standby: the primary's read cells" "$p_reads" "$s_reads"
note "read cells (count:md5): $p_reads"
unprobed="SELECT count(*) FILTER (WHERE can_insert IS NULL AND can_update IS NULL AND can_delete IS NULL
                                AND insert_sqlstate = '25006' AND update_sqlstate = '25006'
                                AND delete_sqlstate = '25006'
                                AND writes_not_probed = 'read-only standby') || '/' || count(*)
          FROM careguard.access_matrix()"
cells="${p_reads%%:*}"
check "access_matrix() on the standby: every write cell says not probed (NULL, 25006, read-only standby)" \
  "$cells/$cells" "$(q_standby "$unprobed" 2>/dev/null)"
check_contains "access_matrix() on the standby warns" "no write can be probed in a read-only standby" \
  "$(cat "$WORK/matrix.err")"
check "access_matrix() on the primary: writes probed, some allowed" "0/true" \
  "$(q_primary "SELECT count(*) FILTER (WHERE writes_not_probed IS NOT NULL) || '/' || bool_or(can_insert) FROM careguard.access_matrix()")"
check "access_matrix() in a read-only transaction on the primary says so" "$cells" \
  "$(on primary postgres -v ON_ERROR_STOP=1 2>/dev/null <<'SQL'
BEGIN TRANSACTION READ ONLY;
SELECT count(*) FROM careguard.access_matrix() WHERE writes_not_probed = 'read-only transaction' AND can_delete IS NULL;
ROLLBACK;
SQL
)"
if [ -x "$CAREGUARD_AUDIT" ]; then
  dsn="host=$WORK port=$SP dbname=$DB user=postgres"
  for fmt in text markdown html; do
    rc=0
    "$CAREGUARD_AUDIT" --dsn "$dsn" --matrix --format "$fmt" --fail-on never --quiet >"$WORK/cli.$fmt" 2>"$WORK/cli.$fmt.err" || rc=$?
    check "careguard-audit --matrix --format $fmt on the standby: exit code" 0 "$rc"
    # One mark per row in text; one per write column (3) in Markdown and HTML.
    per_row=3; [ "$fmt" != text ] || per_row=1
    check "... shows every write cell as n/a (read-only standby)" $((cells * per_row)) \
      "$(grep -o 'n/a (read-only standby)' "$WORK/cli.$fmt" | wc -l)"
    check_contains "... and says why" "Write probes were impossible (read-only standby)" "$(cat "$WORK/cli.$fmt")"
    check "... and never 'denied (25006)'" 0 "$(grep -c 'denied (25006)' "$WORK/cli.$fmt" || true)"
  done
  "$CAREGUARD_AUDIT" --dsn "$dsn" --matrix --format json --fail-on never --quiet >"$WORK/cli.json" 2>/dev/null
  check "careguard-audit --format json: writes_not_probed in every cell" "$cells" \
    "$(grep -o '"writes_not_probed": "read-only standby"' "$WORK/cli.json" | wc -l)"
  "$CAREGUARD_AUDIT" --dsn "$dsn" --matrix --format sarif --fail-on never --quiet >"$WORK/cli.sarif" 2>/dev/null
  # Read as JSON, not as text: the layout of the output is the renderer's.
  check "careguard-audit --format sarif: a warning notification" warning \
    "$(node -e 'const s = JSON.parse(require("fs").readFileSync(0, "utf8"));
                console.log(s.runs[0].invocations[0].toolExecutionNotifications[0].level)' <"$WORK/cli.sarif" 2>&1)"
else
  fail "careguard-audit CLI checks" "no careguard-audit binary (set CAREGUARD_AUDIT)"
fi

# ---------------------------------------------------------------------------
section "4. keys: a key revoked on the primary is refused on the standby"
A_TOKEN="$(token_for "$A_CLAIMS")"
# A standby backend that verifies with the key, and so caches it, before the
# revocation, and is asked again after it.
coproc CACHED { stdbuf -oL -eL psql -X -At -q -v ON_ERROR_STOP=0 -h "$WORK" -p "$SP" -U authenticator -d "$DB" 2>&1; }
CACHED_PID=$CACHED_PID
cached() {
  printf '%s\n\\echo __done__\n' "$1" >&"${CACHED[1]}"
  local line
  while IFS= read -r -t 60 line <&"${CACHED[0]}"; do
    [ "$line" = __done__ ] && return 0
    printf '%s\n' "$line"
  done
  return 1
}
login_sql="BEGIN;
SELECT auth.login('$A_TOKEN') \\g /dev/null
\\echo state=:SQLSTATE
\\echo msg=:LAST_ERROR_MESSAGE
SELECT 'who=' || current_user || '/' || coalesce(auth.uid()::text, '');
ROLLBACK;
SELECT 'after=' || current_user, 'pid=' || pg_backend_pid() \\gx"
# (\gx in unaligned mode prints "?column?|key=value".)
field() { sed -n -E "s/^([?]column[?][|])?$1=//p" <<<"$2" | head -n 1; }
before="$(cached "$login_sql")"
before2="$(cached "$login_sql")"
check "before: the standby backend signs in with the key" 00000 "$(field state "$before")"
check "before: ... as patient A" "patient/$A_ID" "$(field who "$before")"
check "before: ... and again (from its key cache)" 00000 "$(field state "$before2")"
pid_before="$(field pid "$before")"
q_primary "SELECT auth.set_key_state('$KID', 'revoked')" >/dev/null
wait_for_replay || die "the standby did not replay the revocation"
check "the revocation has replayed" revoked "$(q_standby "SELECT state FROM auth.signing_keys WHERE kid = '$KID'")"
after="$(cached "$login_sql")"
check "after: the same standby backend refuses the revoked key (SQLSTATE)" 28000 "$(field state "$after")"
check "after: ... with the message" "key \"$KID\" is revoked" "$(field msg "$after")"
check "after: ... and stays authenticator" authenticator "$(field after "$after")"
check "after: it was the same backend" "$pid_before" "$(field pid "$after")"
fresh="$(on standby authenticator -v ON_ERROR_STOP=0 2>/dev/null <<<"$login_sql")"
check "after: a new standby backend refuses it too (SQLSTATE)" 28000 "$(field state "$fresh")"
check "after: ... with the message" "key \"$KID\" is revoked" "$(field msg "$fresh")"
primary_after="$(on primary authenticator -v ON_ERROR_STOP=0 2>/dev/null <<<"$login_sql")"
check "after: the primary refuses it (SQLSTATE)" 28000 "$(field state "$primary_after")"
printf '\\q\n' >&"${CACHED[1]}"

# ---------------------------------------------------------------------------
section "5. ledger: a standby cannot write, so its records go to the server log"
A_ROW="$(printf '%s\n' "${DEMO[@]}" | grep '^patient A|')"
A_GATEWAY_CLAIMS="${A_ROW#*|*|}"
LEDGER_APP="standby-ledger-$$"
standby_rows="$(on standby authenticator -v ON_ERROR_STOP=1 -At <<SQL
BEGIN;
SET LOCAL application_name = '$LEDGER_APP';
SET LOCAL ROLE patient;
SELECT set_config('request.jwt.claims', '$A_GATEWAY_CLAIMS', true) \\g /dev/null
SELECT count(*) FROM bookings.appointments;
ROLLBACK;
SQL
)"
check "the patient reads on the standby" "$(q_primary "SELECT count(*) FROM bookings.appointments WHERE patient_id = '$A_ID'")" "$standby_rows"
log_line=""
for _ in $(seq 1 50); do
  log_line="$(grep -o "careguard_ledger: {.*\"application_name\":\"$LEDGER_APP\".*}" "$WORK/standby.log" | head -n 1 || true)"
  [ -n "$log_line" ] && break
  sleep 0.1
done
record="${log_line#careguard_ledger: }"
check "the standby logged one parseable ledger line for the read" 1 \
  "$(grep -c "\"application_name\":\"$LEDGER_APP\"" "$WORK/standby.log" || true)"
# Parsed by PostgreSQL's own jsonb, on the primary.
parsed="$(q_primary "SELECT (r->'patient_ids'->>0) || '|' || (r->>'rows') || '|' || (r->>'rls') || '|' || (r->>'current_user') || '|' || (r->>'relation') FROM (SELECT \$\$${record}\$\$::jsonb AS r) s")"
check "... naming patient A, the rows, RLS applied, the role and the table" \
  "$A_ID|$standby_rows|applied|patient|bookings.appointments" "$parsed"
check "the standby has no spool for the database" 0 \
  "$(find "$WORK/standby/careguard_ledger" -name '*.spool' -newer "$WORK/standby.log" 2>/dev/null | wc -l)"
flush_state="$(on standby postgres -v ON_ERROR_STOP=0 -At 2>/dev/null <<'SQL'
SELECT careguard.ledger_flush(100) \g /dev/null
\echo :SQLSTATE
SQL
)"
check "careguard.ledger_flush() on the standby refuses: no writer there (25006)" 25006 "$flush_state"

echo
finish_checks
