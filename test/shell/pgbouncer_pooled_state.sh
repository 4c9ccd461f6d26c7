#!/usr/bin/env bash
# careguard: per-request state must not outlive its transaction on a
# PgBouncer transaction-pooled connection (issue 8, section 3).
#
# Starts its own PgBouncer (pool_mode = transaction, default_pool_size = 1, so
# client A and client B deterministically share one server connection) in
# front of the running test cluster named by PGHOST/PGPORT/PGUSER (a
# superuser; trust authentication), creates a fresh database with careguard
# and demo data, and checks, as the gateway login `authenticator`:
#   1. a holdable cursor declared while an identity is in force (auth.login,
#      transaction-local request.jwt.claims, SET LOCAL ROLE) is refused at
#      COMMIT (SQLSTATE 25000), so a later client cannot FETCH from it;
#   2. the same for a temporary table created or written in such a
#      transaction (not ON COMMIT DROP);
#   3. a session-level SET ROLE / RESET ROLE / SET SESSION AUTHORIZATION by a
#      gateway login is refused at once (42501, hint: SET LOCAL ROLE), and
#      set_config('role', ..., false) is refused at COMMIT (42501), so the next
#      client never inherits service_role's BYPASSRLS;
#   that a gateway login keeps no holdable cursor or temporary table even
#   without an identity; and that SET LOCAL ROLE, ON COMMIT DROP tables and
#   ordinary cursors keep working, and that the superuser-only
#   careguard.allow_session_state = on lets a holdable cursor survive (the
#   control: it proves the leak detector sees a leak when there is one).
# Every scenario prints what B saw ("A rows seen by B: N"); the closing line is
# "N passed, M failed" and the exit status is non-zero when anything failed.
#
# Usage: PGHOST=... PGPORT=... PGUSER=postgres test/shell/pgbouncer_pooled_state.sh
#   PGBOUNCER=/usr/sbin/pgbouncer  the binary (1.18 or later)
#   KEEP_WORKDIR=1                 leave the temporary directory (logs) behind
set -euo pipefail

export PGHOST="${PGHOST:-/var/run/postgresql}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}"
ADMIN_DB="${PGDATABASE:-postgres}"
PGBOUNCER="${PGBOUNCER:-/usr/sbin/pgbouncer}"
DB="careguard_pgbouncer_$$"
GW2="careguard_pgb_gw_$$"          # a second gateway login, named in careguard.gateway_roles
SECRET="pgbouncer-test-hs256-secret-0123456789abcdef"
unset PGOPTIONS PGSERVICE           # PgBouncer refuses unknown startup parameters

source "$(dirname "${BASH_SOURCE[0]}")/checks.sh"
source "$(dirname "${BASH_SOURCE[0]}")/pgbouncer.sh"
SUMMARY=()
note() { printf '       %s\n' "$*"; }
die() { printf 'pgbouncer_pooled_state: %s\n' "$*" >&2; printf '%s passed, %s failed\n' "$passed" "$((failed + 1))"; exit 1; }

[ -x "$PGBOUNCER" ] || die "no PgBouncer at $PGBOUNCER (Debian package pgbouncer)"
command -v psql >/dev/null || die "psql not found"

