#!/usr/bin/env bash
# Validates careguard-audit's SARIF with Microsoft's SARIF multitool, pinned
# in test/sarif/package-lock.json (installed with npm ci when missing): the
# SARIF 2.1.0 rules and GitHub code scanning's ingestion rules
# (--rule-kind "Sarif;Gh"). Two logs are checked, each from a database with
# findings: the audit of test/audit/fixture.sql, and a policy diff that
# widens. Fails on any error or warning; notes are counted and printed.
#   CAREGUARD_AUDIT=build/tools/careguard-audit scripts/sarif-validate.sh
# Uses the PG* environment of a running cluster (superuser).
set -euo pipefail
cd "$(dirname "$0")/.."
CLI="${CAREGUARD_AUDIT:-build/tools/careguard-audit}"
if [ ! -x test/sarif/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool ]; then
  npm ci --prefix test/sarif --no-audit --no-fund >/dev/null
fi
# The binary directly: the package's bin.js hands arguments to a shell,
# which would split "Sarif;Gh".
MULTITOOL=test/sarif/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool
chmod u+x "$MULTITOOL"
# .NET without ICU: the validator needs no culture data.
export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1
work="$(mktemp -d /tmp/careguard-sarif.XXXXXX)"
db_audit=careguard_sarif_audit db_from=careguard_sarif_from db_to=careguard_sarif_to
cleanup() {
  psql -X -q -d "$db_audit" -f test/audit/teardown.sql >/dev/null 2>&1 || true
  for db in "$db_audit" "$db_from" "$db_to"; do
    psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
for db in "$db_audit" "$db_from" "$db_to"; do
  psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
  psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "CREATE SCHEMA extensions" \
    -c "SET client_min_messages = warning" -c "CREATE EXTENSION careguard_booking SCHEMA extensions CASCADE"
done
PGOPTIONS="-c client_min_messages=warning" psql -X -q -1 -v ON_ERROR_STOP=1 -d "$db_audit" -f test/audit/fixture.sql >/dev/null
"$CLI" -q --dsn "dbname=$db_audit" --format sarif --fail-on never -o "$work/audit.sarif"
# A widening migration: a policy opened to anon, an OR branch, FORCE dropped.
psql -X -q -1 -v ON_ERROR_STOP=1 -d "$db_to" >/dev/null <<'SQL'
SET LOCAL careguard.allow_policy_gap = 'scripts/sarif-validate.sh widens a scratch database on purpose';
ALTER POLICY appointments_select_patient ON bookings.appointments TO patient, anon;
ALTER TABLE patients.profiles NO FORCE ROW LEVEL SECURITY;
GRANT DELETE ON providers.profiles TO anon;
SQL
set +e
"$CLI" diff -q --from "dbname=$db_from" --to "dbname=$db_to" --format sarif -o "$work/diff.sarif"
diff_exit=$?
set -e
if [ "$diff_exit" -ne 1 ]; then
  echo "careguard-audit diff exited $diff_exit on a widening change, expected 1" >&2
  exit 1
fi

status=0
for log in audit diff; do
  rm -f "$work/$log.validation.sarif"
  "$MULTITOOL" validate --rule-kind "Sarif;Gh" --level "Error;Warning;Note" \
    -o "$work/$log.validation.sarif" "$work/$log.sarif" >/dev/null
  summary="$(node -e '
    const log = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const counts = {error: 0, warning: 0, note: 0};
    const rules = {};
    for (const run of log.runs) for (const r of run.results || []) {
      const level = r.level || "warning";
      counts[level] = (counts[level] || 0) + 1;
      if (level !== "note") rules[r.ruleId] = (rules[r.ruleId] || 0) + 1;
    }
    const input = JSON.parse(require("fs").readFileSync(process.argv[2], "utf8"));
    const n = input.runs[0].results.length, k = input.runs[0].tool.driver.rules.length;
    console.log(`${counts.error} ${counts.warning} ${counts.note} ${n} ${k} ${JSON.stringify(rules)}`);
  ' "$work/$log.validation.sarif" "$work/$log.sarif")"
  read -r errors warnings notes results rules detail <<<"$summary"
  echo "sarif-multitool 5.7.0 --rule-kind Sarif;Gh on the $log log ($results results, $rules rules): $errors errors, $warnings warnings, $notes notes $detail"
  if [ "$errors" -ne 0 ] || [ "$warnings" -ne 0 ]; then
    status=1
    grep -o '"text": "[^"]*"' "$work/$log.validation.sarif" | head -20 >&2 || true
  fi
done
exit "$status"
