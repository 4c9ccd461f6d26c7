-- What this proves: the booking services (issue 14) disclose exactly their
-- contract. bookings.free_slots returns precisely the grid slots a patient
-- could book (checked against a schedule written out by hand), the same for
-- every signed-in role, with no patient, id or reason in its result type;
-- a returned slot books, a refused one fails with 23P01. providers.match
-- ranks by first free slot and fit and returns directory data only. The
-- analytics aggregates are for analyst and admin (with the matching claim)
-- only; the analyst reads no table; cells under k distinct patients, and the
-- complement of a lone small cell, have NULL figures; cells do not depend
-- on the window. anon and claimless roles are refused; bad input fails with
-- 22004/22023 and messages that repeat only the caller's input.
BEGIN;
SELECT plan(65);
SET LOCAL client_min_messages = warning;  -- seed_demo's progress notices

TRUNCATE bookings.status_history, bookings.appointments, patients.preferences, patients.profiles,
         providers.availability, providers.profiles, public.locations, public.categories, auth.users;
SELECT careguard.seed_demo(20, 4, 200, 42, '2026-11-23') IS NOT NULL AS seeded \gset

\set uid_a aaaaaaaa-0000-4000-8000-000000000001
\set uid_b aaaaaaaa-0000-4000-8000-000000000002
\set prov_x cccccccc-0000-4000-8000-000000000001
\set prov_y cccccccc-0000-4000-8000-000000000002
SELECT max(claims::text) FILTER (WHERE label = 'patient A') AS claims_a,
       max(claims::text) FILTER (WHERE label = 'patient B') AS claims_b,
       max(claims::text) FILTER (WHERE label = 'provider X') AS claims_x,
       max(claims::text) FILTER (WHERE label = 'admin') AS claims_admin
  FROM careguard.demo_users() \gset
\set claims_analyst '{"sub": "eeeeeeee-0000-4000-8000-000000000001", "role": "analyst"}'

-- A schedule written out by hand, far in the future: provider X is
-- available 09:00-12:00 and 13:00-17:00 UTC on 2045-01-02. Patient B holds
-- 09:30-10:00 (pending), patient A 10:00-11:00 (confirmed) and 14:10-14:40
-- (confirmed, off the grid); 13:00-13:30 was cancelled and blocks nothing.
INSERT INTO providers.availability (provider_id, during) VALUES
  (:'prov_x', '[2045-01-02 09:00+00, 2045-01-02 12:00+00)'),
  (:'prov_x', '[2045-01-02 13:00+00, 2045-01-02 17:00+00)');
INSERT INTO bookings.appointments (patient_id, provider_id, starts_at, ends_at, status, reason) VALUES
  (:'uid_b', :'prov_x', '2045-01-02 09:30+00', '2045-01-02 10:00+00', 'pending', 'Low mood'),
  (:'uid_a', :'prov_x', '2045-01-02 10:00+00', '2045-01-02 11:00+00', 'confirmed', 'Back pain'),
  (:'uid_a', :'prov_x', '2045-01-02 14:10+00', '2045-01-02 14:40+00', 'confirmed', 'Skin rash'),
  (:'uid_b', :'prov_x', '2045-01-02 13:00+00', '2045-01-02 13:30+00', 'cancelled', 'Allergy symptoms');
\set day_slots 'SELECT * FROM bookings.free_slots(''cccccccc-0000-4000-8000-000000000001'', ''2045-01-02 00:00+00'', ''2045-01-03 00:00+00'', ''30 minutes'')'
\set expected_slots 'VALUES (''2045-01-02 09:00+00''::timestamptz, ''2045-01-02 09:30+00''::timestamptz), (''2045-01-02 11:00+00'', ''2045-01-02 11:30+00''), (''2045-01-02 11:30+00'', ''2045-01-02 12:00+00''), (''2045-01-02 13:00+00'', ''2045-01-02 13:30+00''), (''2045-01-02 13:30+00'', ''2045-01-02 14:00+00''), (''2045-01-02 15:00+00'', ''2045-01-02 15:30+00''), (''2045-01-02 15:30+00'', ''2045-01-02 16:00+00''), (''2045-01-02 16:00+00'', ''2045-01-02 16:30+00''), (''2045-01-02 16:30+00'', ''2045-01-02 17:00+00'')'

