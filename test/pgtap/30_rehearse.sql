-- What this proves: careguard.rehearse() runs a migration and its down
-- migration for real, reports what they did, and leaves no trace.
-- 1.    The booking product as installed has no policy gap.
-- 2-7.  A migration that leaves a PHI table open: each missing invariant is
--       a gap row, the result fails, and nothing of it survives.
-- 8-10. A clean migration: its locks and timings, result ok.
-- 11-12 A down migration that forgets something: a diff row, result fails.
-- 13-14 An introduced audit finding is reported with its severity.
-- 15-16 An error in up is a row (SQLSTATE and message), not an exception.
-- 17-20 Statements that cannot run in a transaction are refused (25001);
--       the word in a comment or a literal is not.
-- 21    The migration runs with the caller's search_path.
-- 22    The caller's transaction keeps its own uncommitted work.
-- 23    A table careguard.protect() manages is held to the invariants too.
-- Each rehearsal audits the booking schemas only, to keep the suite quick.
BEGIN;
SELECT plan(23);

SELECT is_empty($$SELECT * FROM careguard.policy_gaps()$$, 'the installed booking product has no policy gap');

CREATE TEMP TABLE open_table AS SELECT * FROM careguard.rehearse(
  $up$CREATE TABLE bookings.rehearse_notes (id int PRIMARY KEY, note text);
      GRANT SELECT, INSERT ON bookings.rehearse_notes TO patient;$up$,
  $down$DROP TABLE bookings.rehearse_notes;$down$, audit_schemas => ARRAY['bookings', 'patients']);
SELECT set_eq($$SELECT object, detail FROM open_table WHERE kind = 'gap'$$,
  $$VALUES ('bookings.rehearse_notes', 'INSERT is granted to patient but no INSERT policy applies to it'),
           ('bookings.rehearse_notes', 'SELECT is granted to patient but no SELECT policy applies to it'),
           ('bookings.rehearse_notes', 'row level security is disabled'),
           ('bookings.rehearse_notes', 'row level security is not forced')$$,
  'a new PHI table without RLS or policies: four gaps');
SELECT is((SELECT kind FROM open_table WHERE step = 'result'), 'failed', 'and the rehearsal fails');
SELECT is((SELECT count(*)::int FROM open_table WHERE kind = 'diff'), 0, 'its down migration restores the catalogue');
SELECT hasnt_table('bookings'::name, 'rehearse_notes'::name, 'nothing of the migration survives');
SELECT is((SELECT count(*)::int FROM open_table WHERE kind = 'finding' AND object = 'bookings.rehearse_notes'
            AND detail LIKE 'rls_disabled_exposed:%'), 1, 'the audit finding it introduced is reported');

CREATE TEMP TABLE policy_gap AS SELECT * FROM careguard.rehearse(
  $up$CREATE POLICY rehearse_extra ON bookings.appointments FOR SELECT TO patient USING (false);
      DROP POLICY appointments_select_patient ON bookings.appointments;
      DROP POLICY rehearse_extra ON bookings.appointments;$up$,
  $down$CREATE POLICY appointments_select_patient ON bookings.appointments FOR SELECT TO patient
          USING (bookings.can_access_booking(patient_id, provider_id, 'patient'));$down$, audit_schemas => ARRAY['bookings', 'patients']);
SELECT is((SELECT string_agg(detail, '; ') FROM policy_gap WHERE kind = 'gap'),
  'SELECT is granted to patient but no SELECT policy applies to it', 'a dropped policy leaves a granted command uncovered');

CREATE TEMP TABLE clean AS SELECT * FROM careguard.rehearse(
  $up$ALTER TABLE bookings.appointments ADD COLUMN rehearse_flag boolean;$up$,
  $down$ALTER TABLE bookings.appointments DROP COLUMN rehearse_flag;$down$, audit_schemas => ARRAY['bookings', 'patients']);
SELECT ok(EXISTS (SELECT 1 FROM clean WHERE step = 'up' AND kind = 'lock' AND object = 'bookings.appointments'
                   AND detail = 'AccessExclusiveLock'), 'ADD COLUMN is reported with its ACCESS EXCLUSIVE lock');
SELECT is((SELECT count(*)::int FROM clean WHERE kind = 'time' AND detail ~ '^[0-9.]+ ms$'), 2,
  'each step reports how long it ran');
SELECT is((SELECT kind FROM clean WHERE step = 'result'), 'ok', 'a clean migration passes');

CREATE TEMP TABLE forgetful AS SELECT * FROM careguard.rehearse(
  $up$CREATE INDEX rehearse_reason_idx ON bookings.appointments (created_at);
      COMMENT ON TABLE bookings.appointments IS 'changed';$up$,
  $down$DROP INDEX bookings.rehearse_reason_idx;$down$, audit_schemas => ARRAY['bookings', 'patients']);
