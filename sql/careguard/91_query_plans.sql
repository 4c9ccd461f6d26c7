-- Plans under each persona: canonical queries registered with the persona
-- (role + claims) that runs them, planned with EXPLAIN as that persona and as
-- a role that bypasses row-level security, and compared (docs/audit-rules.md,
-- "Query plans"). careguard.audit() reports the findings; this part comes
-- before it (92_audit.sql) because audit()'s SQL body is checked against the
-- functions it calls when it is created.

-- The registry. A product's rows name the extension whose install script
-- registers them: pg_dump keeps only the DBA's, and a product's rows left
-- behind by its DROP EXTENSION are ignored until it is installed again.
CREATE TABLE careguard.query_registry (
  query_name text NOT NULL,
  query text NOT NULL,
  -- {"name", "role", "claims"} as in the access matrix; {"name"} alone names
  -- one of the matrix's default contexts, resolved from the data when the
  -- audit runs (a real patient, provider, admin).
  context jsonb NOT NULL,
  -- The same rows as a role bypassing RLS would ask for them, where the
  -- persona's policy supplies the filter (NULL: the query itself).
  reference_query text,
  reference_role name NOT NULL DEFAULT 'service_role',
  max_cost_ratio numeric NOT NULL DEFAULT 10,
  registered_by_extension name,
  CONSTRAINT query_registry_pkey PRIMARY KEY (query_name),
  CONSTRAINT query_registry_name_check CHECK (query_name OPERATOR(pg_catalog.<>) ''),
  CONSTRAINT query_registry_context_check
    CHECK (pg_catalog.jsonb_typeof(context) OPERATOR(pg_catalog.=) 'object'),
  CONSTRAINT query_registry_ratio_check CHECK (max_cost_ratio OPERATOR(pg_catalog.>) 1)
);
COMMENT ON TABLE careguard.query_registry IS
  'Canonical queries whose plans the audit checks under their persona (careguard.register_query).';
SELECT pg_catalog.pg_extension_config_dump('careguard.query_registry', 'WHERE registered_by_extension IS NULL');
ALTER TABLE careguard.query_registry ENABLE ROW LEVEL SECURITY;
ALTER TABLE careguard.query_registry FORCE ROW LEVEL SECURITY;
REVOKE ALL ON careguard.query_registry FROM PUBLIC;
GRANT SELECT ON careguard.query_registry TO careguard_auditor;
CREATE POLICY query_registry_auditor_read ON careguard.query_registry
  FOR SELECT TO careguard_auditor USING (true);

-- A registered text is planned as `EXPLAIN (...) <text>` by plpgsql's
-- EXECUTE, which runs every statement of a string: one statement only
-- (a trailing semicolon is dropped), never an EXPLAIN of its own.
CREATE FUNCTION careguard.registered_statement(query text, what text) RETURNS text
  LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $statement$
DECLARE
  body text := pg_catalog.regexp_replace(query, '[[:space:];]+$', '');
  bare text := pg_catalog.btrim(careguard.audit_strip_comments_literals(body));
BEGIN
  IF bare IS NULL OR bare OPERATOR(pg_catalog.=) '' THEN
    RAISE EXCEPTION 'the % is empty', what USING ERRCODE = '22023';
  END IF;
  IF pg_catalog.strpos(bare, ';') OPERATOR(pg_catalog.>) 0 THEN
    RAISE EXCEPTION 'the % must be one statement', what USING ERRCODE = '22023';
  END IF;
  IF bare OPERATOR(pg_catalog.~*) '^explain\M' THEN
    RAISE EXCEPTION 'the % is planned with EXPLAIN by the audit: register the statement itself', what
      USING ERRCODE = '22023';
  END IF;
  RETURN body;
END
$statement$;
REVOKE ALL ON FUNCTION careguard.registered_statement(text, text) FROM PUBLIC;
COMMENT ON FUNCTION careguard.registered_statement(text, text) IS
  'Query-plan internals: the registered text as one statement (22023 for an empty one, several, or an EXPLAIN).';

-- Registers (or replaces) a query for the plan audit.
CREATE FUNCTION careguard.register_query(query_name text, query text, context jsonb,
                                         reference_query text DEFAULT NULL,
                                         reference_role name DEFAULT 'service_role',
                                         max_cost_ratio numeric DEFAULT 10,
                                         extension name DEFAULT NULL)
  RETURNS void
  LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
  SET search_path = pg_catalog, pg_temp
AS $register$
DECLARE
  ctx_role text := context OPERATOR(pg_catalog.->>) 'role';
