-- Booking without the service role: as patient A (through a PostgREST-style
-- gateway: SET LOCAL ROLE + transaction-local request.jwt.claims), find
-- provider X's free slots, book the first with a plain INSERT under RLS, and
-- show the booking. Rolled back, so the demo data stay as they were.
-- Run as the superuser against the demo database: psql -X -f scripts/demo_booking.sql
\set ON_ERROR_STOP on
SELECT claims AS a_claims, user_id AS a_id FROM careguard.demo_users() WHERE label = 'patient A' \gset
SELECT provider_id AS x_id FROM careguard.demo_users() WHERE label = 'provider X' \gset
BEGIN;
SET LOCAL ROLE patient;
SELECT set_config('request.jwt.claims', :'a_claims', true) \g /dev/null
\echo 'provider X''s next free 30-minute slots, as patient A sees them:'
SELECT starts_at, ends_at
  FROM bookings.free_slots(:'x_id', now(), now() + interval '7 days', interval '30 minutes') LIMIT 5;
\echo 'patient A books the first one:'
INSERT INTO bookings.appointments (patient_id, provider_id, starts_at, ends_at, reason)
SELECT :'a_id', :'x_id', s.starts_at, s.ends_at, 'Follow-up visit'
  FROM bookings.free_slots(:'x_id', now(), now() + interval '7 days', interval '30 minutes') AS s
 ORDER BY s.starts_at LIMIT 1
RETURNING id, starts_at, ends_at, status;
\echo 'the booking, as patient A reads it back (and the slot is no longer offered):'
SELECT a.starts_at, a.ends_at, a.status, p.display_name AS provider, a.reason
  FROM bookings.appointments a JOIN providers.profiles p ON p.id = a.provider_id
 WHERE a.created_at = now();
SELECT min(starts_at) AS next_free_slot
  FROM bookings.free_slots(:'x_id', now(), now() + interval '7 days', interval '30 minutes');
ROLLBACK;
