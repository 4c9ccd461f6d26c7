-- careguard.audit(): every rule fires on its plant in test/audit/fixture.sql
-- and nowhere else; the clean install has no error finding; and
-- careguard.access_matrix() changes nothing while reporting who can do what.
BEGIN;
SELECT plan(21);

\ir ../audit/fixture.sql

-- 1. The fixture's findings are exactly the planted ones (privileged_role is
-- a cluster-wide inventory: checked separately below).
SELECT set_eq(
  $$SELECT rule, object FROM careguard.audit(ARRAY['audit_fixture']) WHERE rule <> 'privileged_role'$$,
  $$VALUES
    ('rls_disabled_exposed', 'audit_fixture.exposed'),
    ('rls_not_forced', 'audit_fixture.not_forced'),
    ('policy_without_rls', 'audit_fixture.policy_no_rls'),
    ('rls_no_policy', 'audit_fixture.no_policy'),
    ('write_policy_unchecked', 'insert_unchecked_ins on audit_fixture.insert_unchecked'),
    ('write_policy_using_true', 'delete_all_del on audit_fixture.delete_all'),
    ('multiple_permissive_policies', 'audit_fixture.two_permissive'),
    ('policy_reads_user_metadata', 'metadata_gate_read on audit_fixture.metadata_gate'),
    ('policy_calls_volatile', 'volatile_gate_read on audit_fixture.volatile_gate'),
    ('policy_per_row_claims', 'claims_per_row_read on audit_fixture.claims_per_row'),
    ('policy_column_unindexed', 'audit_fixture.unindexed_owner.owner'),
    ('fk_without_index', 'child_parent_fk on audit_fixture.child'),
    ('secdef_mutable_search_path', 'audit_fixture.secdef_unpinned()'),
    ('secdef_executable_by_anon', 'audit_fixture.secdef_for_anon()'),
    ('function_mutable_search_path', 'audit_fixture.count_parents()'),
    ('function_implicit_operator', 'audit_fixture.can_read_owned(row_owner uuid, as_role text)'),
    ('view_bypasses_rls', 'audit_fixture.parent_owner_view'),
    ('phi_public_grant', 'audit_fixture.phi_granted'),
    ('extension_table_not_dumped', 'audit_fixture.ext_undumped'),
    ('phi_column_statistics', 'audit_fixture.free_text_stats.diagnosis'),
    ('rls_disabled_exposed', 'audit_fixture.member_exposed'),
    ('secdef_mutable_search_path', 'audit_fixture.secdef_public_path()'),
    ('policy_reads_raw_claims', 'claims_per_row_read on audit_fixture.claims_per_row'),
    ('policy_reads_raw_claims', 'claims_per_row_ins on audit_fixture.claims_per_row'),
    ('materialized_view_in_api', 'audit_fixture.owned_mv'),
    ('foreign_table_in_api', 'audit_fixture.remote_rows'),
    ('auth_users_exposed', 'audit_fixture.user_emails'),
    ('fkey_to_auth_unique', 'email_ref_phone_fk on audit_fixture.email_ref'),
    ('foreign_table_in_api', 'audit_fixture.clerk_remote'),
    ('function_implicit_operator', 'audit_fixture.same_owner(a uuid, b uuid)'),
    ('function_unqualified_name', 'audit_fixture.owner_matches(a uuid, b uuid)'),
    ('materialized_view_in_api', 'audit_fixture.user_emails'),
    ('rls_disabled_exposed', 'audit_fixture.clerk_exposed'),
    ('sensitive_columns_exposed', 'audit_fixture.clerk_exposed'),
    ('write_policy_unchecked', 'folded_ins on audit_fixture.folded_true'),
    ('write_policy_unchecked', 'folded_upd on audit_fixture.folded_true'),
    ('write_policy_using_true', 'folded_del on audit_fixture.folded_true'),
    ('write_policy_using_true', 'folded_upd on audit_fixture.folded_true'),
    ('duplicate_index', 'audit_fixture.no_pk'),
    ('unsupported_reg_types', 'audit_fixture.no_pk.handler'),
    ('no_primary_key', 'audit_fixture.no_pk'),
    ('secdef_executable_by_authenticated', 'audit_fixture.secdef_for_users()')$$,
  'each planted flaw is found, and nothing else in the fixture');

-- 2. Each plant fires exactly once (no duplicates hide in set_eq).
SELECT is(
  (SELECT count(*) FROM careguard.audit(ARRAY['audit_fixture']) WHERE rule <> 'privileged_role'),
  42::bigint, 'forty-two schema-scoped findings: one per plant');

