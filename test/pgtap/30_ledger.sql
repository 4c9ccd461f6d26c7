-- What this proves: the disclosure ledger records, for each role's reads and
-- writes of a registered PHI table, exactly the patients whose rows the
-- statement returned or wrote (not the ones its WHERE named), the row count
-- and whether RLS applied or was bypassed (and why); the records outlive a
-- rollback, a failed statement is recorded as aborted, a COPY TO that
-- bypasses RLS is recorded; the ledger refuses
-- UPDATE, DELETE and TRUNCATE, and verify_ledger() finds an edited, a
-- deleted, a reordered row and a truncated tail; COPY FROM and TRUNCATE of
-- a watched table are recorded (without ids), as are a foreign key's
-- ON DELETE actions and a writable CTE's changes (under their own command);
-- the patient column cannot be dropped or retyped, and a rename is
-- followed; break-the-glass needs a
-- reason, widens the provider's policy for one patient, is ledgered and
-- reviewed, and lapses when it expires; a patient's accounting shows only
-- their own disclosures, and names no other patient. Expected values come from the data (as superuser).
BEGIN;
SELECT plan(148);

TRUNCATE bookings.status_history, bookings.appointments, patients.preferences, patients.profiles,
         providers.availability, providers.profiles, public.locations, public.categories, auth.users;
SET LOCAL client_min_messages = warning;
SELECT careguard.seed_demo(20, 4, 200, 42, '2026-11-23') IS NOT NULL AS seeded \gset
RESET client_min_messages;

\set uid_a aaaaaaaa-0000-4000-8000-000000000001
\set uid_b aaaaaaaa-0000-4000-8000-000000000002
\set prov_x cccccccc-0000-4000-8000-000000000001
\set prov_y cccccccc-0000-4000-8000-000000000002
SELECT max(claims::text) FILTER (WHERE label = 'patient A') AS claims_a,
       max(claims::text) FILTER (WHERE label = 'patient B') AS claims_b,
       max(claims::text) FILTER (WHERE label = 'provider X') AS claims_x,
       max(claims::text) FILTER (WHERE label = 'provider Y') AS claims_y,
       max(claims::text) FILTER (WHERE label = 'admin') AS claims_admin
  FROM careguard.demo_users() \gset

-- Ground truth.
SELECT (SELECT count(*) FROM bookings.appointments WHERE patient_id = :'uid_a') AS appts_a,
       (SELECT count(*) FROM bookings.appointments WHERE provider_id = :'prov_x') AS appts_x,
       (SELECT to_jsonb(array_agg(DISTINCT patient_id ORDER BY patient_id))::text
          FROM bookings.appointments WHERE provider_id = :'prov_x') AS patients_x,
       (SELECT count(DISTINCT patient_id) FROM bookings.appointments WHERE provider_id = :'prov_x') AS npatients_x,
       (SELECT count(*) FROM bookings.appointments) AS appts_all,
       (SELECT count(DISTINCT patient_id) FROM bookings.appointments) AS npatients_all,
       (SELECT count(*) FROM patients.profiles p WHERE p.id = :'uid_a' OR p.id IN
          (SELECT a.patient_id FROM bookings.appointments a WHERE a.provider_id = :'prov_y')) AS profiles_y_with_a,
       (SELECT count(*) FROM patients.profiles p WHERE p.id IN
          (SELECT a.patient_id FROM bookings.appointments a WHERE a.provider_id = :'prov_y')) AS profiles_y,
       (SELECT min(id::text) FROM bookings.appointments WHERE patient_id = :'uid_b') AS appt_b
  \gset

-- The records one probe (named by its application_name) produced, for what
-- its statement itself read or wrote (reads inside the functions a policy
-- calls are recorded too, marked nested).
CREATE FUNCTION pg_temp.records(probe text) RETURNS SETOF jsonb LANGUAGE sql AS $$
  SELECT l.record::jsonb FROM careguard.ledger l
   WHERE l.record::jsonb ->> 'application_name' = probe
     AND NOT (l.record::jsonb ->> 'nested')::boolean ORDER BY l.seq
$$;
-- A probe runs its statement at top level, the way a gateway sends it
-- (SET LOCAL ROLE, the claims with set_config(..., true), the statement),
-- named by its application_name.

-- 1. Patient A reads the appointments: only A's id, A's row count, RLS applied.
SET LOCAL application_name = 'p-patient';
SELECT set_config('request.jwt.claims', :'claims_a', true) IS NULL AS ignored \gset
SET LOCAL ROLE patient;
SELECT * FROM bookings.appointments \g /dev/null
RESET ROLE;
SET LOCAL application_name = 'pgtap';
SELECT set_config('request.jwt.claims', '', true) IS NULL AS ignored \gset
SELECT careguard.ledger_flush() IS NOT NULL AS flushed \gset
SELECT is((SELECT count(*) FROM pg_temp.records('p-patient') r), 1::bigint, 'patient read: one record');
SELECT is((SELECT r -> 'patient_ids' FROM pg_temp.records('p-patient') r), jsonb_build_array(:'uid_a'),
          'patient read: exactly the patient''s own id');
SELECT is((SELECT (r ->> 'rows')::bigint FROM pg_temp.records('p-patient') r), :'appts_a'::bigint,
          'patient read: the rows returned');
SELECT is((SELECT r ->> 'rls' || '/' || (r ->> 'current_user') || '/' || (r ->> 'sub') || '/' || (r ->> 'relation')
             FROM pg_temp.records('p-patient') r),
          'applied/patient/' || :'uid_a' || '/bookings.appointments', 'patient read: who, how, what');

-- 2. The qual is not the result: A asks for B's appointment and gets nothing.
SET LOCAL application_name = 'p-qual';
SELECT set_config('request.jwt.claims', :'claims_a', true) IS NULL AS ignored \gset
SET LOCAL ROLE patient;
SELECT * FROM bookings.appointments WHERE id = :'appt_b' \g /dev/null
RESET ROLE;
SET LOCAL application_name = 'pgtap';
SELECT set_config('request.jwt.claims', '', true) IS NULL AS ignored \gset
SELECT careguard.ledger_flush() IS NOT NULL AS flushed \gset
SELECT is((SELECT r -> 'patient_ids' FROM pg_temp.records('p-qual') r), '[]'::jsonb,
          'a row named in WHERE but hidden by RLS is not a disclosure');
SELECT is((SELECT (r ->> 'rows')::int FROM pg_temp.records('p-qual') r), 0, 'and no row was returned');

-- 3. Provider X: the distinct patients of X's appointments, X's row count.
SET LOCAL application_name = 'p-provider';
SELECT set_config('request.jwt.claims', :'claims_x', true) IS NULL AS ignored \gset
SET LOCAL ROLE provider;
SELECT * FROM bookings.appointments \g /dev/null
RESET ROLE;
SET LOCAL application_name = 'pgtap';
SELECT set_config('request.jwt.claims', '', true) IS NULL AS ignored \gset
SELECT careguard.ledger_flush() IS NOT NULL AS flushed \gset
SELECT is((SELECT r -> 'patient_ids' FROM pg_temp.records('p-provider') r), :'patients_x'::jsonb,
          'provider read: exactly the provider''s patients');
SELECT is((SELECT (r ->> 'rows')::bigint FROM pg_temp.records('p-provider') r), :'appts_x'::bigint,
          'provider read: the rows returned');

-- 4. The cap: two ids listed, the rest counted.
SET LOCAL careguard.ledger_max_ids = 2;
SET LOCAL application_name = 'p-cap';
SELECT set_config('request.jwt.claims', :'claims_x', true) IS NULL AS ignored \gset
SET LOCAL ROLE provider;
SELECT * FROM bookings.appointments \g /dev/null
RESET ROLE;
SET LOCAL application_name = 'pgtap';
SELECT set_config('request.jwt.claims', '', true) IS NULL AS ignored \gset
RESET careguard.ledger_max_ids;
SELECT careguard.ledger_flush() IS NOT NULL AS flushed \gset
SELECT is((SELECT jsonb_array_length(r -> 'patient_ids') FROM pg_temp.records('p-cap') r), 2,
          'careguard.ledger_max_ids caps the ids listed');
SELECT is((SELECT (r ->> 'ids_overflow')::bigint FROM pg_temp.records('p-cap') r), :'npatients_x'::bigint - 2,
          'the others are counted in ids_overflow');

-- 5. service_role's analytics aggregate bypasses RLS, and is recorded so.
SET LOCAL application_name = 'p-service';
SELECT set_config('request.jwt.claims', '', true) IS NULL AS ignored \gset
SET LOCAL ROLE service_role;
SELECT provider_id, count(*) FROM bookings.appointments GROUP BY provider_id \g /dev/null
RESET ROLE;
SET LOCAL application_name = 'pgtap';
SELECT set_config('request.jwt.claims', '', true) IS NULL AS ignored \gset
SELECT careguard.ledger_flush() IS NOT NULL AS flushed \gset
SELECT is((SELECT r ->> 'rls' || '/' || (r ->> 'bypass_reason') FROM pg_temp.records('p-service') r),
          'bypassed/bypassrls', 'service_role aggregate: recorded as an RLS bypass (BYPASSRLS)');
SELECT is((SELECT (r ->> 'rows')::bigint FROM pg_temp.records('p-service') r), :'appts_all'::bigint,
          'service_role aggregate: every row it aggregated');
SELECT is((SELECT jsonb_array_length(r -> 'patient_ids') + (r ->> 'ids_overflow')::int
             FROM pg_temp.records('p-service') r), :'npatients_all'::int,
          'service_role aggregate: every patient it aggregated');

-- 5b. COPY table TO by service_role reads without the executor; the ledger
-- has it run as COPY (SELECT ...) TO, and records it like the query.
SELECT count(*) AS profiles_all FROM patients.profiles \gset
SET LOCAL application_name = 'p-copy';
SET LOCAL ROLE service_role;
COPY patients.profiles (id, full_name) TO STDOUT \g /dev/null
RESET ROLE;
SET LOCAL application_name = 'pgtap';
SELECT careguard.ledger_flush() IS NOT NULL AS flushed \gset
SELECT is((SELECT r ->> 'relation' || '/' || (r ->> 'command') || '/' || (r ->> 'rls') || '/' || (r ->> 'bypass_reason')
             FROM pg_temp.records('p-copy') r),
          'patients.profiles/SELECT/bypassed/bypassrls', 'service_role COPY TO: recorded as an RLS bypass');
SELECT is((SELECT (r ->> 'statement_command') || ' to ' || (r ->> 'copy_to') FROM pg_temp.records('p-copy') r),
          'COPY to stdout', 'service_role COPY TO: recorded as a COPY, with its destination');
SET LOCAL application_name = 'p-copy-query';
SET LOCAL ROLE service_role;
COPY (SELECT id FROM patients.profiles) TO STDOUT \g /dev/null
RESET ROLE;
SET LOCAL application_name = 'pgtap';
SELECT careguard.ledger_flush() IS NOT NULL AS flushed \gset
SELECT is((SELECT (r ->> 'statement_command') || ' to ' || (r ->> 'copy_to') FROM pg_temp.records('p-copy-query') r),
          'COPY to stdout', 'COPY (query) TO: recorded as a COPY too');
