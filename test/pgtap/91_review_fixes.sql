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
SELECT plan(11);

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

-- 1b. The third review: a superuser's policy helper with SET search_path =
-- public calls lower() unqualified, and the attacker's lower(varchar) wins.
-- The owner check cannot see into the helper's body; the probe's security
-- context must refuse the RESET ROLE. setval is not transactional, so it
-- records an escape that the probe's rollback cannot undo.
SET LOCAL ROLE review_mallory;
CREATE SEQUENCE public.review_escaped;
CREATE FUNCTION public.lower(v varchar) RETURNS text LANGUAGE plpgsql AS $f$
BEGIN
  BEGIN
    RESET ROLE;
    IF current_setting('is_superuser') = 'on' THEN
      PERFORM setval('public.review_escaped', 42);
    END IF;
  EXCEPTION WHEN OTHERS THEN NULL;
  END;
  RETURN pg_catalog.lower(v::text);
END $f$;
RESET ROLE;
CREATE TABLE public.review_notes (id int PRIMARY KEY, owner_email varchar NOT NULL);
ALTER TABLE public.review_notes ENABLE ROW LEVEL SECURITY;
GRANT SELECT ON public.review_notes TO authenticated;
INSERT INTO public.review_notes VALUES (1, 'x@example.org');
CREATE FUNCTION public.review_is_owner(e varchar) RETURNS boolean LANGUAGE sql STABLE
  SET search_path = public AS $$ SELECT lower(e) = lower(auth.email()) $$;
CREATE POLICY review_notes_owner ON public.review_notes FOR SELECT USING (public.review_is_owner(owner_email));

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
SELECT ok((SELECT bool_and(writes_not_probed IS NULL) FROM review_matrix WHERE relation = 'public.review_notes'),
  'the superuser''s table with a hijackable helper is probed (the owner check sees no untrusted code)');
SELECT is((SELECT last_value FROM public.review_escaped), 1::bigint,
  'code a probe evaluated could not RESET ROLE back to the superuser');

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
