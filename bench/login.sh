#!/usr/bin/env bash
# auth.login() per call, for HS256, ES256, RS256 and EdDSA, against a
# pgjwt-style verifier written in SQL with pgcrypto (HS256 only: pgjwt has no
# asymmetric algorithms) and against `openssl speed` verify rates. Each
# repetition signs in with 2,000 distinct tokens in one statement.
set -euo pipefail
source "$(dirname "$0")/timing.sh"
REPS="${REPS:-5}"
N="${LOGIN_TOKENS:-2000}"
factory="$CAREGUARD_ROOT/build/bench/careguard-token-factory"
[ -x "$factory" ] || { echo "build the CMake targets first (scripts/test.sh or build_cmake)"; exit 1; }
sub=8d0f7e6a-1111-4222-8333-944445555666

psql -X -q -v ON_ERROR_STOP=1 <<'SQL'
CREATE EXTENSION IF NOT EXISTS pgcrypto;
CREATE SCHEMA IF NOT EXISTS bench_ref;
-- A pgjwt-style HS256 verifier: base64url, HMAC and the comparison in SQL.
CREATE FUNCTION bench_ref.url_decode(data text) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
  WITH t AS (SELECT translate(data, '-_', '+/') AS trans),
       rem AS (SELECT length(t.trans) % 4 AS remainder FROM t)
  SELECT decode(t.trans || CASE WHEN rem.remainder > 0 THEN repeat('=', (4 - rem.remainder)) ELSE '' END, 'base64')
  FROM t, rem $$;
CREATE FUNCTION bench_ref.url_encode(data bytea) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT translate(encode(data, 'base64'), E'+/=\n', '-_') $$;
CREATE FUNCTION bench_ref.verify(token text, secret text) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT CASE
    WHEN convert_from(bench_ref.url_decode(r[1]), 'utf8')::jsonb ->> 'alg' <> 'HS256' THEN NULL
    WHEN bench_ref.url_encode(hmac(r[1] || '.' || r[2], secret, 'sha256')) <> r[3] THEN NULL
    WHEN (convert_from(bench_ref.url_decode(r[2]), 'utf8')::jsonb ->> 'exp')::numeric < extract(epoch FROM now()) THEN NULL
    ELSE convert_from(bench_ref.url_decode(r[2]), 'utf8')::jsonb END
  FROM regexp_split_to_array(token, '\.') r $$;
CREATE TABLE bench_ref.tokens (alg text, n int, token text);
SQL

declare -A ms_per_call
for alg in HS256 ES256 RS256 EdDSA; do
  mapfile -t lines < <("$factory" "$alg" "$N" "$sub" patient)
  if [ "$alg" = HS256 ]; then
    secret="${lines[0]}"
    psql -X -q -v ON_ERROR_STOP=1 -c "SELECT auth.import_hmac_secret('bench-hs256', '$secret')" >/dev/null
  else
    psql -X -q -v ON_ERROR_STOP=1 -c "SELECT auth.import_jwks('${lines[0]}', 'in_use')" >/dev/null
  fi
  printf '%s\n' "${lines[@]:1}" | awk -v a="$alg" '{print a "\t" NR "\t" $0}' |
    psql -X -q -v ON_ERROR_STOP=1 -c "\\copy bench_ref.tokens FROM STDIN"
done

# The real pgjwt, when it is installed here (it is not in Debian: build it from
# github.com/michelp/pgjwt beside this checkout), is measured in the same run.
pgjwt_schema=""
if [ "$(psql -X -At -c "SELECT count(*) FROM pg_catalog.pg_available_extensions WHERE name = 'pgjwt'")" = 1 ]; then
  # pgjwt calls pgcrypto's hmac() through its own schema: install it beside pgcrypto.
  pgjwt_schema="$(psql -X -At -c "SELECT extnamespace::regnamespace FROM pg_catalog.pg_extension WHERE extname = 'pgcrypto'")"
  psql -X -q -v ON_ERROR_STOP=1 -c "CREATE EXTENSION IF NOT EXISTS pgjwt SCHEMA $pgjwt_schema" >/dev/null