-- The same output as PostgreSQL's own COPY (the ledger off): a generated
-- column (appointments.during) is not written, with or without a header.
SELECT current_setting('data_directory') || '/careguard_copy_on.csv' AS copy_on,
       current_setting('data_directory') || '/careguard_copy_off.csv' AS copy_off \gset
COPY bookings.appointments TO :'copy_on' (FORMAT csv, HEADER);
SET LOCAL careguard.ledger = off;
COPY bookings.appointments TO :'copy_off' (FORMAT csv, HEADER);
RESET careguard.ledger;
SELECT is(pg_read_file(:'copy_on'), pg_read_file(:'copy_off'),
          'COPY TO under the ledger writes what PostgreSQL''s own COPY writes');
SELECT is(split_part(pg_read_file(:'copy_on'), E'\n', 1),
          (SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute
            WHERE attrelid = 'bookings.appointments'::regclass AND attnum > 0 AND NOT attisdropped
              AND attgenerated = ''),
          '... every column but the generated one');
SELECT is((SELECT (r ->> 'rows')::bigint FROM pg_temp.records('p-copy') r), :'profiles_all'::bigint,
          'service_role COPY TO: every row it copied');
SELECT is((SELECT jsonb_array_length(r -> 'patient_ids') + (r ->> 'ids_overflow')::int
             FROM pg_temp.records('p-copy') r), :'profiles_all'::int,
          'service_role COPY TO: every patient it copied');

-- 5c. COPY table FROM writes its rows without the executor, and TRUNCATE
-- empties tables without reading them; neither has a per-row hook, so their
-- records name who changed which table, how many rows COPY wrote and the
-- bypass, with no patient ids (ids_exact false). CASCADE's tables too.
CREATE TABLE public.ledger_copy_target (patient_id uuid, note text);
CREATE TABLE public.ledger_unwatched (note text);
SELECT careguard.register_phi('public.ledger_copy_target', 'patient_id') IS NULL AS ignored \gset
SET LOCAL application_name = 'p-copy-from';
COPY public.ledger_copy_target FROM STDIN;
aaaaaaaa-0000-4000-8000-000000000001	one
aaaaaaaa-0000-4000-8000-000000000002	two
\.
SAVEPOINT before_copy;
SET LOCAL application_name = 'pgtap';
DELETE FROM patients.preferences WHERE patient_id = :'uid_b';
SET LOCAL application_name = 'p-copy-from-service';
SET LOCAL ROLE service_role;
COPY patients.preferences (patient_id) FROM STDIN;
aaaaaaaa-0000-4000-8000-000000000002
\.
RESET ROLE;
ROLLBACK TO SAVEPOINT before_copy;
SET LOCAL application_name = 'p-truncate';
TRUNCATE public.ledger_copy_target, public.ledger_unwatched;
SAVEPOINT before_cascade;
SET LOCAL application_name = 'p-truncate-cascade';
TRUNCATE patients.profiles CASCADE;
ROLLBACK TO SAVEPOINT before_cascade;
SET LOCAL application_name = 'pgtap';
SELECT careguard.ledger_flush() IS NOT NULL AS flushed \gset
SELECT is((SELECT string_agg(concat_ws('/', r ->> 'relation', r ->> 'command', r ->> 'statement_command',
                                       r ->> 'copy_from', r ->> 'rows', r ->> 'ids_exact',
                                       r -> 'patient_ids'), ',')
             FROM pg_temp.records('p-copy-from') r),
          'public.ledger_copy_target/INSERT/COPY/stdin/2/false/[]',
          'COPY FROM: recorded with its source and row count, without ids');
SELECT is((SELECT string_agg(concat_ws('/', r ->> 'relation', r ->> 'rls', r ->> 'bypass_reason',
                                       r ->> 'current_user', r ->> 'rows'), ',')
             FROM pg_temp.records('p-copy-from-service') r),
          'patients.preferences/bypassed/bypassrls/service_role/1',
          'service_role COPY FROM into an RLS table: recorded as a bypass, and by whom');
SELECT is((SELECT string_agg(concat_ws('/', r ->> 'relation', r ->> 'command', r ->> 'rls',
                                       coalesce(r ->> 'rows', 'null'), r ->> 'ids_exact'), ',')
             FROM pg_temp.records('p-truncate') r),
          'public.ledger_copy_target/TRUNCATE/disabled/null/false',
          'TRUNCATE: the watched table recorded (rows not counted), the unwatched one not');
SELECT is((SELECT string_agg(r ->> 'relation', ',' ORDER BY r ->> 'relation')
             FROM pg_temp.records('p-truncate-cascade') r),
          (SELECT string_agg(t, ',' ORDER BY t) FROM
             (SELECT 'patients.profiles' AS t UNION
              SELECT conrelid::regclass::text FROM pg_constraint
               WHERE contype = 'f' AND confrelid = 'patients.profiles'::regclass) AS cascaded),
          'TRUNCATE ... CASCADE: every table it emptied, though rolled back');
SELECT is((SELECT string_agg(DISTINCT (r ->> 'rls') || '/' || (r ->> 'bypass_reason'), ',')
             FROM pg_temp.records('p-truncate-cascade') r),
          'bypassed/superuser', 'TRUNCATE of RLS tables: recorded as a bypass, and why');
-- The table and the identity are PostgreSQL's own, not the text's read
-- afterwards: a WHERE that moves the search_path leaves the record on the
-- table COPY opened; one that changes the role is refused (the rows go).
SET LOCAL application_name = 'p-copy-path';
SET LOCAL search_path = public;
COPY ledger_copy_target FROM STDIN WHERE set_config('search_path', 'pg_catalog', true) IS NOT NULL;
aaaaaaaa-0000-4000-8000-000000000003	three
\.
RESET search_path;
SELECT current_setting('data_directory') || '/careguard_copy_src.tsv' AS copy_src \gset
COPY (SELECT :'uid_a'::uuid, 'four') TO :'copy_src';
SET LOCAL application_name = 'p-copy-role';
SELECT throws_ok(format($$COPY public.ledger_copy_target FROM %L
                          WHERE set_config('role', 'service_role', true) IS NOT NULL$$, :'copy_src'),
                 '55000', NULL, 'COPY FROM whose WHERE changes the role: refused');
SELECT current_setting('data_directory') || '/careguard_copy_note.tsv' AS copy_note \gset
COPY (SELECT 'five') TO :'copy_note';
SELECT lives_ok(format($$COPY public.ledger_unwatched FROM %L
                         WHERE set_config('role', 'service_role', true) IS NOT NULL$$, :'copy_note'),
                'COPY FROM of a table nobody watches may change the role (nothing to refuse)');
RESET ROLE;
SET LOCAL application_name = 'p-copy-partitioned';
CREATE TABLE public.ledger_parted (patient_id uuid, k int) PARTITION BY LIST (k);
CREATE TABLE public.ledger_parted_1 PARTITION OF public.ledger_parted FOR VALUES IN (1);
SELECT careguard.register_phi('public.ledger_parted_1', 'patient_id') IS NULL AS ignored \gset
COPY public.ledger_parted FROM STDIN;
aaaaaaaa-0000-4000-8000-000000000001	1
\.
SET LOCAL application_name = 'p-copy-restore';
SET LOCAL row_security = off;
COPY public.ledger_copy_target FROM STDIN;
aaaaaaaa-0000-4000-8000-000000000001	restored
\.
SET LOCAL application_name = 'p-truncate-restore';
TRUNCATE public.ledger_unwatched, public.ledger_copy_target;
RESET row_security;
SET LOCAL application_name = 'pgtap';
SELECT careguard.ledger_flush() IS NOT NULL AS flushed \gset
SELECT is((SELECT string_agg((r ->> 'relation') || '/' || (r ->> 'rows'), ',') FROM pg_temp.records('p-copy-path') r),
          'public.ledger_copy_target/1', 'COPY FROM: the table it opened, though its WHERE moved the search_path');
SELECT is((SELECT count(*) FROM pg_temp.records('p-copy-role')), 0::bigint,
          '... the refused COPY left no record (it changed nothing)');
SELECT is((SELECT string_agg((r ->> 'relation') || '/' || coalesce(r ->> 'rows', 'null'), ',')
             FROM pg_temp.records('p-copy-partitioned') r),
          'public.ledger_parted_1/null', 'COPY FROM into a partitioned table: its watched partition');
SELECT is((SELECT count(*) FROM pg_temp.records('p-copy-restore')), 0::bigint,
          'a superuser''s restore COPY (row_security off) is not recorded');
SELECT is((SELECT string_agg(r ->> 'relation', ',') FROM pg_temp.records('p-truncate-restore') r),
          'public.ledger_copy_target', '... a TRUNCATE in such a session is (restores do not truncate)');
DROP TABLE public.ledger_copy_target, public.ledger_unwatched, public.ledger_parted;

-- 5d. Partitions and inheritance children of a registered table: a read
-- through the parent is recorded under the parent (its row-level security
-- applies), one that names a partition or child directly under that table,
-- with the ids of its rows, wherever its patient column sits.
CREATE TABLE public.ledger_tree (patient_id uuid, k int) PARTITION BY LIST (k);
CREATE TABLE public.ledger_tree_1 PARTITION OF public.ledger_tree FOR VALUES IN (1);
CREATE TABLE public.ledger_tree_2 (k int, note text, patient_id uuid);
ALTER TABLE public.ledger_tree_2 DROP COLUMN note;
ALTER TABLE public.ledger_tree ATTACH PARTITION public.ledger_tree_2 FOR VALUES IN (2);
CREATE TABLE public.ledger_loose (k int, patient_id uuid);
INSERT INTO public.ledger_tree VALUES (:'uid_a', 1), (:'uid_b', 2);
INSERT INTO public.ledger_loose VALUES (3, :'uid_a');
CREATE TABLE public.ledger_family (patient_id uuid);
CREATE TABLE public.ledger_family_child (extra int) INHERITS (public.ledger_family);
INSERT INTO public.ledger_family_child VALUES (:'uid_b', 1);
SELECT careguard.register_phi('public.ledger_tree', 'patient_id') IS NULL AS ignored \gset
SELECT careguard.register_phi('public.ledger_family', 'patient_id') IS NULL AS ignored \gset
SET LOCAL application_name = 'p-tree-parent';
SELECT count(*) FROM public.ledger_tree;
SET LOCAL application_name = 'p-tree-partition';
SELECT count(*) FROM public.ledger_tree_2;
SET LOCAL application_name = 'p-tree-insert';
INSERT INTO public.ledger_tree_1 VALUES (:'uid_b', 1);
SET LOCAL application_name = 'p-tree-update';
UPDATE public.ledger_tree SET patient_id = :'uid_a' WHERE k = 2;
SET LOCAL application_name = 'p-tree-delete';
DELETE FROM public.ledger_tree WHERE k = 2;
SET LOCAL application_name = 'p-tree-loose';
SELECT count(*) FROM public.ledger_loose;
SET LOCAL application_name = 'p-tree-attach';
ALTER TABLE public.ledger_tree ATTACH PARTITION public.ledger_loose FOR VALUES IN (3);
SET LOCAL application_name = 'p-tree-attached';
SELECT count(*) FROM public.ledger_loose;
SET LOCAL application_name = 'p-tree-truncate';
TRUNCATE public.ledger_tree_1;
SET LOCAL application_name = 'p-family-child';
SELECT count(*) FROM public.ledger_family_child;
ALTER TABLE public.ledger_tree ENABLE ROW LEVEL SECURITY;
CREATE POLICY ledger_tree_own ON public.ledger_tree FOR SELECT TO patient USING (patient_id OPERATOR(pg_catalog.=) auth.uid());
GRANT SELECT ON public.ledger_tree TO patient;
SET LOCAL application_name = 'pgtap';
INSERT INTO public.ledger_tree VALUES (:'uid_b', 1);
SET LOCAL application_name = 'p-tree-patient';
SELECT set_config('request.jwt.claims', :'claims_a', true) IS NULL AS ignored \gset
SET LOCAL ROLE patient;
SELECT count(*) FROM public.ledger_tree;
RESET ROLE;
SELECT set_config('request.jwt.claims', '', true) IS NULL AS ignored \gset
SET LOCAL application_name = 'p-tree-copy';
COPY public.ledger_tree FROM STDIN;
aaaaaaaa-0000-4000-8000-000000000001	1
aaaaaaaa-0000-4000-8000-000000000002	2
\.
SET LOCAL application_name = 'p-tree-detach';
ALTER TABLE public.ledger_tree DETACH PARTITION public.ledger_loose;
SET LOCAL application_name = 'p-tree-detached';
SELECT count(*) FROM public.ledger_loose;
-- A child taken out of its registered parent inside a transaction stays
-- watched there too (registered on its own by the same statement), and the
-- registration goes with a rollback.
SAVEPOINT before_no_inherit;
SET LOCAL application_name = 'p-family-no-inherit';
ALTER TABLE public.ledger_family_child NO INHERIT public.ledger_family;
SET LOCAL application_name = 'p-family-left';
SELECT count(*) FROM public.ledger_family_child;
ROLLBACK TO SAVEPOINT before_no_inherit;
-- The same inside a PL/pgSQL block, whose next statement is planned under
-- the block's snapshot (the registry is read as committed now).
SAVEPOINT before_do;
SET LOCAL application_name = 'p-family-do';
DO $$ BEGIN
  ALTER TABLE public.ledger_family_child NO INHERIT public.ledger_family;
  PERFORM count(*) FROM public.ledger_family_child;
