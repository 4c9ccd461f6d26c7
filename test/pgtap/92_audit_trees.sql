-- Issue 13: the holes an attack review exploited while the audit reported
-- clean, judged on expression trees; no false alarms on Supabase's own
-- patterns; splinter's lints; a clean install with no warning.
BEGIN;
SELECT plan(16);

\ir ../audit/fixture.sql

CREATE TEMP TABLE found AS
  SELECT rule, severity, object, detail, fix FROM careguard.audit(ARRAY['audit_fixture']);

-- 1. Policies that fold to true, however they are written.
SELECT set_eq(
  $$SELECT rule, object FROM found WHERE object LIKE '% on audit_fixture.folded_true'$$,
  $$VALUES ('write_policy_using_true', 'folded_upd on audit_fixture.folded_true'),
           ('write_policy_unchecked', 'folded_upd on audit_fixture.folded_true'),
           ('write_policy_using_true', 'folded_del on audit_fixture.folded_true'),
           ('write_policy_unchecked', 'folded_ins on audit_fixture.folded_true')$$,
  'USING (1 = 1), USING (true OR x) and WITH CHECK (coalesce(true, ...)) are always-true write policies');
SELECT results_eq(
  $$SELECT p.polname::text COLLATE "default", careguard.audit_always_true(p.polqual), careguard.audit_always_true(p.polwithcheck)
    FROM pg_policy p WHERE p.polrelid IN ('audit_fixture.folded_true'::regclass, 'audit_fixture.tutorial'::regclass)
    ORDER BY 1$$,
  $$VALUES ('folded_del', true, NULL::boolean), ('folded_ins', NULL, true), ('folded_upd', true, NULL),
           ('tutorial_del', false, NULL), ('tutorial_ins', NULL, false), ('tutorial_restrict', NULL, NULL),
           ('tutorial_upd', false, NULL)$$,
  'audit_always_true folds built-in code only: a user function is never evaluated, whatever it returns');

-- 2. No false alarms: Supabase's tutorial UPDATE policy without WITH CHECK,
-- a RESTRICTIVE INSERT policy without one.
SELECT is_empty($$SELECT rule, object FROM found WHERE object LIKE '%audit_fixture.tutorial%'$$,
  'the tutorial policy, a RESTRICTIVE policy without WITH CHECK and a user-function policy raise nothing');

-- 3. RLS disabled on a PHI table granted to a role outside anon/authenticated.
SELECT ok((SELECT severity = 'error' AND detail LIKE '%audit_fixture_clerk can SELECT%(a PHI schema)%'
                  AND fix LIKE 'ALTER TABLE audit_fixture.clerk_exposed ENABLE ROW LEVEL SECURITY%'
           FROM found WHERE rule = 'rls_disabled_exposed' AND object = 'audit_fixture.clerk_exposed'),
  'a PHI table without RLS readable by a back-office role is an error naming the role');

-- 4. A materialized view over auth.users and a foreign table, for that role.
SELECT set_eq(
  $$SELECT rule, severity FROM found WHERE object IN ('audit_fixture.user_emails', 'audit_fixture.clerk_remote')$$,
  $$VALUES ('auth_users_exposed', 'error'), ('materialized_view_in_api', 'error'), ('foreign_table_in_api', 'error')$$,
  'a materialized view over auth.users and a foreign table readable by any role are errors');

-- 5. Inlinable helpers hijackable through IS NOT DISTINCT FROM and an
-- unqualified call; the qualified look-alike is clean.
SELECT ok((SELECT detail LIKE '%IS NOT DISTINCT FROM (=)%' FROM found
           WHERE rule = 'function_implicit_operator' AND object = 'audit_fixture.same_owner(a uuid, b uuid)'),
  'IS NOT DISTINCT FROM in an inlinable helper is reported as an operator the search_path resolves');
SELECT ok((SELECT severity = 'error' AND detail LIKE '%calls uuid_eq() without a schema%' FROM found
           WHERE rule = 'function_unqualified_name' AND object = 'audit_fixture.owner_matches(a uuid, b uuid)'),
  'an unqualified call in an inlinable helper is an error');
SELECT is_empty($$SELECT rule FROM found WHERE object LIKE 'audit_fixture.owner_matches_qualified%'$$,
  'the fully qualified helper is clean');

