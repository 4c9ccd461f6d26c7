-- What this proves: policies guard WRITES. Patients book only for themselves,
-- as pending, inside a provider's availability, and only cancel; providers
-- confirm/complete/no-show/cancel only their own appointments and never
-- reassign them; only admin deletes; the history is written by the trigger
-- alone and records who changed what; overlapping live bookings fail with
-- 23P01; forbidden writes fail with the stated SQLSTATE (42501 privilege or
-- RLS, CG001 status transition, CG002 reassignment, 23503 restrict, 22023
-- unknown time zone); foreign keys never cascade.
BEGIN;
-- seed_demo reports its progress as NOTICEs; the TAP output stays clean.
SET LOCAL client_min_messages = warning;
SELECT plan(48);

TRUNCATE bookings.status_history, bookings.appointments, patients.preferences, patients.profiles,
         providers.availability, providers.profiles, public.locations, public.categories, auth.users;
SELECT careguard.seed_demo(20, 4, 200, 42, '2026-11-23') IS NOT NULL AS seeded \gset

\set uid_a aaaaaaaa-0000-4000-8000-000000000001
\set uid_b aaaaaaaa-0000-4000-8000-000000000002
\set user_x bbbbbbbb-0000-4000-8000-000000000001
\set prov_x cccccccc-0000-4000-8000-000000000001
\set prov_y cccccccc-0000-4000-8000-000000000002
SELECT max(claims::text) FILTER (WHERE label = 'patient A') AS claims_a,
       max(claims::text) FILTER (WHERE label = 'patient B') AS claims_b,
       max(claims::text) FILTER (WHERE label = 'provider X') AS claims_x,
       max(claims::text) FILTER (WHERE label = 'provider Y') AS claims_y,
       max(claims::text) FILTER (WHERE label = 'admin') AS claims_admin
  FROM careguard.demo_users() \gset

-- Ground truth: a free half-hour slot inside provider X's availability, the
-- end of that availability range, someone else's appointment, and one of
-- patient A's finished appointments.
SELECT s AS free_start, s + interval '30 minutes' AS free_end,
       upper(av.during) AS outside_start, upper(av.during) + interval '30 minutes' AS outside_end
  FROM providers.availability av
 CROSS JOIN LATERAL generate_series(lower(av.during), upper(av.during) - interval '30 minutes', interval '30 minutes') AS s
 WHERE av.provider_id = :'prov_x'
   AND NOT EXISTS (SELECT 1 FROM bookings.appointments a
                    WHERE a.provider_id = av.provider_id AND a.status IN ('pending', 'confirmed')
                      AND a.during && tstzrange(s, s + interval '30 minutes'))
   AND NOT EXISTS (SELECT 1 FROM providers.availability nx
                    WHERE nx.provider_id = av.provider_id AND lower(nx.during) = upper(av.during))
 ORDER BY s LIMIT 1 \gset
SELECT (SELECT min(id::text) FROM bookings.appointments WHERE patient_id = :'uid_b') AS appt_b,
       (SELECT min(id::text) FROM bookings.appointments WHERE patient_id = :'uid_a' AND status = 'completed') AS done_a \gset

-- Patient A books.
SET LOCAL ROLE patient;
SELECT set_config('request.jwt.claims', :'claims_a', true) IS NOT NULL AS claimed \gset
SELECT throws_ok(format($$INSERT INTO bookings.appointments (patient_id, provider_id, starts_at, ends_at)
                         VALUES (%L, %L, %L, %L)$$, :'uid_b', :'prov_x', :'free_start', :'free_end'),
                 '42501', NULL, 'patient A cannot book for patient B');
SELECT throws_ok(format($$INSERT INTO bookings.appointments (patient_id, provider_id, starts_at, ends_at)
                         VALUES (%L, %L, %L, %L)$$, :'uid_a', :'prov_x', :'outside_start', :'outside_end'),
                 '42501', NULL, 'patient A cannot book outside the provider''s availability');
SELECT throws_ok(format($$INSERT INTO bookings.appointments (patient_id, provider_id, starts_at, ends_at, status)
                         VALUES (%L, %L, %L, %L, 'confirmed')$$, :'uid_a', :'prov_x', :'free_start', :'free_end'),
                 '42501', NULL, 'patient A cannot book an appointment as confirmed');