END $$;
ROLLBACK TO SAVEPOINT before_do;
-- What the statement itself runs (a CHECK it validates) renames tables
-- before it ends: the table that left is found by oid, not by its name.
SET LOCAL application_name = 'pgtap';
CREATE TABLE public.ledger_leaver () INHERITS (public.ledger_family);
INSERT INTO public.ledger_leaver VALUES (:'uid_a');
CREATE TABLE public.ledger_decoy (patient_id uuid);
-- Runs each DDL once (a CHECK calls it for every row it validates).
CREATE FUNCTION public.ledger_once(key text, ddl text[]) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE statement text;
BEGIN
  IF pg_catalog.current_setting('ledger.done_' || key, true) IS DISTINCT FROM 'y' THEN
    PERFORM pg_catalog.set_config('ledger.done_' || key, 'y', true);
    FOREACH statement IN ARRAY ddl LOOP EXECUTE statement; END LOOP;
  END IF;
  RETURN true;
END $$;
ALTER TABLE public.ledger_leaver NO INHERIT public.ledger_family,
  ADD CONSTRAINT ledger_swapped CHECK (public.ledger_once('swap', ARRAY[
    'ALTER TABLE public.ledger_leaver RENAME TO ledger_leaver_x',
    'ALTER TABLE public.ledger_decoy RENAME TO ledger_leaver']));
SET LOCAL application_name = 'p-leaver-read';
SELECT count(*) FROM public.ledger_leaver_x;
SET LOCAL application_name = 'pgtap';
-- ... or renames its patient column: registered under the new name.
CREATE TABLE public.ledger_renamer () INHERITS (public.ledger_family);
INSERT INTO public.ledger_renamer VALUES (:'uid_b');
ALTER TABLE public.ledger_renamer NO INHERIT public.ledger_family,
  ADD CONSTRAINT ledger_renamed CHECK (public.ledger_once('rename', ARRAY[
    'ALTER TABLE public.ledger_renamer RENAME COLUMN patient_id TO moved_id']));
SET LOCAL application_name = 'p-renamer-read';
SELECT count(*) FROM public.ledger_renamer;
SET LOCAL application_name = 'pgtap';
CREATE TABLE public.ledger_joiner (patient_id uuid);
SET LOCAL application_name = 'p-family-inherit';
ALTER TABLE public.ledger_joiner INHERIT public.ledger_family;
-- Several subcommands on one child: one record naming them all.
CREATE TABLE public.ledger_family_2 (patient_id uuid);
SELECT careguard.register_phi('public.ledger_family_2', 'patient_id') IS NULL AS ignored \gset
SET LOCAL application_name = 'p-family-swap';
ALTER TABLE public.ledger_joiner INHERIT public.ledger_family_2, NO INHERIT public.ledger_family;
SET LOCAL application_name = 'pgtap';
SELECT count(*) AS joiner_registered_early FROM careguard.phi_tables
 WHERE relid = 'public.ledger_joiner'::regclass \gset
-- A registry row whose table is gone without a drop event (a session's
-- temporary table) is removed by the next registration.
INSERT INTO careguard.phi_tables (relid, patient_column) VALUES (4294967295, 'patient_id');
ALTER TABLE public.ledger_joiner NO INHERIT public.ledger_family_2;
SET LOCAL application_name = 'pgtap';
SELECT careguard.ledger_flush() IS NOT NULL AS flushed \gset
CREATE FUNCTION pg_temp.seen(probe text) RETURNS text LANGUAGE sql AS $$
  SELECT string_agg((r ->> 'relation') || ' ' || (r ->> 'command') || ' ' || coalesce(r ->> 'rows', 'null') || ' '
                    || (SELECT coalesce(string_agg(i, ',' ORDER BY i), '') FROM jsonb_array_elements_text(r -> 'patient_ids') i),
                    '; ' ORDER BY r ->> 'relation')
    FROM pg_temp.records(probe) r
$$;
SELECT is(pg_temp.seen('p-tree-parent'), 'public.ledger_tree SELECT 2 ' || :'uid_a' || ',' || :'uid_b',
          'a read through a registered partitioned table: one record under it, every partition''s patients');
SELECT is(pg_temp.seen('p-tree-partition'), 'public.ledger_tree_2 SELECT 1 ' || :'uid_b',
          'a partition named directly: recorded, its patient column found by name (not position)');
SELECT is(pg_temp.seen('p-tree-insert'), 'public.ledger_tree_1 INSERT 1 ' || :'uid_b',
          'an INSERT into a partition named directly');
SELECT is(pg_temp.seen('p-tree-update'), 'public.ledger_tree UPDATE 1 ' || :'uid_a' || ',' || :'uid_b',
          'an UPDATE through the parent that moves a row to another patient: both patients');
SELECT is(pg_temp.seen('p-tree-delete'), 'public.ledger_tree DELETE 1 ' || :'uid_a',
          'a DELETE through the parent');
SELECT is(pg_temp.seen('p-tree-loose'), NULL, 'a table outside the tree is not watched ...');
SELECT is(pg_temp.seen('p-tree-attach'), 'public.ledger_loose ATTACH PARTITION null ',
          'ATTACH PARTITION to a registered table is recorded on the partition ...');
SELECT is(pg_temp.seen('p-tree-detach'), 'public.ledger_loose DETACH PARTITION null ',
          '... and so is DETACH PARTITION');
SELECT is(pg_temp.seen('p-tree-detached'), 'public.ledger_loose SELECT 1 ' || :'uid_a',
          'a detached partition stays watched: its read is recorded under it');
-- The patient column a table is registered under itself, or null.
CREATE FUNCTION pg_temp.registered_as(t regclass) RETURNS name LANGUAGE sql AS $$
  SELECT patient_column FROM careguard.phi_tables WHERE relid = t
$$;
SELECT is(pg_temp.registered_as('public.ledger_loose'), 'patient_id'::name,
          '... registered on its own by the DETACH, under its patient column');
SELECT throws_ok($$ALTER TABLE public.ledger_loose ALTER COLUMN patient_id TYPE text$$, '2BP01', NULL,
                 '... so its patient column keeps its type');
SELECT is(pg_temp.seen('p-family-no-inherit'), 'public.ledger_family_child NO INHERIT null ',
          'NO INHERIT from a registered table is recorded on the child ...');
SELECT is(pg_temp.seen('p-family-left'), 'public.ledger_family_child SELECT 1 ' || :'uid_b',
          '... which stays watched in the same transaction (registered on its own) ...');
SELECT is(pg_temp.registered_as('public.ledger_family_child'), NULL,
          '... until the NO INHERIT is rolled back, with its registration');
SELECT is(pg_temp.seen('p-family-inherit'), 'public.ledger_joiner INHERIT null ',
          'INHERIT of a registered table is recorded on the new child');
SELECT is((SELECT string_agg((r ->> 'relation') || ' ' || (r ->> 'command') || ' ' || (r ->> 'rows'), '; ')
             FROM careguard.ledger l, jsonb(l.record) r
            WHERE r ->> 'application_name' = 'p-family-do' AND r ->> 'command' = 'SELECT'),
          'public.ledger_family_child SELECT 1',
          'a child that left in a PL/pgSQL block is watched by the block''s next statement');
SELECT is(pg_temp.seen('p-leaver-read'), 'public.ledger_leaver_x SELECT 1 ' || :'uid_a',
          'a child renamed by what its own NO INHERIT ran stays watched (found by oid) ...');
SELECT is(pg_temp.registered_as('public.ledger_leaver'), NULL,
          '... and the table that took its name is not registered');
SELECT is(pg_temp.seen('p-renamer-read'), 'public.ledger_renamer SELECT 1 ' || :'uid_b',
          'a child whose patient column its own NO INHERIT renamed stays watched ...');
SELECT is(pg_temp.registered_as('public.ledger_renamer'), 'moved_id'::name,
          '... registered under the column''s new name');
SELECT is(pg_temp.seen('p-family-swap'), 'public.ledger_joiner INHERIT, NO INHERIT null ',
          'an ALTER TABLE with several tree changes of one child: one record naming each');
SELECT is(:'joiner_registered_early'::bigint, 0::bigint,
          'a child still watched through another registered parent is not registered on its own');
SELECT is((SELECT count(*) FROM careguard.phi_tables WHERE relid::oid = 4294967295::oid), 0::bigint,
          'a registration removes rows of tables that are gone');
SELECT is(pg_temp.registered_as('public.ledger_joiner'), 'patient_id'::name,
          '... and registers the child that left its last registered parent');
SELECT is(pg_temp.seen('p-tree-attached'), 'public.ledger_loose SELECT 1 ' || :'uid_a',
          '... and is from the moment it is attached as a partition (the cached answer is dropped)');
SELECT is(pg_temp.seen('p-tree-truncate'), 'public.ledger_tree_1 TRUNCATE null ',
          'a TRUNCATE of a partition named directly');
SELECT is(pg_temp.seen('p-family-child'), 'public.ledger_family_child SELECT 1 ' || :'uid_b',
          'an inheritance child named directly');