# ---------------------------------------------------------------------------
# Work directory, clean-up
WORK="$(mktemp -d /tmp/careguard-pgbouncer.XXXXXX)"
chmod 755 "$WORK"
ALTERED_SYSTEM=0
revert_system() {
  if [ "$ALTERED_SYSTEM" = 1 ]; then
    psql -X -q -d "$ADMIN_DB" -c "ALTER SYSTEM RESET careguard.gateway_roles" -c "SELECT pg_reload_conf()" >/dev/null 2>&1 &&
      ALTERED_SYSTEM=0
  fi
}
cleanup() {
  local rc=$?
  set +e
  revert_system
  pgb_stop
  pgb_drop_database "$ADMIN_DB" "$DB" "$GW2"
  if [ "${KEEP_WORKDIR:-0}" = 1 ]; then echo "work directory kept: $WORK" >&2; else rm -rf "$WORK"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------
# Database: fresh, careguard + demo data, an HS256 key; authenticator LOGIN
section "set-up: database $DB on ${PGHOST}:${PGPORT}"
pgb_create_database "$ADMIN_DB" "$DB" || die "cannot create database $DB"
psql -X -q -d "$DB" -v ON_ERROR_STOP=1 >/dev/null <<SQL || die "cannot install careguard in $DB"
SET client_min_messages = warning;
CREATE SCHEMA extensions;
CREATE EXTENSION careguard_booking SCHEMA extensions CASCADE;
SELECT careguard.seed_demo(20, 4, 200, 42);
ALTER ROLE authenticator LOGIN;
CREATE ROLE "$GW2" LOGIN NOINHERIT;
GRANT anon, authenticated, service_role, patient, provider, admin TO "$GW2";
GRANT USAGE ON SCHEMA auth TO "$GW2";
SELECT auth.import_hmac_secret('pgbouncer-hs256', '$SECRET');
SQL

sql1() { psql -X -At -d "$DB" -v ON_ERROR_STOP=1 -c "$1"; }
# careguard guards a backend only when it is loaded at backend start.
PRELOADED="$(sql1 "SELECT CASE WHEN to_regprocedure('careguard.is_preloaded()') IS NOT NULL
                          THEN careguard.is_preloaded()::text
                          ELSE (current_setting('shared_preload_libraries') ~ 'careguard')::text END")"
[ "$PRELOADED" = true ] || die "careguard is not in shared_preload_libraries of the cluster at ${PGHOST}:${PGPORT}"
A_ID="$(sql1 "SELECT user_id FROM careguard.demo_users() WHERE label = 'patient A'")"
B_ID="$(sql1 "SELECT user_id FROM careguard.demo_users() WHERE label = 'patient B'")"
A_CLAIMS="$(sql1 "SELECT claims FROM careguard.demo_users() WHERE label = 'patient A'")"
B_CLAIMS="$(sql1 "SELECT claims FROM careguard.demo_users() WHERE label = 'patient B'")"
token_for() {
  sql1 "SELECT auth.sign('$1'::jsonb || jsonb_build_object('exp', extract(epoch FROM now())::int + 900))"
}
A_TOKEN="$(token_for "$A_CLAIMS")"
B_TOKEN="$(token_for "$B_CLAIMS")"
# What each identity may see through RLS, and what exists at all.
visible_as() {
  psql -X -At -q -d "$DB" -v ON_ERROR_STOP=1 <<SQL
BEGIN;
SET LOCAL ROLE patient;
SELECT set_config('request.jwt.claims', '$1', true) \g /dev/null
SELECT count(*) FROM bookings.appointments;
COMMIT;
SQL
}
A_VISIBLE="$(visible_as "$A_CLAIMS")"
B_VISIBLE="$(visible_as "$B_CLAIMS")"
ALL_APPTS="$(sql1 "SELECT count(*) FROM bookings.appointments")"
ALL_PROFILES="$(sql1 "SELECT count(*) FROM patients.profiles")"
note "patient A $A_ID sees $A_VISIBLE appointments, patient B $B_ID sees $B_VISIBLE; $ALL_APPTS appointments, $ALL_PROFILES patient profiles in all"
[ "$A_VISIBLE" -gt 0 ] && [ "$B_VISIBLE" -gt 0 ] || die "demo data gives patient A or B no appointments"
[ "$A_ID" != "$B_ID" ] || die "patients A and B are the same user"

# ---------------------------------------------------------------------------
# PgBouncer 1.18, transaction pooling, one server connection per pool
pgb_start "$WORK" "$DB" 1 authenticator "$GW2" ||
  die "PgBouncer did not start: $(tail -n 5 "$WORK/pgbouncer.log" 2>/dev/null)"
note "PgBouncer $("$PGBOUNCER" --version | head -n 1 | awk '{print $2}') pid $PGB_PID on 127.0.0.1:$PGB_PORT (pool_mode transaction, default_pool_size 1)"

# ---------------------------------------------------------------------------
# Clients
# Each client's output goes to its own numbered file (clients run in $(...),
# so the counter lives in a file).
echo 0 >"$WORK/runs"
next_run() {
  local n; n=$(($(cat "$WORK/runs") + 1)); echo "$n" >"$WORK/runs"
  printf '%s/run%03d\n' "$WORK" "$n"
}
# client [USER] <<SQL: one psql process through PgBouncer; prints the file
# stem of its stdout (.out) and stderr (.err). Markers are printed by the
# scripts as "key=value"; rows between "<<rows" and ">>rows".
client() {
  local user="${1:-authenticator}" f
  f="$(next_run)"
  psql -X -A -t -q -v ON_ERROR_STOP=0 -v VERBOSITY=verbose -h 127.0.0.1 -p "$PGB_PORT" -U "$user" -d "$DB" \
    -v tokA="$A_TOKEN" -v tokB="$B_TOKEN" -v claimsA="$A_CLAIMS" -v claimsB="$B_CLAIMS" \
    >"$f.out" 2>"$f.err" || true
  echo "$f"
}
# direct [USER]: the same, straight to PostgreSQL (no pooling).
direct() {
  local user="${1:-authenticator}" f
  f="$(next_run)"
  psql -X -A -t -q -v ON_ERROR_STOP=0 -v VERBOSITY=verbose -U "$user" -d "$DB" \
    -v tokA="$A_TOKEN" -v tokB="$B_TOKEN" -v claimsA="$A_CLAIMS" -v claimsB="$B_CLAIMS" \
    >"$f.out" 2>"$f.err" || true
  echo "$f"
}
# get FILE KEY: the value of the first "KEY=value" marker.
# (\gx in unaligned mode prints "?column?|key=value".)
get() { sed -n -E "s/^([?]column[?][|])?$2=//p" "$1.out" | head -n 1; }
# rows FILE: the lines printed between <<rows and >>rows.
rows() { sed -n '/^<<rows$/,/^>>rows$/p' "$1.out" | sed '1d;$d' | grep -v '^$' || true; }
count_rows() { rows "$1" | grep -c . || true; }
count_rows_of() { rows "$1" | grep -c "^$2|" || true; }
hint_of() { sed -n 's/^HINT:  //p' "$1.err" | head -n 1; }
# A fresh server connection for the next scenario (isolation between them).
fresh_server() {
  psql -X -q -h 127.0.0.1 -p "$PGB_PORT" -U "$PGUSER" -d pgbouncer -c "RECONNECT $DB" -c "WAIT_CLOSE $DB" >/dev/null 2>&1 ||
    fail "harness: PgBouncer RECONNECT/WAIT_CLOSE"
}
# same_backend NAME PID_A PID_B: A and B must have shared one server connection.
same_backend() {
  if [ -n "$2" ] && [ "$2" = "$3" ]; then
    pass "$1: A and B ran on the same server connection (backend $2)"
  else
    fail "$1: A and B ran on the same server connection" "backend of A [$2], of B [$3]"
  fi
}

# B signed in with auth.login: its identity, then what it can read of A's state.
# b_reads NAME 'SQL that reads A's state'
b_login_reads() {
  client <<SQL
BEGIN;
SELECT auth.login(:'tokB') \g /dev/null
SELECT 'pid=' || pg_backend_pid(), 'who=' || current_user || '/' || coalesce(auth.uid()::text, ''),
       'own=' || (SELECT count(*) FROM bookings.appointments) \gx
\echo <<rows
$1;
\echo >>rows
\echo read_state=:SQLSTATE
COMMIT;
SELECT 'after=' || current_user;
SQL
}
b_gateway_reads() {
  client <<SQL
BEGIN;
SET LOCAL ROLE patient;
SELECT set_config('request.jwt.claims', :'claimsB', true) \g /dev/null
SELECT 'pid=' || pg_backend_pid(), 'who=' || current_user || '/' || coalesce(auth.uid()::text, ''),
       'own=' || (SELECT count(*) FROM bookings.appointments) \gx
\echo <<rows
$1;
\echo >>rows
\echo read_state=:SQLSTATE
COMMIT;
SELECT 'after=' || current_user;
SQL
}

# report_b NAME FILE_A FILE_B EXPECTED_READ_STATE
report_b() {
  local name="$1" a="$2" b="$3" want_state="$4" seen
  seen="$(count_rows "$b")"
  note "A rows seen by B: $seen (of A's $(get "$a" a_visible) visible; B read_state $(get "$b" read_state))"
  SUMMARY+=("$(printf '%-44s A rows seen by B: %s' "$name" "$seen")")
  same_backend "$name" "$(get "$a" pid)" "$(get "$b" pid)"
  check "$name: A rows seen by B" 0 "$seen"
  check "$name: B reading A's state fails with" "$want_state" "$(get "$b" read_state)"
  check "$name: B's identity is B" "patient/$B_ID" "$(get "$b" who)"
  check "$name: B sees its own appointments" "$B_VISIBLE" "$(get "$b" own)"
  check "$name: B's role ends with its transaction" authenticator "$(get "$b" after)"
}

# The ways client A has an identity, and the states it tries to leave behind.
PRELUDE_LOGIN="SELECT auth.login(:'tokA') \\g /dev/null"
PRELUDE_GATEWAY="SET LOCAL ROLE patient;
SELECT set_config('request.jwt.claims', :'claimsA', true) \\g /dev/null"
PRELUDE_SERVICE="SET LOCAL ROLE service_role;"

# leak_scenario ID SECTION PRELUDE cursor|table READER
#   A, under PRELUDE's identity, leaves a holdable cursor c or a temporary
#   table t; its COMMIT must be refused with the state gone, and READER (the
#   next client, B) must read none of it.
leak_scenario() {
  local id="$1" title="$2" prelude="$3" kind="$4" reader="$5" create left read gone want
  if [ "$kind" = cursor ]; then
    create="DECLARE c CURSOR WITH HOLD FOR SELECT patient_id, reason FROM bookings.appointments;"
    left="SELECT 'left=' || (count(*) > 0) FROM pg_cursors WHERE name = 'c';"
    read="FETCH ALL FROM c" gone=34000 want='holdable cursor "c" cannot outlive'
  else
    create="CREATE TEMP TABLE t AS SELECT patient_id, reason FROM bookings.appointments;"
    left="SELECT 'left=' || (to_regclass('pg_temp.t') IS NOT NULL);"
    read="SELECT patient_id, reason FROM t" gone=42P01 want='temporary table "t" cannot outlive'
  fi
  section "$id. $title"
  fresh_server
  local a b
  a=$(client <<SQL
BEGIN;
$prelude
SELECT 'pid=' || pg_backend_pid(), 'a_visible=' || (SELECT count(*) FROM bookings.appointments) \gx
$create
COMMIT;
\echo commit_state=:SQLSTATE
\echo commit_msg=:LAST_ERROR_MESSAGE
$left
SELECT 'a_after=' || current_user;
SQL
)
  check "$id: COMMIT leaving a $kind is refused (SQLSTATE)" 25000 "$(get "$a" commit_state)"
  check_prefix "$id: ... with message" "$want" "$(get "$a" commit_msg)"
  check "$id: the $kind is gone after the refused COMMIT" false "$(get "$a" left)"
  check "$id: A's role ended with the transaction" authenticator "$(get "$a" a_after)"
  b=$("$reader" "$read")
  report_b "$id" "$a" "$b" "$gone"
}

leak_scenario 1a "holdable cursor under auth.login, FETCH by the next client" \
  "$PRELUDE_LOGIN" cursor b_login_reads
leak_scenario 1b "holdable cursor under gateway claims (SET LOCAL ROLE + request.jwt.claims)" \
  "$PRELUDE_GATEWAY" cursor b_gateway_reads
leak_scenario 1c "holdable cursor under SET LOCAL ROLE service_role only (no claims)" \
  "$PRELUDE_SERVICE" cursor b_login_reads
leak_scenario 2a "temporary table under auth.login, read by the next client" \
  "$PRELUDE_LOGIN" table b_login_reads
leak_scenario 2b "temporary table under gateway claims, read by the next client" \
  "$PRELUDE_GATEWAY" table b_gateway_reads

# ===========================================================================
section "2c. a temporary table made by the gateway without an identity, read by the next client"
# A gateway serves many clients: it may keep no temporary table at all, even
# one made without an identity careguard could see (it could be filled by a
# function with a SET role clause, which reads rows without any claim).
fresh_server
a=$(client <<'SQL'
SELECT 'pid=' || pg_backend_pid(), 'a_visible=0' \gx
CREATE TEMP TABLE t (patient_id uuid, reason text);
\echo create_state=:SQLSTATE
\echo create_msg=:LAST_ERROR_MESSAGE
SQL
)
check "2c: a gateway login may not keep even an empty temporary table" 25000 "$(get "$a" create_state)"
check_prefix "2c: ... with message" 'temporary table "t" cannot outlive a transaction of a gateway login' "$(get "$a" create_msg)"
b=$(b_login_reads "SELECT patient_id, reason FROM t")
report_b "2c" "$a" "$b" 42P01

# ===========================================================================
section "1/2 keep working: ON COMMIT DROP and non-holdable cursors; a gateway keeps nothing"
fresh_server
a=$(client <<'SQL'
BEGIN;
SELECT auth.login(:'tokA') \g /dev/null
CREATE TEMP TABLE scratch ON COMMIT DROP AS SELECT patient_id, reason FROM bookings.appointments;
DECLARE plain CURSOR FOR SELECT patient_id FROM scratch;
FETCH 1 FROM plain \g /dev/null
COMMIT;
\echo ok_commit_state=:SQLSTATE
DECLARE anon_c CURSOR WITH HOLD FOR SELECT 1 AS one;
\echo nohold_identity_free_state=:SQLSTATE
CREATE TEMP TABLE keep (n int);
\echo temp_identity_free_state=:SQLSTATE
SELECT 'still_there=' || (to_regclass('pg_temp.keep') IS NOT NULL) || '/' || (SELECT count(*) FROM pg_cursors WHERE name = 'anon_c');
CLOSE anon_c;
DROP TABLE keep;
SQL
)
check "keep working: COMMIT with ON COMMIT DROP table and a non-holdable cursor under auth.login" 00000 "$(get "$a" ok_commit_state)"
check "gateway: a holdable cursor without any identity in force is refused too" 25000 "$(get "$a" nohold_identity_free_state)"
check "gateway: a temporary table without any identity in force is refused too" 25000 "$(get "$a" temp_identity_free_state)"
check "gateway: neither survives" false/0 "$(get "$a" still_there)"

# ===========================================================================
section "3. session-level role changes by the gateway login"
# b_after_role NAME PID_A: a client that sets no role; what it is and sees.
b_after_role() {
  local name="$1" pid_a="$2" b
  b=$(client <<'SQL'
SELECT 'pid=' || pg_backend_pid();
SELECT 'who=' || current_user || '/' || session_user;
SELECT 'appts=' || count(*) FROM bookings.appointments;
\echo appts_state=:SQLSTATE
SELECT 'profiles=' || count(*) FROM patients.profiles;
\echo profiles_state=:SQLSTATE
SQL
)
  local appts profiles
  appts="$(get "$b" appts)"; profiles="$(get "$b" profiles)"
  note "appointments seen by the next client: ${appts:-0} (state $(get "$b" appts_state)), patient profiles: ${profiles:-0} (state $(get "$b" profiles_state)); it is $(get "$b" who)"
  SUMMARY+=("$(printf '%-44s next client is %s, sees %s appointments, %s patient profiles' "$name" "$(get "$b" who | cut -d/ -f1)" "${appts:-0}" "${profiles:-0}")")
  same_backend "$name" "$pid_a" "$(get "$b" pid)"
  check "$name: the next client is authenticator, not service_role" authenticator/authenticator "$(get "$b" who)"
  check "$name: appointments seen by the next client" 0 "${appts:-0}"
  check "$name: patient profiles seen by the next client" 0 "${profiles:-0}"
  # B signing in still gets exactly its own identity, and loses it at COMMIT.
  b=$(b_login_reads "SELECT 1 WHERE false")
  check "$name: a signed-in next client is B" "patient/$B_ID" "$(get "$b" who)"
  check "$name: ... and sees its own appointments" "$B_VISIBLE" "$(get "$b" own)"
  check "$name: ... and is authenticator again after COMMIT" authenticator "$(get "$b" after)"
}

# one_statement NAME 'SQL' EXPECTED_STATE [HINT_WANTED]: a buggy client's statement
one_statement() {
  local name="$1" sql="$2" want="$3" a
  a=$(client <<SQL
SELECT 'pid=' || pg_backend_pid();
$sql;
\echo state=:SQLSTATE
SELECT 'a_after=' || current_user;
SQL
)
  check "$name: refused with" "$want" "$(get "$a" state)"
  if [ "${4:-}" = hint ]; then
    case "$(hint_of "$a")" in *"SET LOCAL ROLE"*) pass "$name: hint names SET LOCAL ROLE" ;;
      *) fail "$name: hint names SET LOCAL ROLE" "hint was [$(hint_of "$a")]" ;; esac
  fi
  check "$name: the buggy client is still authenticator" authenticator "$(get "$a" a_after)"
  b_after_role "$name" "$(get "$a" pid)"
}

