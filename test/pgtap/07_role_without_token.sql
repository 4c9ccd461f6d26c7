-- What this proves: the database role alone is not an identity. A login role
-- that can SET ROLE to an application role (as PostgREST's authenticator can)
-- but carries no claims -- no token, no gateway claims -- reads and changes
-- nothing that belongs to anyone, not even as admin. service_role, which has
-- BYPASSRLS by design, is the documented exception.
BEGIN;
-- seed_demo reports its progress as NOTICEs; the TAP output stays clean.
SET LOCAL client_min_messages = warning;
SELECT plan(8);

TRUNCATE bookings.status_history, bookings.appointments, patients.preferences, patients.profiles,
         providers.availability, providers.profiles, public.locations, public.categories, auth.users;
SELECT careguard.seed_demo(20, 4, 200, 42, '2026-11-23') IS NOT NULL AS seeded \gset
SELECT count(*) AS all_appointments FROM bookings.appointments \gset

SET LOCAL ROLE admin;
SELECT (SELECT count(*) FROM bookings.appointments) AS admin_appointments,
       (SELECT count(*) FROM patients.profiles) AS admin_profiles,
       (SELECT count(*) FROM auth.users) AS admin_users \gset
WITH changed AS (UPDATE public.categories SET name = name RETURNING 1)
SELECT count(*) AS admin_category_updates FROM changed \gset
RESET ROLE;

SET LOCAL ROLE provider;
SELECT (SELECT count(*) FROM bookings.appointments) AS provider_appointments,
       (SELECT count(*) FROM patients.profiles) AS provider_profiles \gset
RESET ROLE;

SET LOCAL ROLE patient;
SELECT count(*) AS patient_appointments FROM bookings.appointments \gset
RESET ROLE;

SET LOCAL ROLE service_role;
SELECT count(*) AS service_appointments FROM bookings.appointments \gset
RESET ROLE;

SELECT is(:'admin_appointments'::bigint, 0::bigint, 'role admin without claims sees no appointment');
SELECT is(:'admin_profiles'::bigint, 0::bigint, 'role admin without claims sees no patient record');
SELECT is(:'admin_users'::bigint, 0::bigint, 'role admin without claims sees no user');
SELECT is(:'admin_category_updates'::bigint, 0::bigint, 'role admin without claims changes no reference data');
SELECT is(:'provider_appointments'::bigint, 0::bigint, 'role provider without claims sees no appointment');
SELECT is(:'provider_profiles'::bigint, 0::bigint, 'role provider without claims sees no patient record');
SELECT is(:'patient_appointments'::bigint, 0::bigint, 'role patient without claims sees no appointment');
SELECT is(:'service_appointments'::bigint, :'all_appointments'::bigint,
  'service_role bypasses row-level security by design');

SELECT * FROM finish();
ROLLBACK;
