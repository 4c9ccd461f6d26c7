-- Backfill in batches of 5,000 keys, each in its own savepoint (a BEGIN ...
-- EXCEPTION block): a failing batch is undone alone and reported with its
-- key range, then the whole upgrade is rolled back, since an extension
-- script cannot commit part of itself (docs/migrations.md, "Batches").
-- session_replication_role = replica for the backfill only: it is no
-- application change, so no trigger (updated_at, the sync) may fire.
DO $backfill$
DECLARE
  batch_size CONSTANT pg_catalog.int4 := 5000;
  after_key pg_catalog.uuid := '00000000-0000-0000-0000-000000000000';
  upto_key pg_catalog.uuid;
  failed_state pg_catalog.text;
  replication_role CONSTANT pg_catalog.text := pg_catalog.current_setting('session_replication_role');
BEGIN
  PERFORM pg_catalog.set_config('session_replication_role', 'replica', true);
  LOOP
    -- The batch's last key (uuid has no max()).
    SELECT b.patient_id INTO upto_key
      FROM (SELECT p.patient_id FROM patients.preferences p
             WHERE p.patient_id OPERATOR(pg_catalog.>) after_key
             ORDER BY p.patient_id LIMIT batch_size) AS b
     ORDER BY b.patient_id DESC LIMIT 1;
    EXIT WHEN upto_key IS NULL;
    BEGIN
      UPDATE patients.preferences p
         SET reminder_before = pg_catalog.make_interval(mins => p.reminder_minutes_before)
       WHERE p.patient_id OPERATOR(pg_catalog.>) after_key AND p.patient_id OPERATOR(pg_catalog.<=) upto_key
         AND p.reminder_before IS NULL;
    EXCEPTION WHEN OTHERS THEN
      GET STACKED DIAGNOSTICS failed_state = RETURNED_SQLSTATE;
      RAISE EXCEPTION USING ERRCODE = failed_state,
        MESSAGE = pg_catalog.format('backfill of patients.preferences.reminder_before failed for patient_id in (%s, %s]: %s',
                                    after_key, upto_key, SQLERRM);
    END;
    after_key := upto_key;
  END LOOP;
  PERFORM pg_catalog.set_config('session_replication_role', replication_role, true);
END
$backfill$;

-- Verify before anything relies on the new column.
DO $verify$
DECLARE
  wrong pg_catalog.int8;
BEGIN
  SELECT pg_catalog.count(*) INTO wrong FROM patients.preferences p
   WHERE p.reminder_before IS DISTINCT FROM pg_catalog.make_interval(mins => p.reminder_minutes_before);
  IF wrong OPERATOR(pg_catalog.>) 0 THEN
    RAISE EXCEPTION USING ERRCODE = 'CG011',
      MESSAGE = pg_catalog.format('backfill check failed: %s rows of patients.preferences have reminder_before '
                                  'unequal to reminder_minutes_before', wrong);
  END IF;
END
$verify$;

-- In the same transaction as NOT VALID (squawk's constraint-missing-not-valid):
-- ADD COLUMN holds ACCESS EXCLUSIVE on patients.preferences for the whole
-- script anyway, so this costs one scan and no lock; the split across two
-- releases that does save the lock is bookings.appointments.location_id.
-- squawk-ignore constraint-missing-not-valid
ALTER TABLE patients.preferences VALIDATE CONSTRAINT preferences_reminder_before_check;
-- NOT NULL without a scan under ACCESS EXCLUSIVE: a validated CHECK proves
-- it, so SET NOT NULL (PostgreSQL 12+) skips its own scan.
ALTER TABLE patients.preferences ADD CONSTRAINT preferences_reminder_before_not_null
  CHECK (reminder_before IS NOT NULL) NOT VALID;
-- squawk-ignore constraint-missing-not-valid
ALTER TABLE patients.preferences VALIDATE CONSTRAINT preferences_reminder_before_not_null;
ALTER TABLE patients.preferences ALTER COLUMN reminder_before SET NOT NULL;
ALTER TABLE patients.preferences DROP CONSTRAINT IF EXISTS preferences_reminder_before_not_null;

GRANT UPDATE (reminder_before) ON TABLE patients.preferences TO patient;