SELECT is((SELECT pg_temp.seen('p-tree-patient') || ' ' || string_agg(r ->> 'rls', ',') FROM pg_temp.records('p-tree-patient') r),
          'public.ledger_tree SELECT 1 ' || :'uid_a' || ' applied',
          'a patient''s read through the parent: the parent''s policy applied, their own row (not B''s)');
SELECT is(pg_temp.seen('p-tree-copy'), 'public.ledger_tree INSERT 2 ',
          'a COPY FROM into a registered partitioned table: one record, every row it copied');
DROP TABLE public.ledger_tree, public.ledger_loose, public.ledger_family, public.ledger_family_2,
           public.ledger_joiner, public.ledger_leaver, public.ledger_leaver_x, public.ledger_renamer CASCADE;
DROP FUNCTION public.ledger_once(text, text[]);

-- 5e. A foreign key's ON DELETE CASCADE changes the referencing table in the
-- statement that deleted the referenced row: recorded with it (nested: the
-- owner's action, not the statement's own scan), while the check an INSERT
-- runs on a registered referenced table reads nothing out and is not. A
-- writable CTE's change and MERGE's are recorded under their own command.
CREATE TABLE public.ledger_fk_parent (id int PRIMARY KEY, patient_id uuid);
CREATE TABLE public.ledger_fk_child (patient_id uuid,
  parent int REFERENCES public.ledger_fk_parent ON DELETE CASCADE);
INSERT INTO public.ledger_fk_parent VALUES (1, :'uid_a'), (2, :'uid_b');
INSERT INTO public.ledger_fk_child VALUES (:'uid_a', 1), (:'uid_b', 1), (:'uid_b', 2);
CREATE TABLE public.ledger_cte (patient_id uuid, k int);
INSERT INTO public.ledger_cte VALUES (:'uid_a', 1), (:'uid_b', 2);
SELECT careguard.register_phi('public.ledger_fk_parent', 'patient_id') IS NULL AS ignored \gset
SELECT careguard.register_phi('public.ledger_fk_child', 'patient_id') IS NULL AS ignored \gset
SELECT careguard.register_phi('public.ledger_cte', 'patient_id') IS NULL AS ignored \gset
-- What runs inside the action (a trigger on the referencing table) is not
-- the check: its read of a registered table is recorded.
CREATE FUNCTION public.ledger_fk_peek() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM count(*) FROM public.ledger_cte; RETURN old; END $$;
CREATE TRIGGER ledger_fk_peek BEFORE DELETE ON public.ledger_fk_child FOR EACH ROW
  EXECUTE FUNCTION public.ledger_fk_peek();
SET LOCAL application_name = 'p-fk-cascade';
DELETE FROM public.ledger_fk_parent WHERE id = 1;
SET LOCAL application_name = 'p-fk-check';
INSERT INTO public.ledger_fk_child VALUES (:'uid_a', 2);
-- A function the check's planning runs (an IMMUTABLE cast of the key, folded
-- into the check's plan) runs in the check's context but is not the check.
CREATE TYPE public.ledger_key AS (v int);
CREATE FUNCTION public.ledger_key_peek(c public.ledger_key) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN PERFORM count(*) FROM public.ledger_cte; RETURN c.v; END $$;
CREATE CAST (public.ledger_key AS int) WITH FUNCTION public.ledger_key_peek(public.ledger_key) AS IMPLICIT;
CREATE TABLE public.ledger_fk_keyed (c public.ledger_key REFERENCES public.ledger_fk_parent (id));
SET LOCAL application_name = 'p-fk-plan';
INSERT INTO public.ledger_fk_keyed VALUES (ROW(2));
-- So is one its start runs: a STABLE cast of the key, which startup pruning
-- of a partitioned referenced table calls. Each call reads ledger_cte's two
-- rows through a statement of the check's shape (a row lock over
-- constants); every call's rows are recorded.
CREATE TABLE public.ledger_pk_parted (id int PRIMARY KEY) PARTITION BY RANGE (id);
CREATE TABLE public.ledger_pk_parted_1 PARTITION OF public.ledger_pk_parted FOR VALUES FROM (0) TO (100);
CREATE TABLE public.ledger_pk_parted_2 PARTITION OF public.ledger_pk_parted FOR VALUES FROM (100) TO (200);
INSERT INTO public.ledger_pk_parted VALUES (1), (150);
CREATE TABLE public.ledger_lockable (x int);
INSERT INTO public.ledger_lockable VALUES (1);
CREATE FUNCTION public.ledger_sneak() RETURNS int LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('ledger.sneaks', (coalesce(nullif(current_setting('ledger.sneaks', true), ''), '0')::int + 1)::text, false);
  PERFORM 1 FROM public.ledger_lockable d, public.ledger_cte p FOR UPDATE OF d;
  RETURN 1;
END $$;
CREATE TYPE public.ledger_key2 AS (v int);
CREATE FUNCTION public.ledger_key2_int(c public.ledger_key2) RETURNS int LANGUAGE plpgsql STABLE AS $$
DECLARE x int; BEGIN x := public.ledger_sneak(); RETURN c.v; END $$;
CREATE CAST (public.ledger_key2 AS int) WITH FUNCTION public.ledger_key2_int(public.ledger_key2) AS IMPLICIT;
CREATE TABLE public.ledger_fk_parted (k public.ledger_key2 REFERENCES public.ledger_pk_parted (id));
SELECT set_config('ledger.sneaks', '0', false) IS NULL AS ignored \gset
SET LOCAL application_name = 'p-fk-start';
INSERT INTO public.ledger_fk_parted VALUES (ROW(1));
SET LOCAL application_name = 'pgtap';
SELECT current_setting('ledger.sneaks')::int AS sneaks \gset
SET LOCAL application_name = 'p-cte-delete';
WITH d AS (DELETE FROM public.ledger_cte WHERE k = 1 RETURNING k) SELECT count(*) FROM d;
SET LOCAL application_name = 'p-cte-update';
WITH u AS (UPDATE public.ledger_cte SET k = 3 WHERE k = 2 RETURNING k) SELECT count(*) FROM u;
SET LOCAL application_name = 'p-merge';
MERGE INTO public.ledger_cte t USING (VALUES (3)) AS v(k) ON t.k = v.k WHEN MATCHED THEN DELETE;
SET LOCAL application_name = 'pgtap';
SELECT careguard.ledger_flush() IS NOT NULL AS flushed \gset
SELECT is((SELECT string_agg((r ->> 'relation') || ' ' || (r ->> 'command') || ' ' || (r ->> 'rows') || ' '
                             || (r ->> 'nested') || ' ' || (r ->> 'rls') || ' '
                             || (SELECT coalesce(string_agg(i, ',' ORDER BY i), '') FROM jsonb_array_elements_text(r -> 'patient_ids') i),
                             '; ' ORDER BY r ->> 'relation')
             FROM careguard.ledger l, LATERAL (SELECT l.record::jsonb) AS x(r)
            WHERE r ->> 'application_name' = 'p-fk-cascade'),
          'public.ledger_cte SELECT 4 true disabled ' || :'uid_a' || ',' || :'uid_b'
          || '; public.ledger_fk_child DELETE 2 true disabled ' || :'uid_a' || ',' || :'uid_b'
          || '; public.ledger_fk_parent DELETE 1 false disabled ' || :'uid_a',
          'ON DELETE CASCADE: the referencing rows it deleted are recorded with the DELETE that caused it');
SELECT is((SELECT string_agg((r ->> 'relation') || ' ' || (r ->> 'command'), '; ' ORDER BY r ->> 'relation')
             FROM careguard.ledger l, LATERAL (SELECT l.record::jsonb) AS x(r)
            WHERE r ->> 'application_name' = 'p-fk-check'),
          'public.ledger_fk_child INSERT',
          'a foreign-key check of a registered referenced table is not a disclosure (no record)');
SELECT is((SELECT string_agg(DISTINCT (r ->> 'relation') || ' ' || (r ->> 'command') || ' ' || (r ->> 'nested') || ' '
                             || (SELECT coalesce(string_agg(i, ',' ORDER BY i), '') FROM jsonb_array_elements_text(r -> 'patient_ids') i), '; ')
             FROM careguard.ledger l, LATERAL (SELECT l.record::jsonb) AS x(r)
            WHERE r ->> 'application_name' = 'p-fk-plan'),
          'public.ledger_cte SELECT true ' || :'uid_a' || ',' || :'uid_b',
          'a read by a function the check''s planning runs is recorded; the check itself is not');
SELECT is((SELECT sum((r ->> 'rows')::int) FROM careguard.ledger l, LATERAL (SELECT l.record::jsonb) AS x(r)
            WHERE r ->> 'application_name' = 'p-fk-start' AND r ->> 'relation' = 'public.ledger_cte'),
          2 * :sneaks::bigint,
          'a read by a function the check''s start runs is recorded: two rows for each of its calls');
SELECT cmp_ok(:sneaks, '>', 0, '(the cast ran)');
-- A rule on the referencing table adds a statement of the check's shape to
-- the foreign-key action, run as that table's owner: it reads another
-- owner's table, so it is not the check, and its read is recorded.
CREATE ROLE ledger_rule_owner;
GRANT USAGE ON SCHEMA public TO ledger_rule_owner;
GRANT SELECT ON public.ledger_cte TO ledger_rule_owner;
CREATE TABLE public.ledger_rule_parent (k int PRIMARY KEY);
CREATE TABLE public.ledger_rule_child (k int REFERENCES public.ledger_rule_parent ON DELETE CASCADE);
CREATE TABLE public.ledger_rule_lock (x int);
INSERT INTO public.ledger_rule_parent VALUES (1);
INSERT INTO public.ledger_rule_child VALUES (1);
INSERT INTO public.ledger_rule_lock VALUES (1);
ALTER TABLE public.ledger_rule_child OWNER TO ledger_rule_owner;
ALTER TABLE public.ledger_rule_lock OWNER TO ledger_rule_owner;
CREATE RULE ledger_rule_peek AS ON DELETE TO public.ledger_rule_child DO ALSO
  SELECT 1 FROM public.ledger_cte p, public.ledger_rule_lock x FOR KEY SHARE OF x;
SET LOCAL application_name = 'p-fk-rule';
DELETE FROM public.ledger_rule_parent WHERE k = 1;
SET LOCAL application_name = 'pgtap';
SELECT careguard.ledger_flush() IS NOT NULL AS flushed \gset
SELECT is((SELECT string_agg((r ->> 'relation') || ' ' || (r ->> 'as_user') || ' ' || (r ->> 'nested'), '; ')
             FROM careguard.ledger l, LATERAL (SELECT l.record::jsonb) AS x(r)
            WHERE r ->> 'application_name' = 'p-fk-rule' AND r ->> 'relation' = 'public.ledger_cte'),
          'public.ledger_cte ledger_rule_owner true',
          'a statement a rule adds to a foreign-key action is not the check: its read is recorded');
DROP TABLE public.ledger_rule_child, public.ledger_rule_parent, public.ledger_rule_lock;
SELECT is(pg_temp.seen('p-cte-delete'), 'public.ledger_cte DELETE 1 ' || :'uid_a',
          'a DELETE in a writable CTE is recorded as a DELETE (the statement is a SELECT)');
