-- Back to 0.3.0's location_id: nullable, with the foreign key and the NOT
-- NULL check NOT VALID as 0.3.0 made them. Nothing is lost.
ALTER TABLE bookings.appointments ADD CONSTRAINT appointments_location_id_not_null
  CHECK (location_id IS NOT NULL) NOT VALID;
-- 0.3.0 clients may leave it out; the trigger fills it:
-- squawk-ignore ban-drop-not-null
ALTER TABLE bookings.appointments ALTER COLUMN location_id DROP NOT NULL;
ALTER TABLE bookings.appointments DROP CONSTRAINT IF EXISTS appointments_location_id_fkey;
ALTER TABLE bookings.appointments ADD CONSTRAINT appointments_location_id_fkey FOREIGN KEY (location_id)
  REFERENCES public.locations (id) ON DELETE RESTRICT NOT VALID;