fresh_server; one_statement "3a SET ROLE service_role" "SET ROLE service_role" 42501 hint
fresh_server; one_statement "3b SET SESSION ROLE service_role" "SET SESSION ROLE service_role" 42501 hint
fresh_server
a=$(client <<'SQL'
SELECT 'pid=' || pg_backend_pid();
BEGIN;
SET ROLE service_role;
\echo state=:SQLSTATE
COMMIT;
SELECT 'a_after=' || current_user;
SQL
)
check "3c SET ROLE inside BEGIN/COMMIT: refused with" 42501 "$(get "$a" state)"
check "3c: the buggy client is still authenticator" authenticator "$(get "$a" a_after)"
b_after_role "3c" "$(get "$a" pid)"

fresh_server
a=$(client <<'SQL'
SELECT 'pid=' || pg_backend_pid();
SELECT set_config('role', 'service_role', false);
\echo state=:SQLSTATE
SELECT 'a_after=' || current_user;
SQL
)
check "3d set_config('role','service_role',false) (autocommit): refused at COMMIT with" 42501 "$(get "$a" state)"
check "3d: the buggy client is still authenticator" authenticator "$(get "$a" a_after)"
b_after_role "3d" "$(get "$a" pid)"

fresh_server
a=$(client <<'SQL'
SELECT 'pid=' || pg_backend_pid();
BEGIN;
SELECT set_config('role', 'service_role', false) \g /dev/null
\echo set_state=:SQLSTATE
COMMIT;
\echo state=:SQLSTATE
SELECT 'a_after=' || current_user;
SQL
)
check "3e set_config('role',...,false) in BEGIN/COMMIT: the call itself runs" 00000 "$(get "$a" set_state)"
check "3e: ... and COMMIT is refused with" 42501 "$(get "$a" state)"
check "3e: the buggy client is still authenticator" authenticator "$(get "$a" a_after)"
b_after_role "3e" "$(get "$a" pid)"

