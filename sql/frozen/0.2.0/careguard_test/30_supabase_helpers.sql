-- Supabase test helpers: the functions of basejump's supabase_test_helpers,
-- with the same names, arguments and behaviour, in schema tests, so that a
-- pgTAP suite written for Supabase runs unchanged on careguard. Written from
-- their documented conventions. Users are found by a test identifier kept in
-- raw_user_meta_data ->> 'test_identifier'.
CREATE SCHEMA tests;
COMMENT ON SCHEMA tests IS 'Supabase-style pgTAP helpers (supabase_test_helpers conventions)';
GRANT USAGE ON SCHEMA tests TO PUBLIC;

-- Creates an auth.users row for a test identifier; returns its id.
CREATE FUNCTION tests.create_supabase_user(identifier text, email text DEFAULT NULL,
                                           phone text DEFAULT NULL, metadata jsonb DEFAULT NULL)
  RETURNS uuid
  LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $create$
DECLARE
  user_id uuid := pg_catalog.gen_random_uuid();
BEGIN
  INSERT INTO auth.users (id, email, phone, raw_user_meta_data, raw_app_meta_data)
  VALUES (user_id, COALESCE(email, pg_catalog.concat(user_id, '@test.com')), phone,
          pg_catalog.jsonb_build_object('test_identifier', identifier)
            OPERATOR(pg_catalog.||) COALESCE(metadata, '{}'::jsonb), '{}'::jsonb);
  RETURN user_id;
END
$create$;

-- The user of a test identifier, as json (id, email, phone, metadata).
CREATE FUNCTION tests.get_supabase_user(identifier text) RETURNS json
  LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $get$
DECLARE
  found json;
BEGIN
  SELECT pg_catalog.json_build_object('id', u.id, 'email', u.email, 'phone', u.phone,
                                      'raw_user_meta_data', u.raw_user_meta_data,
                                      'raw_app_meta_data', u.raw_app_meta_data)
    INTO found
    FROM auth.users u
   WHERE u.raw_user_meta_data OPERATOR(pg_catalog.->>) 'test_identifier' OPERATOR(pg_catalog.=) identifier
   LIMIT 1;
  IF found IS NULL THEN
    RAISE EXCEPTION 'User with identifier % not found', identifier USING ERRCODE = 'P0002';
  END IF;
  RETURN found;
END
$get$;

-- The id of a test identifier's user.
CREATE FUNCTION tests.get_supabase_uid(identifier text) RETURNS uuid
  LANGUAGE sql STABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $uid$
  SELECT (tests.get_supabase_user(identifier) OPERATOR(pg_catalog.->>) 'id')::uuid
$uid$;

-- Acts as that user until the transaction ends, as PostgREST would for its
-- token: role authenticated and transaction-local request.jwt.claims.
CREATE FUNCTION tests.authenticate_as(identifier text) RETURNS void
  LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
  SET search_path = pg_catalog, pg_temp
AS $as$
DECLARE
  user_data json := tests.get_supabase_user(identifier);
BEGIN
  PERFORM pg_catalog.set_config('role', 'authenticated', true);
  PERFORM pg_catalog.set_config('request.jwt.claims', pg_catalog.json_build_object(
    'sub', user_data OPERATOR(pg_catalog.->>) 'id',
    'role', 'authenticated',
    'email', user_data OPERATOR(pg_catalog.->>) 'email',
    'phone', user_data OPERATOR(pg_catalog.->>) 'phone',
    'user_metadata', user_data OPERATOR(pg_catalog.->) 'raw_user_meta_data',
    'app_metadata', user_data OPERATOR(pg_catalog.->) 'raw_app_meta_data')::text, true);
END
$as$;

CREATE FUNCTION tests.authenticate_as_service_role() RETURNS void
  LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
  SET search_path = pg_catalog, pg_temp
AS $service$
BEGIN
  PERFORM pg_catalog.set_config('role', 'service_role', true);
  PERFORM pg_catalog.set_config('request.jwt.claims', '{"role":"service_role"}', true);
END
$service$;

-- Back to an anonymous visitor (not to the session user), for the rest of
-- the transaction.
CREATE FUNCTION tests.clear_authentication() RETURNS void
  LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
  SET search_path = pg_catalog, pg_temp
AS $clear$
BEGIN
  PERFORM pg_catalog.set_config('role', 'anon', true);
  PERFORM pg_catalog.set_config('request.jwt.claims', '{"role":"anon"}', true);
END
$clear$;

