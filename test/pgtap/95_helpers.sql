-- careguard_test helpers: authenticate / clear_authentication switch identity
-- transaction-locally, rls_enabled_on_schema and rows_visible_as emit TAP.
BEGIN;
SELECT plan(14);

\ir ../audit/fixture.sql

-- authenticate: role and claims as PostgREST would set them.
SELECT careguard_test.authenticate('00000000-0000-4000-8000-00000000000a', 'authenticated',
                                   '{"provider_id": "00000000-0000-4000-8000-0000000000cc"}');
SELECT is(current_user::text, 'authenticated', 'authenticate switches the role');
SELECT is(auth.uid(), '00000000-0000-4000-8000-00000000000a'::uuid, 'authenticate sets sub');
SELECT is(auth.jwt() ->> 'provider_id', '00000000-0000-4000-8000-0000000000cc', 'extra claims are merged');
SELECT is((SELECT count(*) FROM audit_fixture.clean_owned), 2::bigint, 'RLS applies to the authenticated user');

SELECT careguard_test.clear_authentication();
SELECT is(current_user, session_user, 'clear_authentication restores the session user');
SELECT is(auth.uid(), NULL, 'clear_authentication removes the claims');

-- rls_enabled_on_schema passes on a fully protected schema ...
CREATE SCHEMA helper_ok;
CREATE TABLE helper_ok.t (id int PRIMARY KEY);
ALTER TABLE helper_ok.t ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
SELECT careguard_test.rls_enabled_on_schema('helper_ok');
-- ... and names the offenders where RLS is missing (checked without
-- counting a failure: the companion function returns them).
SELECT set_eq($$SELECT table_name FROM careguard_test.tables_without_rls('audit_fixture')$$,
  $$VALUES ('audit_fixture.exposed'), ('audit_fixture.private_no_rls'), ('audit_fixture.policy_no_rls'),
           ('audit_fixture.not_forced'), ('audit_fixture.member_exposed'),
           ('audit_fixture.clerk_exposed')$$,
  'tables_without_rls lists exactly the fixture tables lacking enabled+forced RLS');
-- The failing branch, as a TODO test so it does not fail the suite; its
-- TAP text must say "not ok" and name an offender in a diagnostic.
SELECT todo_start('deliberately failing: audit_fixture lacks RLS on purpose');
CREATE TEMP TABLE failing_tap AS SELECT careguard_test.rls_enabled_on_schema('audit_fixture') AS tap;
SELECT tap FROM failing_tap;
SELECT todo_end();
SELECT matches((SELECT tap FROM failing_tap), '^not ok [0-9]+ .*\n# without RLS: .*audit_fixture\.exposed',
  'rls_enabled_on_schema fails and names the unprotected tables');

-- rows_visible_as: TAP `is` under a context; identity is undone afterwards.
SELECT careguard_test.rows_visible_as('SELECT * FROM audit_fixture.clean_owned', 2,
  '00000000-0000-4000-8000-00000000000a', 'authenticated');
SELECT careguard_test.rows_visible_as('SELECT * FROM audit_fixture.clean_owned', 1,
  '00000000-0000-4000-8000-00000000000b', 'authenticated', '{}', 'owner b sees its one row');
SELECT is(careguard_test.count_visible_as('SELECT * FROM audit_fixture.clean_owned',
  '00000000-0000-4000-8000-00000000000c', 'authenticated'), 0::bigint, 'a stranger sees nothing');
SELECT is(current_user, session_user, 'rows_visible_as leaves the caller''s identity untouched');

SELECT * FROM finish();
ROLLBACK;
