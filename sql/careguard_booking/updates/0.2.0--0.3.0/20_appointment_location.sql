-- bookings.appointments.location_id: a new NOT NULL foreign key, without a
-- long lock. 0.3.0 adds the column, the trigger that fills it for new
-- bookings, the foreign key and a NOT NULL check, both NOT VALID (enforced
-- for new and changed rows, no scan), and backfills. 0.4.0 validates both
-- (SHARE UPDATE EXCLUSIVE: reads and writes go on during the scan) and then
-- sets NOT NULL, which the valid check proves without a scan.
ALTER TABLE bookings.appointments ADD COLUMN location_id pg_catalog.uuid;
ALTER TABLE bookings.appointments ADD CONSTRAINT appointments_location_id_fkey FOREIGN KEY (location_id)
  REFERENCES public.locations (id) ON DELETE RESTRICT NOT VALID;
ALTER TABLE bookings.appointments ADD CONSTRAINT appointments_location_id_not_null
  CHECK (location_id IS NOT NULL) NOT VALID;
