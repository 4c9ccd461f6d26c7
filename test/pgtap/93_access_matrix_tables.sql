-- The access matrix covers tables without row-level security: those are the
-- ones a client reads whole, so leaving them out hid the worst cells.
BEGIN;
SELECT plan(3);

CREATE SCHEMA matrix_no_rls;
GRANT USAGE ON SCHEMA matrix_no_rls TO authenticated;
-- Readable by authenticated, no RLS: every row shows.
CREATE TABLE matrix_no_rls.exposed (id bigint PRIMARY KEY, note text);
INSERT INTO matrix_no_rls.exposed SELECT i, 'row ' || i FROM generate_series(1, 5) i;
GRANT SELECT, DELETE ON matrix_no_rls.exposed TO authenticated;
-- No RLS and no grant: refused by privileges alone.
CREATE TABLE matrix_no_rls.private (id bigint PRIMARY KEY);
INSERT INTO matrix_no_rls.private VALUES (1);
-- The RLS look-alike, deny-all.
CREATE TABLE matrix_no_rls.protected (id bigint PRIMARY KEY);
INSERT INTO matrix_no_rls.protected VALUES (1);
ALTER TABLE matrix_no_rls.protected ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
GRANT SELECT ON matrix_no_rls.protected TO authenticated;

CREATE TEMP TABLE cells AS
  SELECT * FROM careguard.access_matrix(
    '[{"name": "user", "role": "authenticated", "claims": {"sub": "00000000-0000-4000-8000-00000000000a"}}]',
    ARRAY['matrix_no_rls']);

SELECT set_eq($$SELECT relation FROM cells$$,
  $$VALUES ('matrix_no_rls.exposed'), ('matrix_no_rls.private'), ('matrix_no_rls.protected')$$,
  'every table is a row of the matrix, with row-level security or without');
SELECT results_eq(
  $$SELECT selectable_rows, can_insert, can_delete, delete_sqlstate FROM cells
    WHERE relation = 'matrix_no_rls.exposed'$$,
  $$VALUES (5::bigint, false, true, NULL::text)$$,
  'the table without RLS shows all 5 rows to authenticated, who may delete them');
SELECT results_eq(
  $$SELECT relation, selectable_rows, select_sqlstate FROM cells
    WHERE relation <> 'matrix_no_rls.exposed' ORDER BY relation$$,
  $$VALUES ('matrix_no_rls.private', NULL::bigint, '42501'), ('matrix_no_rls.protected', 0::bigint, NULL::text)$$,
  'no grant: refused (42501); RLS without a policy: 0 rows');

SELECT * FROM finish();
ROLLBACK;
