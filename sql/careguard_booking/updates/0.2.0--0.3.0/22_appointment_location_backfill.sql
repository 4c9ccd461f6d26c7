-- Each appointment's location is its provider's: batches with savepoints and
-- no triggers, as in 12_preferences_reminder_backfill.sql (the guard trigger
-- would touch updated_at; the history trigger would collect every row).
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
    SELECT b.id INTO upto_key
      FROM (SELECT a.id FROM bookings.appointments a
             WHERE a.id OPERATOR(pg_catalog.>) after_key ORDER BY a.id LIMIT batch_size) AS b
     ORDER BY b.id DESC LIMIT 1;
    EXIT WHEN upto_key IS NULL;
    BEGIN
      UPDATE bookings.appointments a SET location_id = p.location_id
        FROM providers.profiles p
       WHERE p.id OPERATOR(pg_catalog.=) a.provider_id
         AND a.id OPERATOR(pg_catalog.>) after_key AND a.id OPERATOR(pg_catalog.<=) upto_key
         AND a.location_id IS NULL;
    EXCEPTION WHEN OTHERS THEN
      GET STACKED DIAGNOSTICS failed_state = RETURNED_SQLSTATE;
      RAISE EXCEPTION USING ERRCODE = failed_state,
        MESSAGE = pg_catalog.format('backfill of bookings.appointments.location_id failed for id in (%s, %s]: %s',
                                    after_key, upto_key, SQLERRM);
    END;
    after_key := upto_key;
  END LOOP;
  PERFORM pg_catalog.set_config('session_replication_role', replication_role, true);
END
$backfill$;

DO $verify$
DECLARE
  missing pg_catalog.int8;
BEGIN
  SELECT pg_catalog.count(*) INTO missing FROM bookings.appointments a WHERE a.location_id IS NULL;
  IF missing OPERATOR(pg_catalog.>) 0 THEN
    RAISE EXCEPTION USING ERRCODE = 'CG011',
      MESSAGE = pg_catalog.format('backfill check failed: %s rows of bookings.appointments have no location_id', missing);
  END IF;
END
$verify$;

-- After the backfill: one build instead of 100k index updates. Not
-- CONCURRENTLY: an extension script runs inside a transaction.
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX appointments_location_id_idx ON bookings.appointments (location_id);