fresh_server; one_statement "3f RESET ROLE" "RESET ROLE" 42501 hint
fresh_server; one_statement "3g SET SESSION AUTHORIZATION authenticator" "SET SESSION AUTHORIZATION authenticator" 42501 hint
fresh_server; one_statement "3h SET SESSION AUTHORIZATION service_role" "SET SESSION AUTHORIZATION service_role" 42501

section "3. SET LOCAL ROLE keeps working"
fresh_server
a=$(client <<'SQL'
BEGIN;
SET LOCAL ROLE patient;
\echo local_state=:SQLSTATE
SELECT 'in_tx=' || current_user;
COMMIT;
\echo commit_state=:SQLSTATE
SELECT 'after=' || current_user;
BEGIN;
SET LOCAL ROLE service_role;
SELECT 'sr_count=' || count(*) FROM bookings.appointments;
COMMIT;
BEGIN;
SELECT set_config('role', 'provider', true) \g /dev/null
\echo setcfg_local_state=:SQLSTATE
SELECT 'in_tx2=' || current_user;
COMMIT;
\echo commit2_state=:SQLSTATE
SELECT 'after2=' || current_user;
SQL
)
check "SET LOCAL ROLE patient works" 00000 "$(get "$a" local_state)"
check "... the role is in force in the transaction" patient "$(get "$a" in_tx)"
check "... its COMMIT is accepted" 00000 "$(get "$a" commit_state)"
check "... and the role ends with it" authenticator "$(get "$a" after)"
check "SET LOCAL ROLE service_role sees every appointment inside its transaction" "$ALL_APPTS" "$(get "$a" sr_count)"
check "set_config('role','provider',true) works" 00000 "$(get "$a" setcfg_local_state)"
check "... in force in the transaction" provider "$(get "$a" in_tx2)"
check "... its COMMIT is accepted" 00000 "$(get "$a" commit2_state)"
check "... and ends with it" authenticator "$(get "$a" after2)"

