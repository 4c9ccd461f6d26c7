-- While both patients.preferences.reminder_minutes_before (int4 minutes, the
-- old form) and reminder_before (interval, the new form) exist (release
-- 0.3.0), this trigger keeps them equal, whichever one a writer sets: an old
-- application and a new one can run side by side. On INSERT a given
-- reminder_before wins (the old column has a default, the new one none); on
-- UPDATE the changed column wins, and two changed columns must agree.
-- Taken whole by the upgrade to 0.3.0 and by the downgrade from 0.4.0.
CREATE FUNCTION patients.preferences_sync_reminder() RETURNS trigger
  LANGUAGE plpgsql VOLATILE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
  AS $fn$
DECLARE
  minutes pg_catalog.numeric;
BEGIN
  IF TG_OP OPERATOR(pg_catalog.=) 'INSERT' THEN
    IF NEW.reminder_before IS NULL THEN
      NEW.reminder_before := pg_catalog.make_interval(mins => NEW.reminder_minutes_before);
      RETURN NEW;
    END IF;
  ELSIF NEW.reminder_before IS NOT DISTINCT FROM OLD.reminder_before THEN
    IF NEW.reminder_minutes_before IS DISTINCT FROM OLD.reminder_minutes_before THEN
      NEW.reminder_before := pg_catalog.make_interval(mins => NEW.reminder_minutes_before);
    END IF;
    RETURN NEW;
  END IF;
  -- reminder_before was written: derive the old form from it.
  minutes := pg_catalog.extract('epoch', NEW.reminder_before) OPERATOR(pg_catalog./) 60::pg_catalog.numeric;
  IF minutes OPERATOR(pg_catalog.<>) pg_catalog.trunc(minutes) THEN
    RAISE EXCEPTION USING
      ERRCODE = '22023',
      MESSAGE = pg_catalog.format('reminder_before %s is not a whole number of minutes', NEW.reminder_before),
      DETAIL = 'Until release 0.4.0, patients.preferences.reminder_minutes_before must hold the same value.';
  END IF;
  IF TG_OP OPERATOR(pg_catalog.=) 'UPDATE'
     AND NEW.reminder_minutes_before IS DISTINCT FROM OLD.reminder_minutes_before
     AND NEW.reminder_minutes_before IS DISTINCT FROM minutes::pg_catalog.int4 THEN
    RAISE EXCEPTION USING
      ERRCODE = '22023',
      MESSAGE = pg_catalog.format('reminder_minutes_before %s and reminder_before %s disagree',
                                  NEW.reminder_minutes_before, NEW.reminder_before),
      HINT = 'Set one of the two columns.';
  END IF;
  NEW.reminder_minutes_before := minutes::pg_catalog.int4;
  RETURN NEW;
END
$fn$;
REVOKE ALL ON FUNCTION patients.preferences_sync_reminder() FROM PUBLIC;
COMMENT ON FUNCTION patients.preferences_sync_reminder() IS
  'BEFORE INSERT/UPDATE trigger on patients.preferences (release 0.3.0 only): keeps reminder_minutes_before and '
  'reminder_before equal.';
CREATE TRIGGER preferences_sync_reminder BEFORE INSERT OR UPDATE ON patients.preferences
  FOR EACH ROW EXECUTE FUNCTION patients.preferences_sync_reminder();
