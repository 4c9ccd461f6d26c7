-- bookings.appointments.location_id, step 2 of 2: validate what 0.3.0 added
-- NOT VALID. VALIDATE scans under SHARE UPDATE EXCLUSIVE (and ROW SHARE on
-- public.locations), so bookings go on; SET NOT NULL then needs ACCESS
-- EXCLUSIVE, but only for a catalogue change: the valid check proves it.
ALTER TABLE bookings.appointments VALIDATE CONSTRAINT appointments_location_id_fkey;
ALTER TABLE bookings.appointments VALIDATE CONSTRAINT appointments_location_id_not_null;
ALTER TABLE bookings.appointments ALTER COLUMN location_id SET NOT NULL;
ALTER TABLE bookings.appointments DROP CONSTRAINT IF EXISTS appointments_location_id_not_null;
