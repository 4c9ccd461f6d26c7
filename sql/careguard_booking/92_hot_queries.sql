-- The booking product's hot queries, as the application sends them (the
-- policies supply the filter), registered for the plan audit
-- (careguard.audit(), rules plan_*). Each is planned as a real user of its
-- role (the access matrix's booking contexts) and compared with the same rows
-- asked for by service_role, which bypasses RLS, with the policy's predicate
-- written out; bench/policies.sh times the same pairs.
SELECT careguard.register_query('booking.patient_appointments',
  $q$SELECT * FROM bookings.appointments$q$,
  '{"name": "patient"}',
  reference_query => $q$SELECT * FROM bookings.appointments WHERE patient_id = auth.uid()$q$,
  extension => 'careguard_booking');
-- The provider dashboard: its partial index appointments_provider_confirmed_idx
-- returns the confirmed upcoming appointments in order, 50 and done.
SELECT careguard.register_query('booking.provider_dashboard',
  $q$SELECT * FROM bookings.appointments WHERE status = 'confirmed' AND starts_at >= now() ORDER BY starts_at LIMIT 50$q$,
  '{"name": "provider"}',
  reference_query => $q$SELECT * FROM bookings.appointments WHERE provider_id = auth.provider_id() AND status = 'confirmed' AND starts_at >= now() ORDER BY starts_at LIMIT 50$q$,
  extension => 'careguard_booking');
SELECT careguard.register_query('booking.provider_patients',
  $q$SELECT id, full_name FROM patients.profiles$q$,
  '{"name": "provider"}',
  reference_query => $q$SELECT id, full_name FROM patients.profiles WHERE id IN (SELECT patient_id FROM bookings.appointments WHERE provider_id = auth.provider_id())$q$,
  extension => 'careguard_booking');
-- A lookup by primary key: the plan is the same for every id, so one that
-- names no appointment stands for the application's parameter.
SELECT careguard.register_query('booking.admin_appointment_lookup',
  $q$SELECT * FROM bookings.appointments WHERE id = '00000000-0000-4000-8000-000000000000'$q$,
  '{"name": "admin"}',
  extension => 'careguard_booking');