section "3. which logins are gateway roles"
a=$(direct "$PGUSER" <<'SQL'
SET ROLE service_role;
\echo state=:SQLSTATE
SELECT 'who=' || current_user;
RESET ROLE;
SQL
)
check "a superuser login (not a gateway role) may still SET ROLE" 00000 "$(get "$a" state)"
check "... and becomes that role" service_role "$(get "$a" who)"
a=$(direct "$PGUSER" <<SQL
ALTER DATABASE "$DB" SET careguard.gateway_roles = 'authenticator, $GW2';
\echo state=:SQLSTATE
SQL
)
gw_state="$(get "$a" state)"
if [ "$gw_state" = 55P02 ]; then
  # A sighup setting: only the configuration file (reverted at exit).
  a=$(direct "$PGUSER" <<SQL
ALTER SYSTEM SET careguard.gateway_roles = 'authenticator, $GW2';
\echo state=:SQLSTATE
SELECT pg_reload_conf();
SQL
)
  gw_state="$(get "$a" state)"; [ "$gw_state" != 00000 ] || ALTERED_SYSTEM=1
  sleep 1
  note "careguard.gateway_roles cannot be set per database; set with ALTER SYSTEM (reverted at exit)"
fi
check "a superuser can name another gateway login in careguard.gateway_roles" 00000 "$gw_state"
a=$(direct "$GW2" <<'SQL'
SET ROLE service_role;
\echo state=:SQLSTATE
SELECT 'who=' || current_user;
SQL
)
check "a login listed in careguard.gateway_roles: SET ROLE refused with" 42501 "$(get "$a" state)"
check "... and it stays itself" "$GW2" "$(get "$a" who)"
direct "$PGUSER" >/dev/null <<SQL
ALTER DATABASE "$DB" RESET careguard.gateway_roles;
SQL
revert_system