-- 1. Shape: what each function can return, and its SECURITY DEFINER surface.
SELECT is(pg_get_function_result('bookings.free_slots(uuid,timestamptz,timestamptz,interval)'::regprocedure),
          'TABLE(starts_at timestamp with time zone, ends_at timestamp with time zone)',
          'free_slots returns start and end only');
SELECT is(pg_get_function_result('providers.match(uuid,uuid,timestamptz,timestamptz,interval,integer)'::regprocedure),
          'TABLE(provider_id uuid, display_name text, category_id uuid, location_id uuid, languages text[], '
          'accepting_new_patients boolean, category_fit integer, location_fit integer, '
          'first_slot_starts_at timestamp with time zone, first_slot_ends_at timestamp with time zone)',
          'match returns directory data and the first slot only');
SELECT is(pg_get_function_result('bookings.busy_time(uuid[],timestamptz,timestamptz)'::regprocedure),
          'TABLE(provider_id uuid, busy tstzmultirange)', 'busy_time returns merged busy time per provider only');
SELECT set_eq($$SELECT p.oid::regprocedure::text FROM pg_proc p
                 WHERE p.prosecdef AND p.pronamespace IN ('analytics'::regnamespace, 'bookings'::regnamespace,
                                                          'providers'::regnamespace)$$,
              ARRAY['bookings.busy_time(uuid[],timestamp with time zone,timestamp with time zone)',
                    'bookings.record_status_history()', 'bookings.record_status_history_row()',
                    'analytics.bookings_by_week(date,date)', 'analytics.provider_weeks(date,date)'],
              'the SECURITY DEFINER surface: busy_time, the two aggregates (and the history triggers, the row one for Citus)');
SELECT is_empty($$SELECT p.oid::regprocedure::text FROM pg_proc p
                   WHERE p.pronamespace = 'analytics'::regnamespace
                     AND NOT coalesce('search_path=pg_catalog, pg_temp' = ANY (p.proconfig), false)$$,
                'every analytics function pins search_path');
SELECT is_empty($$SELECT p.oid::regprocedure::text FROM pg_proc p
                   WHERE p.oid IN ('bookings.free_slots(uuid,timestamptz,timestamptz,interval)'::regprocedure,
                                   'bookings.busy_time(uuid[],timestamptz,timestamptz)'::regprocedure,
                                   'providers.match(uuid,uuid,timestamptz,timestamptz,interval,integer)'::regprocedure,
                                   'analytics.bookings_by_week(date,date)'::regprocedure,
                                   'analytics.provider_weeks(date,date)'::regprocedure)
                     AND p.provolatile <> 's'$$,
                'the readers are STABLE');
SELECT ok(NOT has_function_privilege('anon', f, 'EXECUTE'), format('anon may not execute %s', f))
  FROM unnest(ARRAY['bookings.free_slots(uuid,timestamptz,timestamptz,interval)',
                    'bookings.busy_time(uuid[],timestamptz,timestamptz)',
                    'providers.match(uuid,uuid,timestamptz,timestamptz,interval,integer)',
                    'analytics.bookings_by_week(date,date)', 'analytics.provider_weeks(date,date)']) AS f;
SELECT ok(r.rolcanlogin IS FALSE AND NOT r.rolsuper AND NOT r.rolbypassrls
          AND NOT pg_has_role('analyst', 'authenticated', 'MEMBER'),
          'analyst is NOLOGIN, without SUPERUSER or BYPASSRLS, and not a signed-in application role')
  FROM pg_roles r WHERE r.rolname = 'analyst';
SELECT is_empty($$SELECT c.oid::regclass::text FROM pg_class c
                   WHERE c.relnamespace IN ('auth'::regnamespace, 'providers'::regnamespace, 'patients'::regnamespace,
                                            'bookings'::regnamespace, 'public'::regnamespace)
                     AND c.relkind = 'r' AND has_table_privilege('analyst', c.oid, 'SELECT')$$,
                'analyst holds SELECT on no table');

