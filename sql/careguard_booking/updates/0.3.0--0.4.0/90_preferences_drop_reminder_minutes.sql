-- reminder_minutes_before -> reminder_before, step 2 of 2: the application
-- uses reminder_before (grants, the demo seed), so the old column, its check
-- and the sync trigger go. Nothing is lost: 0.3.0 kept both columns equal,
-- checked once more here. Numbered last: the ACCESS EXCLUSIVE lock that DROP
-- COLUMN takes is held until commit, so it comes after the long steps.
DO $verify$
DECLARE
  wrong pg_catalog.int8;
BEGIN
  SELECT pg_catalog.count(*) INTO wrong FROM patients.preferences p
   WHERE p.reminder_before IS DISTINCT FROM pg_catalog.make_interval(mins => p.reminder_minutes_before);
  IF wrong OPERATOR(pg_catalog.>) 0 THEN
    RAISE EXCEPTION USING ERRCODE = 'CG011',
      MESSAGE = pg_catalog.format('%s rows of patients.preferences have reminder_before unequal to '
                                  'reminder_minutes_before; the sync trigger was bypassed', wrong);
  END IF;
END
$verify$;
DROP TRIGGER IF EXISTS preferences_sync_reminder ON patients.preferences;
DROP FUNCTION IF EXISTS patients.preferences_sync_reminder();
ALTER TABLE patients.preferences DROP CONSTRAINT IF EXISTS preferences_reminder_check;
-- The remove step: no client uses it since 0.3.0:
-- squawk-ignore ban-drop-column
ALTER TABLE patients.preferences DROP COLUMN IF EXISTS reminder_minutes_before;
ALTER TABLE patients.preferences ALTER COLUMN reminder_before SET DEFAULT '1 day'::pg_catalog.interval;
