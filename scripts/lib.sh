#!/usr/bin/env bash
# careguard: shared set-up for the README's commands. Sourced, not run.
# Works as root (the cluster then runs as `postgres`, since PostgreSQL refuses
# root) and as an ordinary user (sudo only for apt-get and `make install`).
set -euo pipefail

CAREGUARD_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Overridable, to build and test against another PostgreSQL 15 installation.
PG_CONFIG="${PG_CONFIG:-pg_config}"
PG_BINDIR="${PG_BINDIR:-$("$PG_CONFIG" --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)}"
PACKAGES=(build-essential cmake pkg-config clang-14 llvm-14 postgresql-15 postgresql-server-dev-15
  postgresql-contrib libpqxx-dev libgtest-dev libssl-dev postgresql-15-pgtap pgtap
  libclang-rt-14-dev chromium pgbouncer nlohmann-json3-dev
  debhelper postgresql-server-dev-all dpkg-dev fakeroot
  libkrb5-dev)  # libkrb5-dev: gssapi.h, which the server headers (libpq-be.h) include

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Installs whichever Debian packages are missing.
ensure_packages() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# Node.js and npm (for the JWT interop test) may come from outside Debian's
# archive, as on the CI image; install Debian's only when there are none.
ensure_node() {
  command -v node >/dev/null && command -v npm >/dev/null && return 0
  ensure_packages nodejs npm
}

# Builds and installs careguard.so and the install script with PGXS.
build_and_install_extension() {
  log "building careguard with PGXS"
  make -s -C "$CAREGUARD_ROOT" -j2 PG_CONFIG="$PG_CONFIG" >/dev/null
  as_root make -s -C "$CAREGUARD_ROOT" install PG_CONFIG="$PG_CONFIG" >/dev/null
}

# Builds the C++ tests and tools with CMake into build/.
build_cmake() {
  log "building tests and tools with CMake"
  cmake -S "$CAREGUARD_ROOT" -B "$CAREGUARD_ROOT/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DPG_CONFIG="$(command -v "$PG_CONFIG" || echo pg_config)" >/dev/null
  cmake --build "$CAREGUARD_ROOT/build" -j2 -- -s >/dev/null
  log "installing careguard-audit"
  as_root cmake --install "$CAREGUARD_ROOT/build" >/dev/null
}

# Runs a command as the cluster's owner.
as_cluster_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Starts a throwaway cluster in a fresh temporary directory; exports PG*.
start_cluster() {
  local port="${1:-55432}"
  CLUSTER_DIR="$(mktemp -d /tmp/careguard-cluster.XXXXXX)"
  chmod 755 "$CLUSTER_DIR"
  if [ "$(id -u)" -eq 0 ]; then chown postgres: "$CLUSTER_DIR"; fi
  log "starting a throwaway PostgreSQL 15 cluster in $CLUSTER_DIR on port $port"
  as_cluster_owner "$PG_BINDIR/initdb" -D "$CLUSTER_DIR/data" -U postgres --auth=trust \
    --no-sync -E UTF8 --locale=C.UTF-8 >/dev/null
  cat >>"$CLUSTER_DIR/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$CLUSTER_DIR'
fsync = off
max_connections = 120
shared_buffers = 256MB
max_worker_processes = 16
max_parallel_workers = 8
max_parallel_workers_per_gather = 2
max_prepared_transactions = 4
# careguard fails closed unless preloaded (docs/security-model.md).
shared_preload_libraries = 'careguard'
CONF
  as_cluster_owner "$PG_BINDIR/pg_ctl" -D "$CLUSTER_DIR/data" -l "$CLUSTER_DIR/server.log" -w start >/dev/null
  export PGHOST="$CLUSTER_DIR" PGPORT="$port" PGUSER=postgres PGDATABASE=postgres
  trap stop_cluster EXIT
}

# Stops the cluster this script started, and only that one.
stop_cluster() {
  if [ -n "${CLUSTER_DIR:-}" ] && [ -d "$CLUSTER_DIR/data" ]; then
    as_cluster_owner "$PG_BINDIR/pg_ctl" -D "$CLUSTER_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
    if [ "${KEEP_CLUSTER:-0}" != 1 ]; then rm -rf "$CLUSTER_DIR"; fi
  fi
}