SELECT is(pg_temp.seen('p-cte-update'), 'public.ledger_cte UPDATE 1 ' || :'uid_b',
          'an UPDATE in a writable CTE is recorded as an UPDATE');
SELECT is(pg_temp.seen('p-merge'), 'public.ledger_cte MERGE 1 ' || :'uid_b',
          'MERGE''s target rows are recorded under MERGE');
DROP TABLE public.ledger_fk_parted, public.ledger_pk_parted, public.ledger_lockable, public.ledger_fk_keyed, public.ledger_fk_child, public.ledger_fk_parent, public.ledger_cte;
DROP FUNCTION public.ledger_fk_peek();
DROP CAST (public.ledger_key AS int);
DROP FUNCTION public.ledger_key_peek(public.ledger_key);
DROP TYPE public.ledger_key;
DROP CAST (public.ledger_key2 AS int);
DROP FUNCTION public.ledger_key2_int(public.ledger_key2), public.ledger_sneak();
DROP TYPE public.ledger_key2;

-- 5f. The patient column through DDL: a drop or a type other than uuid is
-- refused (the watch would stop, or record wrong ids); a rename is followed.
CREATE TABLE public.ledger_ddl (patient_id uuid, k int);
INSERT INTO public.ledger_ddl VALUES (:'uid_a', 1);
SELECT careguard.register_phi('public.ledger_ddl', 'patient_id') IS NULL AS ignored \gset
SELECT throws_ok('ALTER TABLE public.ledger_ddl DROP COLUMN patient_id', '2BP01', NULL,
                 'the registered patient column cannot be dropped');
SELECT throws_ok('ALTER TABLE public.ledger_ddl ALTER COLUMN patient_id TYPE text', '2BP01', NULL,
                 'nor given a type other than uuid');
SELECT lives_ok('ALTER TABLE public.ledger_ddl RENAME COLUMN patient_id TO subject_id',
                'it can be renamed ...');
SELECT is((SELECT patient_column::text FROM careguard.phi_tables WHERE relid = 'public.ledger_ddl'::regclass),
          'subject_id', '... and the registry follows the new name');
SET LOCAL application_name = 'p-ddl-renamed';
SELECT count(*) FROM public.ledger_ddl;
SET LOCAL application_name = 'pgtap';
SELECT careguard.ledger_flush() IS NOT NULL AS flushed \gset
SELECT is(pg_temp.seen('p-ddl-renamed'), 'public.ledger_ddl SELECT 1 ' || :'uid_a',
          'a read after the rename is recorded with its patient ids');
SELECT throws_ok('ALTER TABLE public.ledger_ddl ALTER COLUMN subject_id TYPE uuid USING NULL', '2BP01', NULL,
                 'nor its values rewritten (ALTER TYPE uuid USING ...)');
-- PostgreSQL reaches more tables than the statement names: a registered
-- child through its parent, a typed table through its type.
CREATE TABLE public.ledger_par (patient_id uuid, k int);
CREATE TABLE public.ledger_kid () INHERITS (public.ledger_par);
INSERT INTO public.ledger_kid VALUES (:'uid_b', 1);
CREATE TYPE public.ledger_row AS (patient_id uuid, k int);
CREATE TABLE public.ledger_typed OF public.ledger_row;
INSERT INTO public.ledger_typed VALUES (:'uid_a', 1);
SELECT careguard.register_phi('public.ledger_kid', 'patient_id') IS NULL AS ignored \gset
SELECT careguard.register_phi('public.ledger_typed', 'patient_id') IS NULL AS ignored \gset
SELECT throws_ok('ALTER TABLE public.ledger_par ALTER COLUMN patient_id TYPE text', '2BP01', NULL,
                 'a type change that recurses to a registered child is refused');
SELECT throws_ok('ALTER TYPE public.ledger_row ALTER ATTRIBUTE patient_id TYPE text CASCADE', '2BP01', NULL,
                 'so is one that reaches a registered typed table through its type');
ALTER TABLE public.ledger_par RENAME COLUMN patient_id TO kid_patient;
ALTER TYPE public.ledger_row RENAME ATTRIBUTE patient_id TO typed_patient CASCADE;
SELECT is((SELECT string_agg(c.relname || ' ' || t.patient_column, ', ' ORDER BY c.relname)
             FROM careguard.phi_tables t JOIN pg_class c ON c.oid = t.relid
            WHERE t.relid IN ('public.ledger_kid'::regclass, 'public.ledger_typed'::regclass)),
          'ledger_kid kid_patient, ledger_typed typed_patient',
          'renames through a parent or a type are followed');
SET LOCAL application_name = 'p-ddl-reached';
SELECT count(*) FROM public.ledger_kid;
SELECT count(*) FROM public.ledger_typed;
SET LOCAL application_name = 'pgtap';
SELECT careguard.ledger_flush() IS NOT NULL AS flushed \gset
SELECT is(pg_temp.seen('p-ddl-reached'), 'public.ledger_kid SELECT 1 ' || :'uid_b' || '; public.ledger_typed SELECT 1 ' || :'uid_a',
          'and both tables are still recorded with their patients');
DROP TABLE public.ledger_par, public.ledger_kid, public.ledger_typed;
DROP TYPE public.ledger_row;
SELECT lives_ok('ALTER TABLE public.ledger_ddl DROP COLUMN k', 'another column is dropped as usual');
-- DROP of a registered table is recorded (a bypass, like TRUNCATE: its rows
-- go for everyone), however PostgreSQL reaches it; a DROP that fails is not.
CREATE VIEW public.ledger_ddl_view AS SELECT * FROM public.ledger_ddl;
SET LOCAL application_name = 'p-drop-refused';
SELECT throws_ok('DROP TABLE public.ledger_ddl', '2BP01', NULL, 'a DROP refused for its dependent view ...');
SET LOCAL application_name = 'p-drop';
DROP TABLE public.ledger_ddl CASCADE;
CREATE SCHEMA ledger_drop_schema;
CREATE TABLE ledger_drop_schema.t (patient_id uuid);
SELECT careguard.register_phi('ledger_drop_schema.t', 'patient_id') IS NULL AS ignored \gset
SET LOCAL application_name = 'p-drop-schema';
DROP SCHEMA ledger_drop_schema CASCADE;
SET LOCAL application_name = 'pgtap';
SELECT careguard.ledger_flush() IS NOT NULL AS flushed \gset
SELECT is(pg_temp.seen('p-drop-refused'), NULL, '... leaves no record');
SELECT is((SELECT pg_temp.seen('p-drop') || ' ' || string_agg((r ->> 'statement_command') || ' ' || (r ->> 'rls'), ',')
             FROM pg_temp.records('p-drop') r),
          'public.ledger_ddl DROP null  DROP disabled', 'DROP TABLE of a registered table is recorded');
SELECT is(pg_temp.seen('p-drop-schema'), 'ledger_drop_schema.t DROP null ',
          'so is one that DROP SCHEMA ... CASCADE takes with it');
-- careguard does not audit itself: the row counts its drop guard runs to
-- refuse DROP EXTENSION of the product are its own statements.
SET LOCAL application_name = 'p-drop-extension';
SELECT throws_like('DROP EXTENSION careguard_booking CASCADE', '%of its tables hold data',
                   'DROP EXTENSION of the product with patient rows is refused ...');
SET LOCAL application_name = 'pgtap';
SELECT careguard.ledger_flush() IS NOT NULL AS flushed \gset
SELECT is((SELECT count(*) FROM careguard.ledger l
            WHERE l.record::jsonb ->> 'application_name' = 'p-drop-extension'), 0::bigint,
          '... and the counts careguard ran to refuse it are not ledgered, nested or not');

-- 6. A superuser is audited too (pgaudit does not).
SET LOCAL application_name = 'p-super';
SELECT count(*) FROM patients.profiles WHERE id = :'uid_b';
SET LOCAL application_name = 'pgtap';
SELECT careguard.ledger_flush() IS NOT NULL AS flushed \gset
SELECT is((SELECT r ->> 'rls' || '/' || (r ->> 'bypass_reason') || '/' || (r -> 'patient_ids' ->> 0)
             FROM pg_temp.records('p-super') r),
          'bypassed/superuser/' || :'uid_b', 'superuser read: recorded, bypass by superuser');

-- 7. Writes: the patient's UPDATE of their preferences, with the ids written.
SET LOCAL application_name = 'p-update';
SELECT set_config('request.jwt.claims', :'claims_a', true) IS NULL AS ignored \gset
SET LOCAL ROLE patient;
UPDATE patients.preferences SET reminders_enabled = NOT reminders_enabled \g /dev/null
RESET ROLE;
SET LOCAL application_name = 'pgtap';
SELECT set_config('request.jwt.claims', '', true) IS NULL AS ignored \gset
SELECT careguard.ledger_flush() IS NOT NULL AS flushed \gset
SELECT is((SELECT r ->> 'command' || '/' || (r ->> 'rows') || '/' || (r -> 'patient_ids' ->> 0)
             FROM pg_temp.records('p-update') r),
          'UPDATE/1/' || :'uid_a', 'patient update: one row of their own, recorded as UPDATE');
-- An INSERT records the patient ids it wrote.
SET LOCAL application_name = 'p-insert';
INSERT INTO auth.users (id, email) VALUES ('dddddddd-0000-4000-8000-000000000099', 'new@demo.careguard.test');
INSERT INTO patients.profiles (id, full_name, date_of_birth)
  VALUES ('dddddddd-0000-4000-8000-000000000099', 'New Patient', '1990-01-01');
SET LOCAL application_name = 'pgtap';
SELECT careguard.ledger_flush() IS NOT NULL AS flushed \gset
SELECT is((SELECT r ->> 'command' || '/' || (r -> 'patient_ids' ->> 0) FROM pg_temp.records('p-insert') r
            WHERE r ->> 'relation' = 'patients.profiles'),
          'INSERT/dddddddd-0000-4000-8000-000000000099', 'insert: the written patient id');

-- 8. A read rolled back (to a savepoint here; the libpqxx test rolls back a
--    whole transaction) stays recorded; a statement that fails after
--    sending rows is recorded as aborted.
SAVEPOINT before_read;
SET LOCAL application_name = 'p-rollback';
SELECT set_config('request.jwt.claims', :'claims_a', true) IS NULL AS ignored \gset
SET LOCAL ROLE patient;
SELECT * FROM bookings.appointments \g /dev/null
RESET ROLE;
SET LOCAL application_name = 'pgtap';
SELECT set_config('request.jwt.claims', '', true) IS NULL AS ignored \gset
ROLLBACK TO SAVEPOINT before_read;
SAVEPOINT before_error;
-- (Run at top level, as a client would: psql goes on past the error.)
SET LOCAL application_name = 'p-error';
SET LOCAL ROLE provider;
SELECT set_config('request.jwt.claims', :'claims_x', true) IS NULL AS ignored \gset
\set ON_ERROR_STOP 0
SELECT id, 1 / (row_number() OVER () - 3)::int FROM bookings.appointments;
\set ON_ERROR_STOP 1
ROLLBACK TO SAVEPOINT before_error;
SELECT careguard.ledger_flush() IS NOT NULL AS flushed \gset
SELECT is((SELECT r -> 'patient_ids' FROM pg_temp.records('p-rollback') r), jsonb_build_array(:'uid_a'),
          'a rolled-back read is still recorded');