SELECT lives_ok(format($$INSERT INTO bookings.appointments (patient_id, provider_id, starts_at, ends_at, reason)
                        VALUES (%L, %L, %L, %L, 'Recurring migraines')$$, :'uid_a', :'prov_x', :'free_start', :'free_end'),
                'patient A books a free slot of provider X');
RESET ROLE;
SELECT id AS new_appt FROM bookings.appointments
 WHERE patient_id = :'uid_a' AND provider_id = :'prov_x' AND starts_at = :'free_start' \gset
SELECT is((SELECT status::text FROM bookings.appointments WHERE id = :'new_appt'), 'pending', 'the booking is pending');
SELECT is_empty(format('SELECT 1 FROM bookings.status_history WHERE appointment_id = %L', :'new_appt'),
                'a booking is not a status change: no history row yet');

-- The same slot, concurrently or later, by anyone: exclusion violation.
SET LOCAL ROLE patient;
SELECT set_config('request.jwt.claims', :'claims_b', true) IS NOT NULL AS claimed \gset
SELECT throws_ok(format($$INSERT INTO bookings.appointments (patient_id, provider_id, starts_at, ends_at)
                         VALUES (%L, %L, %L, %L)$$, :'uid_b', :'prov_x', :'free_start', :'free_end'),
                 '23P01', NULL, 'patient B cannot book the same slot: 23P01');
SELECT is_empty(format($$UPDATE bookings.appointments SET status = 'cancelled' WHERE id = %L RETURNING id$$, :'new_appt'),
                'patient B cannot cancel patient A''s appointment (no row)');
RESET ROLE;

SET LOCAL ROLE patient;
SELECT set_config('request.jwt.claims', :'claims_a', true) IS NOT NULL AS claimed \gset
SELECT throws_ok(format($$UPDATE bookings.appointments SET status = 'confirmed' WHERE id = %L$$, :'new_appt'),
                 'CG001', NULL, 'patient A cannot confirm its own appointment: CG001');
SELECT throws_ok(format($$UPDATE bookings.appointments SET provider_id = %L WHERE id = %L$$, :'prov_y', :'new_appt'),
                 '42501', NULL, 'patient A cannot move its appointment to another provider');
SELECT throws_ok(format($$UPDATE bookings.appointments SET starts_at = starts_at + interval '1 hour' WHERE id = %L$$, :'new_appt'),
                 '42501', NULL, 'patient A cannot reschedule by UPDATE');
SELECT throws_ok(format($$DELETE FROM bookings.appointments WHERE id = %L$$, :'new_appt'),
                 '42501', NULL, 'patient A cannot delete its appointment');
SELECT is_empty(format($$UPDATE bookings.appointments SET status = 'cancelled' WHERE id = %L RETURNING id$$, :'appt_b'),
                'patient A cannot cancel patient B''s appointment (no row)');
SELECT throws_ok(format($$UPDATE bookings.appointments SET status = 'cancelled' WHERE id = %L$$, :'done_a'),
                 'CG001', NULL, 'patient A cannot cancel a completed appointment: CG001');
RESET ROLE;

-- Provider Y cannot touch it; provider X confirms it.
SET LOCAL ROLE provider;
SELECT set_config('request.jwt.claims', :'claims_y', true) IS NOT NULL AS claimed \gset
SELECT is_empty(format($$UPDATE bookings.appointments SET status = 'confirmed' WHERE id = %L RETURNING id$$, :'new_appt'),
                'provider Y cannot confirm provider X''s appointment (no row)');
RESET ROLE;
SET LOCAL ROLE provider;
SELECT set_config('request.jwt.claims', :'claims_x', true) IS NOT NULL AS claimed \gset
SELECT throws_ok(format($$UPDATE bookings.appointments SET status = 'completed' WHERE id = %L$$, :'new_appt'),
                 'CG001', NULL, 'provider X cannot complete a pending appointment: CG001');
SELECT throws_ok(format($$UPDATE bookings.appointments SET status = 'pending' WHERE id = %L$$, :'new_appt'),
                 '42501', NULL, 'provider X cannot set an appointment back to pending (WITH CHECK): 42501');
SELECT throws_ok(format($$UPDATE bookings.appointments SET provider_id = %L WHERE id = %L$$, :'prov_y', :'new_appt'),
                 '42501', NULL, 'provider X cannot reassign an appointment to provider Y');
