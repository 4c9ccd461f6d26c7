-- pgTAP helpers for users' own suites, in schema careguard_test. They never
-- need pgTAP at install time: the TAP-producing ones find pgTAP's ok()/is()
-- through pg_extension when called, in whatever schema pgTAP was created.
-- All are SECURITY INVOKER: they do nothing the caller could not do, so any
-- role a test switches to may call them (hence the grants to PUBLIC).
-- See docs/testing-with-careguard.md.
CREATE SCHEMA careguard_test;
COMMENT ON SCHEMA careguard_test IS 'careguard: helpers for pgTAP suites (authenticate as a user, RLS assertions)';
GRANT USAGE ON SCHEMA careguard_test TO PUBLIC;

-- Acts as a signed-in user until the transaction ends, exactly as PostgREST
-- does: SET LOCAL ROLE and transaction-local request.jwt.claims.
CREATE FUNCTION careguard_test.authenticate(user_id uuid, role text, extra_claims jsonb DEFAULT '{}')
  RETURNS void
  LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
  SET search_path = pg_catalog, pg_temp
AS $auth$
BEGIN
  -- The SET clause above restores only search_path on exit; role and
  -- claims set with is_local = true last until the transaction ends.
  PERFORM pg_catalog.set_config('request.jwt.claims',
    (pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object('sub', user_id, 'role', role))
     OPERATOR(pg_catalog.||) COALESCE(extra_claims, '{}'::jsonb))::text, true);
  PERFORM pg_catalog.set_config('role', role, true);
END
$auth$;
COMMENT ON FUNCTION careguard_test.authenticate(uuid, text, jsonb) IS
  'Test helper: SET LOCAL ROLE role and local request.jwt.claims {sub, role} || extra_claims.';

-- Back to the session user with no claims, for the rest of the transaction.
CREATE FUNCTION careguard_test.clear_authentication() RETURNS void
  LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
  SET search_path = pg_catalog, pg_temp
AS $clear$
BEGIN
  PERFORM pg_catalog.set_config('role', 'none', true);
  PERFORM pg_catalog.set_config('request.jwt.claims', '', true);
END
$clear$;
COMMENT ON FUNCTION careguard_test.clear_authentication() IS
  'Test helper: RESET ROLE and clear request.jwt.claims, transaction-locally.';

-- Tables of a schema that lack enabled or forced row-level security.
CREATE FUNCTION careguard_test.tables_without_rls(schema_name name)
  RETURNS TABLE (table_name text, rls_enabled boolean, rls_forced boolean)
  LANGUAGE sql STABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $norls$
  SELECT pg_catalog.format('%I.%I', n.nspname, c.relname), c.relrowsecurity, c.relforcerowsecurity
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
  WHERE n.nspname OPERATOR(pg_catalog.=) schema_name
    AND c.relkind OPERATOR(pg_catalog.=) ANY (ARRAY['r', 'p']::"char"[])
    AND NOT (c.relrowsecurity AND c.relforcerowsecurity)
  ORDER BY 1
$norls$;
COMMENT ON FUNCTION careguard_test.tables_without_rls(name) IS
  'Test helper: the tables of a schema whose RLS is not both enabled and forced (empty = all good).';

-- Calls a pgTAP function by name in pgTAP's own schema; errors clearly when
-- pgTAP is missing.
CREATE FUNCTION careguard_test.pgtap_call(function_name text, args text) RETURNS text
  LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
  SET search_path = pg_catalog, pg_temp
AS $call$
DECLARE
  tap_schema name;
  result text;
BEGIN
  SELECT n.nspname INTO tap_schema
  FROM pg_catalog.pg_extension e
  JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) e.extnamespace
  WHERE e.extname OPERATOR(pg_catalog.=) 'pgtap';
  IF tap_schema IS NULL THEN
    RAISE EXCEPTION 'careguard_test: pgTAP is not installed in this database'
      USING ERRCODE = '42883', HINT = 'CREATE EXTENSION pgtap;';
  END IF;
  -- pgTAP's own functions resolve their helpers through search_path.
  PERFORM pg_catalog.set_config('search_path', pg_catalog.format('%I, pg_catalog, pg_temp', tap_schema), true);
  EXECUTE pg_catalog.format('SELECT %I.%I(%s)', tap_schema, function_name, args) INTO result;
  RETURN result;