-- 2. anon is refused everything here.
SET LOCAL ROLE anon;
SELECT throws_ok(:'day_slots', '42501', NULL, 'anon cannot call free_slots');
SELECT throws_ok($$SELECT * FROM providers.match(NULL, NULL, '2045-01-02', '2045-01-03', '30 minutes')$$,
                 '42501', NULL, 'anon cannot call match');
SELECT throws_ok($$SELECT * FROM analytics.bookings_by_week('2026-11-01', '2026-12-01')$$,
                 '42501', NULL, 'anon cannot call analytics');
RESET ROLE;

-- 3. Every signed-in role gets the same, exact slots.
SET LOCAL ROLE patient;
SELECT set_config('request.jwt.claims', :'claims_a', true) IS NOT NULL AS claimed \gset
SELECT results_eq(:'day_slots', :'expected_slots', 'patient A gets exactly the free grid slots of the day');
SELECT results_eq($$SELECT * FROM bookings.busy_time('{cccccccc-0000-4000-8000-000000000001}',
                                                     '2045-01-02 00:00+00', '2045-01-03 00:00+00')$$,
                  $$VALUES ('cccccccc-0000-4000-8000-000000000001'::uuid,
                            '{[2045-01-02 09:30+00,2045-01-02 11:00+00), [2045-01-02 14:10+00,2045-01-02 14:40+00)}'::tstzmultirange)$$,
                  'busy time merges adjacent appointments: neither their number nor their patients show');
SELECT results_eq($$SELECT * FROM bookings.free_slots('cccccccc-0000-4000-8000-000000000001',
                      '2045-01-02 10:45+00', '2045-01-02 13:40+00', '30 minutes')$$,
                  $$VALUES ('2045-01-02 11:00+00'::timestamptz, '2045-01-02 11:30+00'::timestamptz),
                           ('2045-01-02 11:30+00', '2045-01-02 12:00+00'), ('2045-01-02 13:00+00', '2045-01-02 13:30+00')$$,
                  'a window off the grid returns whole grid slots inside it');
SELECT results_eq($$SELECT * FROM bookings.free_slots('cccccccc-0000-4000-8000-000000000001',
                      '2045-01-02 00:00+00', '2045-01-03 00:00+00', '45 minutes')$$,
                  $$VALUES ('2045-01-02 11:15+00'::timestamptz, '2045-01-02 12:00+00'::timestamptz),
                           ('2045-01-02 13:00+00', '2045-01-02 13:45+00'), ('2045-01-02 15:15+00', '2045-01-02 16:00+00'),
                           ('2045-01-02 16:00+00', '2045-01-02 16:45+00')$$,
                  'the grid is the duration from each range''s start (45 minutes: 09:00, 09:45, ... 13:00, 13:45, ...)');
RESET ROLE;
SELECT results_eq(format('SELECT count(*) FROM (%s) s', :'day_slots'), 'VALUES (9::bigint)',
                  'the superuser gets the same nine slots');
SET LOCAL ROLE patient;
SELECT set_config('request.jwt.claims', :'claims_b', true) IS NOT NULL AS claimed \gset
SELECT results_eq(:'day_slots', :'expected_slots', 'patient B gets the same slots');
RESET ROLE;
SET LOCAL ROLE provider;
SELECT set_config('request.jwt.claims', :'claims_x', true) IS NOT NULL AS claimed \gset
SELECT results_eq(:'day_slots', :'expected_slots', 'provider X gets the same slots');
RESET ROLE;
SET LOCAL ROLE admin;
SELECT set_config('request.jwt.claims', :'claims_admin', true) IS NOT NULL AS claimed \gset
SELECT results_eq(:'day_slots', :'expected_slots', 'admin gets the same slots');
RESET ROLE;
-- The role alone is not an identity.
SELECT set_config('request.jwt.claims', '', true) IS NOT NULL AS cleared \gset
SET LOCAL ROLE patient;
SELECT throws_ok(:'day_slots', '42501', 'busy time is for signed-in users: no sub claim',
                 'role patient without claims is refused');
RESET ROLE;