-- 3. The BYPASSRLS fixture role appears once in the role inventory.
SELECT is(
  (SELECT count(*) FROM careguard.audit(ARRAY['audit_fixture'])
   WHERE rule = 'privileged_role' AND object = 'audit_fixture_bypass'),
  1::bigint, 'privileged_role lists the BYPASSRLS fixture role once');

-- 4. Every catalogued rule is exercised by the fixture, except the preload
-- rule, which only a server without the preload can show
-- (test/shell/preload_paths.sh does), the two extension rules, which
-- test/pgtap/92_audit_trees.sql plants, and the plan rules, whose fixture is
-- test/plans/fixture.sql (test/pgtap/93_query_plans.sql).
SELECT set_eq(
  $$SELECT DISTINCT rule FROM careguard.audit(ARRAY['audit_fixture'])$$,
  $$SELECT rule FROM careguard.audit_rules()
    WHERE rule NOT IN ('careguard_not_preloaded', 'extension_in_public', 'extension_versions_outdated')
      AND rule NOT LIKE 'plan\_%'$$,
  'the fixture exercises every rule of the catalogue');
SELECT ok(careguard.is_preloaded() AND NOT EXISTS (
            SELECT 1 FROM careguard.audit() WHERE rule = 'careguard_not_preloaded'),
  'a preloaded server has no careguard_not_preloaded finding');

-- 4b. The statistics rule: SET STATISTICS 0 alone leaves the sample values
-- ANALYZE already stored; the finding stays until they are gone.
ALTER TABLE audit_fixture.free_text_stats ALTER COLUMN diagnosis SET STATISTICS 0;
SELECT ok(EXISTS (SELECT 1 FROM careguard.audit(ARRAY['audit_fixture'])
                  WHERE rule = 'phi_column_statistics' AND detail LIKE '%still has statistics%'),
  'phi_column_statistics still fires while old statistics remain after SET STATISTICS 0');
DELETE FROM pg_statistic WHERE starelid = 'audit_fixture.free_text_stats'::regclass
  AND staattnum = (SELECT attnum FROM pg_attribute WHERE attrelid = 'audit_fixture.free_text_stats'::regclass
                   AND attname = 'diagnosis');

-- 5. Severities come from the catalogue and are valid.
SELECT is_empty(
  $$SELECT a.rule FROM careguard.audit(ARRAY['audit_fixture']) a
    JOIN careguard.audit_rules() r USING (rule)
    WHERE a.severity IS DISTINCT FROM r.severity
       OR a.severity NOT IN ('error', 'warning', 'info')$$,
  'every finding carries its rule''s documented severity');

-- 6. Every finding says how to fix it.
SELECT is_empty(
  $$SELECT rule FROM careguard.audit(ARRAY['audit_fixture']) WHERE coalesce(fix, '') = '' OR coalesce(detail, '') = ''$$,
  'every finding has a detail and a fix');

-- 7. Only named schemas are inspected, and a schema that does not exist is an
-- error, never a clean report; by default every non-system schema is.
SELECT is_empty(
  $$SELECT rule FROM careguard.audit(ARRAY['auth']) WHERE object LIKE 'audit_fixture.%'$$,
  'a schema list without the fixture finds nothing in it');
SELECT throws_ok($$SELECT * FROM careguard.audit(ARRAY['audit_fixtrue'])$$, '3F000',
  'schema "audit_fixtrue" does not exist', 'a mistyped schema is an error');
SELECT ok((SELECT count(*) FROM careguard.audit() WHERE object LIKE 'audit_fixture.%') > 0,
  'the default audit covers the fixture''s schema, which no list names');

-- 8. The clean install: no error outside objects other extensions (pgTAP) own.
SELECT is_empty(
  $$SELECT a.rule, a.object FROM careguard.audit() a
    WHERE a.severity = 'error' AND a.object NOT LIKE '%audit\_fixture.%'
      AND a.object NOT IN (
        SELECT format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid))
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
        JOIN pg_extension e ON e.oid = d.refobjid AND e.extname NOT LIKE 'careguard%')$$,
  'a clean install of careguard has no error finding');