fi
pgjwt_query="SELECT count(*) FROM bench_ref.tokens, $pgjwt_schema.verify(token, '$secret') v WHERE alg = 'HS256' AND v.valid"

declare -A samples
for ((r = 1; r <= REPS; r++)); do
  [ -z "$pgjwt_schema" ] || samples[pgjwt]+=" $(time_sql "" "$pgjwt_query")"
  for alg in HS256 ES256 RS256 EdDSA; do
    samples[$alg]+=" $(time_sql "" "SELECT count(auth.login(token)) FROM bench_ref.tokens WHERE alg = '$alg'")"
  done
  samples[sqlref]+=" $(time_sql "" "SELECT count(bench_ref.verify(token, '$secret')) FROM bench_ref.tokens WHERE alg = 'HS256'")"
done
valid=$(psql -X -At -c "SELECT count(bench_ref.verify(token, '$secret')) FROM bench_ref.tokens WHERE alg = 'HS256'")
[ "$valid" = "$N" ] || { echo "the SQL reference rejected valid tokens ($valid of $N)"; exit 1; }
if [ -n "$pgjwt_schema" ]; then
  valid=$(psql -X -At -c "$pgjwt_query")
  [ "$valid" = "$N" ] || { echo "pgjwt rejected valid tokens ($valid of $N)"; exit 1; }
fi

speed=$(openssl speed -seconds 1 ecdsap256 rsa2048 ed25519 2>/dev/null)
ossl_us() {  # verify µs per operation from `openssl speed` output
  case "$1" in
    ES256) awk '/256 bits ecdsa \(nistp256\)/ {print 1e6/$NF; exit}' <<<"$speed" ;;
    RS256) awk '/^rsa 2048 bits/ {print 1e6/$NF; exit}' <<<"$speed" ;;
    EdDSA) awk '/253 bits EdDSA \(Ed25519\)/ {print 1e6/$NF; exit}' <<<"$speed" ;;
  esac
}

echo
echo "== auth.login(): $N distinct tokens per statement, µs per sign-in (verify + identity + SET LOCAL ROLE) =="
printf '%-8s %14s %22s %18s %12s\n' alg "careguard µs" "SQL reference µs" "openssl verify µs" ratio
sqlref=$(median ${samples[sqlref]})
for alg in HS256 ES256 RS256 EdDSA; do
  m=$(median ${samples[$alg]})
  if [ "$alg" = HS256 ]; then
    awk -v m="$m" -v s="$sqlref" -v n="$N" 'BEGIN {printf "%-8s %14.2f %22.2f %18s %9.1fx faster\n", "HS256", m*1000/n, s*1000/n, "-", s/m}'
  else
    o=$(ossl_us "$alg")
    awk -v a="$alg" -v m="$m" -v o="$o" -v n="$N" 'BEGIN {printf "%-8s %14.2f %22s %18.2f %9.2fx openssl\n", a, m*1000/n, "-", o, (m*1000/n)/o}'
  fi
done

if [ -n "$pgjwt_schema" ]; then
  awk -v m="$(median ${samples[HS256]})" -v p="$(median ${samples[pgjwt]})" -v n="$N" 'BEGIN {
    printf "HS256 against the real pgjwt verify(), same run: careguard %.2f us, pgjwt %.2f us: %.1fx faster\n", m*1000/n, p*1000/n, p/m }'
else
  echo "(pgjwt is not installed here: only the pgjwt-style SQL reference was measured)"
fi

