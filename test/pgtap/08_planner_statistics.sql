-- What this proves: a provider cannot use the planner's row estimates to
-- confirm a free-text PHI value that only other providers' patients have.
-- With most-common-value statistics on bookings.appointments.reason (0.1.0),
-- EXPLAIN estimated tens of rows for such a value and one row for a wrong
-- guess; with no statistics kept on PHI text both estimates are the same.
BEGIN;
-- seed_demo reports its progress as NOTICEs; the TAP output stays clean.
SET LOCAL client_min_messages = warning;
SELECT plan(7);

TRUNCATE bookings.status_history, bookings.appointments, patients.preferences, patients.profiles,
         providers.availability, providers.profiles, public.locations, public.categories, auth.users;
SELECT careguard.seed_demo(60, 4, 2000, 42, '2026-11-23') IS NOT NULL AS seeded \gset
SELECT provider_id AS provider_x, claims AS provider_x_claims
  FROM careguard.demo_users() WHERE label = 'provider X' \gset

-- A diagnosis only other providers' patients have, common enough to be a
-- most-common value had the column statistics.
UPDATE bookings.appointments SET reason = 'HIV viral load review'
  WHERE provider_id <> :'provider_x' AND (pg_catalog.hashtext(id::text) % 4) = 0;
ANALYZE bookings.appointments;
ANALYZE bookings.status_history;
SELECT patient_id AS busiest FROM bookings.appointments WHERE provider_id <> :'provider_x'
  GROUP BY patient_id ORDER BY count(*) DESC, patient_id LIMIT 1 \gset

CREATE FUNCTION pg_temp.estimated_rows(query text) RETURNS numeric
  LANGUAGE plpgsql AS $$
DECLARE plan json;
BEGIN
  EXECUTE 'EXPLAIN (FORMAT JSON) ' || query INTO plan;
  RETURN (plan -> 0 -> 'Plan' ->> 'Plan Rows')::numeric;
END $$;

SET LOCAL ROLE provider;
SELECT set_config('request.jwt.claims', :'provider_x_claims', true) IS NOT NULL AS claims_set \gset
SELECT count(*) AS own_hits FROM bookings.appointments WHERE reason = 'HIV viral load review' \gset
SELECT pg_temp.estimated_rows($$SELECT id FROM bookings.appointments WHERE reason = 'HIV viral load review'$$) AS hot,
       pg_temp.estimated_rows($$SELECT id FROM bookings.appointments WHERE reason = 'a wrong guess 123'$$) AS cold \gset
-- A patient id and its number of visits: another provider's busiest patient
-- against an id nobody has.
SELECT pg_temp.estimated_rows(format('SELECT 1 FROM bookings.appointments WHERE patient_id = %L', :'busiest')) AS busy_patient,
       pg_temp.estimated_rows($$SELECT 1 FROM bookings.appointments WHERE patient_id = '00000000-0000-4000-8000-00000000dead'$$) AS nobody,
       pg_temp.estimated_rows(format('SELECT 1 FROM bookings.status_history WHERE patient_id = %L', :'busiest')) AS busy_history,
       pg_temp.estimated_rows($$SELECT 1 FROM bookings.status_history WHERE patient_id = '00000000-0000-4000-8000-00000000dead'$$) AS nobody_history \gset
RESET ROLE;

SELECT is(:'own_hits'::bigint, 0::bigint, 'provider X has no appointment with that reason');
SELECT cmp_ok((SELECT count(*) FROM bookings.appointments WHERE reason = 'HIV viral load review'),
  '>', 100::bigint, 'other providers have hundreds of them');
SELECT is(:'hot'::numeric, :'cold'::numeric,
  'the estimate for the other providers'' diagnosis equals the estimate for a wrong guess');
SELECT is(:'busy_patient'::numeric, :'nobody'::numeric,
  'the estimate for another provider''s busiest patient equals the estimate for an unused id');
SELECT is(:'busy_history'::numeric, :'nobody_history'::numeric,
  'the same holds for the status history');
SELECT is((SELECT count(*) FROM pg_stats WHERE schemaname = 'bookings' AND tablename = 'appointments'
             AND attname IN ('reason', 'patient_id', 'id')), 0::bigint,
  'ANALYZE stored no statistics for appointments.reason, patient_id and id');
SELECT is_empty($$SELECT object FROM careguard.audit() WHERE rule = 'phi_column_statistics'$$,
  'the clean install has no phi_column_statistics finding');

SELECT * FROM finish();
ROLLBACK;
