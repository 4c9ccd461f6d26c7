-- bookings.appointments.location_id: where an appointment takes place. A
-- booking names a provider, not a place (a patient's INSERT privilege does
-- not include location_id), so a BEFORE INSERT trigger fills in the
-- provider's location when none is given. Defined once here; the 0.2.0 to
-- 0.3.0 upgrade takes this file whole (docs/migrations.md).
CREATE FUNCTION bookings.appointments_default_location() RETURNS trigger
  LANGUAGE plpgsql VOLATILE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
  AS $fn$
BEGIN
  IF NEW.location_id IS NULL THEN
    SELECT p.location_id INTO NEW.location_id
      FROM providers.profiles p WHERE p.id OPERATOR(pg_catalog.=) NEW.provider_id;
    -- No provider: the error its foreign key would give, before the NOT
    -- NULL of location_id (checked before foreign keys) hides it.
    IF NOT FOUND THEN
      RAISE EXCEPTION USING
        ERRCODE = '23503',
        MESSAGE = 'insert or update on table "appointments" violates foreign key constraint '
                  '"appointments_provider_id_fkey"',
        DETAIL = pg_catalog.format('Key (provider_id)=(%s) is not present in table "profiles".', NEW.provider_id),
        TABLE = 'appointments', SCHEMA = 'bookings', CONSTRAINT = 'appointments_provider_id_fkey';
    END IF;
  END IF;
  RETURN NEW;
END
$fn$;
REVOKE ALL ON FUNCTION bookings.appointments_default_location() FROM PUBLIC;
COMMENT ON FUNCTION bookings.appointments_default_location() IS
  'BEFORE INSERT trigger on bookings.appointments: location_id defaults to the provider''s location.';
-- Fires before appointments_lock_provider (name order): the row is complete
-- before the booking waits for its provider.
CREATE TRIGGER appointments_default_location BEFORE INSERT ON bookings.appointments
  FOR EACH ROW EXECUTE FUNCTION bookings.appointments_default_location();
