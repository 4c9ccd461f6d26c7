-- Upgrade piece 0.3.0 -> 0.4.0: sql/careguard_booking/91_phi_ledger.sql verbatim.
-- Needs careguard at 0.4.0 first (ALTER EXTENSION careguard UPDATE).
-- The booking product's PHI tables for the disclosure ledger
-- (docs/audit-trail.md), each with the column naming its patient, and the
-- break-the-glass branch of its provider policies.
SELECT careguard.register_phi('patients.profiles', 'id', builtin => true);
SELECT careguard.register_phi('patients.preferences', 'patient_id', builtin => true);
SELECT careguard.register_phi('bookings.appointments', 'patient_id', builtin => true);
SELECT careguard.register_phi('bookings.status_history', 'patient_id', builtin => true);

-- A provider may break the glass for a patient outside their own list.
GRANT careguard_break_glass TO provider;

-- Permissive, so OR-ed with the provider's own policy; glass_patients() is
-- hoisted into an initPlan, so patient_id = ANY ($n) is an index condition.
CREATE POLICY appointments_select_break_glass ON bookings.appointments FOR SELECT TO provider
  USING (patient_id OPERATOR(pg_catalog.=) ANY (careguard.glass_patients()));
CREATE POLICY status_history_select_break_glass ON bookings.status_history FOR SELECT TO provider
  USING (patient_id OPERATOR(pg_catalog.=) ANY (careguard.glass_patients()));
CREATE POLICY profiles_select_break_glass ON patients.profiles FOR SELECT TO provider
  USING (id OPERATOR(pg_catalog.=) ANY (careguard.glass_patients()));
