-- Back to 0.3.0's two reminder columns. reminder_minutes_before holds whole
-- minutes only: a reminder_before of 90 seconds has no old form, so the
-- downgrade refuses (CG010) rather than round it.
DO $refuse$
DECLARE
  unrepresentable pg_catalog.int8;
BEGIN
  SELECT pg_catalog.count(*) INTO unrepresentable FROM patients.preferences p
   WHERE pg_catalog.extract('epoch', p.reminder_before)
         OPERATOR(pg_catalog.%) 60::pg_catalog.numeric OPERATOR(pg_catalog.<>) 0::pg_catalog.numeric;
  IF unrepresentable OPERATOR(pg_catalog.>) 0 THEN
    RAISE EXCEPTION USING ERRCODE = 'CG010',
      MESSAGE = pg_catalog.format('downgrade to 0.3.0 would lose data: %s rows of patients.preferences have a '
                                  'reminder_before that is not a whole number of minutes', unrepresentable),
      DETAIL = '0.3.0 keeps patients.preferences.reminder_minutes_before (int4 minutes) equal to reminder_before.',
      HINT = 'Round those reminder_before values to whole minutes first, or stay on 0.4.0.';
  END IF;
END
$refuse$;

ALTER TABLE patients.preferences ALTER COLUMN reminder_before DROP DEFAULT;
-- A constant default: no table rewrite (PostgreSQL 11+); the backfill then
-- writes the real values.
-- 0.3.0's type, exactly; it holds 0 to 10080:
-- squawk-ignore prefer-bigint-over-int
ALTER TABLE patients.preferences ADD COLUMN reminder_minutes_before pg_catalog.int4 NOT NULL DEFAULT 1440;
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
         SET reminder_minutes_before = (pg_catalog.extract('epoch', p.reminder_before)
                                        OPERATOR(pg_catalog./) 60::pg_catalog.numeric)::pg_catalog.int4
       WHERE p.patient_id OPERATOR(pg_catalog.>) after_key AND p.patient_id OPERATOR(pg_catalog.<=) upto_key;
    EXCEPTION WHEN OTHERS THEN
      GET STACKED DIAGNOSTICS failed_state = RETURNED_SQLSTATE;
      RAISE EXCEPTION USING ERRCODE = failed_state,
        MESSAGE = pg_catalog.format('backfill of patients.preferences.reminder_minutes_before failed for patient_id '
                                    'in (%s, %s]: %s', after_key, upto_key, SQLERRM);
    END;
    after_key := upto_key;
  END LOOP;
  PERFORM pg_catalog.set_config('session_replication_role', replication_role, true);
END
$backfill$;
ALTER TABLE patients.preferences ADD CONSTRAINT preferences_reminder_check
  CHECK (reminder_minutes_before OPERATOR(pg_catalog.>=) 0
         AND reminder_minutes_before OPERATOR(pg_catalog.<=) 10080) NOT VALID;
-- In the same transaction as NOT VALID (squawk's constraint-missing-not-valid):
-- ADD COLUMN holds ACCESS EXCLUSIVE on patients.preferences for the whole
-- script anyway, so this costs one scan and no lock; the split across two
-- releases that does save the lock is bookings.appointments.location_id.
-- squawk-ignore constraint-missing-not-valid
ALTER TABLE patients.preferences VALIDATE CONSTRAINT preferences_reminder_check;
GRANT UPDATE (reminder_minutes_before) ON TABLE patients.preferences TO patient;
