-- What this proves: what each role context SEES. With a small seeded data set
-- (careguard.seed_demo(20, 4, 200, 42)), every context -- anon, patients A and
-- B, providers X and Y, admin, service_role, authenticated without an app
-- role, a patient whose token carries provider X's provider_id, and a
-- session with no claims -- sees exactly the rows the ground truth (queried
-- as superuser) says it may, SELECT without WHERE included; forbidden tables
-- fail with 42501. It also proves from EXPLAIN that the access function is
-- inlined and folded: no call of it is left in the plan, the patient's policy
-- is an index condition, and the provider dashboard keeps its ordered index
-- scan of the partial index.
BEGIN;
SELECT plan(74);
-- (pgTAP grants its bookkeeping tables to PUBLIC, so assertions run under SET ROLE.)
CREATE FUNCTION pg_temp.plan_of(query text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE line text; result text := '';
BEGIN
  FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP result := result || line || E'\n'; END LOOP;
  RETURN result;
END $$;

TRUNCATE bookings.status_history, bookings.appointments, patients.preferences, patients.profiles,
         providers.availability, providers.profiles, public.locations, public.categories, auth.users;
SET LOCAL client_min_messages = warning;  -- seed_demo's progress NOTICEs
SELECT careguard.seed_demo(20, 4, 200, 42, '2026-11-23') IS NOT NULL AS seeded \gset
RESET client_min_messages;
ANALYZE bookings.appointments;
-- On 200 rows a sequential scan is cheapest whatever the policy; with seq
-- scans off the plans show whether the policies LET the planner use an index.
-- (docs/data-model.md has the plans at 1,000,000 rows, with seq scans on.)
SET LOCAL enable_seqscan = off;

\set uid_a aaaaaaaa-0000-4000-8000-000000000001
\set uid_b aaaaaaaa-0000-4000-8000-000000000002
\set prov_x cccccccc-0000-4000-8000-000000000001
\set prov_y cccccccc-0000-4000-8000-000000000002
SELECT max(claims::text) FILTER (WHERE label = 'patient A') AS claims_a,
       max(claims::text) FILTER (WHERE label = 'patient B') AS claims_b,
       max(claims::text) FILTER (WHERE label = 'provider X') AS claims_x,
       max(claims::text) FILTER (WHERE label = 'provider Y') AS claims_y,
       max(claims::text) FILTER (WHERE label = 'admin') AS claims_admin,
       max((claims || jsonb_build_object('provider_id', :'prov_x'))::text) FILTER (WHERE label = 'patient A') AS claims_a_with_x,
       max((claims || '{"role": "authenticated"}')::text) FILTER (WHERE label = 'patient A') AS claims_a_authenticated
  FROM careguard.demo_users() \gset

-- Ground truth, as superuser.
SELECT (SELECT coalesce(array_agg(id ORDER BY id), '{}')::text FROM bookings.appointments WHERE patient_id = :'uid_a') AS appts_a,
       (SELECT coalesce(array_agg(id ORDER BY id), '{}')::text FROM bookings.appointments WHERE patient_id = :'uid_b') AS appts_b,
       (SELECT coalesce(array_agg(id ORDER BY id), '{}')::text FROM bookings.appointments WHERE provider_id = :'prov_x') AS appts_x,
       (SELECT coalesce(array_agg(id ORDER BY id), '{}')::text FROM bookings.appointments WHERE provider_id = :'prov_y') AS appts_y,
       (SELECT coalesce(array_agg(DISTINCT patient_id), '{}')::text FROM bookings.appointments WHERE provider_id = :'prov_x') AS patients_x,
       (SELECT coalesce(array_agg(DISTINCT patient_id), '{}')::text FROM bookings.appointments WHERE provider_id = :'prov_y') AS patients_y,
       (SELECT count(*) FROM bookings.status_history WHERE patient_id = :'uid_a') AS history_a,
       (SELECT count(*) FROM bookings.status_history WHERE provider_id = :'prov_x') AS history_x,
       (SELECT count(*) FROM bookings.appointments) AS appts_all,
       (SELECT count(*) FROM bookings.status_history) AS history_all,
       (SELECT count(*) FROM patients.profiles) AS patients_all,
       (SELECT count(*) FROM patients.preferences) AS preferences_all,
       (SELECT count(*) FROM auth.users) AS users_all,
       (SELECT count(*) FROM public.categories) AS categories_all,
       (SELECT count(*) FROM public.locations) AS locations_all,
       (SELECT count(*) FROM providers.profiles) AS providers_all,
       (SELECT count(*) FROM providers.availability) AS availability_all,
       (SELECT min(id::text) FROM bookings.appointments WHERE provider_id = :'prov_y') AS some_y_appt \gset

SELECT ok(:'appts_a'::uuid[] <> '{}' AND :'appts_x'::uuid[] <> '{}' AND :'appts_y'::uuid[] <> '{}',
          'the seed gives patient A, provider X and provider Y appointments');

-- anon: reference data and the provider directory only.
SET LOCAL ROLE anon;
SELECT is((SELECT count(*) FROM public.categories), :'categories_all'::bigint, 'anon reads every category');
SELECT is((SELECT count(*) FROM public.locations), :'locations_all'::bigint, 'anon reads every location');
SELECT is((SELECT count(*) FROM providers.profiles), :'providers_all'::bigint, 'anon reads the provider directory');
SELECT throws_ok(format('SELECT * FROM %s', t), '42501', NULL, format('anon cannot read %s', t))
  FROM unnest(ARRAY['auth.users', 'providers.availability', 'patients.profiles', 'patients.preferences',
                    'bookings.appointments', 'bookings.status_history']) AS t;
RESET ROLE;

-- patient A: its own rows only, SELECT * without WHERE included.
SET LOCAL ROLE patient;
SELECT set_config('request.jwt.claims', :'claims_a', true) IS NOT NULL AS claimed \gset
SELECT set_eq('SELECT id FROM bookings.appointments', :'appts_a'::uuid[], 'patient A sees exactly its appointments');
SELECT is((SELECT count(*) FROM bookings.appointments WHERE patient_id <> :'uid_a'), 0::bigint,
          'patient A sees no appointment of anyone else');
SELECT is((SELECT count(*) FROM bookings.status_history), :'history_a'::bigint, 'patient A sees the history of its appointments');
SELECT results_eq('SELECT id FROM patients.profiles', ARRAY[:'uid_a'::uuid], 'patient A sees exactly its own record');
SELECT results_eq('SELECT patient_id FROM patients.preferences', ARRAY[:'uid_a'::uuid], 'patient A sees exactly its own preferences');
SELECT is((SELECT count(*) FROM providers.availability), :'availability_all'::bigint, 'patient A reads all availability');
SELECT is((SELECT count(*) FROM providers.profiles), :'providers_all'::bigint, 'patient A reads the directory');
SELECT throws_ok('SELECT * FROM auth.users', '42501', NULL, 'patient A cannot read auth.users');
SELECT unalike(pg_temp.plan_of('SELECT * FROM bookings.appointments'), '%can_access_booking%',
               'the patient policy is inlined: no call of can_access_booking in the plan');
SELECT alike(pg_temp.plan_of('SELECT * FROM bookings.appointments'), '%Index Cond: (patient_id = %',
             'the patient policy is an index condition on patient_id');
SELECT unalike(pg_temp.plan_of('SELECT * FROM bookings.appointments'), '%SubPlan%', 'the patient plan has no SubPlan');
SELECT alike(pg_temp.plan_of('SELECT * FROM patients.profiles'), '%Index Cond: (id = %',
             'can_access_patient folds to a primary-key lookup for the patient');
RESET ROLE;

-- patient B
SET LOCAL ROLE patient;
SELECT set_config('request.jwt.claims', :'claims_b', true) IS NOT NULL AS claimed \gset
SELECT set_eq('SELECT id FROM bookings.appointments', :'appts_b'::uuid[], 'patient B sees exactly its appointments');
SELECT results_eq('SELECT id FROM patients.profiles', ARRAY[:'uid_b'::uuid], 'patient B sees exactly its own record');
SELECT is_empty(format('SELECT 1 FROM bookings.appointments WHERE patient_id = %L', :'uid_a'),
                'patient B cannot see patient A''s appointments even by asking for them');
RESET ROLE;

-- provider X: its appointments; its patients' care fields only.
SET LOCAL ROLE provider;
SELECT set_config('request.jwt.claims', :'claims_x', true) IS NOT NULL AS claimed \gset
SELECT set_eq('SELECT id FROM bookings.appointments', :'appts_x'::uuid[], 'provider X sees exactly its appointments');
SELECT is((SELECT count(*) FROM bookings.appointments WHERE provider_id <> :'prov_x'), 0::bigint,
          'provider X sees no appointment of another provider');
SELECT is((SELECT count(*) FROM bookings.status_history), :'history_x'::bigint, 'provider X sees the history of its appointments');
SELECT set_eq('SELECT id FROM patients.profiles', :'patients_x'::uuid[], 'provider X sees exactly the patients it has appointments with');
SELECT lives_ok('SELECT id, full_name, date_of_birth, preferred_language, allergies FROM patients.profiles',
                'provider X reads the care fields');
SELECT throws_ok('SELECT * FROM patients.profiles', '42501', NULL, 'provider X cannot SELECT * from patient records');
SELECT throws_ok('SELECT phone FROM patients.profiles', '42501', NULL, 'provider X cannot read a patient''s phone');
SELECT throws_ok('SELECT insurance_member_id FROM patients.profiles', '42501', NULL, 'provider X cannot read insurance');
SELECT throws_ok('SELECT * FROM patients.preferences', '42501', NULL, 'provider X cannot read preferences');
SELECT throws_ok('SELECT * FROM auth.users', '42501', NULL, 'provider X cannot read auth.users');
SELECT unalike(pg_temp.plan_of('SELECT * FROM bookings.appointments'), '%can_access_booking%',
               'the provider policy is inlined: no call of can_access_booking in the plan');
SELECT alike(pg_temp.plan_of(format($$SELECT * FROM bookings.appointments WHERE provider_id = %L AND status = 'confirmed'
                                      AND starts_at >= now() ORDER BY starts_at LIMIT 50$$, :'prov_x')),
             '%Index Scan using appointments_provider_confirmed_idx%', 'the dashboard is an index scan of the partial index');
SELECT unalike(pg_temp.plan_of(format($$SELECT * FROM bookings.appointments WHERE provider_id = %L AND status = 'confirmed'
                                        AND starts_at >= now() ORDER BY starts_at LIMIT 50$$, :'prov_x')),
               '%Sort%', 'the dashboard needs no sort: the index scan is ordered');
SELECT unalike(pg_temp.plan_of(format($$SELECT * FROM bookings.appointments WHERE provider_id = %L AND status = 'confirmed'
                                        AND starts_at >= now() ORDER BY starts_at LIMIT 50$$, :'prov_x')),
               '%BitmapOr%', 'the dashboard has no BitmapOr');
RESET ROLE;

-- provider Y
SET LOCAL ROLE provider;
SELECT set_config('request.jwt.claims', :'claims_y', true) IS NOT NULL AS claimed \gset
SELECT set_eq('SELECT id FROM bookings.appointments', :'appts_y'::uuid[], 'provider Y sees exactly its appointments');
SELECT set_eq('SELECT id FROM patients.profiles', :'patients_y'::uuid[], 'provider Y sees exactly its patients');
SELECT is_empty(format('SELECT 1 FROM bookings.appointments WHERE provider_id = %L', :'prov_x'),
                'provider Y cannot see provider X''s appointments');
RESET ROLE;

-- admin: everything the application holds, through its own policies.
SET LOCAL ROLE admin;
SELECT set_config('request.jwt.claims', :'claims_admin', true) IS NOT NULL AS claimed \gset
SELECT is((SELECT count(*) FROM bookings.appointments), :'appts_all'::bigint, 'admin sees every appointment');
SELECT is((SELECT count(*) FROM bookings.status_history), :'history_all'::bigint, 'admin sees all history');
SELECT is((SELECT count(*) FROM patients.profiles), :'patients_all'::bigint, 'admin reads every patient record');
SELECT is((SELECT count(*) FROM patients.preferences), :'preferences_all'::bigint, 'admin reads every preference');
SELECT is((SELECT count(*) FROM auth.users), :'users_all'::bigint, 'admin reads auth.users');
SELECT alike(pg_temp.plan_of(format('SELECT * FROM bookings.appointments WHERE id = %L', :'some_y_appt')),
             '%Index Scan using appointments_pkey%', 'the admin lookup by id is a primary-key index scan');
SELECT matches(pg_temp.plan_of(format('SELECT * FROM bookings.appointments WHERE id = %L', :'some_y_appt')),
               E'Filter: \\(\\$0 = ''admin''::text\\)\\n\\s+InitPlan 1',
               'the admin policy folds to one check of the role claim, evaluated once (initPlan)');
RESET ROLE;

-- service_role: bypasses RLS (BYPASSRLS), sees all.
SET LOCAL ROLE service_role;
SELECT is((SELECT count(*) FROM bookings.appointments), :'appts_all'::bigint, 'service_role sees every appointment');
SELECT is((SELECT count(*) FROM patients.profiles), :'patients_all'::bigint, 'service_role sees every patient record');
SELECT is((SELECT count(*) FROM auth.users), :'users_all'::bigint, 'service_role sees auth.users');
SELECT is((SELECT count(*) FROM bookings.status_history), :'history_all'::bigint, 'service_role sees all history');
RESET ROLE;

-- authenticated without an app role (patient A's sub): signed-in data only.
SET LOCAL ROLE authenticated;
SELECT set_config('request.jwt.claims', :'claims_a_authenticated', true) IS NOT NULL AS claimed \gset
SELECT is((SELECT count(*) FROM providers.availability), :'availability_all'::bigint, 'authenticated reads availability');
SELECT is((SELECT count(*) FROM providers.profiles), :'providers_all'::bigint, 'authenticated reads the directory');
SELECT is((SELECT count(*) FROM public.categories), :'categories_all'::bigint, 'authenticated reads categories');
SELECT throws_ok(format('SELECT * FROM %s', t), '42501', NULL, format('authenticated without an app role cannot read %s', t))
  FROM unnest(ARRAY['auth.users', 'patients.profiles', 'patients.preferences', 'bookings.appointments',
                    'bookings.status_history']) AS t;
RESET ROLE;

-- A patient whose token carries provider X's provider_id: still only a patient.
SET LOCAL ROLE patient;
SELECT set_config('request.jwt.claims', :'claims_a_with_x', true) IS NOT NULL AS claimed \gset
SELECT is(auth.provider_id(), :'prov_x'::uuid, 'the forged token does carry provider X''s id');
SELECT set_eq('SELECT id FROM bookings.appointments', :'appts_a'::uuid[],
              'a patient token with a provider_id still sees only the patient''s appointments');
SELECT results_eq('SELECT id FROM patients.profiles', ARRAY[:'uid_a'::uuid],
                  'a patient token with a provider_id still sees only its own record');
SELECT is((SELECT count(*) FROM bookings.status_history), :'history_a'::bigint,
          'a patient token with a provider_id sees only the patient''s history');
RESET ROLE;

-- No claims at all, in each app role: nothing private.
SELECT set_config('request.jwt.claims', '', true) IS NOT NULL AS cleared \gset
SET LOCAL ROLE patient;
SELECT is((SELECT count(*) FROM bookings.appointments), 0::bigint, 'patient role without claims sees no appointment');
SELECT is((SELECT count(*) FROM patients.profiles), 0::bigint, 'patient role without claims sees no record');
SELECT is((SELECT count(*) FROM bookings.status_history), 0::bigint, 'patient role without claims sees no history');
RESET ROLE;
SET LOCAL ROLE provider;
SELECT is((SELECT count(*) FROM bookings.appointments), 0::bigint, 'provider role without claims sees no appointment');
SELECT is((SELECT count(id) FROM patients.profiles), 0::bigint, 'provider role without claims sees no record');
RESET ROLE;
SET LOCAL ROLE anon;
SELECT is((SELECT count(*) FROM providers.profiles), :'providers_all'::bigint, 'anon without claims reads the directory');
RESET ROLE;

-- Session-level claims are not trusted (PgBouncer leak guard): ignored.
SET LOCAL ROLE patient;
SELECT set_config('request.jwt.claims', :'claims_a', false) IS NOT NULL AS claimed \gset
SET client_min_messages = error;
SELECT is((SELECT count(*) FROM bookings.appointments), 0::bigint, 'session-level claims are ignored: nothing visible');
RESET client_min_messages;
RESET ROLE;
SELECT set_config('request.jwt.claims', '', false) IS NOT NULL AS cleared \gset

-- can_access_booking(appointment_id) agrees with the appointment policies.
SET LOCAL ROLE patient;
SELECT set_config('request.jwt.claims', :'claims_a', true) IS NOT NULL AS claimed \gset
SELECT ok(bookings.can_access_booking((:'appts_a'::uuid[])[1]), 'can_access_booking(id): patient A may access its appointment');
SELECT ok(NOT bookings.can_access_booking(:'some_y_appt'::uuid) OR :'some_y_appt'::uuid = ANY (:'appts_a'::uuid[]),
          'can_access_booking(id): patient A may not access someone else''s appointment');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