# ===========================================================================
section "careguard.allow_session_state is superuser-only"
fresh_server
a=$(client <<'SQL'
SET careguard.allow_session_state = on;
\echo set_state=:SQLSTATE
BEGIN;
SELECT set_config('careguard.allow_session_state', 'on', true) \g /dev/null
\echo setcfg_state=:SQLSTATE
ROLLBACK;
SQL
)
check "the gateway login cannot SET careguard.allow_session_state" 42501 "$(get "$a" set_state)"
check "... nor set_config() it for its transaction" 42501 "$(get "$a" setcfg_state)"

# ===========================================================================
section "control: careguard.allow_session_state = on (set by a superuser) lets state survive"
a=$(direct "$PGUSER" <<SQL
ALTER ROLE authenticator IN DATABASE "$DB" SET careguard.allow_session_state = on;
\echo state=:SQLSTATE
SQL
)
check "a superuser can ALTER ROLE authenticator ... SET careguard.allow_session_state = on" 00000 "$(get "$a" state)"
# Non-pooled deployment: one direct session, A's transaction then the same
# session reading what it kept.
a=$(direct authenticator <<'SQL'
SHOW careguard.allow_session_state;
BEGIN;
SELECT auth.login(:'tokA') \g /dev/null
SELECT 'a_visible=' || (SELECT count(*) FROM bookings.appointments) \gx
DECLARE c CURSOR WITH HOLD FOR SELECT patient_id, reason FROM bookings.appointments;
CREATE TEMP TABLE t AS SELECT patient_id, reason FROM bookings.appointments;
COMMIT;
\echo commit_state=:SQLSTATE
\echo <<rows
FETCH ALL FROM c;
\echo >>rows
BEGIN;
SET LOCAL ROLE patient;
SELECT 'table_rows=' || count(*) FROM t;
COMMIT;
SQL
)
kept="$(count_rows_of "$a" "$A_ID")"
note "control (direct connection): rows of A's holdable cursor after COMMIT: $kept, rows in its temporary table: $(get "$a" table_rows)"
check "control, direct: COMMIT with a holdable cursor and a temporary table is accepted" 00000 "$(get "$a" commit_state)"
check "control, direct: the cursor survives with all of A's rows" "$A_VISIBLE" "$kept"
check "control, direct: the temporary table survives with all of A's rows" "$A_VISIBLE" "$(get "$a" table_rows)"
# The same setting behind PgBouncer: the leak detector must then see the leak
# (this is why the setting is for non-pooled deployments only).
fresh_server
a=$(client <<'SQL'
BEGIN;
SELECT auth.login(:'tokA') \g /dev/null
SELECT 'pid=' || pg_backend_pid(), 'a_visible=' || (SELECT count(*) FROM bookings.appointments) \gx
DECLARE c CURSOR WITH HOLD FOR SELECT patient_id, reason FROM bookings.appointments;
COMMIT;
\echo commit_state=:SQLSTATE
SQL
)
b=$(b_login_reads "FETCH ALL FROM c")
seen="$(count_rows_of "$b" "$A_ID")"
note "control, pooled with allow_session_state = on: A rows seen by B: $seen (expected $A_VISIBLE: the detector works)"
SUMMARY+=("$(printf '%-44s A rows seen by B: %s (expected %s)' "control: allow_session_state=on, pooled" "$seen" "$A_VISIBLE")")
same_backend "control, pooled" "$(get "$a" pid)" "$(get "$b" pid)"
check "control, pooled: the detector sees A's rows reach B" "$A_VISIBLE" "$seen"
direct "$PGUSER" >/dev/null <<SQL
ALTER ROLE authenticator IN DATABASE "$DB" RESET careguard.allow_session_state;
SQL
fresh_server

# ===========================================================================
section "summary (what reached the next client on the shared server connection)"
for line in "${SUMMARY[@]}"; do printf '  %s\n' "$line"; done
echo
finish_checks
