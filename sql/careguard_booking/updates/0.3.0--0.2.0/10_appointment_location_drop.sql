-- Back to 0.2.0, which has no appointment location: an appointment's place
-- is then its provider's current location. An appointment held elsewhere
-- (its provider moved, or an admin set another place) would lose where it
-- takes place, so the downgrade refuses (CG010).
DO $refuse$
DECLARE
  elsewhere pg_catalog.int8;
BEGIN
  SELECT pg_catalog.count(*) INTO elsewhere
    FROM bookings.appointments a JOIN providers.profiles p ON p.id OPERATOR(pg_catalog.=) a.provider_id
   WHERE a.location_id IS DISTINCT FROM p.location_id AND a.location_id IS NOT NULL;
  IF elsewhere OPERATOR(pg_catalog.>) 0 THEN
    RAISE EXCEPTION USING ERRCODE = 'CG010',
      MESSAGE = pg_catalog.format('downgrade to 0.2.0 would lose data: %s rows of bookings.appointments have a '
                                  'location_id other than their provider''s location', elsewhere),
      DETAIL = '0.2.0 has no bookings.appointments.location_id column.',
      HINT = 'Stay on 0.3.0, or export those appointments'' locations first.';
  END IF;
END
$refuse$;
DROP TRIGGER IF EXISTS appointments_default_location ON bookings.appointments;
DROP FUNCTION IF EXISTS bookings.appointments_default_location();
-- Takes its index, foreign key and check with it.
-- The refusal above made sure nothing is lost:
-- squawk-ignore ban-drop-column
ALTER TABLE bookings.appointments DROP COLUMN IF EXISTS location_id;
