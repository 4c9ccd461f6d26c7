-- Parity with Supabase: careguard's C helpers return exactly what Supabase's
-- SQL definitions return, over a table of claim settings; and the errors
-- carry the documented SQLSTATEs.
BEGIN;
SELECT plan(16);

-- Supabase's definitions (supabase/auth migration 20220224000811), verbatim
-- in logic, installed in their own schema as the reference.
CREATE SCHEMA supabase_ref;
CREATE FUNCTION supabase_ref.uid() RETURNS uuid LANGUAGE sql STABLE AS $$
  select coalesce(nullif(current_setting('request.jwt.claim.sub', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'))::uuid $$;
CREATE FUNCTION supabase_ref.role() RETURNS text LANGUAGE sql STABLE AS $$
  select coalesce(nullif(current_setting('request.jwt.claim.role', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role'))::text $$;
CREATE FUNCTION supabase_ref.email() RETURNS text LANGUAGE sql STABLE AS $$
  select coalesce(nullif(current_setting('request.jwt.claim.email', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email'))::text $$;
CREATE FUNCTION supabase_ref.jwt() RETURNS jsonb LANGUAGE sql STABLE AS $$
  select coalesce(nullif(current_setting('request.jwt.claim', true), ''),
    nullif(current_setting('request.jwt.claims', true), ''))::jsonb $$;

-- Each row: the settings a request may carry (NULL = leave unset).
CREATE TEMP TABLE claim_cases (id int PRIMARY KEY, claims text, claim_doc text, sub text, role text, email text);
INSERT INTO claim_cases VALUES
  (1,  NULL, NULL, NULL, NULL, NULL),
  (2,  '', NULL, NULL, NULL, NULL),
  (3,  '{}', NULL, NULL, NULL, NULL),
  (4,  '{"sub":"8d0f7e6a-1111-4222-8333-944445555666","role":"patient","email":"a@example.org"}', NULL, NULL, NULL, NULL),
  (5,  '{"sub":"8D0F7E6A11114222833394444555566 6"}', NULL, NULL, NULL, NULL),
  (6,  '{"sub":"{8d0f7e6a-1111-4222-8333-944445555666}","role":"provider"}', NULL, NULL, NULL, NULL),
  (7,  '{"sub":null,"role":null,"email":null}', NULL, NULL, NULL, NULL),
  (8,  '{"role":"admin","role":"patient","email":"dup@example.org","email":"last@example.org"}', NULL, NULL, NULL, NULL),
  (9,  '{"email":"J\u00fcrgen \"J\" <j@example.org>","role":"pr\u006fvider"}', NULL, NULL, NULL, NULL),
  (10, '{"role":5,"email":1.50e1}', NULL, NULL, NULL, NULL),
  (11, '{"role":true,"email":{"b":1,"a":[1,2]}}', NULL, NULL, NULL, NULL),
  (12, '[1,2,3]', NULL, NULL, NULL, NULL),
  (13, '"just a string"', NULL, NULL, NULL, NULL),
  (14, '{"sub":"8d0f7e6a-1111-4222-8333-944445555666"}', NULL, 'b1ffcd00-0d1c-4f09-8c7e-7cc0ce491b22', 'admin', 'legacy@example.org'),
  (15, '{"sub":"8d0f7e6a-1111-4222-8333-944445555666"}', NULL, '', '', ''),
  (16, NULL, '{"sub":"legacy-doc"}', NULL, NULL, NULL),
  (17, '{"a":1}', '{"b":2}', NULL, NULL, NULL),
  (18, '  {"role" : "spaced" }  ', NULL, NULL, NULL, NULL),
  (19, '{"sub":"A0EEBC999C0B4EF8BB6D6BB9BD380A11","nested":{"deep":[[[[{"x":1}]]]]}}', NULL, NULL, NULL, NULL),
  (20, '{"email":"\ud83d\ude00@example.org"}', NULL, NULL, NULL, NULL),
  -- More members than careguard sorts in place, some of them repeated.
  (21, (SELECT '{' || string_agg(format('"k%s":%s', i % 37, i), ',') || '}' FROM generate_series(1, 100) i),
   NULL, NULL, NULL, NULL),
  (23, '{"o":{"a":1,"a":{"b":2}},"e":[],"n":{},"t":[{}]}', NULL, NULL, NULL, NULL),
  (24, '5', NULL, NULL, NULL, NULL),
  (25, 'null', NULL, NULL, NULL, NULL);

-- Applies one case's settings transaction-locally, as PostgREST does.
CREATE FUNCTION pg_temp.apply_case(c claim_cases) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('request.jwt.claims', coalesce(c.claims, ''), true);
  PERFORM set_config('request.jwt.claim', coalesce(c.claim_doc, ''), true);
  PERFORM set_config('request.jwt.claim.sub', coalesce(c.sub, ''), true);
  PERFORM set_config('request.jwt.claim.role', coalesce(c.role, ''), true);
  PERFORM set_config('request.jwt.claim.email', coalesce(c.email, ''), true);
END $$;

-- Evaluates one helper under one case; errors become their SQLSTATE.
CREATE FUNCTION pg_temp.eval_case(c claim_cases, expr text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE result text;
BEGIN
  PERFORM pg_temp.apply_case(c);
  EXECUTE 'SELECT (' || expr || ')::text' INTO result;
  RETURN coalesce(result, '<null>');
EXCEPTION WHEN OTHERS THEN
  RETURN 'ERROR ' || SQLSTATE;
END $$;

SELECT is(
  (SELECT count(*) FROM claim_cases c
    WHERE pg_temp.eval_case(c, 'auth.uid()') IS DISTINCT FROM pg_temp.eval_case(c, 'supabase_ref.uid()')),
  0::bigint, 'auth.uid() equals Supabase''s on every case');
SELECT is(
  (SELECT count(*) FROM claim_cases c
    WHERE pg_temp.eval_case(c, 'auth.role()') IS DISTINCT FROM pg_temp.eval_case(c, 'supabase_ref.role()')),
  0::bigint, 'auth.role() equals Supabase''s on every case');
SELECT is(
  (SELECT count(*) FROM claim_cases c
    WHERE pg_temp.eval_case(c, 'auth.email()') IS DISTINCT FROM pg_temp.eval_case(c, 'supabase_ref.email()')),
  0::bigint, 'auth.email() equals Supabase''s on every case');
SELECT is(
  (SELECT count(*) FROM claim_cases c
    WHERE pg_temp.eval_case(c, 'auth.jwt()') IS DISTINCT FROM pg_temp.eval_case(c, 'supabase_ref.jwt()')),
  0::bigint, 'auth.jwt() equals Supabase''s on every case');

-- careguard builds jsonb itself (jsonb_build.cpp): the same value, stored in
-- the same number of bytes, as jsonb_in builds.
SELECT is(
  (SELECT count(*) FROM claim_cases c
    WHERE pg_temp.eval_case(c, 'auth.jwt() IS NOT DISTINCT FROM supabase_ref.jwt()') <> 'true'),
  0::bigint, 'auth.jwt() is equal (jsonb =) to Supabase''s on every case');
SELECT is(
  (SELECT count(*) FROM claim_cases c
    WHERE pg_temp.eval_case(c, 'pg_column_size(auth.jwt())')
          IS DISTINCT FROM pg_temp.eval_case(c, 'pg_column_size(supabase_ref.jwt())')),
  0::bigint, 'auth.jwt() takes as many bytes as Supabase''s on every case');

SELECT is(
  (SELECT pg_temp.eval_case(c, $$(auth.jwt() -> 'k36')::text || ' ' || (auth.jwt() ? 'k0')::text$$)
     FROM claim_cases c WHERE id = 21),
  '73 true', 'keys of a large object are found by jsonb''s search over sorted keys');
-- A repeated key's dropped value is still converted, as jsonb_in converts it.
DO $$ BEGIN PERFORM set_config('request.jwt.claims', '{"x":1e1000000,"x":0}', true); END $$;
SELECT throws_ok('SELECT auth.jwt()', '22003', NULL,
  'a number jsonb refuses is refused in a repeated key''s dropped value');
DO $$ BEGIN PERFORM set_config('request.jwt.claims', '', true); END $$;

-- The comparison is not vacuous: the cases produce values and errors.
SELECT is(
  (SELECT count(DISTINCT pg_temp.eval_case(c, 'auth.uid()')) FROM claim_cases c),
  5::bigint, 'auth.uid() cases cover NULL, several uuids and the error');
SELECT ok(
  (SELECT bool_or(pg_temp.eval_case(c, 'auth.uid()') = 'ERROR 22P02') FROM claim_cases c),
  'a non-uuid sub raises 22P02 in both');

-- SQLSTATEs of careguard's own errors.
DO $$ BEGIN PERFORM set_config('request.jwt.claims', '{"sub":"user-42"}', true); END $$;
SELECT throws_ok('SELECT auth.uid()', '22P02',
  'claim "sub" in setting "request.jwt.claims" is not a valid uuid: "user-42"',
  'non-uuid sub: 22P02 naming the setting');
DO $$ BEGIN PERFORM set_config('request.jwt.claims', '{"sub":', true); END $$;
SELECT throws_ok('SELECT auth.role()', '22P02', NULL, 'malformed claims JSON: 22P02');
DO $$ BEGIN PERFORM set_config('request.jwt.claims', repeat('[', 5000), true); END $$;
SELECT throws_ok('SELECT auth.role()', '54000', NULL, 'absurd nesting: 54000, not a crash');
DO $$ BEGIN PERFORM set_config('request.jwt.claims', '', true); END $$;

-- The guard turns every C++ failure into an ERROR with a fitting SQLSTATE.
SELECT throws_ok($$SELECT careguard_test.guard_selftest('bad_alloc')$$, '53200', NULL, 'std::bad_alloc becomes 53200');
SELECT throws_ok($$SELECT careguard_test.guard_selftest('unknown')$$, 'XX000', NULL, 'an unknown exception becomes XX000');
SELECT throws_ok($$SELECT careguard_test.guard_selftest('postgres')$$, '22012', NULL, 'a PostgreSQL error raised under C++ keeps its SQLSTATE');

SELECT * FROM finish();
ROLLBACK;
