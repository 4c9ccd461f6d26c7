-- Upgrade piece 0.3.0 -> 0.4.0 (sql/careguard_booking/91_phi_ledger.sql and
-- the break-the-glass branch of the provider policies in 70_bookings.sql,
-- 75_patient_access.sql). Needs careguard at 0.4.0 first.
SELECT careguard.register_phi('patients.profiles', 'id', builtin => true);
SELECT careguard.register_phi('patients.preferences', 'patient_id', builtin => true);
SELECT careguard.register_phi('bookings.appointments', 'patient_id', builtin => true);
SELECT careguard.register_phi('bookings.status_history', 'patient_id', builtin => true);

-- A provider may break the glass for a patient outside their own list.
GRANT careguard_break_glass TO provider;


ALTER POLICY status_history_select_provider ON bookings.status_history
  USING (bookings.can_access_booking(patient_id, provider_id, 'provider')
         OR patient_id OPERATOR(pg_catalog.=) ANY (careguard.glass_patients()));
ALTER POLICY profiles_select_provider ON patients.profiles
  USING (patients.can_access_patient(id, 'provider')
         OR id OPERATOR(pg_catalog.=) ANY (careguard.glass_patients()));
