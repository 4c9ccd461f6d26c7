-- Downgrade piece 0.4.0 -> 0.3.0: removes what sql/careguard_booking/91_phi_ledger.sql
-- added. Run before careguard's own downgrade (its policies call careguard.glass_patients()).
DROP POLICY appointments_select_break_glass ON bookings.appointments;
DROP POLICY status_history_select_break_glass ON bookings.status_history;
DROP POLICY profiles_select_break_glass ON patients.profiles;
REVOKE careguard_break_glass FROM provider;
DELETE FROM careguard.phi_tables t
 WHERE t.relid OPERATOR(pg_catalog.=) ANY (ARRAY['patients.profiles', 'patients.preferences',
         'bookings.appointments', 'bookings.status_history']::pg_catalog.regclass[]);
