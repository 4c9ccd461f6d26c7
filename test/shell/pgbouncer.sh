# careguard shell tests: a throwaway PgBouncer (1.18 or later) in front of
# the test cluster. Sourced, not run. PgBouncer refuses to run as root, so
# as root it runs as postgres.
#   pgb_start WORK DB POOL_SIZE USER...   start one in WORK, pooling DB
#                                         (transaction mode, POOL_SIZE server
#                                         connections); sets PGB_PORT, PGB_PID
#   pgb_stop                              stop the one this shell started
#   pgb_create_database ADMIN_DB DB       a fresh DB; remembers authenticator's LOGIN
#   pgb_drop_database ADMIN_DB DB [ROLE]  drops DB (and ROLE), restores that LOGIN
# Needs PGHOST/PGPORT/PGUSER (a superuser; trust authentication) and PGBOUNCER.
PGB_PID=""
PGB_PORT=""

# A free TCP port (not PGPORT, no socket in WORK), or failure.
pgb_free_port() {
  local work="$1" p
  for _ in $(seq 200); do
    p=$((20000 + RANDOM % 30000))
    [ "$p" = "$PGPORT" ] && continue
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && [ ! -e "$work/.s.PGSQL.$p" ]; then
      echo "$p"; return 0
    fi
  done
  return 1
}

pgb_start() {
  local work="$1" db="$2" pool="$3" user
  shift 3
  local as_pgb=()
  [ "$(id -u)" -ne 0 ] || as_pgb=(runuser -u postgres --)
  PGB_PORT="$(pgb_free_port "$work")" || return 1
  : >"$work/userlist.txt"
  for user in "$@" "$PGUSER"; do printf '"%s" ""\n' "$user" >>"$work/userlist.txt"; done
  cat >"$work/pgbouncer.ini" <<EOF
[databases]
$db = host=$PGHOST port=$PGPORT dbname=$db

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $PGB_PORT
unix_socket_dir = $work
auth_type = trust
auth_file = $work/userlist.txt
admin_users = $PGUSER
pool_mode = transaction
default_pool_size = $pool
min_pool_size = 0
reserve_pool_size = 0
max_client_conn = 200
server_reset_query =
server_reset_query_always = 0
server_lifetime = 86400
server_idle_timeout = 0
ignore_startup_parameters = extra_float_digits
logfile = $work/pgbouncer.log
pidfile = $work/pgbouncer.pid
EOF
  [ "$(id -u)" -ne 0 ] || chown postgres: "$work" "$work/userlist.txt" "$work/pgbouncer.ini"
  "${as_pgb[@]}" "$PGBOUNCER" -d "$work/pgbouncer.ini" || return 1
  for _ in $(seq 100); do [ -s "$work/pgbouncer.pid" ] && break; sleep 0.1; done
  PGB_PID="$(cat "$work/pgbouncer.pid" 2>/dev/null || true)"
  [ -n "$PGB_PID" ] && [ "$(cat "/proc/$PGB_PID/comm" 2>/dev/null)" = pgbouncer ]
}

pgb_stop() {
  if [ -n "$PGB_PID" ] && [ "$(cat "/proc/$PGB_PID/comm" 2>/dev/null)" = pgbouncer ]; then
    kill -TERM "$PGB_PID" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$PGB_PID" 2>/dev/null || break; sleep 0.1; done
  fi
  PGB_PID=""
}

# authenticator's LOGIN before the test gave it one ('' until a database exists).
PGB_LOGIN_BEFORE=""

pgb_create_database() {
  local admin_db="$1" db="$2"
  PGB_LOGIN_BEFORE="$(psql -X -At -d "$admin_db" -c "SELECT rolcanlogin FROM pg_roles WHERE rolname = 'authenticator'" 2>/dev/null || true)"
  psql -X -q -d "$admin_db" -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$db\"" >/dev/null || return 1
  PGB_LOGIN_BEFORE="${PGB_LOGIN_BEFORE:-f}"
}

pgb_drop_database() {
  local admin_db="$1" db="$2" role="${3:-}"
  [ -n "$PGB_LOGIN_BEFORE" ] || return 0
  psql -X -q -d "$admin_db" -v ON_ERROR_STOP=0 >/dev/null 2>&1 <<SQL
DROP DATABASE IF EXISTS "$db" WITH (FORCE);
$([ -n "$role" ] && echo "DROP ROLE IF EXISTS \"$role\";")
ALTER ROLE authenticator $([ "$PGB_LOGIN_BEFORE" = t ] && echo LOGIN || echo NOLOGIN);
SQL
}