-- 4. Bad input: precise SQLSTATEs, messages that repeat the input only.
SET LOCAL ROLE patient;
SELECT set_config('request.jwt.claims', :'claims_a', true) IS NOT NULL AS claimed \gset
SELECT throws_ok($$SELECT * FROM bookings.free_slots(NULL, '2045-01-02', '2045-01-03', '30 minutes')$$,
                 '22004', 'provider_id must not be NULL', 'NULL provider: 22004');
SELECT throws_ok($$SELECT * FROM bookings.free_slots('cccccccc-0000-4000-8000-000000000001', '2045-01-02', '2045-01-03', NULL)$$,
                 '22004', 'duration must not be NULL', 'NULL duration: 22004');
SELECT throws_ok($$SELECT * FROM bookings.free_slots('cccccccc-0000-4000-8000-000000000001', NULL, '2045-01-03', '30 minutes')$$,
                 '22004', 'from and to must not be NULL', 'NULL from: 22004');
SELECT throws_ok(format($$SELECT * FROM bookings.free_slots('cccccccc-0000-4000-8000-000000000001', '2045-01-02', '2045-01-03', %L)$$, d),
                 '22023', NULL, format('duration %s: 22023', d))
  FROM unnest(ARRAY['0', '-30 minutes', '4 minutes', '8 hours 1 minute', '1 day', '1 mon']) AS d;
SELECT throws_ok($$SELECT * FROM bookings.free_slots('cccccccc-0000-4000-8000-000000000001', '2045-01-03', '2045-01-02', '30 minutes')$$,
                 '22023', NULL, 'to before from: 22023');
SELECT throws_ok($$SELECT * FROM bookings.free_slots('cccccccc-0000-4000-8000-000000000001', '2045-01-01', '2045-02-02', '30 minutes')$$,
                 '22023', 'window too large: at most 31 days', 'a 32-day window: 22023');
SELECT throws_ok($$SELECT * FROM bookings.free_slots('cccccccc-0000-4000-8000-000000000001', '2045-01-01', 'infinity', '30 minutes')$$,
                 '22023', NULL, 'an infinite window: 22023');
SELECT throws_ok($$SELECT * FROM bookings.free_slots('aaaaaaaa-0000-4000-8000-000000000001', '2045-01-02', '2045-01-03', '30 minutes')$$,
                 '22023', 'no provider with id aaaaaaaa-0000-4000-8000-000000000001',
                 'an id that is no provider: 22023, naming only the given id');
SELECT throws_ok($$SELECT * FROM providers.match(NULL, NULL, '2045-01-02', '2045-01-03', '30 minutes', 0)$$,
                 '22023', 'invalid limit 0: 1 to 100', 'match limit 0: 22023');
SELECT throws_ok($$SELECT * FROM providers.match('aaaaaaaa-0000-4000-8000-000000000001', NULL, '2045-01-02', '2045-01-03', '30 minutes')$$,
                 '22023', 'no category with id aaaaaaaa-0000-4000-8000-000000000001', 'match with an unknown category: 22023');

-- 5. Slots in the past are not offered, though the schedule has free time.
SELECT is_empty($$SELECT * FROM bookings.free_slots('cccccccc-0000-4000-8000-000000000001',
                    '2026-11-16', '2026-11-28', '30 minutes')$$, 'no slot in the past');

-- 6. Matching: X is the only provider available that day.
SELECT results_eq($$SELECT provider_id, category_fit, location_fit, first_slot_starts_at, first_slot_ends_at
                      FROM providers.match(NULL, NULL, '2045-01-02', '2045-01-03', '30 minutes')$$,
                  $$VALUES ('cccccccc-0000-4000-8000-000000000001'::uuid, 0, 0,
                            '2045-01-02 09:00+00'::timestamptz, '2045-01-02 09:30+00'::timestamptz)$$,
                  'match finds provider X and its first free slot');
SELECT results_eq(format($$SELECT provider_id, category_fit, location_fit FROM providers.match(%L, %L, '2045-01-02', '2045-01-03', '2 hours')$$,
                         (SELECT c.parent_id FROM providers.profiles p JOIN public.categories c ON c.id = p.category_id WHERE p.id = :'prov_x'),
                         (SELECT location_id FROM providers.profiles WHERE id = :'prov_x')),
                  $$VALUES ('cccccccc-0000-4000-8000-000000000001'::uuid, 1, 0)$$,
                  'the parent category matches with fit 1, the same location with fit 0');