-- 6. The raw-tree reader names every lookup a body leaves to the path.
SELECT results_eq(
  $$SELECT kind, name, construct FROM careguard.audit_search_path_names(
      'SELECT a IS DISTINCT FROM b AND uuid_eq(a, b) AND x::uuid = y AND NULLIF(a, b) IN (1)
              AND pg_catalog.lower(q) OPERATOR(pg_catalog.=) ''a'' AND k BETWEEN 1 AND 2
         FROM parent, (WITH c AS (SELECT 1) SELECT * FROM c) s')$$,
  $$VALUES ('operator', '=', 'IS DISTINCT FROM'), ('function', 'uuid_eq', 'call'), ('operator', '=', 'operator'),
           ('type', 'uuid', 'type name'), ('operator', '=', 'IN (...)'), ('operator', '=', 'NULLIF'),
           ('operator', '>=', 'BETWEEN'), ('operator', '<=', 'BETWEEN'), ('relation', 'parent', 'relation')$$,
  'audit_search_path_names: operators, calls, types and relations, not qualified names or CTEs');
SELECT is((SELECT array_agg(kind) FROM careguard.audit_search_path_names('SELECT FROM WHERE')),
  ARRAY['unparsed'], 'a body that does not parse is reported as such, not as clean');

-- 7. splinter's hygiene lints.
SELECT set_eq(
  $$SELECT rule, object FROM found
    WHERE rule IN ('no_primary_key', 'duplicate_index', 'unsupported_reg_types', 'fkey_to_auth_unique',
                   'sensitive_columns_exposed', 'secdef_executable_by_authenticated')$$,
  $$VALUES ('no_primary_key', 'audit_fixture.no_pk'), ('duplicate_index', 'audit_fixture.no_pk'),
           ('unsupported_reg_types', 'audit_fixture.no_pk.handler'),
           ('fkey_to_auth_unique', 'email_ref_phone_fk on audit_fixture.email_ref'),
           ('sensitive_columns_exposed', 'audit_fixture.clerk_exposed'),
           ('secdef_executable_by_authenticated', 'audit_fixture.secdef_for_users()')$$,
  'no primary key, duplicate indexes, reg* columns, keys to auth uniques, sensitive columns, definers for users');
-- pgTAP is installed in public in this database.
SELECT ok(EXISTS (SELECT 1 FROM careguard.audit(ARRAY['public']) WHERE rule = 'extension_in_public' AND object = 'pgtap'),
  'an extension in schema public is reported when public is audited');
CREATE EXTENSION pg_trgm VERSION '1.5' SCHEMA audit_fixture;
SELECT ok(EXISTS (SELECT 1 FROM careguard.audit(ARRAY['audit_fixture'])
                  WHERE rule = 'extension_versions_outdated' AND object = 'pg_trgm' AND fix = 'ALTER EXTENSION pg_trgm UPDATE'),
  'an extension older than its default version is reported');
DROP EXTENSION pg_trgm;

-- 8. Every finding has a fix, and every rule is in the catalogue.
SELECT is_empty($$SELECT rule FROM found WHERE coalesce(fix, '') = ''
                  OR rule NOT IN (SELECT rule FROM careguard.audit_rules())$$,
  'every finding of the new rules has a fix and a catalogued severity');

-- 9. The default audit covers a schema no list names (the fixture's).
SELECT ok(EXISTS (SELECT 1 FROM careguard.audit() WHERE object = 'audit_fixture.clerk_exposed'),
  'the default audit finds the hole outside the demo''s schemas');

-- 10. A clean install of careguard and careguard_booking has no warning and
-- no error: everything but the fixture, pgTAP and the test helpers (which
-- this database adds) is the clean install.
SELECT is_empty(
  $$SELECT a.rule, a.object FROM careguard.audit() a
    WHERE a.severity IN ('error', 'warning') AND a.object NOT LIKE '%audit\_fixture%'
      AND NOT (a.rule = 'extension_in_public' AND a.object IN ('pgtap', 'careguard_test'))
      AND a.object NOT LIKE 'tests.%'
      AND a.object NOT IN (
        SELECT format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid))
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
        JOIN pg_extension e ON e.oid = d.refobjid AND e.extname NOT IN ('careguard', 'careguard_booking'))$$,
  'a clean install has no warning and no error');

SELECT * FROM finish();
ROLLBACK;