END
$call$;
COMMENT ON FUNCTION careguard_test.pgtap_call(text, text) IS
  'Test helper internals: calls a pgTAP function in whatever schema pgTAP was created in.';

-- pgTAP assertion: every table of the schema has RLS enabled and forced.
CREATE FUNCTION careguard_test.rls_enabled_on_schema(schema_name name, description text DEFAULT NULL)
  RETURNS text
  LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
  SET search_path = pg_catalog, pg_temp
AS $rlsok$
DECLARE
  offenders text;
  tap text;
BEGIN
  SELECT pg_catalog.string_agg(pg_catalog.format('%s (enabled: %s, forced: %s)', t.table_name,
                                                 t.rls_enabled, t.rls_forced), ', ')
    INTO offenders
  FROM careguard_test.tables_without_rls(schema_name) t;
  tap := careguard_test.pgtap_call('ok', pg_catalog.format('%L::boolean, %L::text',
    offenders IS NULL,
    COALESCE(description, pg_catalog.format('RLS is enabled and forced on every table of %I', schema_name))));
  IF offenders IS NOT NULL THEN
    tap := tap OPERATOR(pg_catalog.||) E'\n' OPERATOR(pg_catalog.||)
           careguard_test.pgtap_call('diag', pg_catalog.format('%L::text', 'without RLS: ' OPERATOR(pg_catalog.||) offenders));
  END IF;
  RETURN tap;
END
$rlsok$;
COMMENT ON FUNCTION careguard_test.rls_enabled_on_schema(name, text) IS
  'pgTAP assertion: RLS enabled and forced on every table of the schema (pgTAP may live in any schema).';

-- Rows a query returns under a context; the context is undone afterwards
-- (the count runs in a subtransaction that is always rolled back).
CREATE FUNCTION careguard_test.count_visible_as(query text, user_id uuid, role text,
                                                extra_claims jsonb DEFAULT '{}')
  RETURNS bigint
  LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
  SET search_path = pg_catalog, pg_temp
AS $count$
DECLARE
  visible bigint;
BEGIN
  BEGIN
    PERFORM careguard_test.authenticate(user_id, role, extra_claims);
    EXECUTE pg_catalog.format('SELECT pg_catalog.count(*) FROM (%s) AS q', query) INTO visible;
    RAISE EXCEPTION 'careguard probe rollback' USING ERRCODE = 'CGRBK';
  EXCEPTION WHEN SQLSTATE 'CGRBK' THEN NULL;
  END;
  RETURN visible;
END
$count$;
COMMENT ON FUNCTION careguard_test.count_visible_as(text, uuid, text, jsonb) IS
  'Test helper: count(*) of a query run as user_id/role with extra claims; identity restored afterwards.';

-- pgTAP assertion: the query returns `expected` rows under the context.
CREATE FUNCTION careguard_test.rows_visible_as(query text, expected bigint, user_id uuid, role text,
                                               extra_claims jsonb DEFAULT '{}', description text DEFAULT NULL)
  RETURNS text
  LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
  SET search_path = pg_catalog, pg_temp
AS $visible$
BEGIN
  RETURN careguard_test.pgtap_call('is', pg_catalog.format('%L::bigint, %L::bigint, %L::text',
    careguard_test.count_visible_as(query, user_id, role, extra_claims), expected,
    COALESCE(description, pg_catalog.format('%s sees %s rows of: %s', role, expected, query))));
END
$visible$;
COMMENT ON FUNCTION careguard_test.rows_visible_as(text, bigint, uuid, text, jsonb, text) IS
  'pgTAP assertion: the query returns exactly `expected` rows as user_id/role (+ extra claims).';

-- Grants: see the header; the helpers carry no privilege of their own.
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA careguard_test TO PUBLIC;
