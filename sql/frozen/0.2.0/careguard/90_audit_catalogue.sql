-- Policy audit: careguard.audit() reports holes in RLS, policies, indexes,
-- functions, views, privileges and backups of any schema, extension-owned
-- objects included; careguard.access_matrix() shows who can see and change
-- what. Every rule is documented in docs/audit-rules.md.

-- Schemas holding protected health information, registered by whoever owns
-- them (careguard_booking registers its own) with careguard.register_phi_schema.
-- A product's rows are marked builtin: its install script re-creates them, so
-- pg_dump keeps only the DBA's.
CREATE TABLE careguard.audit_phi_schemas (
  schema_name name PRIMARY KEY,
  builtin boolean NOT NULL DEFAULT false
);
COMMENT ON TABLE careguard.audit_phi_schemas IS
  'Schemas whose contents are PHI: the phi_public_grant and phi_column_statistics audit rules check them.';
SELECT pg_catalog.pg_extension_config_dump('careguard.audit_phi_schemas', 'WHERE NOT builtin');
ALTER TABLE careguard.audit_phi_schemas ENABLE ROW LEVEL SECURITY;
ALTER TABLE careguard.audit_phi_schemas FORCE ROW LEVEL SECURITY;
REVOKE ALL ON careguard.audit_phi_schemas FROM PUBLIC;
GRANT SELECT ON careguard.audit_phi_schemas TO careguard_auditor;
CREATE POLICY audit_phi_schemas_auditor_read ON careguard.audit_phi_schemas
  FOR SELECT TO careguard_auditor USING (true);

-- Registers a schema as PHI. Idempotent, so a product's install script can
-- re-register after its own DROP EXTENSION left the row behind.
CREATE FUNCTION careguard.register_phi_schema(schema_name name, builtin boolean DEFAULT false)
  RETURNS void
  LANGUAGE sql VOLATILE PARALLEL UNSAFE
  SET search_path = pg_catalog, pg_temp
AS $register$
  INSERT INTO careguard.audit_phi_schemas AS s (schema_name, builtin)
  VALUES (register_phi_schema.schema_name, register_phi_schema.builtin)
  ON CONFLICT ON CONSTRAINT audit_phi_schemas_pkey DO UPDATE SET builtin = excluded.builtin
$register$;
REVOKE ALL ON FUNCTION careguard.register_phi_schema(name, boolean) FROM PUBLIC;
COMMENT ON FUNCTION careguard.register_phi_schema(name, boolean) IS
  'Marks a schema as PHI for the audit; builtin rows are a product''s and are not dumped.';

-- Functions that return access-matrix contexts ([{"name", "role", "claims"}])
-- for a product's roles, registered by the product; the matrix's defaults are
-- the platform's own contexts plus what each registered function returns.
CREATE TABLE careguard.access_matrix_context_sources (
  function_name text PRIMARY KEY,
  builtin boolean NOT NULL DEFAULT false
);
COMMENT ON TABLE careguard.access_matrix_context_sources IS
  'Functions () RETURNS jsonb adding default contexts to careguard.access_matrix(); a missing one is skipped.';
SELECT pg_catalog.pg_extension_config_dump('careguard.access_matrix_context_sources', 'WHERE NOT builtin');
ALTER TABLE careguard.access_matrix_context_sources ENABLE ROW LEVEL SECURITY;
ALTER TABLE careguard.access_matrix_context_sources FORCE ROW LEVEL SECURITY;
REVOKE ALL ON careguard.access_matrix_context_sources FROM PUBLIC;

CREATE FUNCTION careguard.register_matrix_contexts(source pg_catalog.regprocedure,
                                                   builtin boolean DEFAULT false)
  RETURNS void
  LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
  SET search_path = pg_catalog, pg_temp
AS $register$
BEGIN
  IF (SELECT p.prorettype FROM pg_catalog.pg_proc p WHERE p.oid OPERATOR(pg_catalog.=) source)
       OPERATOR(pg_catalog.<>) 'pg_catalog.jsonb'::pg_catalog.regtype
     OR (SELECT p.pronargs FROM pg_catalog.pg_proc p WHERE p.oid OPERATOR(pg_catalog.=) source)
       OPERATOR(pg_catalog.<>) 0 THEN
    RAISE EXCEPTION 'a context source takes no argument and returns jsonb: % does not', source
      USING ERRCODE = '22023';
  END IF;
  INSERT INTO careguard.access_matrix_context_sources AS s (function_name, builtin)
  VALUES (source::pg_catalog.text, register_matrix_contexts.builtin)
  ON CONFLICT ON CONSTRAINT access_matrix_context_sources_pkey DO UPDATE SET builtin = excluded.builtin;
END
$register$;
REVOKE ALL ON FUNCTION careguard.register_matrix_contexts(pg_catalog.regprocedure, boolean) FROM PUBLIC;
COMMENT ON FUNCTION careguard.register_matrix_contexts(pg_catalog.regprocedure, boolean) IS
  'Adds a function () RETURNS jsonb of contexts to the access matrix''s defaults.';

-- The schemas an audit covers: the named ones, each of which must exist, or
-- by default every schema but PostgreSQL's own (catalog, information schema,
-- TOAST and temporary schemas).
CREATE FUNCTION careguard.audited_schemas(schemas text[]) RETURNS text[]
  LANGUAGE plpgsql STABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $schemas$