BEGIN
  IF pg_catalog.jsonb_typeof(context) IS DISTINCT FROM 'object'
     OR EXISTS (SELECT 1 FROM pg_catalog.jsonb_object_keys(context) AS k
                WHERE k OPERATOR(pg_catalog.<>) ALL (ARRAY['name', 'role', 'claims']))
     OR (ctx_role IS NULL AND NOT context OPERATOR(pg_catalog.?) 'name')
     OR pg_catalog.jsonb_typeof(COALESCE(context OPERATOR(pg_catalog.->) 'claims', '{}'))
          OPERATOR(pg_catalog.<>) 'object' THEN
    RAISE EXCEPTION 'a query context is {"name", "role", "claims"}, or {"name"} of a default context, not %', context
      USING ERRCODE = '22023',
            HINT = 'e.g. {"name": "provider"} or {"role": "patient", "claims": {"sub": "..."}}';
  END IF;
  IF ctx_role IS NOT NULL AND pg_catalog.to_regrole(ctx_role) IS NULL THEN
    RAISE EXCEPTION 'context % names no existing role', context USING ERRCODE = '22023';
  END IF;
  IF pg_catalog.to_regrole(reference_role) IS NULL
     OR (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) reference_role) THEN
    RAISE EXCEPTION 'reference role "%" must be an existing role that is not a superuser', reference_role
      USING ERRCODE = '22023',
            HINT = 'A BYPASSRLS role (service_role) or a table owner without FORCE; its plan is made as that role.';
  END IF;
  IF max_cost_ratio IS NULL OR max_cost_ratio OPERATOR(pg_catalog.<=) 1 THEN
    RAISE EXCEPTION 'max_cost_ratio must be greater than 1, not %', max_cost_ratio USING ERRCODE = '22023';
  END IF;
  IF extension IS NOT NULL AND NOT EXISTS (
       SELECT 1 FROM pg_catalog.pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) extension) THEN
    RAISE EXCEPTION 'extension "%" is not installed', extension USING ERRCODE = '22023';
  END IF;
  INSERT INTO careguard.query_registry AS q
    (query_name, query, context, reference_query, reference_role, max_cost_ratio, registered_by_extension)
  VALUES (register_query.query_name, careguard.registered_statement(register_query.query, 'query'),
          register_query.context,
          CASE WHEN register_query.reference_query IS NOT NULL
               THEN careguard.registered_statement(register_query.reference_query, 'reference query') END,
          register_query.reference_role, register_query.max_cost_ratio, register_query.extension)
  ON CONFLICT ON CONSTRAINT query_registry_pkey DO UPDATE
    SET query = excluded.query, context = excluded.context, reference_query = excluded.reference_query,
        reference_role = excluded.reference_role, max_cost_ratio = excluded.max_cost_ratio,
        registered_by_extension = excluded.registered_by_extension;
END
$register$;
REVOKE ALL ON FUNCTION careguard.register_query(text, text, jsonb, text, name, numeric, name) FROM PUBLIC;
COMMENT ON FUNCTION careguard.register_query(text, text, jsonb, text, name, numeric, name) IS
  'Registers a canonical query, the persona that runs it, and the bypassing reference its plan is compared with.';

CREATE FUNCTION careguard.unregister_query(query_name text) RETURNS boolean
  LANGUAGE sql VOLATILE PARALLEL UNSAFE
  SET search_path = pg_catalog, pg_temp
AS $unregister$
  WITH gone AS (
    DELETE FROM careguard.query_registry q
    WHERE q.query_name OPERATOR(pg_catalog.=) unregister_query.query_name RETURNING 1)
  SELECT EXISTS (SELECT 1 FROM gone)
$unregister$;
REVOKE ALL ON FUNCTION careguard.unregister_query(text) FROM PUBLIC;
COMMENT ON FUNCTION careguard.unregister_query(text) IS
  'Removes a registered query; false when there was none of that name.';

-- The registrations, and whether the audit checks them (a product's only
-- while the product is installed).
CREATE FUNCTION careguard.registered_queries()
  RETURNS TABLE (query_name text, query text, context jsonb, reference_query text, reference_role name,
                 max_cost_ratio numeric, registered_by_extension name, active boolean)
  LANGUAGE sql STABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $list$
  SELECT q.query_name, q.query, q.context, q.reference_query, q.reference_role, q.max_cost_ratio,
         q.registered_by_extension,
         q.registered_by_extension IS NULL OR EXISTS (
           SELECT 1 FROM pg_catalog.pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) q.registered_by_extension)
  FROM careguard.query_registry q
  ORDER BY q.query_name
$list$;
REVOKE ALL ON FUNCTION careguard.registered_queries() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION careguard.registered_queries() TO careguard_auditor;
COMMENT ON FUNCTION careguard.registered_queries() IS
  'The registered queries; active is false for a product''s rows while the product is not installed.';
