-- Downgrade piece 0.4.0 -> 0.3.0: removes what sql/careguard_booking/91_phi_ledger.sql
-- and the break-the-glass branch added. Run before careguard's own downgrade.
ALTER POLICY status_history_select_provider ON bookings.status_history
  USING (bookings.can_access_booking(patient_id, provider_id, 'provider'));
ALTER POLICY profiles_select_provider ON patients.profiles
  USING (patients.can_access_patient(id, 'provider'));
REVOKE careguard_break_glass FROM provider;
DELETE FROM careguard.phi_tables t
 WHERE t.relid OPERATOR(pg_catalog.=) ANY (ARRAY['patients.profiles', 'patients.preferences',
         'bookings.appointments', 'bookings.status_history']::pg_catalog.regclass[]);