SELECT throws_ok(format($$UPDATE bookings.appointments SET patient_id = %L WHERE id = %L$$, :'uid_b', :'new_appt'),
                 '42501', NULL, 'provider X cannot reassign an appointment to another patient');
SELECT throws_ok(format($$INSERT INTO bookings.appointments (patient_id, provider_id, starts_at, ends_at)
                         VALUES (%L, %L, %L, %L)$$, :'uid_a', :'prov_x', :'outside_start', :'outside_end'),
                 '42501', NULL, 'provider X cannot create appointments');
SELECT throws_ok(format($$DELETE FROM bookings.appointments WHERE id = %L$$, :'new_appt'),
                 '42501', NULL, 'provider X cannot delete an appointment');
SELECT results_eq(format($$UPDATE bookings.appointments SET status = 'confirmed' WHERE id = %L RETURNING status::text$$, :'new_appt'),
                  ARRAY['confirmed'], 'provider X confirms its appointment');
RESET ROLE;
SELECT results_eq(format($$SELECT from_status::text, to_status::text, changed_by, changed_by_role
                             FROM bookings.status_history WHERE appointment_id = %L ORDER BY id DESC LIMIT 1$$, :'new_appt'),
                  format($$VALUES ('pending'::text, 'confirmed'::text, %L::uuid, 'provider'::text)$$, :'user_x'),
                  'the confirmation is recorded: pending -> confirmed, by provider X');

-- Patient A cancels it.
SET LOCAL ROLE patient;
SELECT set_config('request.jwt.claims', :'claims_a', true) IS NOT NULL AS claimed \gset
SELECT results_eq(format($$UPDATE bookings.appointments SET status = 'cancelled' WHERE id = %L RETURNING status::text$$, :'new_appt'),
                  ARRAY['cancelled'], 'patient A cancels its confirmed appointment');
SELECT results_eq(format($$SELECT from_status::text, to_status::text, changed_by, changed_by_role
                             FROM bookings.status_history WHERE appointment_id = %L ORDER BY id$$, :'new_appt'),
                  format($$VALUES ('pending'::text, 'confirmed'::text, %L::uuid, 'provider'::text),
                                  ('confirmed', 'cancelled', %L::uuid, 'patient')$$, :'user_x', :'uid_a'),
                  'patient A reads the whole history of its appointment: confirmed by X, cancelled by A');
-- The history: nobody but the trigger writes it.
SELECT throws_ok(format($$INSERT INTO bookings.status_history (appointment_id, patient_id, provider_id, to_status, changed_by_role)
                         VALUES (%L, %L, %L, 'completed', 'patient')$$, :'new_appt', :'uid_a', :'prov_x'),
                 '42501', NULL, 'patient A cannot write the history');
SELECT throws_ok(format($$DELETE FROM bookings.status_history WHERE appointment_id = %L$$, :'new_appt'),
                 '42501', NULL, 'patient A cannot erase the history');
RESET ROLE;
SET LOCAL ROLE provider;
SELECT set_config('request.jwt.claims', :'claims_x', true) IS NOT NULL AS claimed \gset
SELECT throws_ok(format($$UPDATE bookings.status_history SET to_status = 'completed' WHERE appointment_id = %L$$, :'new_appt'),
                 '42501', NULL, 'provider X cannot edit the history');
RESET ROLE;
SET LOCAL ROLE service_role;
SELECT throws_ok(format($$INSERT INTO bookings.status_history (appointment_id, patient_id, provider_id, to_status, changed_by_role)
                         VALUES (%L, %L, %L, 'completed', 'x')$$, :'new_appt', :'uid_a', :'prov_x'),
                 '42501', NULL, 'even service_role cannot forge history');
SELECT throws_ok(format($$DELETE FROM patients.profiles WHERE id = %L$$, :'uid_a'),
                 '23503', NULL, 'a patient record with appointments cannot be deleted (RESTRICT): 23503');
RESET ROLE;

-- Admin: no reassignment even for admin; admin deletes, and that is recorded.
SET LOCAL ROLE admin;
SELECT set_config('request.jwt.claims', :'claims_admin', true) IS NOT NULL AS claimed \gset
SELECT throws_ok(format($$UPDATE bookings.appointments SET patient_id = %L WHERE id = %L$$, :'uid_b', :'new_appt'),
                 'CG002', NULL, 'admin cannot reassign an appointment: CG002');
