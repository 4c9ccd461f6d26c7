-- Back to 0.2.0's reminder_minutes_before alone. 0.3.0 keeps both columns
-- equal, so nothing is lost unless the sync trigger was bypassed: refuse then.
DO $refuse$
DECLARE
  wrong pg_catalog.int8;
BEGIN
  SELECT pg_catalog.count(*) INTO wrong FROM patients.preferences p
   WHERE p.reminder_before IS DISTINCT FROM pg_catalog.make_interval(mins => p.reminder_minutes_before);
  IF wrong OPERATOR(pg_catalog.>) 0 THEN
    RAISE EXCEPTION USING ERRCODE = 'CG010',
      MESSAGE = pg_catalog.format('downgrade to 0.2.0 would lose data: %s rows of patients.preferences have a '
                                  'reminder_before unequal to reminder_minutes_before', wrong),
      HINT = 'Set reminder_minutes_before from reminder_before first.';
  END IF;
END
$refuse$;
DROP TRIGGER IF EXISTS preferences_sync_reminder ON patients.preferences;
DROP FUNCTION IF EXISTS patients.preferences_sync_reminder();
-- The refusal above made sure nothing is lost:
-- squawk-ignore ban-drop-column
ALTER TABLE patients.preferences DROP COLUMN IF EXISTS reminder_before;