-- freeze_time: an unqualified now() in the test's statements returns the
-- frozen time, until unfreeze_time() or the end of the transaction. It works
-- by putting test_overrides ahead of pg_catalog in search_path.
CREATE SCHEMA test_overrides;
GRANT USAGE ON SCHEMA test_overrides TO PUBLIC;
CREATE FUNCTION test_overrides.now() RETURNS timestamptz
  LANGUAGE sql STABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $now$
  SELECT COALESCE(NULLIF(pg_catalog.current_setting('tests.frozen_time', true), '')::timestamptz,
                  pg_catalog.now())
$now$;

-- No SET clause on these two: the search_path they set must outlive the
-- call, so every operator is qualified instead.
CREATE FUNCTION tests.freeze_time(frozen_time timestamptz) RETURNS void
  LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $freeze$
BEGIN
  PERFORM pg_catalog.set_config('tests.frozen_time', frozen_time::pg_catalog.text, true);
  IF NOT (pg_catalog.current_setting('search_path') OPERATOR(pg_catalog.~~) 'test_overrides,%') THEN
    PERFORM pg_catalog.set_config('tests.search_path_before_freeze', pg_catalog.current_setting('search_path'), true);
    PERFORM pg_catalog.set_config('search_path',
      pg_catalog.concat('test_overrides, ', pg_catalog.current_setting('search_path'), ', pg_catalog'), true);
  END IF;
END
$freeze$;

CREATE FUNCTION tests.unfreeze_time() RETURNS void
  LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $unfreeze$
BEGIN
  PERFORM pg_catalog.set_config('tests.frozen_time', '', true);
  IF pg_catalog.current_setting('search_path') OPERATOR(pg_catalog.~~) 'test_overrides,%' THEN
    PERFORM pg_catalog.set_config('search_path',
      pg_catalog.current_setting('tests.search_path_before_freeze'), true);
  END IF;
END
$unfreeze$;

-- pgTAP tests: RLS is enabled on every table of a schema, or on one table. A
-- schema or table that does not exist is an error, never a pass.
CREATE FUNCTION tests.rls_enabled(testing_schema text) RETURNS text
  LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
  SET search_path = pg_catalog, pg_temp
AS $schema$
DECLARE
  offenders text;
BEGIN
  IF pg_catalog.to_regnamespace(pg_catalog.quote_ident(testing_schema)) IS NULL THEN
    RAISE EXCEPTION 'schema "%" does not exist', testing_schema USING ERRCODE = '3F000';
  END IF;
  SELECT pg_catalog.string_agg(c.relname::text, ', ' ORDER BY c.relname) INTO offenders
    FROM pg_catalog.pg_class c
   WHERE c.relnamespace OPERATOR(pg_catalog.=) pg_catalog.to_regnamespace(pg_catalog.quote_ident(testing_schema))
     AND c.relkind OPERATOR(pg_catalog.=) ANY (ARRAY['r', 'p']::"char"[]) AND NOT c.relrowsecurity;
  RETURN careguard_test.pgtap_call('ok', pg_catalog.format('%L::boolean, %L',
    offenders IS NULL,
    pg_catalog.format('All tables in the %s schema should have row level security enabled%s', testing_schema,
                      COALESCE(' (not: ' || offenders || ')', ''))));
END
$schema$;

CREATE FUNCTION tests.rls_enabled(testing_schema text, testing_table text) RETURNS text
  LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
  SET search_path = pg_catalog, pg_temp
AS $table$
DECLARE
  enabled boolean;
BEGIN
  SELECT c.relrowsecurity INTO enabled FROM pg_catalog.pg_class c
   WHERE c.oid OPERATOR(pg_catalog.=)
         pg_catalog.to_regclass(pg_catalog.quote_ident(testing_schema) || '.' || pg_catalog.quote_ident(testing_table));
  IF enabled IS NULL THEN
    RAISE EXCEPTION 'table "%.%" does not exist', testing_schema, testing_table USING ERRCODE = '42P01';
  END IF;
  RETURN careguard_test.pgtap_call('ok', pg_catalog.format('%L::boolean, %L', enabled,
    pg_catalog.format('Table %s.%s should have row level security enabled', testing_schema, testing_table)));
END
$table$;

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA tests TO PUBLIC;
-- Creating users is the test runner's (a superuser's) job, not any role's a
-- test switches to: the function writes auth.users as its owner.
REVOKE EXECUTE ON FUNCTION tests.create_supabase_user(text, text, text, jsonb) FROM PUBLIC;