SELECT throws_ok(format($$UPDATE patients.profiles SET notes = 'x' WHERE id = %L$$, :'uid_a'),
                 '42501', NULL, 'admin reads but does not edit patient records');
SELECT throws_ok(format($$DELETE FROM providers.profiles WHERE id = %L$$, :'prov_x'),
                 '23503', NULL, 'a provider with appointments cannot be deleted (RESTRICT): 23503');
SELECT throws_ok($$INSERT INTO public.locations (city, region, country, timezone) VALUES ('Nowhere', 'X', 'US', 'Mars/Olympus')$$,
                 '22023', NULL, 'an unknown time zone is rejected: 22023');
SELECT lives_ok($$INSERT INTO public.categories (slug, name) VALUES ('sleep-medicine', 'Sleep medicine')$$,
                'admin adds a category');
SELECT results_eq(format($$DELETE FROM bookings.appointments WHERE id = %L RETURNING id$$, :'new_appt'),
                  ARRAY[:'new_appt'::uuid], 'admin deletes an appointment');
RESET ROLE;
SELECT results_eq(format($$SELECT from_status::text, to_status::text, changed_by_role
                             FROM bookings.status_history WHERE appointment_id = %L ORDER BY id DESC LIMIT 1$$, :'new_appt'),
                  $$VALUES ('cancelled'::text, NULL::text, 'admin'::text)$$, 'the deletion is recorded in the history');

-- Reference data and the directory.
SET LOCAL ROLE anon;
SELECT throws_ok($$INSERT INTO public.categories (slug, name) VALUES ('x', 'X')$$, '42501', NULL, 'anon cannot add a category');
RESET ROLE;
SET LOCAL ROLE patient;
SELECT set_config('request.jwt.claims', :'claims_a', true) IS NOT NULL AS claimed \gset
SELECT throws_ok($$INSERT INTO public.categories (slug, name) VALUES ('x', 'X')$$, '42501', NULL, 'a patient cannot add a category');
SELECT throws_ok($$UPDATE public.locations SET city = 'X'$$, '42501', NULL, 'a patient cannot edit locations');
SELECT results_eq(format($$UPDATE patients.profiles SET phone = '+15550009999' RETURNING id$$),
                  ARRAY[:'uid_a'::uuid], 'patient A edits its own record, and only its own');
SELECT throws_ok(format($$INSERT INTO patients.profiles (id, full_name, date_of_birth) VALUES (%L, 'Eve', '1990-01-01')$$, :'user_x'),
                 '42501', NULL, 'patient A cannot create a record for someone else');
SELECT results_eq($$UPDATE patients.preferences SET reminders_enabled = false RETURNING patient_id$$,
                  ARRAY[:'uid_a'::uuid], 'patient A edits its own preferences, and only its own');
RESET ROLE;
SET LOCAL ROLE provider;
SELECT set_config('request.jwt.claims', :'claims_x', true) IS NOT NULL AS claimed \gset
SELECT results_eq($$UPDATE providers.profiles SET bio = 'Now also online.' RETURNING id$$,
                  ARRAY[:'prov_x'::uuid], 'provider X edits its own directory entry, and only its own');
SELECT throws_ok(format($$UPDATE providers.profiles SET user_id = %L$$, :'uid_a'), '42501', NULL,
                 'provider X cannot change the user of its profile');
SELECT throws_ok(format($$INSERT INTO providers.availability (provider_id, during)
                         VALUES (%L, tstzrange('2030-01-07 09:00+00', '2030-01-07 17:00+00'))$$, :'prov_y'),
                 '42501', NULL, 'provider X cannot publish availability for provider Y');
SELECT lives_ok(format($$INSERT INTO providers.availability (provider_id, during)
                        VALUES (%L, tstzrange('2030-01-07 09:00+00', '2030-01-07 17:00+00'))$$, :'prov_x'),
                'provider X publishes its own availability');
SELECT is_empty(format($$DELETE FROM providers.availability WHERE provider_id = %L RETURNING id$$, :'prov_y'),
                'provider X cannot delete provider Y''s availability (no row)');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
