-- What this proves: the second attack review's findings stay closed.
-- 1-2. The access matrix runs as a superuser and switches role in the same
--      session, so it evaluates nothing a non-superuser wrote: a cast to json
--      on a column type, or a policy function that RESETs ROLE, would
--      otherwise run with the superuser's rights (both made mallory a
--      superuser before the fix).
-- 3.   careguard.protect() refuses a partitioned table (its partitions stay
--      reachable directly).
-- 4.   A SECURITY DEFINER search_path is pinned only with pg_temp named last.
-- 5.   Only the test runner creates users through careguard_test.
BEGIN;
SELECT plan(9);

CREATE ROLE review_mallory LOGIN;
GRANT CREATE ON SCHEMA public TO review_mallory;
SET LOCAL ROLE review_mallory;
CREATE TYPE public.review_evil AS ENUM ('x');
CREATE FUNCTION public.review_evil_json(public.review_evil) RETURNS json LANGUAGE plpgsql AS $$
BEGIN
  IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    EXECUTE 'ALTER ROLE review_mallory SUPERUSER';
  END IF;
  RETURN '"x"'::json;
END $$;
CREATE CAST (public.review_evil AS json) WITH FUNCTION public.review_evil_json(public.review_evil);
CREATE TABLE public.review_cast_bait (e public.review_evil);
INSERT INTO public.review_cast_bait VALUES ('x');
ALTER TABLE public.review_cast_bait ENABLE ROW LEVEL SECURITY;
CREATE FUNCTION public.review_policy_fn() RETURNS boolean LANGUAGE plpgsql AS $f$
BEGIN
  IF session_user <> current_user THEN
    EXECUTE 'RESET ROLE';
    EXECUTE 'ALTER ROLE review_mallory SUPERUSER';
  END IF;
  RETURN true;
END $f$;
CREATE TABLE public.review_policy_bait (id int);
INSERT INTO public.review_policy_bait VALUES (1);
ALTER TABLE public.review_policy_bait ENABLE ROW LEVEL SECURITY;
CREATE POLICY review_p ON public.review_policy_bait USING (public.review_policy_fn());
GRANT SELECT ON public.review_policy_bait TO anon;
RESET ROLE;

SET LOCAL client_min_messages = error;
CREATE TEMP TABLE review_matrix AS
  SELECT relation, writes_not_probed, selectable_rows FROM careguard.access_matrix(NULL, ARRAY['public'])
  WHERE relation LIKE 'public.review%';
RESET client_min_messages;
SELECT is((SELECT rolsuper FROM pg_roles WHERE rolname = 'review_mallory'), false,
  'the access matrix made no one a superuser');
SELECT ok((SELECT bool_and(writes_not_probed LIKE 'not probed: %' AND selectable_rows IS NULL)
           FROM review_matrix WHERE relation = 'public.review_cast_bait'),
  'a table whose column type a non-superuser owns is not probed');
SELECT ok((SELECT bool_and(writes_not_probed LIKE 'not probed: %review_policy_fn()%owned by review_mallory'
                           OR writes_not_probed LIKE 'not probed: the table is owned by review_mallory')
           FROM review_matrix WHERE relation = 'public.review_policy_bait'),
  'a table whose policy calls a non-superuser''s function is not probed, and the row says why');
SELECT ok((SELECT count(*) > 0 FROM review_matrix), 'the skipped tables are still listed');

CREATE TABLE public.review_parts (id int, owner uuid) PARTITION BY RANGE (id);
SELECT throws_ok($$SELECT careguard.protect('public.review_parts', 'owner')$$, '42809', NULL,
  'protect() refuses a partitioned table');

SELECT is(careguard.audit_trusted_search_path(ARRAY['search_path=auth']), false,
  'a search_path without pg_temp is not pinned (pg_temp is then searched first)');
SELECT is(careguard.audit_trusted_search_path(ARRAY['search_path=auth, pg_temp']), true,
  'auth, pg_temp is pinned');
SELECT is(careguard.audit_trusted_search_path(ARRAY['search_path=public, pg_catalog, pg_temp']), false,
  'a schema others may create in is not pinned');

SELECT ok(NOT has_function_privilege('anon', 'tests.create_supabase_user(text, text, text, jsonb)', 'EXECUTE'),
  'anon cannot create users through the test helpers');

SELECT * FROM finish();
ROLLBACK;