SELECT is_empty($$SELECT * FROM providers.match(NULL, NULL, '2045-01-02', '2045-01-03', '3 hours')$$,
                'no provider has three free hours in a row that day');

-- 7. A returned slot books through the real INSERT; a refused one does not.
SELECT lives_ok(format($$INSERT INTO bookings.appointments (patient_id, provider_id, starts_at, ends_at)
                         VALUES (%L, %L, '2045-01-02 09:00+00', '2045-01-02 09:30+00')$$, :'uid_a', :'prov_x'),
                'patient A books the first returned slot');
SELECT throws_ok(format($$INSERT INTO bookings.appointments (patient_id, provider_id, starts_at, ends_at)
                          VALUES (%L, %L, '2045-01-02 14:00+00', '2045-01-02 14:30+00')$$, :'uid_a', :'prov_x'),
                 '23P01', NULL, 'a grid slot free_slots left out is refused: 23P01');
SELECT is((SELECT min(starts_at) FROM bookings.free_slots(:'prov_x', '2045-01-02', '2045-01-03', '30 minutes')),
          '2045-01-02 11:00+00'::timestamptz, 'the booked slot is no longer offered');

-- 8. Patients and providers are refused analytics.
SELECT throws_ok($$SELECT * FROM analytics.bookings_by_week('2026-11-01', '2026-12-01')$$, '42501', NULL,
                 'patient cannot call analytics');
RESET ROLE;
SET LOCAL ROLE provider;
SELECT set_config('request.jwt.claims', :'claims_x', true) IS NOT NULL AS claimed \gset
SELECT throws_ok($$SELECT * FROM analytics.provider_weeks('2026-11-01', '2026-12-01')$$, '42501', NULL,
                 'provider cannot call analytics');
RESET ROLE;

-- 9. The analyst reads no row, and gets aggregates with its claim only.
-- Ground truth as superuser, k = 15: providers X and Y share a category and
-- a location, so their cells sum into one bookings_by_week cell.
UPDATE providers.profiles y SET category_id = x.category_id, location_id = x.location_id
  FROM providers.profiles x WHERE x.id = :'prov_x' AND y.id = :'prov_y';
SET LOCAL careguard.small_cell_threshold = 15;
CREATE TEMP TABLE truth_cells ON COMMIT DROP AS
  SELECT p.id AS provider_id, p.category_id, p.location_id,
         date_trunc('week', timezone(l.timezone, a.starts_at))::date AS week, count(*) AS bookings,
         count(*) FILTER (WHERE a.status = 'cancelled') AS cancellations,
         count(*) FILTER (WHERE a.status = 'no_show') AS no_shows, count(DISTINCT a.patient_id) AS patients,
         array_agg(DISTINCT a.patient_id) AS patient_ids
    FROM bookings.appointments a JOIN providers.profiles p ON p.id = a.provider_id
    JOIN public.locations l ON l.id = p.location_id
   WHERE a.starts_at < '2026-12-01' GROUP BY 1, 2, 3, 4;
GRANT SELECT ON truth_cells TO analyst;

SET LOCAL ROLE analyst;
SELECT throws_ok('SELECT count(*) FROM bookings.appointments', '42501', NULL, 'analyst cannot read appointments');
SELECT throws_ok('SELECT count(*) FROM patients.profiles', '42501', NULL, 'analyst cannot read patient records');
SELECT throws_ok('SELECT count(*) FROM providers.availability', '42501', NULL, 'analyst cannot read availability rows');
SELECT throws_ok($$SELECT * FROM bookings.free_slots('cccccccc-0000-4000-8000-000000000001', '2045-01-02', '2045-01-03', '30 minutes')$$,
                 '42501', NULL, 'analyst cannot call free_slots');
SELECT throws_ok($$SELECT * FROM analytics.bookings_by_week('2026-11-01', '2026-12-01')$$, '42501',
                 'analytics needs the analyst or admin role claim', 'analyst without its claim is refused');
