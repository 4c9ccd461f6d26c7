-- reminder_minutes_before (int4 minutes) becomes reminder_before (interval),
-- step 1 of 2: add the new column, keep both in sync, backfill, verify.
-- The application moves to the new column in 0.4.0, which removes the old.

ALTER TABLE patients.preferences ADD COLUMN reminder_before pg_catalog.interval;
-- NOT VALID: checks new and changed rows from now on, scans nothing yet.
ALTER TABLE patients.preferences ADD CONSTRAINT preferences_reminder_before_check
  CHECK (reminder_before OPERATOR(pg_catalog.>=) '0'::pg_catalog.interval
         AND reminder_before OPERATOR(pg_catalog.<=) '7 days'::pg_catalog.interval) NOT VALID;