DECLARE
  missing text;
BEGIN
  IF schemas IS NULL THEN
    RETURN ARRAY(
      SELECT n.nspname::text FROM pg_catalog.pg_namespace n
      WHERE n.nspname OPERATOR(pg_catalog.<>) ALL (ARRAY['pg_catalog', 'information_schema', 'pg_toast'])
        AND n.nspname::text NOT LIKE 'pg\_temp\_%' AND n.nspname::text NOT LIKE 'pg\_toast\_temp\_%'
      ORDER BY 1);
  END IF;
  SELECT s INTO missing FROM pg_catalog.unnest(schemas) AS s
    WHERE s IS NULL OR NOT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace n WHERE n.nspname OPERATOR(pg_catalog.=) s)
    LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'schema "%" does not exist', missing
      USING ERRCODE = '3F000', HINT = 'Name existing schemas, or pass NULL to audit every schema.';
  END IF;
  RETURN schemas;
END
$schemas$;
COMMENT ON FUNCTION careguard.audited_schemas(text[]) IS
  'The audit''s schema list: the given schemas (each must exist, else 3F000), or every non-system schema.';

-- The rule catalogue: one row per rule id with its fixed severity. audit()
-- takes severities from here, the CLI builds SARIF's rules[] from it.
CREATE FUNCTION careguard.audit_rules()
  RETURNS TABLE (rule text, severity text, category text, summary text)
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $rules$
  SELECT * FROM (VALUES
    ('rls_disabled_exposed', 'error', 'rls',
     'Table readable by a client role (anon, authenticated or their members) with row-level security disabled'),
    ('rls_not_forced', 'warning', 'rls',
     'Row-level security enabled but not forced: the table owner bypasses every policy'),
    ('policy_without_rls', 'error', 'rls',
     'Policies exist but row-level security is disabled, so none of them applies'),
    ('rls_no_policy', 'info', 'rls',
     'Row-level security enabled with no policy: every non-owner is denied everything'),
    ('write_policy_unchecked', 'error', 'policy',
     'INSERT/UPDATE/ALL policy with no WITH CHECK, or a WITH CHECK that is always true'),
    ('write_policy_using_true', 'error', 'policy',
     'USING (true) on an UPDATE/DELETE/ALL policy for a role other than admin or service_role'),
    ('multiple_permissive_policies', 'warning', 'policy',
     'Several permissive policies for one role and command: they are ORed and all evaluated'),
    ('policy_reads_user_metadata', 'error', 'policy',
     'Policy reads user_metadata / raw_user_meta_data, which the user can edit'),
    ('policy_calls_volatile', 'warning', 'policy',
     'Policy calls a VOLATILE function: evaluated on every row and blocks optimisation'),
    ('policy_per_row_claims', 'warning', 'performance',
     'Policy parses JWT claims or calls a SQL/plpgsql auth helper on every row'),
    ('policy_column_unindexed', 'warning', 'performance',
     'A column a policy filters on (USING) has no index led by it'),
    ('fk_without_index', 'warning', 'performance',
     'Foreign key without an index covering its columns'),
    ('secdef_mutable_search_path', 'error', 'function',
     'SECURITY DEFINER function whose search_path is not pinned to schemas only trusted roles can create in'),
    ('secdef_executable_by_anon', 'warning', 'function',
     'SECURITY DEFINER function that anon may execute'),
    ('function_mutable_search_path', 'warning', 'function',
     'SQL/plpgsql function without a pinned search_path that names relations unqualified'),
    ('function_implicit_operator', 'error', 'function',
     'SQL/plpgsql function without a pinned search_path whose operators (or simple CASE) the caller''s search_path resolves'),
    ('view_bypasses_rls', 'error', 'view',
     'View over a row-level-security table without security_invoker: it runs as its owner'),
    ('phi_public_grant', 'error', 'privilege',
     'PHI schema or table with privileges granted to PUBLIC or anon'),
    ('privileged_role', 'info', 'privilege',
     'Role with SUPERUSER or BYPASSRLS: it ignores every policy (inventory)'),
    ('extension_table_not_dumped', 'error', 'backup',
     'Extension-owned table holding data that pg_dump will not dump'),
    ('policy_reads_raw_claims', 'error', 'policy',
     'Policy reads request.jwt.claims with current_setting(), past careguard''s trust rules'),
    ('materialized_view_in_api', 'error', 'view',
     'Materialized view readable by a client role: it has no row-level security'),
    ('foreign_table_in_api', 'error', 'view',
     'Foreign table readable by a client role: it has no row-level security'),
    ('phi_column_statistics', 'warning', 'privacy',
     'PHI text or patient-identifier column with planner statistics: EXPLAIN row estimates confirm guessed values past RLS'),
    ('careguard_not_preloaded', 'error', 'configuration',
     'careguard is not in shared_preload_libraries, so it trusts no identity and sign-in is refused')
  ) AS r(rule, severity, category, summary)
$rules$;
COMMENT ON FUNCTION careguard.audit_rules() IS
  'The audit rule catalogue: id, severity, category, one-line summary. See docs/audit-rules.md.';