# The figures above time a fresh backend each: they include its first
# sign-in (reading auth.signing_keys, importing the one key named) and the
# scan that finds the tokens. Here each verifier is first warmed up in the
# session, and the same scan with length() in place of the verifier is
# subtracted, so what is left is the cost of one sign-in. pgjwt is treated
# the same way.
# Each statement goes ROUNDS times through the tokens, so that it runs long
# enough (tens of ms) for a scheduling blip not to decide a measurement. A
# repetition is one session that takes INNER interleaved triples (sign-in,
# scan, pgjwt) and keeps the median of each: a subtraction of two single
# timings let one blip move a repetition's ratio from 7x to 19x.
ROUNDS="${LOGIN_ROUNDS:-5}"
INNER="${LOGIN_INNER:-5}"
hs="FROM bench_ref.tokens WHERE alg = 'HS256'"
hs_rounds="FROM bench_ref.tokens CROSS JOIN pg_catalog.generate_series(1, $ROUNDS) round WHERE alg = 'HS256'"
# verify() is a set-returning function in FROM: its argument names the round
# too, or the planner would call it once per token and join the rounds after.
pgjwt_rounds="SELECT count(*) FROM bench_ref.tokens CROSS JOIN pg_catalog.generate_series(1, $ROUNDS) round, $pgjwt_schema.verify(CASE WHEN round OPERATOR(pg_catalog.>) 0 THEN token END, '$secret') v WHERE alg = 'HS256' AND v.valid"
explain="EXPLAIN (ANALYZE, TIMING OFF, FORMAT TEXT)"
# Prints "login scan pgjwt": the medians, in ms, of one session's INNER triples.
warm_session() {
  {
    echo "BEGIN; SELECT count(auth.login(token)) $hs AND n = 1; ROLLBACK;"
    echo "SELECT count(length(token)) $hs_rounds;"
    [ -z "$pgjwt_schema" ] || echo "SELECT count(*) FROM bench_ref.tokens, $pgjwt_schema.verify(token, '$secret') v WHERE alg = 'HS256' AND n = 1 AND v.valid;"
    for ((i = 0; i < INNER; i++)); do
      echo "BEGIN; $explain SELECT count(auth.login(token)) $hs_rounds; ROLLBACK;"
      echo "$explain SELECT count(length(token)) $hs_rounds;"
      if [ -n "$pgjwt_schema" ]; then echo "$explain $pgjwt_rounds;"; else echo "SELECT 'Execution Time: 0 ms';"; fi
    done
  } | psql -X -At -v ON_ERROR_STOP=1 | sed -n 's/.*Execution Time: \([0-9.]*\) ms.*/\1/p' |
    interleaved_medians 3
}
declare -A net
for ((r = 1; r <= REPS; r++)); do
  read -r login_ms scan_ms pgjwt_ms < <(warm_session)
  net[login]+=" $login_ms"
  net[scan]+=" $scan_ms"
  if [ -n "$pgjwt_schema" ]; then
    net[pgjwt]+=" $pgjwt_ms"
    # The ratio of this repetition's medians, taken side by side in one
    # session: the machine's drift over the run cancels out of it.
    net[ratio]+=" $(awk -v l="$login_ms" -v s="$scan_ms" -v p="$pgjwt_ms" \
      'BEGIN {if (l > s) printf "%.2f", (p-s)/(l-s); else print "inf"}')"
  fi
  # A fresh backend's first sign-in, against its first length().
  net[first]+=" $(time_sql "" "SELECT count(auth.login(token)) $hs AND n = 1")"
  net[first_scan]+=" $(time_sql "" "SELECT count(length(token)) $hs AND n = 1")"
done
echo
echo "== HS256, one sign-in in a warmed backend, net of the scan (medians of $REPS sessions x $INNER x $ROUNDS x $N) =="
awk -v l="$(median ${net[login]})" -v s="$(median ${net[scan]})" -v p="$(median ${net[pgjwt]:-0})" \
    -v f="$(median ${net[first]})" -v fs="$(median ${net[first_scan]})" -v n="$N" \
    -v r="$([ -n "${net[ratio]:-}" ] && median ${net[ratio]})" -v reps="$REPS" -v all="${net[ratio]:-}" \
    -v k="$ROUNDS" 'BEGIN {
  printf "careguard auth.login   %8.2f us   (the scan alone: %.2f us per token)\n", (l-s)*1000/n/k, s*1000/n/k
  if (p > 0) printf "pgjwt verify()         %8.2f us   careguard is %.1fx faster (medians)\n", (p-s)*1000/n/k, (p-s)/(l-s)
  if (r != "") printf "per repetition:        careguard is %.1fx faster (median of the %d ratios: %s)\n", r, reps, all
  printf "first sign-in of a fresh backend: %.2f ms (its first length(): %.2f ms)\n", f, fs }'

