#!/usr/bin/env bash
# What one HS256 sign-in costs, part by part, in instructions (callgrind), not
# seconds: counts do not move with the machine's load, so the parts can be
# compared across runs and versions. A single-user backend runs 3 x 2,000
# distinct sign-ins; a scan of the same rows without sign-in is subtracted.
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
source "$(dirname "$0")/timing.sh"
command -v valgrind >/dev/null || { echo "login_parts: valgrind is not installed; skipped"; exit 0; }
N="${LOGIN_TOKENS:-2000}"
factory="$CAREGUARD_ROOT/build/bench/careguard-token-factory"
[ -x "$factory" ] || { echo "build the CMake targets first (scripts/test.sh or build_cmake)"; exit 1; }
start_cluster "${LOGIN_PARTS_PORT:-55495}"
mapfile -t lines < <("$factory" HS256 "$N" 8d0f7e6a-1111-4222-8333-944445555666 authenticated)
psql -X -q -v ON_ERROR_STOP=1 <<SQL >/dev/null
CREATE SCHEMA extensions;
CREATE EXTENSION careguard SCHEMA extensions;
SELECT auth.import_hmac_secret('bench-hs256', '${lines[0]}');
CREATE TABLE public.tokens (token text);
SQL
printf '%s\n' "${lines[@]:1}" | psql -X -q -v ON_ERROR_STOP=1 -c "\\copy public.tokens FROM STDIN"
as_cluster_owner "$PG_BINDIR/pg_ctl" -D "$CLUSTER_DIR/data" -m fast -w stop >/dev/null

# Three transactions of N sign-ins each (or of N plain reads of the token).
statements() {
  for _ in 1 2 3; do printf 'BEGIN;\nSELECT count(%s) FROM public.tokens;\nROLLBACK;\n' "$1"; done
}
profile() {  # $1: name, $2: the expression counted
  statements "$2" | as_cluster_owner valgrind --tool=callgrind \
    --callgrind-out-file="$CLUSTER_DIR/cg.$1" "$PG_BINDIR/postgres" --single -D "$CLUSTER_DIR/data" postgres \
    2>&1 | grep -m3 ERROR >&2 || true
  as_cluster_owner callgrind_annotate --inclusive=yes "$CLUSTER_DIR/cg.$1" 2>/dev/null
}
base="$(profile scan 'token')"
login="$(profile login 'auth.login(token)')"
part() { callgrind_part "$login" "$1"; }  # inclusive instructions of the first match
calls=$((3 * N))
keys="$(part 'careguard::pg::verification_keys()')"  # once per backend: the key set's import
echo
echo "== one HS256 sign-in, part by part: instructions per auth.login() (callgrind, $calls sign-ins) =="
awk -v all="$(callgrind_total "$login")" -v scan="$(callgrind_total "$base")" -v keys="${keys:-0}" -v n="$calls" \
  -v fn="$(part 'careguard_auth_login::{lambda()#1}::operator()')" \
  -v verify="$(part 'careguard::jwt::verify(')" -v hmac="$(part 'careguard::jwt::Key::verify_bytes(')" \
  -v parse="$(part 'careguard::jwt::(anonymous namespace)::parse_part(')" \
  -v b64="$(part 'careguard::base64url::decode(std::basic_string_view<char, std::char_traits<char> >, std::__cxx11::basic_string')" \
  -v settings="$(part 'set_config_option_ext')" -v jsonb="$(part 'careguard::pg::jsonb_from_dom(')" \
  -v adopt="$(part 'careguard::pg::adopt_verified_claims(')" 'BEGIN {
  per = (all - scan - keys) / n
  printf "%-58s %8.0f\n", "auth.login() in a query, all told (less the scan, less key import)", per
  printf "%-58s %8.0f  %4.1f%%\n", "  HMAC-SHA256 over header.payload (OpenSSL)", hmac / n, 100 * hmac / n / per
  printf "%-58s %8.0f  %4.1f%%\n", "  base64url decode (payload and signature)", b64 / n, 100 * b64 / n / per
  printf "%-58s %8.0f  %4.1f%%\n", "  one JSON parse of the payload", parse / n, 100 * parse / n / per
  printf "%-58s %8.0f  %4.1f%%\n", "  claim checks (exp, nbf, iat, iss, aud, sub), header memo", (verify - hmac - b64 - parse) / n, 100 * (verify - hmac - b64 - parse) / n / per
  printf "%-58s %8.0f  %4.1f%%\n", "  two settings (verified claims, SET LOCAL ROLE)", settings / n, 100 * settings / n / per
  printf "%-58s %8.0f  %4.1f%%\n", "  the jsonb result, built from the parse", jsonb / n, 100 * jsonb / n / per
  printf "%-58s %8.0f  %4.1f%%\n", "  handing the parse to the claims cache", adopt / n, 100 * adopt / n / per
  rest = per - verify / n - settings / n - jsonb / n - adopt / n
  printf "%-58s %8.0f  %4.1f%%\n", "  role check, guard, function call, rest", rest, 100 * rest / per
  printf "%-58s %8.0f\n", "key set import, once per backend (not in the above)", keys
}'