SELECT ok(EXISTS (SELECT 1 FROM forgetful WHERE kind = 'diff' AND detail LIKE 'missing after down: comment | table bookings.appointments | Appointments.%'),
  'a down migration that leaves a change behind is a diff');
SELECT is((SELECT kind FROM forgetful WHERE step = 'result'), 'failed', 'and fails the rehearsal');

CREATE TEMP TABLE finding AS SELECT * FROM careguard.rehearse(
  $up$CREATE POLICY rehearse_open ON bookings.appointments FOR UPDATE TO patient USING (true) WITH CHECK (true);$up$,
  $down$DROP POLICY rehearse_open ON bookings.appointments;$down$, audit_schemas => ARRAY['bookings', 'patients']);
SELECT ok(EXISTS (SELECT 1 FROM finding WHERE kind = 'finding' AND severity = 'error'
                   AND detail LIKE 'write_policy_using_true:%'), 'an UPDATE policy USING (true) is an error finding');
SELECT is((SELECT kind FROM finding WHERE step = 'result'), 'failed', 'an introduced error finding fails the rehearsal');

CREATE TEMP TABLE broken AS SELECT * FROM careguard.rehearse(
  $up$ALTER TABLE bookings.appointments ADD COLUMN status text;$up$, $down$SELECT 1;$down$, audit_schemas => ARRAY['bookings', 'patients']);
SELECT is((SELECT step || ' ' || object FROM broken WHERE kind = 'error'), 'up 42701', 'an error in up is reported with its SQLSTATE');
SELECT is((SELECT kind FROM broken WHERE step = 'result'), 'failed', 'and fails the rehearsal');

SELECT throws_ok($$SELECT * FROM careguard.rehearse('CREATE INDEX CONCURRENTLY x ON bookings.appointments (reason)', 'DROP INDEX bookings.x')$$,
  '25001', NULL, 'CREATE INDEX CONCURRENTLY is refused before anything runs');
SELECT throws_ok($$SELECT * FROM careguard.rehearse('BEGIN; ALTER TABLE bookings.appointments ADD COLUMN y int; COMMIT;', 'SELECT 1')$$,
  '25001', NULL, 'a migration that manages its own transaction is refused');
SELECT throws_ok($$SELECT * FROM careguard.rehearse('SELECT 1', 'VACUUM bookings.appointments')$$,
  '25001', NULL, 'VACUUM in down is refused');
SELECT is((SELECT kind FROM careguard.rehearse(
  $up$-- built CONCURRENTLY in production
      COMMENT ON TABLE bookings.status_history IS 'commit; concurrently';$up$,
  $down$COMMENT ON TABLE bookings.status_history IS 'Every status change of an appointment (to_status NULL: deleted). Written only by the SECURITY DEFINER trigger bookings.record_status_history().';$down$, audit_schemas => ARRAY['bookings', 'patients'])
  WHERE step = 'result'), 'ok', 'the words in a comment or a literal are not refused');

SET LOCAL search_path = bookings, extensions, public;
SELECT ok(EXISTS (SELECT 1 FROM careguard.rehearse('CREATE TABLE rehearse_scratch (id int)', 'DROP TABLE rehearse_scratch', audit_schemas => ARRAY['bookings'])
                   WHERE kind = 'gap' AND object = 'bookings.rehearse_scratch'),
  'unqualified names resolve through the caller''s search_path');
RESET search_path;

CREATE TEMP TABLE caller_work (n int);
INSERT INTO caller_work VALUES (1);
CREATE TEMP TABLE caller_run AS SELECT * FROM careguard.rehearse('INSERT INTO caller_work VALUES (2)', 'DELETE FROM caller_work WHERE n = 2', audit_schemas => ARRAY['bookings']);
SELECT results_eq($$SELECT n FROM caller_work$$, $$VALUES (1)$$, 'the caller''s own uncommitted rows stay as they were');

SELECT is((SELECT string_agg(object || ': ' || detail, '; ') FROM careguard.rehearse(
  $up$CREATE TABLE public.rehearse_owned (owner uuid);
      SELECT careguard.protect('public.rehearse_owned', 'owner');
      ALTER TABLE public.rehearse_owned NO FORCE ROW LEVEL SECURITY;$up$,
  $down$DELETE FROM careguard.protected_tables WHERE relation = 'public.rehearse_owned'::regclass;
        DROP TABLE public.rehearse_owned;$down$, audit_schemas => ARRAY['bookings']) WHERE kind IN ('gap', 'diff')),
  'public.rehearse_owned: row level security is not forced', 'a protected table of one''s own left unforced is a gap');

SELECT * FROM finish();
ROLLBACK;