# A sign-in and then the helpers, as a request reads them, against the same
# helpers after gateway claims: after auth.login() the cache already holds the
# parsed claims and their jsonb image, so auth.uid() and auth.jwt() parse
# nothing; after set_config() they parse the document once. Both routes end
# as role patient (the gateway's SET LOCAL ROLE), so the helpers run under
# the same privilege checks.
psql -X -q -v ON_ERROR_STOP=1 <<'SQL'
ALTER TABLE bench_ref.tokens ADD COLUMN payload text;
UPDATE bench_ref.tokens SET payload = convert_from(bench_ref.url_decode(split_part(token, '.', 2)), 'utf8');
CREATE FUNCTION bench_ref.request_loop(mode int, rounds int) RETURNS int LANGUAGE plpgsql AS $$
DECLARE t record; n int := 0; u uuid; j jsonb;
BEGIN
  FOR t IN SELECT token, payload FROM bench_ref.tokens CROSS JOIN pg_catalog.generate_series(1, rounds)
           WHERE alg = 'HS256' LOOP
    IF mode < 2 THEN
      PERFORM auth.login(t.token);
    ELSE
      PERFORM set_config('request.jwt.claims', t.payload, true);
      PERFORM set_config('role', 'patient', true);
    END IF;
    IF mode % 2 = 1 THEN u := auth.uid(); j := auth.jwt(); END IF;
    PERFORM set_config('role', 'none', true);
    n := n + 1;
  END LOOP;
  RETURN n;
END $$;
SQL
# One session per repetition, the four loops (ROUNDS x N requests each)
# interleaved INNER times; each repetition keeps its medians.
loop_session() {
  {
    echo "BEGIN; SELECT bench_ref.request_loop(1, 1); SELECT bench_ref.request_loop(3, 1); ROLLBACK;"
    for ((i = 0; i < INNER; i++)); do
      for mode in 0 1 2 3; do echo "BEGIN; $explain SELECT bench_ref.request_loop($mode, $ROUNDS); ROLLBACK;"; done
    done
  } | psql -X -At -v ON_ERROR_STOP=1 | sed -n 's/.*Execution Time: \([0-9.]*\) ms.*/\1/p' |
    interleaved_medians 4
}
declare -A loop
for ((r = 1; r <= REPS; r++)); do
  read -r m0 m1 m2 m3 < <(loop_session)
  loop[0]+=" $m0"
  loop[1]+=" $m1"
  loop[2]+=" $m2"
  loop[3]+=" $m3"
done
echo
echo "== a request's identity, then auth.uid() and auth.jwt(): µs per request (HS256, plpgsql loop of $ROUNDS x $N, medians of $REPS sessions x $INNER) =="
awk -v a="$(median ${loop[0]})" -v b="$(median ${loop[1]})" -v c="$(median ${loop[2]})" -v d="$(median ${loop[3]})" -v n="$((N * ROUNDS))" 'BEGIN {
  printf "%-52s %10.2f\n", "auth.login(token)", a*1000/n
  printf "%-52s %10.2f   helpers add %.2f (claims adopted: no parse)\n", "auth.login(token), auth.uid(), auth.jwt()", b*1000/n, (b-a)*1000/n
  printf "%-52s %10.2f\n", "set_config(request.jwt.claims), role patient", c*1000/n
  printf "%-52s %10.2f   helpers add %.2f (one parse of the document)\n", "set_config(...), role patient, auth.uid(), auth.jwt()", d*1000/n, (d-c)*1000/n
}'