SELECT set_config('request.jwt.claims', :'claims_analyst', true) IS NOT NULL AS claimed \gset
SELECT set_eq($$SELECT category_id, location_id, week, bookings, cancellations, no_shows, suppressed
                  FROM analytics.bookings_by_week('2026-11-01', '2026-12-01')$$,
              $$SELECT g.category_id, g.location_id, g.week,
                       CASE WHEN g.n >= 15 THEN g.b END AS b, CASE WHEN g.n >= 15 THEN g.c END AS c,
                       CASE WHEN g.n >= 15 THEN g.s END AS s, g.n < 15 AS suppressed
                  FROM (SELECT t.category_id, t.location_id, t.week, sum(t.bookings)::bigint AS b,
                               sum(t.cancellations)::bigint AS c, sum(t.no_shows)::bigint AS s,
                               (SELECT count(DISTINCT u) FROM truth_cells t2, unnest(t2.patient_ids) u
                                 WHERE (t2.category_id, t2.location_id, t2.week) = (t.category_id, t.location_id, t.week)) AS n
                          FROM truth_cells t GROUP BY t.category_id, t.location_id, t.week) g$$,
              'analyst: bookings_by_week equals the hand-computed cells, NULL under 15 distinct patients');
SELECT ok((SELECT bool_or(suppressed) AND bool_or(NOT suppressed) FROM analytics.bookings_by_week('2026-11-01', '2026-12-01')),
          'k = 15 suppresses some cells and shows others');
SELECT is_empty($$SELECT 1 FROM analytics.bookings_by_week('2026-11-01', '2026-12-01')
                   WHERE suppressed <> (bookings IS NULL OR cancellations IS NULL OR no_shows IS NULL)$$,
                'a cell''s figures are NULL exactly when it is suppressed');
SELECT set_eq($$SELECT * FROM analytics.bookings_by_week('2026-11-18', '2026-11-19')$$,
              $$SELECT * FROM analytics.bookings_by_week('2026-11-01', '2026-12-01') WHERE week = '2026-11-16'$$,
              'a window selects whole weeks: a cell does not depend on the window (no differencing)');
SELECT is_empty($$SELECT 1 FROM analytics.bookings_by_week('2026-11-01', '2027-01-01') WHERE week >= date_trunc('week', now())::date$$,
                'weeks that have not ended are not reported');
-- Provider weeks: small cells and, where a group has one, the complement.
SELECT is_empty($$SELECT w.provider_id, w.week FROM analytics.provider_weeks('2026-11-01', '2026-12-01') w
                    JOIN truth_cells t USING (provider_id, week)
                   WHERE t.patients < 15 AND NOT w.suppressed$$,
                'no provider-week of fewer than 15 distinct patients is shown');
SELECT results_eq($$SELECT week, suppressed FROM analytics.provider_weeks('2026-11-01', '2026-12-01')
                     WHERE provider_id = 'cccccccc-0000-4000-8000-000000000002' ORDER BY week$$,
                  $$VALUES ('2026-11-16'::date, true), ('2026-11-23', true)$$,
                  'provider Y is suppressed as the complement of provider X''s small cells');
SELECT is_empty($$SELECT w.provider_id FROM analytics.provider_weeks('2026-11-01', '2026-12-01') w
                   WHERE w.suppressed <> (w.bookings IS NULL AND w.no_show_rate IS NULL AND w.utilisation IS NULL
                                          AND w.booked_hours IS NULL)
                      OR w.available_hours IS NULL$$,
                'suppression NULLs every patient-derived figure; available hours always show');
RESET ROLE;

SET LOCAL ROLE admin;
SELECT set_config('request.jwt.claims', :'claims_admin', true) IS NOT NULL AS claimed \gset
SELECT ok((SELECT count(*) > 0 FROM analytics.provider_weeks('2026-11-01', '2026-12-01')), 'admin gets the aggregates');
SELECT throws_ok($$SELECT * FROM analytics.bookings_by_week(NULL, '2026-12-01')$$, '22004', NULL, 'NULL from: 22004');
SELECT throws_ok($$SELECT * FROM analytics.bookings_by_week('2026-01-01', '2030-01-01')$$, '22023',
                 'window too large: at most 1096 days (3 years)', 'a four-year window: 22023');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
