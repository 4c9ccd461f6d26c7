-- What this proves: a role that can create objects in a schema on its own
-- search_path cannot change what the policies decide. The attack plants an
-- `=` for text that answers true only for 'admin': if an inlined access
-- function compared its role argument with a bare `=` (for example a simple
-- CASE as_role WHEN ...), the patient's policy would fold to the admin branch
-- and show every row. Also: no inlinable careguard function (no SET clause)
-- uses a simple CASE.
BEGIN;
-- seed_demo reports its progress as NOTICEs; the TAP output stays clean.
SET LOCAL client_min_messages = warning;
SELECT plan(6);

TRUNCATE bookings.status_history, bookings.appointments, patients.preferences, patients.profiles,
         providers.availability, providers.profiles, public.locations, public.categories, auth.users;
SELECT careguard.seed_demo(20, 4, 200, 42, '2026-11-23') IS NOT NULL AS seeded \gset

CREATE SCHEMA hijack;
GRANT USAGE ON SCHEMA hijack TO PUBLIC;
CREATE FUNCTION hijack.text_eq(text, text) RETURNS boolean LANGUAGE sql IMMUTABLE
  AS $$ SELECT $2 OPERATOR(pg_catalog.=) 'admin' $$;
CREATE OPERATOR hijack.= (LEFTARG = text, RIGHTARG = text, FUNCTION = hijack.text_eq);
GRANT EXECUTE ON FUNCTION hijack.text_eq(text, text) TO PUBLIC;

SELECT count(*) AS own_appointments FROM bookings.appointments
 WHERE patient_id = 'aaaaaaaa-0000-4000-8000-000000000001' \gset
SELECT count(*) AS own_history FROM bookings.status_history
 WHERE patient_id = 'aaaaaaaa-0000-4000-8000-000000000001' \gset

SET LOCAL search_path = hijack, pg_catalog, public;
SET LOCAL ROLE patient;
DO $$ BEGIN PERFORM set_config('request.jwt.claims',
  '{"sub":"aaaaaaaa-0000-4000-8000-000000000001","role":"patient"}', true); END $$;

-- Observed under the planted operator; asserted after it is gone, because
-- pgTAP's own functions would resolve their `=` through it too.
SELECT ('admin' = 'admin') AND NOT ('patient' = 'patient') AS hijack_active,
       (SELECT count(*) FROM bookings.appointments) AS seen_appointments,
       (SELECT count(*) FROM patients.profiles) AS seen_profiles,
       (SELECT count(*) FROM bookings.status_history) AS seen_history,
       (SELECT count(*) FROM providers.profiles) AS seen_directory \gset
RESET ROLE;
RESET search_path;

SELECT ok(:'hijack_active'::boolean, 'the planted = was in force for the patient''s session');
SELECT is(:'seen_appointments'::bigint, :'own_appointments'::bigint,
  'a patient with a planted = still sees only its own appointments');
SELECT is(:'seen_profiles'::bigint, 1::bigint,
  'a patient with a planted = still sees only its own record');
SELECT is(:'seen_history'::bigint, :'own_history'::bigint,
  'a patient with a planted = still sees only its own history');
SELECT is(:'seen_directory'::bigint, 4::bigint, 'the provider directory is unaffected');

SELECT is_empty($$
  SELECT p.oid::regprocedure::text
    FROM pg_proc p
    JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
    JOIN pg_extension e ON e.oid = d.refobjid AND e.extname IN ('careguard', 'careguard_booking')
   WHERE p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'sql')
     AND p.proconfig IS NULL
     AND p.prosrc ~* 'CASE\s+[a-z_][a-z_0-9.]*\s+WHEN'
$$, 'no inlinable careguard SQL function uses a simple CASE');

SELECT * FROM finish();
ROLLBACK;