SELECT is((SELECT (r ->> 'aborted')::boolean FROM pg_temp.records('p-error') r), true,
          'a failed statement is recorded, marked aborted');

-- 9. Append-only, for the owner too.
SELECT throws_ok('UPDATE careguard.ledger SET kind = kind', '42501', NULL, 'UPDATE of the ledger is refused');
SELECT throws_ok('DELETE FROM careguard.ledger', '42501', NULL, 'DELETE from the ledger is refused');
SELECT throws_ok('TRUNCATE careguard.ledger', '42501', NULL, 'TRUNCATE of the ledger is refused');
SELECT throws_ok(format('DROP TABLE careguard.%I', (SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                    WHERE i.inhparent = 'careguard.ledger'::regclass LIMIT 1)),
                 '42501', NULL, 'dropping a month outside the purge is refused');
SELECT is((SELECT ok FROM careguard.verify_ledger()), true, 'the untouched chain verifies');

-- 10. Tampering, each kind, by someone who disabled the triggers.
SELECT seq AS head_seq, hash AS head_hash FROM careguard.ledger_head() \gset
-- A record with ids (a TRUNCATE's has none, so blanking them would change nothing).
SELECT seq AS victim FROM careguard.ledger WHERE cardinality(patient_ids) > 0 ORDER BY seq OFFSET 2 LIMIT 1 \gset
SAVEPOINT tamper;
ALTER TABLE careguard.ledger DISABLE TRIGGER USER;
UPDATE careguard.ledger SET record = replace(record, '"rows":', '"rows":1') WHERE seq = :victim;
SELECT is((SELECT first_bad_seq || ' ' || split_part(problem, ':', 1) FROM careguard.verify_ledger()),
          :victim || ' edited', 'an edited record is found at its position');
ROLLBACK TO SAVEPOINT tamper;
ALTER TABLE careguard.ledger DISABLE TRIGGER USER;
UPDATE careguard.ledger SET patient_ids = '{}' WHERE seq = :victim;
SELECT is((SELECT first_bad_seq || ' ' || split_part(problem, ':', 1) FROM careguard.verify_ledger()),
          :victim || ' edited', 'an edited index column is found too');
ROLLBACK TO SAVEPOINT tamper;
ALTER TABLE careguard.ledger DISABLE TRIGGER USER;
UPDATE careguard.ledger SET record = '{"kind": "access", "patient_ids": [', hash = careguard.ledger_link(prev_hash, seq, '{"kind": "access", "patient_ids": [')
 WHERE seq = :victim;
SELECT is((SELECT first_bad_seq || ' ' || split_part(problem, ':', 1) FROM careguard.verify_ledger()),
          :victim || ' malformed', 'a record that is not JSON is reported, not raised');
ROLLBACK TO SAVEPOINT tamper;
ALTER TABLE careguard.ledger DISABLE TRIGGER USER;
DELETE FROM careguard.ledger WHERE seq = :victim;
SELECT is((SELECT first_bad_seq || ' ' || split_part(problem, ':', 1) FROM careguard.verify_ledger()),
          :victim || ' deleted', 'a deleted record is found at its position');
ROLLBACK TO SAVEPOINT tamper;
ALTER TABLE careguard.ledger DISABLE TRIGGER USER;
-- Swap two neighbours' places (their seq numbers).
UPDATE careguard.ledger SET seq = -1 WHERE seq = :victim;
UPDATE careguard.ledger SET seq = :victim WHERE seq = :victim + 1;
UPDATE careguard.ledger SET seq = :victim + 1 WHERE seq = -1;
SELECT is((SELECT first_bad_seq FROM careguard.verify_ledger()), :victim::bigint,
          'reordered records are found at the first moved position');
ROLLBACK TO SAVEPOINT tamper;
ALTER TABLE careguard.ledger DISABLE TRIGGER USER;
DELETE FROM careguard.ledger WHERE seq = :head_seq;
SELECT is((SELECT ok FROM careguard.verify_ledger()), true, 'a cut tail leaves a consistent chain...');
SELECT is((SELECT first_bad_seq || ' ' || split_part(problem, ':', 1)
             FROM careguard.verify_ledger(:head_seq, :'head_hash')),
          :head_seq || ' truncated', '...which the published head exposes');
ROLLBACK TO SAVEPOINT tamper;
SELECT is((SELECT ok FROM careguard.verify_ledger(:head_seq, :'head_hash')), true,
          'the real ledger matches its published head');
SELECT is(careguard.ledger_link(decode(repeat('00', 32), 'hex'), 1, 'abc'),
          sha256(decode(repeat('00', 32) || '0000000000000001', 'hex') || convert_to('abc', 'UTF8')),
          'the chain link is SHA-256(prev || be64(seq) || record), as PostgreSQL''s own sha256 computes');

-- 11. Break-the-glass: provider Y reaches patient A (not Y's patient) only
--     with a reason, for a while, ledgered, reviewed.
SET LOCAL application_name = 'p-y-before';
SELECT set_config('request.jwt.claims', :'claims_y', true) IS NULL AS ignored \gset
SET LOCAL ROLE provider;
SELECT * FROM bookings.appointments \g /dev/null
RESET ROLE;
SET LOCAL application_name = 'pgtap';
SELECT set_config('request.jwt.claims', '', true) IS NULL AS ignored \gset
SET LOCAL ROLE provider;
SELECT set_config('request.jwt.claims', :'claims_y', true);
SELECT throws_ok(format('SELECT careguard.break_glass(%L, %L, 30)', :'uid_a', 'need it'),
                 '22023', NULL, 'break-glass without a real reason is refused');
SELECT throws_ok(format('SELECT careguard.break_glass(%L, %L, 30)', :'uid_a', repeat('chart needed now ', 1000)),
                 '22023', NULL, 'an oversized reason is refused before anything is ledgered');
SELECT throws_ok(format($$INSERT INTO careguard.glass_grants (user_id, role_name, patient_id, reason, granted_at, expires_at)
                          VALUES (auth.uid(), current_user, %L, 'a reason long enough to pass', '9999-12-31', '9999-12-31 03:00')$$,
                        :'uid_a'),
                 '42501', NULL, 'a breaker cannot write a grant of their own dated into the future');
SELECT throws_ok(format($$INSERT INTO careguard.glass_grants (user_id, role_name, patient_id, reason, expires_at)
                          VALUES (auth.uid(), current_user, %L, repeat('chart needed now ', 1000), now() + interval '5 minutes')$$,
                        :'uid_a'),
                 '23514', NULL, 'nor one whose reason is too large for its NOTIFY and record');
SELECT throws_ok(format($$INSERT INTO careguard.glass_grants (user_id, role_name, patient_id, reason, expires_at)
                          VALUES (auth.uid(), current_user, %L, 'xxxxxxxxxxxxxxxxxxxxxxxx', now() + interval '5 minutes')$$,
                        :'uid_a'),
                 '23514', NULL, 'nor one whose reason is not three words');
SELECT throws_ok(format($$INSERT INTO careguard.glass_grants (id, user_id, role_name, patient_id, reason, expires_at)
                          OVERRIDING SYSTEM VALUE
                          VALUES (1000, auth.uid(), current_user, %L, 'emergency chest pain triage now', now() + interval '5 minutes')$$,
                        :'uid_a'),
                 '42501', NULL, 'nor one with an id of their choosing (two grants would share it)');
SELECT isnt(careguard.break_glass(:'uid_a', 'patient unconscious in ER, history needed now', 30), NULL,
            'break-glass with a reason is granted');
SELECT is((SELECT count(*) FROM patients.profiles), :'profiles_y_with_a'::bigint,
          'the provider now sees the patient''s record besides their own patients''');
RESET ROLE;
SET LOCAL application_name = 'p-y-glass';
SELECT set_config('request.jwt.claims', :'claims_y', true) IS NULL AS ignored \gset
SET LOCAL ROLE provider;
SELECT id, full_name FROM patients.profiles \g /dev/null
RESET ROLE;
SET LOCAL application_name = 'pgtap';
SELECT set_config('request.jwt.claims', '', true) IS NULL AS ignored \gset
SELECT careguard.ledger_flush() IS NOT NULL AS flushed \gset
SELECT is((SELECT (r ->> 'break_glass')::boolean FROM pg_temp.records('p-y-glass') r), true,
          'the disclosure under break-glass is flagged');
SELECT is((SELECT count(*) FROM careguard.ledger l WHERE l.kind = 'break_glass'
             AND l.patient_ids = ARRAY[:'uid_a'::uuid]
             AND l.record::jsonb -> 'detail' ->> 'reason' = 'patient unconscious in ER, history needed now'),
          1::bigint, 'the grant itself is ledgered with its reason');
SELECT is((SELECT l.record::jsonb ->> 'current_user' FROM careguard.ledger l WHERE l.kind = 'break_glass'
             AND l.patient_ids = ARRAY[:'uid_a'::uuid]), 'provider',
          'and names the provider''s role, not the owner of the SECURITY DEFINER function');
SELECT is((SELECT count(*) FROM careguard.glass_review() g WHERE g.patient_id = :'uid_a'), 1::bigint,
          'glass_review() lists it until signed off');
-- It expires by itself: move the window into the past.
UPDATE careguard.glass_grants SET granted_at = now() - interval '2 hours', expires_at = now() - interval '1 hour';
SET LOCAL ROLE provider;
SELECT set_config('request.jwt.claims', :'claims_y', true);
SELECT is((SELECT count(*) FROM patients.profiles), :'profiles_y'::bigint,
          'after it expires the provider sees only their own patients again');
RESET ROLE;
SET LOCAL ROLE admin;
SELECT set_config('request.jwt.claims', :'claims_admin', true);
SELECT lives_ok(format('SELECT careguard.glass_sign_off(%s, %L)',
                       (SELECT id FROM careguard.glass_grants LIMIT 1), 'checked with the ER chart'),
                'an auditor signs it off');
SELECT is((SELECT count(*) FROM careguard.glass_review()), 0::bigint, 'then it leaves the review list');
SELECT throws_ok($$INSERT INTO careguard.glass_rollback_reviews (grant_id, review_note) VALUES (999999, 'pre-signed, nothing to see')$$,
                 'P0002', NULL, 'an auditor cannot sign off a rolled-back grant that does not exist (in advance)');
RESET ROLE;
SELECT is(careguard.glass_xact_ended('900000000'::xid8), true,
          'an xid of another cluster (a restored ledger) counts as ended, without an error');
SELECT is(careguard.glass_xact_ended(pg_current_xact_id()), false, 'a running transaction has not ended');

-- 12. Accounting of disclosures: a patient sees their own only; an admin anyone's.
-- A NOINHERIT role that may become an auditor (as the gateway login
-- authenticator may become admin) is no auditor before it does.
CREATE ROLE ledger_test_noinherit NOINHERIT;
GRANT admin TO ledger_test_noinherit;
GRANT EXECUTE ON FUNCTION careguard.disclosures(uuid, timestamptz, timestamptz) TO ledger_test_noinherit;
SET LOCAL ROLE ledger_test_noinherit;
SELECT throws_ok(format('SELECT count(*) FROM careguard.disclosures(%L)', :'uid_a'),
                 '42501', NULL, 'a role that could SET ROLE admin may not read a patient''s accounting before it does');
RESET ROLE;
SELECT careguard.ledger_flush() IS NOT NULL AS flushed \gset
SELECT count(*) AS naming_a FROM careguard.ledger l WHERE :'uid_a' = ANY (l.patient_ids) \gset
SET LOCAL ROLE patient;
SELECT set_config('request.jwt.claims', :'claims_a', true);
SELECT cmp_ok((SELECT count(*) FROM careguard.disclosures(:'uid_a')), '>', 0::bigint,
              'a patient sees their own accounting');
SELECT is((SELECT count(*) FROM careguard.disclosures(:'uid_a')), :'naming_a'::bigint,
          'exactly the records that name them');
SELECT throws_ok(format('SELECT * FROM careguard.disclosures(%L)', :'uid_b'), '42501', NULL,
                 'a patient cannot read another patient''s accounting');
RESET ROLE;
SET LOCAL ROLE admin;
SELECT set_config('request.jwt.claims', :'claims_admin', true);
SELECT cmp_ok((SELECT count(*) FROM careguard.disclosures(:'uid_b')), '>', 0::bigint,
              'an admin (careguard_auditor) reads anyone''s accounting');
RESET ROLE;

-- 12a. Reads on the way: bookings.busy_time() (SECURITY DEFINER) scans every
-- appointment in its window, so patient B's search is in A's accounting,
-- marked nested, without B's session user, role, sub or application name
-- (also as a role careguard does not know, and whatever role claim is set);
-- an auditor sees them. A's own search (its sub in capitals), a provider's
-- search and a provider's direct read (under a role claim 'patient') keep
-- their names.
SELECT provider_id AS a_provider, starts_at AS a_start FROM bookings.appointments
 WHERE patient_id = :'uid_a' AND status IN ('pending', 'confirmed') ORDER BY starts_at LIMIT 1 \gset
SELECT claims::text AS claims_a_provider, claims ->> 'sub' AS sub_a_provider,
       jsonb_set(claims, '{role}', '"patient"')::text AS claims_a_provider_as_patient
  FROM careguard.demo_users() WHERE claims ->> 'provider_id' = :'a_provider' \gset
-- The search each case below runs: A's provider's busy time around A's appointment.
\set search_a_window 'SELECT count(*) AS busy_rows FROM bookings.busy_time(ARRAY[' :'a_provider' '::uuid], ' :'a_start' '::timestamptz, ' :'a_start' '::timestamptz + interval ''1 hour'')'
CREATE ROLE ledger_test_guardian NOLOGIN IN ROLE patient;
-- A plain index scan reads the patient column (an index-only one over the
-- exclusion index would not: ids_exact false, no ids, docs/audit-trail.md).
SET LOCAL enable_indexonlyscan = off;
SELECT jsonb_set(:'claims_b'::jsonb, '{role}', '"provider"')::text AS claims_b_as_provider,
       jsonb_set(:'claims_a'::jsonb, '{sub}', to_jsonb(upper(:'uid_a')))::text AS claims_a_upper \gset
SET LOCAL application_name = 'b-private-app';
SET LOCAL ROLE patient;
SELECT set_config('request.jwt.claims', :'claims_b', true) IS NULL AS ignored \gset
:search_a_window \gset
RESET ROLE;
SET LOCAL application_name = 'b-guardian-app';
SET LOCAL ROLE ledger_test_guardian;
SELECT set_config('request.jwt.claims', :'claims_b_as_provider', true) IS NULL AS ignored \gset
:search_a_window \gset
RESET ROLE;
SET LOCAL application_name = 'a-own-app';
SET LOCAL ROLE patient;
SELECT set_config('request.jwt.claims', :'claims_a_upper', true) IS NULL AS ignored \gset
:search_a_window \gset
RESET ROLE;
SET LOCAL application_name = 'x-search-app';
SET LOCAL ROLE provider;
SELECT set_config('request.jwt.claims', :'claims_a_provider', true) IS NULL AS ignored \gset
:search_a_window \gset
RESET ROLE;
SET LOCAL application_name = 'x-direct-app';
SET LOCAL ROLE provider;
SELECT set_config('request.jwt.claims', :'claims_a_provider_as_patient', true);
SELECT count(*) AS x_direct_rows FROM bookings.appointments WHERE patient_id = :'uid_a' \gset
RESET ROLE;
-- A SECURITY DEFINER function called outside a query (a DO block): the
-- record names the outer user (patient), not the definer, and is marked.
CREATE FUNCTION public.ledger_test_provider_load(p uuid) RETURNS bigint
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog
  AS $$ SELECT count(*) FROM bookings.appointments WHERE provider_id = p $$;
GRANT EXECUTE ON FUNCTION public.ledger_test_provider_load(uuid) TO patient;
SELECT set_config('cg.a_provider', :'a_provider', true) IS NULL AS ignored \gset
SET LOCAL application_name = 'b-do-app';
SET LOCAL ROLE patient;
SELECT set_config('request.jwt.claims', :'claims_b', true) IS NULL AS ignored \gset
DO $$ DECLARE n bigint; BEGIN n := public.ledger_test_provider_load(current_setting('cg.a_provider')::uuid); END $$;
RESET ROLE;
-- B's INSERT of an appointment for A, refused by RLS: recorded, aborted.
SAVEPOINT before_b_insert;
SET LOCAL application_name = 'b-insert-app';
SET LOCAL ROLE patient;
SELECT set_config('request.jwt.claims', :'claims_b', true) IS NULL AS ignored \gset
\set ON_ERROR_STOP 0
INSERT INTO bookings.appointments (patient_id, provider_id, starts_at, ends_at)
  VALUES (:'uid_a', :'a_provider', '2031-01-06 10:00+00', '2031-01-06 10:30+00');
\set ON_ERROR_STOP 1
ROLLBACK TO SAVEPOINT before_b_insert;
-- The gateway login switches to provider inside a function, then reads:
-- the record names the role in force when it read (provider), not the one
-- the statement started as (authenticator).
CREATE FUNCTION pg_temp.switch_then_read(claims text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
  PERFORM set_config('role', 'provider', true);
  PERFORM set_config('request.jwt.claims', claims, true);
  PERFORM set_config('application_name', 'x-switch-app', true);
  SELECT count(*) INTO n FROM bookings.appointments;
  RETURN n;
END $$;
SET LOCAL ROLE authenticator;
SELECT set_config('request.jwt.claims', :'claims_b', true) IS NULL AS ignored \gset
SELECT pg_temp.switch_then_read(:'claims_a_provider') AS switched_rows \gset
RESET ROLE;
-- Staff when the record was written stays staff: a provider's login that
-- no longer exists keeps its name.
CREATE ROLE ledger_test_staff NOLOGIN IN ROLE provider;
SET LOCAL application_name = 'x-staff-app';
SET LOCAL ROLE ledger_test_staff;
SELECT set_config('request.jwt.claims', :'claims_a_provider', true) IS NULL AS ignored \gset
:search_a_window \gset
RESET ROLE;
RESET application_name;
RESET enable_indexonlyscan;
SELECT careguard.ledger_flush() IS NOT NULL AS flushed \gset
SELECT coalesce(max(seq) FILTER (WHERE record::jsonb ->> 'application_name' = 'b-private-app'), 0) AS b_search_seq,
       coalesce(max(seq) FILTER (WHERE record::jsonb ->> 'application_name' = 'b-guardian-app'), 0) AS guardian_seq,
       coalesce(max(seq) FILTER (WHERE record::jsonb ->> 'application_name' = 'a-own-app'), 0) AS a_search_seq,
       coalesce(max(seq) FILTER (WHERE record::jsonb ->> 'application_name' = 'x-search-app'), 0) AS x_search_seq,
       coalesce(max(seq) FILTER (WHERE record::jsonb ->> 'application_name' = 'x-direct-app'), 0) AS x_direct_seq
  FROM careguard.ledger WHERE :'uid_a' = ANY (patient_ids) \gset
SELECT count(*) AS provider_reads_a FROM careguard.ledger
 WHERE :'uid_a' = ANY (patient_ids) AND record::jsonb ->> 'current_user' = 'provider' \gset
SELECT coalesce(max(seq) FILTER (WHERE record::jsonb ->> 'application_name' = 'b-do-app'), 0) AS b_do_seq,
       coalesce(max(seq) FILTER (WHERE record::jsonb ->> 'application_name' = 'b-insert-app'), 0) AS b_insert_seq,
       coalesce(max(seq) FILTER (WHERE record::jsonb ->> 'application_name' = 'x-switch-app'), 0) AS x_switch_seq,
       coalesce(max(seq) FILTER (WHERE record::jsonb ->> 'application_name' = 'x-staff-app'), 0) AS x_staff_seq
  FROM careguard.ledger WHERE :'uid_a' = ANY (patient_ids) \gset
SELECT results_eq(format($$SELECT record::jsonb ->> 'application_name', record::jsonb ->> 'current_user',
                                  (record::jsonb ->> 'security_definer')::boolean, (record::jsonb ->> 'aborted')::boolean,
                                  (record::jsonb ->> 'reader_staff')::boolean
                             FROM careguard.ledger WHERE seq IN (%s, %s, %s, %s) ORDER BY seq$$,
                           :'b_do_seq', :'b_insert_seq', :'x_switch_seq', :'x_staff_seq'),
                  $$VALUES ('b-do-app'::text, 'patient'::text, true, false, false),
                           ('b-insert-app', 'patient', false, true, false),
                           ('x-switch-app', 'provider', false, false, true),
                           ('x-staff-app', 'ledger_test_staff', true, false, true)$$,
                  'the records name the outer user: patient under a definer called from DO, provider after a switch inside the statement; staff decided when written');
DROP ROLE ledger_test_staff;
CREATE FUNCTION pg_temp.read_then_switch() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
  SELECT count(*) INTO n FROM bookings.appointments;
  PERFORM set_config('role', 'provider', true);
  SELECT count(*) INTO n FROM bookings.appointments;
  RETURN n;
END $$;
SELECT throws_ok('SELECT pg_temp.read_then_switch()', '55000',
                 'the role changed while a statement that reads patient records runs',
                 'a role changed inside a statement after it read patient records is refused');
-- The claims, likewise: B's claims set by a subquery before the scan that
-- reads under them, in a statement that started as A's.
SET LOCAL ROLE patient;
SELECT set_config('request.jwt.claims', :'claims_a', true) IS NULL AS ignored \gset
SELECT throws_ok(format($$SELECT p.id FROM (SELECT set_config('request.jwt.claims', %L, true) AS s OFFSET 0) AS c,
                          LATERAL (SELECT * FROM patients.profiles WHERE c.s IS NOT NULL) AS p$$, :'claims_b'),
                 '55000', 'the claims changed while a statement that reads patient records runs',
                 'claims changed inside a statement that reads patient records are refused');
SELECT is((SELECT count(*) FROM patients.profiles), 1::bigint, 'and after it, the claims A started with read A''s profile only');
-- And a statement begun while A's cursor is open under B's claims, even by
-- a reader that reads no claim (a superuser): its record could not name B.
DECLARE held_a CURSOR FOR SELECT id FROM bookings.appointments;
RESET ROLE;
SELECT set_config('request.jwt.claims', :'claims_b', true) IS NULL AS ignored \gset
SELECT throws_ok('SELECT count(*) FROM bookings.appointments', '55000',
                 'the claims changed while a statement that reads patient records runs',
                 'a new statement under other claims than an open cursor''s is refused, claim read or not');
CLOSE held_a;
SELECT set_config('request.jwt.claims', :'claims_a', true) IS NULL AS ignored \gset
SELECT ok(:b_search_seq > 0 AND :guardian_seq > 0 AND :a_search_seq > 0 AND :x_search_seq > 0 AND :x_direct_seq > 0
          AND :b_do_seq > 0 AND :b_insert_seq > 0 AND :x_switch_seq > 0 AND :x_staff_seq > 0,
          'the nine reads and writes are recorded, each naming A');
SET LOCAL ROLE patient;
SELECT set_config('request.jwt.claims', :'claims_a', true);
SELECT results_eq(format('SELECT seq, session_user_name, role_name, sub, application_name, nested FROM careguard.disclosures(%L) WHERE seq IN (%s, %s) ORDER BY seq',
                         :'uid_a', :'b_search_seq', :'guardian_seq'),
                  format('VALUES (%s::bigint, NULL::text, NULL::text, NULL::text, NULL::text, true), (%s, NULL, NULL, NULL, NULL, true)',
                         :'b_search_seq', :'guardian_seq'),
                  'A''s accounting lists B''s searches (nested), as patient and as a role careguard does not know under a role claim provider, naming no one');
SELECT results_eq(format('SELECT seq, session_user_name, role_name, sub, application_name FROM careguard.disclosures(%L) WHERE seq IN (%s, %s) ORDER BY seq',
                         :'uid_a', :'b_do_seq', :'b_insert_seq'),
                  format('VALUES (%s::bigint, NULL::text, NULL::text, NULL::text, NULL::text), (%s, NULL, NULL, NULL, NULL)',
                         :'b_do_seq', :'b_insert_seq'),
                  'nor B''s definer call from a DO block, nor B''s INSERT for A that RLS refused');
SELECT results_eq(format('SELECT seq, role_name, sub, application_name FROM careguard.disclosures(%L) WHERE seq IN (%s, %s) ORDER BY seq',
                         :'uid_a', :'x_switch_seq', :'x_staff_seq'),
                  format('VALUES (%s::bigint, %L::text, %L::text, %L::text), (%s, %L, %L, %L)',
                         :'x_switch_seq', 'provider', :'sub_a_provider', 'x-switch-app',
                         :'x_staff_seq', 'ledger_test_staff', :'sub_a_provider', 'x-staff-app'),
                  'the provider after its switch is named, and so is a staff role dropped since');
SELECT is((SELECT count(*) FROM careguard.disclosures(:'uid_a')
            WHERE sub = :'uid_b' OR application_name LIKE 'b-%' OR role_name = 'ledger_test_guardian'), 0::bigint,
          'B is named nowhere in A''s accounting');
SELECT results_eq(format('SELECT seq, role_name, upper(sub), application_name FROM careguard.disclosures(%L) WHERE seq IN (%s, %s, %s) ORDER BY seq',
                         :'uid_a', :'a_search_seq', :'x_search_seq', :'x_direct_seq'),
                  format('VALUES (%s::bigint, %L::text, upper(%L), %L::text), (%s, %L, upper(%L), %L), (%s, %L, upper(%L), %L)',
                         :'a_search_seq', 'patient', :'uid_a', 'a-own-app',
                         :'x_search_seq', 'provider', :'sub_a_provider', 'x-search-app',
                         :'x_direct_seq', 'provider', :'sub_a_provider', 'x-direct-app'),
                  'A''s own search (sub in capitals), the provider''s search and its direct read under a role claim patient keep their names');
SELECT cmp_ok((SELECT count(*) FROM careguard.disclosures(:'uid_a') WHERE sub = :'uid_a' AND application_name IS NOT NULL),
              '>', 0::bigint, 'A''s own reads keep A''s sub and application name');
SELECT is((SELECT count(*) FROM careguard.disclosures(:'uid_a') WHERE role_name = 'provider' AND sub IS NOT NULL
              AND session_user_name IS NOT NULL), :'provider_reads_a'::bigint,
          'every provider''s read of A names the provider');
RESET ROLE;
SET LOCAL ROLE admin;
SELECT set_config('request.jwt.claims', :'claims_admin', true);
SELECT results_eq(format('SELECT role_name, sub, application_name FROM careguard.disclosures(%L) WHERE seq IN (%s, %s) ORDER BY seq',
                         :'uid_a', :'b_search_seq', :'guardian_seq'),
                  format('VALUES (%L::text, %L::text, %L::text), (%L, %L, %L)', 'patient', :'uid_b', 'b-private-app',
                         'ledger_test_guardian', :'uid_b', 'b-guardian-app'),
                  'an auditor sees who searched: B''s role, sub and application name');
RESET ROLE;

-- 12b. A PARALLEL SAFE function that reads a PHI table in a parallel worker:
-- the worker records its own read, marked with its leader's pid.
CREATE FUNCTION public.pgtap_count_appointments(p uuid) RETURNS bigint
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT count(*) FROM bookings.appointments WHERE patient_id = p $$;
GRANT EXECUTE ON FUNCTION public.pgtap_count_appointments(uuid) TO service_role;
SET LOCAL application_name = 'p-parallel';
SET LOCAL force_parallel_mode = on;
SET LOCAL parallel_setup_cost = 0;
SET LOCAL ROLE service_role;
SELECT public.pgtap_count_appointments(:'uid_a') AS parallel_count \gset
RESET ROLE;
RESET force_parallel_mode;
RESET parallel_setup_cost;
SET LOCAL application_name = 'pgtap';
SELECT careguard.ledger_flush() IS NOT NULL AS flushed \gset
SELECT is((SELECT l.record::jsonb ->> 'relation' || '/' || (l.record::jsonb ->> 'rows') || '/'
                  || (l.record::jsonb ->> 'parallel_worker_of' = pg_backend_pid()::text)::text
                  || '/' || l.patient_ids::text
             FROM careguard.ledger l WHERE l.record::jsonb ->> 'application_name' = 'p-parallel'),
          'bookings.appointments/' || :'parallel_count' || '/true/{' || :'uid_a' || '}',
          'a read in a parallel worker is recorded by the worker, with its leader');

-- 13. A registered table that is dropped leaves the registry (a later table
-- could be given its oid), by its owner too, who cannot write the registry.
CREATE ROLE careguard_pgtap_owner NOLOGIN;
GRANT CREATE ON SCHEMA public TO careguard_pgtap_owner;
SET LOCAL ROLE careguard_pgtap_owner;
CREATE TABLE public.pgtap_phi (patient_id uuid);
RESET ROLE;
SELECT careguard.register_phi('public.pgtap_phi', 'patient_id') IS NULL AS registered \gset
SELECT 'public.pgtap_phi'::regclass::oid AS dropped_oid \gset
SET LOCAL ROLE careguard_pgtap_owner;
DROP TABLE public.pgtap_phi;
RESET ROLE;
SELECT is((SELECT count(*) FROM careguard.phi_tables WHERE relid::oid = :dropped_oid), 0::bigint,
          'a dropped registered table leaves careguard.phi_tables, dropped by its owner');

-- 14. A record names the relation and the role as the catalogue has them at
-- its statement: a backend that remembers names forgets them when a table,
-- its schema or a role is renamed.
CREATE SCHEMA pgtap_names;
CREATE TABLE pgtap_names.before_rename (patient_id uuid);
INSERT INTO pgtap_names.before_rename VALUES (:'uid_a');
SELECT careguard.register_phi('pgtap_names.before_rename', 'patient_id') IS NULL AS registered \gset
CREATE ROLE careguard_pgtap_reader NOLOGIN;
GRANT USAGE ON SCHEMA pgtap_names TO careguard_pgtap_reader;
GRANT SELECT ON pgtap_names.before_rename TO careguard_pgtap_reader;
SET LOCAL application_name = 'p-names';
SET LOCAL ROLE careguard_pgtap_reader;
SELECT * FROM pgtap_names.before_rename \g /dev/null
RESET ROLE;
ALTER TABLE pgtap_names.before_rename RENAME TO after_rename;
ALTER ROLE careguard_pgtap_reader RENAME TO careguard_pgtap_renamed;
SET LOCAL ROLE careguard_pgtap_renamed;
SELECT * FROM pgtap_names.after_rename \g /dev/null
RESET ROLE;
ALTER SCHEMA pgtap_names RENAME TO pgtap_renamed;
SELECT * FROM pgtap_renamed.after_rename \g /dev/null
SET LOCAL application_name = 'pgtap';
SELECT careguard.ledger_flush() IS NOT NULL AS flushed \gset
SELECT is((SELECT string_agg((r ->> 'relation') || ' as ' || (r ->> 'current_user'), ', ' ORDER BY ord)
             FROM pg_temp.records('p-names') WITH ORDINALITY AS t(r, ord)),
          'pgtap_names.before_rename as careguard_pgtap_reader, '
          || 'pgtap_names.after_rename as careguard_pgtap_renamed, '
          || 'pgtap_renamed.after_rename as ' || current_user,
          'records name the relation, its schema and the role as renamed between statements');
-- The spelling follows each statement's quote_all_identifiers, not the one
-- in force when the name was first looked up.
SET LOCAL application_name = 'p-quoting';
SET LOCAL quote_all_identifiers = on;
SELECT * FROM pgtap_renamed.after_rename \g /dev/null
RESET quote_all_identifiers;
SELECT * FROM pgtap_renamed.after_rename \g /dev/null
SET LOCAL application_name = 'pgtap';
SELECT careguard.ledger_flush() IS NOT NULL AS flushed \gset
SELECT is((SELECT string_agg(r ->> 'relation', ' then ' ORDER BY ord)
             FROM pg_temp.records('p-quoting') WITH ORDINALITY AS t(r, ord)),
          '"pgtap_renamed"."after_rename" then pgtap_renamed.after_rename',
          'a record quotes the relation as its own statement''s quote_all_identifiers says');

-- A cursor a function opened, fetched after the calling statement ended:
-- that statement's record is written, so the read is refused (it crashed
-- the backend, tapping freed memory, before).
CREATE FUNCTION pg_temp.open_appointments() RETURNS refcursor LANGUAGE plpgsql AS $$
DECLARE c refcursor := 'ledger_late_cursor';
BEGIN OPEN c FOR SELECT patient_id FROM bookings.appointments; RETURN c; END $$;
SELECT set_config('request.jwt.claims', :'claims_a', true) IS NULL AS ignored \gset
SET LOCAL ROLE patient;
SELECT pg_temp.open_appointments() IS NOT NULL AS opened \gset
SELECT throws_ok('FETCH 3 FROM ledger_late_cursor', '0A000', NULL,
                 'a cursor opened inside an ended statement cannot read patient records');
RESET ROLE;
SELECT set_config('request.jwt.claims', '', true) IS NULL AS ignored \gset

SELECT * FROM finish();
ROLLBACK;
