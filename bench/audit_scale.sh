#!/usr/bin/env bash
# The audit at scale: careguard.audit() over a schema of TABLES tables with
# POLICIES_PER_TABLE policies each (10,000 policies by default), next to the
# same audit over a tenth of it (the reference: the ratio shows whether the
# cost grows linearly). Each table has a primary key, an indexed owner
# column and Supabase-style policies, a tenth of which call an inlinable SQL
# helper (so the raw-parse and folding paths run too). Medians of REPS runs
# of SELECT count(*) FROM careguard.audit(...), the two sizes interleaved.
set -euo pipefail
source "$(dirname "$0")/timing.sh"
REPS="${REPS:-3}"
TABLES="${TABLES:-1000}"
POLICIES_PER_TABLE="${POLICIES_PER_TABLE:-10}"

# Drops a schema's tables a hundred per transaction (one transaction would
# need more locks than max_locks_per_transaction allows), then the schema.
drop_schema() {
  local schema="$1"
  while [ "$(psql -X -At -c "SELECT count(*) FROM pg_class WHERE relkind = 'r'
                              AND relnamespace = to_regnamespace('$schema')")" != 0 ]; do
    psql -X -q -v ON_ERROR_STOP=1 -c "DO \$\$ DECLARE r regclass; BEGIN
      FOR r IN SELECT oid FROM pg_class WHERE relkind = 'r' AND relnamespace = '$schema'::regnamespace LIMIT 100
      LOOP EXECUTE format('DROP TABLE %s', r); END LOOP; END \$\$"
  done
  psql -X -q -c "SET client_min_messages = warning" -c "DROP SCHEMA IF EXISTS $schema CASCADE"
}

build() {
  local schema="$1" tables="$2"
  drop_schema "$schema"
  psql -X -q -v ON_ERROR_STOP=1 <<SQL
CREATE SCHEMA $schema;
GRANT USAGE ON SCHEMA $schema TO authenticated;
CREATE FUNCTION $schema.owns(row_owner uuid) RETURNS boolean LANGUAGE sql STABLE
  AS \$\$ SELECT row_owner OPERATOR(pg_catalog.=) auth.uid() \$\$;
SQL
  for first in $(seq 1 100 "$tables"); do
    psql -X -q -v ON_ERROR_STOP=1 <<SQL
DO \$\$
DECLARE t text; roles text[] := ARRAY['patient', 'provider', 'admin', 'authenticated', 'analyst'];
BEGIN
  FOR i IN $first..$((first + 99 < tables ? first + 99 : tables)) LOOP
    t := format('%I.t%s', '$schema', i);
    EXECUTE format('CREATE TABLE %s (id bigint PRIMARY KEY, owner uuid NOT NULL, note text)', t);
    EXECUTE format('CREATE INDEX ON %s (owner)', t);
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %s TO authenticated', t);
    FOR j IN 1..$POLICIES_PER_TABLE LOOP
      EXECUTE format('CREATE POLICY p%s ON %s FOR %s TO %I %s', j, t,
        (ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE'])[1 + j % 4], roles[1 + (j / 4) % 5],
        CASE 1 + j % 4
          WHEN 2 THEN 'WITH CHECK (owner = (SELECT auth.uid()))'
          WHEN 3 THEN 'USING ((SELECT auth.uid()) = owner)'
          ELSE CASE WHEN j = 1 THEN format('USING (%I.owns(owner))', '$schema')
                    ELSE 'USING (owner = auth.uid() OR 1 = 0)' END END);
    END LOOP;
  END LOOP;
END \$\$;
SQL
  done
}

echo
echo "== audit at scale: careguard.audit() over $((TABLES * POLICIES_PER_TABLE)) policies =="
build bench_audit_big "$TABLES"
build bench_audit_small "$((TABLES / 10))"
psql -X -q -c "ANALYZE" >/dev/null
for schema in bench_audit_big bench_audit_small; do
  echo "$schema: $(psql -X -At -c "SELECT count(*) FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
                                  WHERE c.relnamespace = '$schema'::regnamespace") policies," \
       "$(psql -X -At -c "SELECT count(*) FROM careguard.audit(ARRAY['$schema'])") findings"
done
big=() small=()
for _ in $(seq "$REPS"); do
  big+=("$(time_sql "" "SELECT count(*) FROM careguard.audit(ARRAY['bench_audit_big'])")")
  small+=("$(time_sql "" "SELECT count(*) FROM careguard.audit(ARRAY['bench_audit_small'])")")
done
mb="$(median "${big[@]}")" ms="$(median "${small[@]}")"
printf '%-40s %10s ms\n' "audit, $((TABLES * POLICIES_PER_TABLE)) policies" "$mb"
printf '%-40s %10s ms\n' "audit, $((TABLES * POLICIES_PER_TABLE / 10)) policies (reference)" "$ms"
awk -v b="$mb" -v s="$ms" 'BEGIN { printf "%-40s %10.1fx (10x the policies)\n", "ratio", b / s }'
drop_schema bench_audit_big
drop_schema bench_audit_small
