-- The booking product's PHI tables for the disclosure ledger
-- (docs/audit-trail.md), each with the column naming its patient. The
-- provider policies' break-the-glass branch is in 70_bookings.sql and
-- 75_patient_access.sql.
SELECT careguard.register_phi('patients.profiles', 'id', builtin => true);
SELECT careguard.register_phi('patients.preferences', 'patient_id', builtin => true);
SELECT careguard.register_phi('bookings.appointments', 'patient_id', builtin => true);
SELECT careguard.register_phi('bookings.status_history', 'patient_id', builtin => true);

-- A provider may break the glass for a patient outside their own list.
GRANT careguard_break_glass TO provider;