-- 9. function_implicit_operator names the offending fragments and the policy
-- that calls the function, and leaves the qualified look-alike alone.
SELECT ok(
  (SELECT detail LIKE '%simple CASE (=) in "SELECT CASE as_role WHEN%' AND detail LIKE '%operator (=) in "%row_owner = auth.uid()%'
          AND detail LIKE '%clean_read_patient on audit_fixture.clean_owned%'
          AND fix LIKE '%OPERATOR(pg_catalog.op)%'
   FROM careguard.audit(ARRAY['audit_fixture'])
   WHERE rule = 'function_implicit_operator' AND object LIKE 'audit_fixture.can_read_owned(%'),
  'function_implicit_operator reports the simple CASE, the bare = and the calling policy');

-- 10. The view is the audit over the default schemas.
SELECT set_eq('SELECT * FROM careguard.audit_findings', 'SELECT * FROM careguard.audit()',
  'careguard.audit_findings equals careguard.audit()');

-- 11-13. The access matrix on the fixture's clean table.
CREATE TEMP TABLE matrix AS
  SELECT * FROM careguard.access_matrix($$[
      {"name": "owner_a", "role": "authenticated", "claims": {"sub": "00000000-0000-4000-8000-00000000000a"}},
      {"name": "anon", "role": "anon"},
      {"name": "admin", "role": "admin", "claims": {"sub": "00000000-0000-4000-8000-0000000000ad"}}
    ]$$, ARRAY['audit_fixture']);
SELECT results_eq(
  $$SELECT context, selectable_rows, can_insert, can_update, can_delete, select_sqlstate, delete_sqlstate
    FROM matrix WHERE relation = 'audit_fixture.clean_owned' ORDER BY context$$,
  $$VALUES ('admin', 3::bigint, true, true, true, NULL::text, NULL::text),
           ('anon', NULL::bigint, false, false, false, '42501', '42501'),
           ('owner_a', 2::bigint, true, true, false, NULL, '02000')$$,
  'clean_owned: the owner sees 2 rows and may insert/update but not delete; anon is refused; admin may do all');
SELECT is(
  (SELECT insert_sqlstate FROM matrix WHERE context = 'owner_a' AND relation = 'audit_fixture.clean_owned'),
  '23505', 'the owner''s INSERT passed the policy and stopped at the duplicate key');
SELECT is(
  (SELECT count(*) FROM matrix), 3 * (SELECT count(*) FROM pg_class c
    WHERE c.relnamespace = 'audit_fixture'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition),
  'one row per context and table, row-level security or not');

-- 14-15. Nothing changes: every table's rows are identical before and after
-- the default matrix and the fixture matrix, and identity is restored.
CREATE TEMP TABLE checksums_before AS
  SELECT c.oid::regclass AS rel,
         (xpath('/row/md5/text()', query_to_xml(format(
            'SELECT md5(coalesce(string_agg(t::text, ''|'' ORDER BY t::text), '''')) FROM %s t', c.oid::regclass),
            false, true, '')))[1]::text AS checksum
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind = 'r' AND n.nspname IN ('audit_fixture', 'public', 'providers', 'patients', 'bookings', 'auth', 'careguard');
CREATE TEMP TABLE matrix_runs AS
  SELECT set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8000-0000000000ff"}', true) AS claims,
         (SELECT count(*) FROM careguard.access_matrix()) AS default_cells,
         (SELECT count(*) FROM careguard.access_matrix(NULL, ARRAY['audit_fixture'])) AS fixture_cells;
SELECT is_empty(
  $$SELECT b.rel FROM checksums_before b WHERE b.checksum IS NULL
    UNION ALL
    SELECT b.rel FROM checksums_before b
    WHERE b.checksum IS DISTINCT FROM (xpath('/row/md5/text()', query_to_xml(format(
            'SELECT md5(coalesce(string_agg(t::text, ''|'' ORDER BY t::text), '''')) FROM %s t', b.rel),
            false, true, '')))[1]::text$$,
  'every table''s checksum is identical after the access matrix ran');
SELECT ok(current_user = session_user
          AND current_setting('request.jwt.claims', true) = '{"sub":"00000000-0000-4000-8000-0000000000ff"}',
          'the caller''s role and claims are restored after the access matrix');

-- 16. A bad context is refused clearly.
SELECT throws_ok($$SELECT * FROM careguard.access_matrix('[{"role": "no_such_role_xyz"}]')$$,
  '22023', NULL, 'a context naming an unknown role is rejected');

-- 17. Only superusers (or granted DBAs) may run the matrix.
SET LOCAL ROLE authenticated;
SELECT throws_ok('SELECT * FROM careguard.access_matrix()', '42501', NULL,
  'access_matrix is not executable by application roles');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
