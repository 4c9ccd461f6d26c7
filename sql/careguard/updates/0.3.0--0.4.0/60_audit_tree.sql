-- careguard 0.3.0 -> 0.4.0, issue 13: the audit judges policies on
-- expression trees (careguard.audit_always_true, audit_search_path_names),
-- checks exposure for every role, adds splinter's hygiene rules; auth.jwks()
-- becomes a C function (no SECURITY DEFINER open to anon).
-- The expression-tree readers (src/pg/audit_trees.cpp). They run in a
-- subtransaction, so they are PARALLEL UNSAFE.
CREATE OR REPLACE FUNCTION careguard.audit_always_true(expr pg_catalog.pg_node_tree) RETURNS boolean
  LANGUAGE c STABLE STRICT PARALLEL UNSAFE
  SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'careguard_audit_always_true';
COMMENT ON FUNCTION careguard.audit_always_true(pg_catalog.pg_node_tree) IS
  'Audit internals: whether a stored expression folds to constant true (only built-in code is evaluated).';

CREATE OR REPLACE FUNCTION careguard.audit_search_path_names(body text)
  RETURNS TABLE (kind text, name text, construct text, at_char integer)
  LANGUAGE c IMMUTABLE STRICT PARALLEL UNSAFE
  SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'careguard_audit_search_path_names';
COMMENT ON FUNCTION careguard.audit_search_path_names(text) IS
  'Audit internals: the operators, functions, types and relations a SQL body names without a schema (raw parse tree); the character position of each; (''unparsed'', NULL, NULL, NULL) if it does not parse.';
REVOKE ALL ON FUNCTION careguard.audit_always_true(pg_catalog.pg_node_tree) FROM PUBLIC;
REVOKE ALL ON FUNCTION careguard.audit_search_path_names(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION careguard.audit_always_true(pg_catalog.pg_node_tree) TO careguard_auditor;
GRANT EXECUTE ON FUNCTION careguard.audit_search_path_names(text) TO careguard_auditor;

-- The audit's exposure test and the rules that follow Supabase's splinter
-- (docs/audit-rules.md lists each splinter lint and careguard's answer).

-- Who, besides the owner, may read a relation: 'PUBLIC' when every role
-- may, else every role that holds SELECT on it and USAGE on its schema, by
-- grant or by membership. Superusers, BYPASSRLS roles (the privileged_role
-- inventory), PostgreSQL's predefined roles, members of pg_read_all_data
-- (granted all reads on purpose) and roles that act as the owner (members
-- of it) are left out. Every role counts, LOGIN or not: a NOLOGIN role is
-- what a gateway or a member becomes with SET ROLE.
CREATE OR REPLACE FUNCTION careguard.audit_exposed_to(rel oid) RETURNS text[]
  LANGUAGE sql STABLE STRICT PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $exposed$
  SELECT CASE
    WHEN pg_catalog.has_schema_privilege('public', c.relnamespace, 'USAGE')
     AND pg_catalog.has_table_privilege('public', c.oid, 'SELECT') THEN ARRAY['PUBLIC']
    ELSE ARRAY(
      SELECT pg_catalog.quote_ident(r.rolname::text) FROM pg_catalog.pg_roles r
      WHERE NOT r.rolsuper AND NOT r.rolbypassrls AND NOT r.rolname::text LIKE 'pg\_%'
        AND NOT pg_catalog.pg_has_role(r.oid, c.relowner, 'USAGE')
        AND NOT pg_catalog.pg_has_role(r.oid, 'pg_read_all_data'::pg_catalog.regrole, 'USAGE')
        AND pg_catalog.has_schema_privilege(r.oid, c.relnamespace, 'USAGE')
        AND pg_catalog.has_table_privilege(r.oid, c.oid, 'SELECT')
      ORDER BY 1) END
  FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) rel
$exposed$;
COMMENT ON FUNCTION careguard.audit_exposed_to(oid) IS
  'Audit internals: PUBLIC, or every role other than the owner (and superusers, BYPASSRLS, pg_read_all_data) that may SELECT from the relation.';

-- Whether a view runs as its invoker (security_invoker = true | on | 1 | yes).
CREATE OR REPLACE FUNCTION careguard.audit_security_invoker(rel oid) RETURNS boolean
  LANGUAGE sql STABLE STRICT PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $invoker$
  SELECT COALESCE((SELECT pg_catalog.lower(pg_catalog.split_part(o, '=', 2))
                            OPERATOR(pg_catalog.=) ANY (ARRAY['true', 'on', '1', 'yes'])
                   FROM pg_catalog.pg_class c, pg_catalog.unnest(c.reloptions) AS o
                   WHERE c.oid OPERATOR(pg_catalog.=) rel AND o LIKE 'security\_invoker=%'), false)
$invoker$;
COMMENT ON FUNCTION careguard.audit_security_invoker(oid) IS
  'Audit internals: whether a view has security_invoker set.';

-- Column names that hold credentials or identifiers on their own (after
-- lower-casing and - to _). Reported only on tables that are exposed
-- without row-level security.
CREATE OR REPLACE FUNCTION careguard.audit_sensitive_column(column_name name) RETURNS boolean
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $sensitive$
  SELECT pg_catalog.replace(pg_catalog.lower(column_name::text), '-', '_') OPERATOR(pg_catalog.=) ANY (ARRAY[
    -- credentials
    'password', 'passwd', 'password_hash', 'encrypted_password', 'pwd', 'passphrase', 'secret',
    'client_secret', 'api_key', 'apikey', 'private_key', 'access_token', 'refresh_token', 'token',
    'session_token', 'jwt', 'otp', 'otp_secret', 'totp_secret', 'recovery_code', 'reset_token',
    'confirmation_token',
    -- identity documents and finance
    'ssn', 'social_security_number', 'national_id', 'tax_id', 'passport_number', 'driver_license',
    'credit_card', 'card_number', 'cvv', 'iban', 'bank_account', 'account_number',
    -- health
    'medical_record_number', 'mrn', 'medical_record', 'health_record', 'insurance_number',
    'diagnosis', 'allergies', 'medication', 'treatment', 'patient_id'])
$sensitive$;
COMMENT ON FUNCTION careguard.audit_sensitive_column(name) IS
  'Audit internals: whether a column name says it holds a credential, an identity document, payment or health data.';

-- Findings of the splinter-style rules over the audited schemas (their
-- namespace OIDs): hygiene of tables, indexes, extensions and grants. One
-- row per finding, as careguard.audit() reports them.
CREATE OR REPLACE FUNCTION careguard.audit_splinter_findings(audited oid[])
  RETURNS TABLE (rule text, object text, detail text, fix text)
  LANGUAGE sql STABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $splinter$
WITH rels AS (
  SELECT c.oid, c.relname, c.relkind, c.relrowsecurity, c.relispartition, n.nspname,
         pg_catalog.format('%I.%I', n.nspname, c.relname) AS qname
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
  WHERE c.relnamespace OPERATOR(pg_catalog.=) ANY (audited)
    AND c.relkind OPERATOR(pg_catalog.=) ANY (ARRAY['r', 'p', 'v', 'm', 'f']::"char"[])
), auth_users AS (
  SELECT c.oid, c.relrowsecurity FROM pg_catalog.pg_class c
  WHERE c.oid OPERATOR(pg_catalog.=) pg_catalog.to_regclass('auth.users')
)
SELECT 'no_primary_key', r.qname,
       'the table has no primary key: rows cannot be addressed one by one (updates from clients, logical replication, pg_repack)',
       pg_catalog.format('ALTER TABLE %s ADD PRIMARY KEY (...)', r.qname)
FROM rels r
WHERE r.relkind OPERATOR(pg_catalog.=) ANY (ARRAY['r', 'p']::"char"[]) AND NOT r.relispartition
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_index i
                  WHERE i.indrelid OPERATOR(pg_catalog.=) r.oid AND i.indisprimary)
UNION ALL
SELECT 'duplicate_index', r.qname,
       pg_catalog.format('indexes %s are identical: every write maintains each, and none adds a plan',
         pg_catalog.string_agg(pg_catalog.quote_ident(ic.relname::text), ', ' ORDER BY ic.relname)),
       pg_catalog.format('DROP INDEX all but one of %s (keep the one a constraint uses)',
         pg_catalog.string_agg(pg_catalog.format('%I.%I', r.nspname, ic.relname), ', ' ORDER BY ic.relname))
FROM rels r
JOIN pg_catalog.pg_index i ON i.indrelid OPERATOR(pg_catalog.=) r.oid
JOIN pg_catalog.pg_class ic ON ic.oid OPERATOR(pg_catalog.=) i.indexrelid
WHERE r.relkind OPERATOR(pg_catalog.=) ANY (ARRAY['r', 'p', 'm']::"char"[])
GROUP BY r.qname, ic.relam, i.indisunique, i.indkey::text, i.indclass::text, i.indcollation::text,
         i.indoption::text, pg_catalog.pg_get_expr(i.indexprs, i.indrelid), pg_catalog.pg_get_expr(i.indpred, i.indrelid)
HAVING pg_catalog.count(*) OPERATOR(pg_catalog.>) 1
UNION ALL
SELECT 'unsupported_reg_types', pg_catalog.format('%s.%I', r.qname, a.attname),
       pg_catalog.format('column of type %s stores an OID that pg_upgrade cannot carry over: the upgrade refuses the cluster',
                         pg_catalog.format_type(a.atttypid, a.atttypmod)),
       pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I TYPE text USING %I::text', r.qname, a.attname, a.attname)
FROM rels r
JOIN pg_catalog.pg_attribute a
  ON a.attrelid OPERATOR(pg_catalog.=) r.oid AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped
WHERE r.relkind OPERATOR(pg_catalog.=) ANY (ARRAY['r', 'p', 'm']::"char"[])
  AND a.atttypid OPERATOR(pg_catalog.=) ANY (ARRAY['pg_catalog.regcollation'::pg_catalog.regtype,
        'pg_catalog.regconfig'::pg_catalog.regtype, 'pg_catalog.regdictionary'::pg_catalog.regtype,
        'pg_catalog.regnamespace'::pg_catalog.regtype, 'pg_catalog.regoper'::pg_catalog.regtype,
        'pg_catalog.regoperator'::pg_catalog.regtype, 'pg_catalog.regproc'::pg_catalog.regtype,
        'pg_catalog.regprocedure'::pg_catalog.regtype]::oid[])
UNION ALL
SELECT 'fkey_to_auth_unique', pg_catalog.format('%I on %s', con.conname, r.qname),
       pg_catalog.format('the foreign key references the unique constraint %I of %s, which is careguard''s: an upgrade that changes it fails or drops the key',
                         ic.relname, con.confrelid::pg_catalog.regclass),
       pg_catalog.format('reference %s by its primary key (id) instead', con.confrelid::pg_catalog.regclass)
FROM rels r
JOIN pg_catalog.pg_constraint con ON con.conrelid OPERATOR(pg_catalog.=) r.oid AND con.contype OPERATOR(pg_catalog.=) 'f'
JOIN pg_catalog.pg_class ref ON ref.oid OPERATOR(pg_catalog.=) con.confrelid
JOIN pg_catalog.pg_index i ON i.indexrelid OPERATOR(pg_catalog.=) con.conindid
JOIN pg_catalog.pg_class ic ON ic.oid OPERATOR(pg_catalog.=) i.indexrelid
WHERE ref.relnamespace OPERATOR(pg_catalog.=) pg_catalog.to_regnamespace('auth')::oid
  AND i.indisunique AND NOT i.indisprimary
UNION ALL
SELECT 'auth_users_exposed', r.qname,
       pg_catalog.format('%s over auth.users readable by %s: %s',
         CASE r.relkind WHEN 'm' THEN 'materialized view' ELSE 'view' END,
         pg_catalog.array_to_string(careguard.audit_exposed_to(r.oid), ', '),
         CASE WHEN r.relkind OPERATOR(pg_catalog.=) 'm' THEN 'it has no row-level security, so every account is visible'
              WHEN NOT COALESCE(careguard.audit_security_invoker(r.oid), false)
                THEN 'it runs as its owner, so auth.users'' policies do not apply to its readers'
              ELSE 'auth.users has row-level security disabled' END),
       pg_catalog.format('REVOKE ALL ON %s FROM PUBLIC and the roles named; expose only the columns needed, through a security_invoker view', r.qname)
FROM rels r
CROSS JOIN auth_users u
WHERE r.relkind OPERATOR(pg_catalog.=) ANY (ARRAY['v', 'm']::"char"[])
  AND EXISTS (SELECT 1 FROM pg_catalog.pg_rewrite rw
              JOIN pg_catalog.pg_depend d
                ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_rewrite'::pg_catalog.regclass
               AND d.objid OPERATOR(pg_catalog.=) rw.oid
               AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
               AND d.refobjid OPERATOR(pg_catalog.=) u.oid
              WHERE rw.ev_class OPERATOR(pg_catalog.=) r.oid)
  AND (r.relkind OPERATOR(pg_catalog.=) 'm' OR NOT COALESCE(careguard.audit_security_invoker(r.oid), false)
       OR NOT u.relrowsecurity)
  AND pg_catalog.cardinality(careguard.audit_exposed_to(r.oid)) OPERATOR(pg_catalog.>) 0
UNION ALL
SELECT 'sensitive_columns_exposed', r.qname,
       pg_catalog.format('row-level security is disabled, %s can read it, and it holds %s',
         pg_catalog.array_to_string(careguard.audit_exposed_to(r.oid), ', '),
         pg_catalog.string_agg(pg_catalog.quote_ident(a.attname::text), ', ' ORDER BY a.attnum)),
       pg_catalog.format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY; add policies; keep credentials out of tables clients read', r.qname)
FROM rels r
JOIN pg_catalog.pg_attribute a
  ON a.attrelid OPERATOR(pg_catalog.=) r.oid AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped
WHERE r.relkind OPERATOR(pg_catalog.=) ANY (ARRAY['r', 'p']::"char"[]) AND NOT r.relrowsecurity
  AND careguard.audit_sensitive_column(a.attname)
  AND pg_catalog.cardinality(careguard.audit_exposed_to(r.oid)) OPERATOR(pg_catalog.>) 0
GROUP BY r.oid, r.qname
UNION ALL
SELECT 'secdef_executable_by_authenticated',
       pg_catalog.format('%I.%I(%s)', n.nspname, f.proname, pg_catalog.pg_get_function_identity_arguments(f.oid)),
       'SECURITY DEFINER and executable by authenticated: every signed-in user runs it with its owner''s rights, past row-level security; its body must check the caller',
       pg_catalog.format('review that it checks auth.uid(); otherwise REVOKE EXECUTE ON FUNCTION %I.%I(%s) FROM PUBLIC, authenticated',
                         n.nspname, f.proname, pg_catalog.pg_get_function_identity_arguments(f.oid))
FROM pg_catalog.pg_proc f
JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) f.pronamespace
WHERE f.pronamespace OPERATOR(pg_catalog.=) ANY (audited) AND f.prosecdef
  AND f.prorettype OPERATOR(pg_catalog.<>) ALL (ARRAY['pg_catalog.trigger'::pg_catalog.regtype,
                                                      'pg_catalog.event_trigger'::pg_catalog.regtype]::oid[])
  AND pg_catalog.to_regrole('authenticated') IS NOT NULL
  AND pg_catalog.has_function_privilege('authenticated', f.oid, 'EXECUTE')
  -- anon's grant is secdef_executable_by_anon's finding
  AND NOT (pg_catalog.to_regrole('anon') IS NOT NULL AND pg_catalog.has_function_privilege('anon', f.oid, 'EXECUTE'))
UNION ALL
SELECT 'extension_in_public', pg_catalog.quote_ident(e.extname::text),
       'installed in schema public, where every role may look up (and, before PostgreSQL 15, create) objects: its functions and operators are resolved next to whatever else is planted there',
       pg_catalog.format('ALTER EXTENSION %I SET SCHEMA extensions (if relocatable), or DROP and CREATE EXTENSION %I SCHEMA extensions',
                         e.extname, e.extname)
FROM pg_catalog.pg_extension e
WHERE e.extnamespace OPERATOR(pg_catalog.=) pg_catalog.to_regnamespace('public')::oid
  AND e.extnamespace OPERATOR(pg_catalog.=) ANY (audited)
  AND e.extname OPERATOR(pg_catalog.<>) 'plpgsql'
UNION ALL
SELECT 'extension_versions_outdated', pg_catalog.quote_ident(x.name::text),
       pg_catalog.format('version %s is installed, %s is available: fixes of the newer version are not applied',
                         x.installed_version, x.default_version),
       pg_catalog.format('ALTER EXTENSION %I UPDATE', x.name)
FROM pg_catalog.pg_available_extensions x
WHERE x.installed_version IS NOT NULL AND x.default_version IS NOT NULL
  AND x.installed_version OPERATOR(pg_catalog.<>) x.default_version
$splinter$;
COMMENT ON FUNCTION careguard.audit_splinter_findings(oid[]) IS
  'Audit internals: findings of the splinter-style hygiene rules over the given schemas.';

REVOKE ALL ON FUNCTION careguard.audit_exposed_to(oid) FROM PUBLIC;
REVOKE ALL ON FUNCTION careguard.audit_security_invoker(oid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION careguard.audit_security_invoker(oid) TO careguard_auditor;
REVOKE ALL ON FUNCTION careguard.audit_sensitive_column(name) FROM PUBLIC;
REVOKE ALL ON FUNCTION careguard.audit_splinter_findings(oid[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION careguard.audit_exposed_to(oid) TO careguard_auditor;
GRANT EXECUTE ON FUNCTION careguard.audit_sensitive_column(name) TO careguard_auditor;
GRANT EXECUTE ON FUNCTION careguard.audit_splinter_findings(oid[]) TO careguard_auditor;

CREATE OR REPLACE FUNCTION careguard.audit_rules()
  RETURNS TABLE (rule text, severity text, category text, summary text)
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $rules$
  SELECT * FROM (VALUES
    ('rls_disabled_exposed', 'error', 'rls',
     'Table with row-level security disabled that PUBLIC or a role other than its owner may read (every role, members included)'),
    ('rls_not_forced', 'warning', 'rls',
     'Row-level security enabled but not forced: the table owner bypasses every policy'),
    ('policy_without_rls', 'error', 'rls',
     'Policies exist but row-level security is disabled, so none of them applies'),
    ('rls_no_policy', 'info', 'rls',
     'Row-level security enabled with no policy: every non-owner is denied everything'),
    ('write_policy_unchecked', 'error', 'policy',
     'Permissive INSERT/UPDATE/ALL policy with no check, or one whose check (WITH CHECK, else USING) folds to true'),
    ('write_policy_using_true', 'error', 'policy',
     'UPDATE/DELETE/ALL policy whose USING folds to true (true, 1 = 1, true OR x) for a role other than admin or service_role'),
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
     'SQL/plpgsql function without a trusted search_path that names relations unqualified'),
    ('function_implicit_operator', 'error', 'function',
     'SQL/plpgsql function without a trusted search_path whose operators (IS DISTINCT FROM, IN, NULLIF, simple CASE, ...) the search_path resolves'),
    ('function_unqualified_name', 'error', 'function',
     'SQL function without a trusted search_path that calls a function or names a type without a schema'),
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
     'Materialized view readable by PUBLIC or a role other than its owner: it has no row-level security'),
    ('foreign_table_in_api', 'error', 'view',
     'Foreign table readable by PUBLIC or a role other than its owner: it has no row-level security'),
    ('auth_users_exposed', 'error', 'view',
     'View or materialized view over auth.users that a role other than its owner may read past auth.users'' policies'),
    ('sensitive_columns_exposed', 'error', 'privilege',
     'Table without row-level security, readable by other roles, with credential, identity or health columns'),
    ('secdef_executable_by_authenticated', 'info', 'function',
     'SECURITY DEFINER function every signed-in user may execute (inventory of privilege boundaries to review)'),
    ('fkey_to_auth_unique', 'error', 'schema',
     'Foreign key to a unique constraint (not the primary key) of a table in schema auth'),
    ('no_primary_key', 'info', 'schema',
     'Table without a primary key'),
    ('duplicate_index', 'warning', 'performance',
     'Two or more identical indexes on one table'),
    ('unsupported_reg_types', 'warning', 'schema',
     'Column of a reg* type that stores an OID pg_upgrade cannot carry over'),
    ('extension_in_public', 'warning', 'configuration',
     'Extension installed in schema public'),
    ('extension_versions_outdated', 'warning', 'configuration',
     'Extension installed at a version older than the available default'),
    ('phi_column_statistics', 'warning', 'privacy',
     'PHI text or patient-identifier column with planner statistics: EXPLAIN row estimates confirm guessed values past RLS'),
    ('careguard_not_preloaded', 'error', 'configuration',
     'careguard is not in shared_preload_libraries, so it trusts no identity and sign-in is refused'),
    -- Registered queries' plans under their persona (91_query_plans*.sql).
    ('plan_claims_per_row', 'warning', 'performance',
     'A registered query''s plan evaluates a claim helper on every row instead of once (an initPlan)'),
    ('plan_policy_subplan_per_row', 'warning', 'performance',
     'A registered query''s plan runs a policy SubPlan once per row'),
    ('plan_index_lost', 'error', 'performance',
     'A registered query''s plan lost an index or ordered scan that the bypassing role''s plan of the same rows uses'),
    ('plan_cost_ratio', 'warning', 'performance',
     'A registered query''s estimated cost under its persona exceeds the set ratio of the bypassing role''s plan'),
    ('plan_query_failed', 'warning', 'performance',
     'A registered query fails as its persona or its reference role, so its plan cannot be judged'),
    ('plan_not_judged', 'info', 'performance',
     'A registered query''s plan was not judged (empty tables, no superuser, untrusted code)')
  ) AS r(rule, severity, category, summary)
$rules$;

CREATE OR REPLACE FUNCTION careguard.audit(schemas text[] DEFAULT NULL)
  RETURNS TABLE (rule text, severity text, object text, detail text, fix text)
  -- VOLATILE: the plan rules run EXPLAIN as other roles (careguard.audit_query_plans).
  LANGUAGE sql VOLATILE PARALLEL UNSAFE
  SET search_path = pg_catalog, pg_temp
  -- One query over the whole catalogue: its generic plan's cost estimates
  -- trip JIT compilation, which took 28 s of a 29 s audit of 1,000 policies.
  SET jit = off
AS $audit$
WITH
audited_ns AS MATERIALIZED (
  SELECT n.oid, n.nspname FROM pg_catalog.pg_namespace n
  WHERE n.nspname OPERATOR(pg_catalog.=) ANY (careguard.audited_schemas(schemas))
),
tables AS (
  SELECT c.oid, c.relname, ns.nspname, c.relrowsecurity, c.relforcerowsecurity,
         pg_catalog.format('%I.%I', ns.nspname, c.relname) AS qname
  FROM pg_catalog.pg_class c
  JOIN audited_ns ns ON ns.oid OPERATOR(pg_catalog.=) c.relnamespace
  WHERE c.relkind OPERATOR(pg_catalog.=) ANY (ARRAY['r', 'p']::"char"[])
),
policies AS (
  SELECT p.oid, p.polname, p.polcmd, p.polpermissive, p.polroles, p.polrelid,
         t.qname AS table_name, t.relrowsecurity,
         pg_catalog.format('%I on %s', p.polname, t.qname) AS qname,
         p.polqual::text AS qual_tree, p.polwithcheck::text AS check_tree,
         -- Folded, not read as text: USING (1 = 1) and (true OR x) are true.
         COALESCE(careguard.audit_always_true(p.polqual), false) AS qual_always_true,
         COALESCE(careguard.audit_always_true(p.polwithcheck), false) AS check_always_true,
         pg_catalog.pg_get_expr(p.polqual, p.polrelid) AS qual_sql,
         pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) AS check_sql,
         ARRAY(SELECT CASE WHEN r OPERATOR(pg_catalog.=) 0 THEN 'public'
                           ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(r)::text) END
               FROM pg_catalog.unnest(p.polroles) AS r ORDER BY 1) AS role_names
  FROM pg_catalog.pg_policy p
  JOIN tables t ON t.oid OPERATOR(pg_catalog.=) p.polrelid
),
policy_calls AS (
  -- Functions the policy evaluates per row (outside subqueries) and at all.
  SELECT p.oid AS policy_oid,
         careguard.audit_called_functions(pg_catalog.concat(p.qual_tree, ' ', p.check_tree)) AS all_funcs,
         careguard.audit_called_functions(careguard.audit_strip_sublinks(
           pg_catalog.concat(p.qual_tree, ' ', p.check_tree))) AS per_row_funcs,
         careguard.audit_strip_sublinks(pg_catalog.concat(p.qual_tree, ' ', p.check_tree)) AS per_row_tree
  FROM policies p
),
functions AS (
  SELECT f.oid, f.proname, f.prosecdef, f.provolatile, f.prosrc, f.prosqlbody, f.proconfig,
         l.lanname, ns.nspname,
         pg_catalog.format('%I.%I(%s)', ns.nspname, f.proname,
                           pg_catalog.pg_get_function_identity_arguments(f.oid)) AS qname,
         EXISTS (SELECT 1 FROM pg_catalog.unnest(f.proconfig) AS cfg
                 WHERE cfg LIKE 'search\_path=%') AS pinned,
         careguard.audit_trusted_search_path(f.proconfig) AS safely_pinned, f.prorettype
  FROM pg_catalog.pg_proc f
  JOIN audited_ns ns ON ns.oid OPERATOR(pg_catalog.=) f.pronamespace
  JOIN pg_catalog.pg_language l ON l.oid OPERATOR(pg_catalog.=) f.prolang
  WHERE f.prokind OPERATOR(pg_catalog.=) ANY (ARRAY['f', 'p']::"char"[])
),
resolved_at_call AS MATERIALIZED (
  -- SQL/plpgsql bodies parsed at run time (or inlined) under the caller's
  -- search_path, or under a pinned one that names a schema others can create
  -- in; SECURITY DEFINER ones are secdef_mutable_search_path's. BEGIN ATOMIC
  -- bodies are bound at creation time.
  SELECT f.oid, f.qname, f.prosrc, f.lanname
  FROM functions f
  WHERE NOT f.prosecdef AND NOT f.safely_pinned
    AND f.lanname OPERATOR(pg_catalog.=) ANY (ARRAY['sql', 'plpgsql'])
    AND f.prosqlbody IS NULL
),
tree_names AS MATERIALIZED (
  -- SQL bodies read from the raw parse tree: every name left to the path.
  SELECT r.oid, n.kind, n.name, n.construct, n.ord,
         -- the source around the lookup, as a reader finds it in the body
         -- (whole words: a cut-off first or last word is dropped)
         pg_catalog.regexp_replace(pg_catalog.regexp_replace(pg_catalog.btrim(
           CASE WHEN n.at_char OPERATOR(pg_catalog.>) 16
                THEN pg_catalog.regexp_replace(pg_catalog.substr(r.prosrc, n.at_char OPERATOR(pg_catalog.-) 16, 44), '^\S*\s', '')
                ELSE pg_catalog.substr(r.prosrc, 1, n.at_char OPERATOR(pg_catalog.+) 27) END),
           '\s+\S*$', ''), '\s+', ' ', 'g') AS snippet
  FROM resolved_at_call r
  CROSS JOIN LATERAL careguard.audit_search_path_names(r.prosrc) WITH ORDINALITY AS n(kind, name, construct, at_char, ord)
  WHERE r.lanname OPERATOR(pg_catalog.=) 'sql'
),
parsed AS (
  SELECT r.*, (r.lanname OPERATOR(pg_catalog.=) 'sql'
               AND NOT EXISTS (SELECT 1 FROM tree_names t WHERE t.oid OPERATOR(pg_catalog.=) r.oid
                                 AND t.kind OPERATOR(pg_catalog.=) 'unparsed')) AS by_tree
  FROM resolved_at_call r
),
implicit_ops AS MATERIALIZED (
  -- The tree where the body parses; plpgsql (and a SQL body that does not
  -- parse) by the token heuristic.
  SELECT p.oid, p.qname,
         CASE WHEN p.by_tree
              THEN ARRAY(SELECT d.frag FROM (
                     SELECT pg_catalog.format('%s (%s) in "%s"', t.construct, t.name, t.snippet) AS frag, pg_catalog.min(t.ord) AS first_ord
                     FROM tree_names t
                     WHERE t.oid OPERATOR(pg_catalog.=) p.oid AND t.kind OPERATOR(pg_catalog.=) 'operator'
                     GROUP BY 1) d ORDER BY d.first_ord)
              ELSE careguard.audit_implicit_operators(p.prosrc, p.lanname::text) END AS frags
  FROM parsed p
),
findings AS (
  -- RLS state -------------------------------------------------------------
  SELECT 'rls_disabled_exposed' AS rule, t.qname AS object,
         pg_catalog.format('row-level security is disabled and %s can SELECT from it: every row is visible%s',
           pg_catalog.array_to_string(t.exposed_to, ', '),
           CASE WHEN t.nspname OPERATOR(pg_catalog.=) ANY (SELECT s.schema_name FROM careguard.audit_phi_schemas s)
                THEN ' (a PHI schema)' ELSE '' END) AS detail,
         pg_catalog.format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY; then add policies', t.qname) AS fix
  FROM (SELECT t.*, careguard.audit_exposed_to(t.oid) AS exposed_to FROM tables t WHERE NOT t.relrowsecurity) t
  WHERE pg_catalog.cardinality(t.exposed_to) OPERATOR(pg_catalog.>) 0
  UNION ALL
  SELECT 'rls_not_forced', t.qname,
         'row-level security is enabled but not forced; the owner '
           OPERATOR(pg_catalog.||) pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(
             (SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) t.oid))::text)
           OPERATOR(pg_catalog.||) ' and anything running as it bypass every policy',
         pg_catalog.format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', t.qname)
  FROM tables t
  WHERE t.relrowsecurity AND NOT t.relforcerowsecurity
  UNION ALL
  SELECT 'policy_without_rls', t.qname,
         pg_catalog.format('%s polic%s (%s) exist but row-level security is disabled, so none applies',
           pg_catalog.count(*), CASE WHEN pg_catalog.count(*) OPERATOR(pg_catalog.=) 1 THEN 'y' ELSE 'ies' END,
           pg_catalog.string_agg(pg_catalog.quote_ident(p.polname::text), ', ' ORDER BY p.polname)),
         pg_catalog.format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY (or drop the policies)', t.qname)
  FROM tables t
  JOIN pg_catalog.pg_policy p ON p.polrelid OPERATOR(pg_catalog.=) t.oid
  WHERE NOT t.relrowsecurity
  GROUP BY t.qname
  UNION ALL
  SELECT 'rls_no_policy', t.qname,
         'row-level security is enabled with no policy: every role except the owner (unless forced), superusers and BYPASSRLS roles is denied every row',
         pg_catalog.format('intended for a private table? Document it; otherwise CREATE POLICY ... ON %s', t.qname)
  FROM tables t
  WHERE t.relrowsecurity
    AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_policy p WHERE p.polrelid OPERATOR(pg_catalog.=) t.oid)
  -- Policy content --------------------------------------------------------
  UNION ALL
  -- PostgreSQL checks new rows of an UPDATE or ALL policy without WITH CHECK
  -- against its USING (Supabase's tutorial policies rely on it), and a
  -- RESTRICTIVE policy can only narrow: neither is a hole.
  SELECT 'write_policy_unchecked', p.qname,
         CASE WHEN p.effective_check IS NULL
                THEN pg_catalog.format('%s policy without WITH CHECK (nor USING)',
                                       CASE p.polcmd WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE' ELSE 'ALL' END)
              ELSE 'its check (WITH CHECK, or the USING it falls back to) is always true, so the role may write any row' END
           OPERATOR(pg_catalog.||) ' for ' OPERATOR(pg_catalog.||) pg_catalog.array_to_string(p.role_names, ', '),
         'state explicitly which new rows the role may write: WITH CHECK (<ownership predicate>)'
  FROM (SELECT p.*, COALESCE(p.check_sql, CASE WHEN p.polcmd OPERATOR(pg_catalog.<>) 'a' THEN p.qual_sql END) AS effective_check,
               CASE WHEN p.check_sql IS NOT NULL THEN p.check_always_true ELSE p.qual_always_true END AS effective_true
        FROM policies p) p
  WHERE p.polcmd OPERATOR(pg_catalog.=) ANY (ARRAY['a', 'w', '*']::"char"[])
    AND p.polpermissive
    AND (p.effective_check IS NULL
         OR (p.effective_true
             AND NOT p.role_names OPERATOR(pg_catalog.<@) ARRAY['admin', 'service_role']))
  UNION ALL
  SELECT 'write_policy_using_true', p.qname,
         pg_catalog.format('%s policy whose USING (%s) is always true lets %s change every row',
           CASE p.polcmd WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE' ELSE 'ALL' END, p.qual_sql,
           pg_catalog.array_to_string(p.role_names, ', ')),
         'restrict USING to the rows the role owns, or scope the policy TO admin'
  FROM policies p
  WHERE p.polcmd OPERATOR(pg_catalog.=) ANY (ARRAY['w', 'd', '*']::"char"[])
    AND p.qual_always_true
    AND NOT p.role_names OPERATOR(pg_catalog.<@) ARRAY['admin', 'service_role']
  UNION ALL
  SELECT 'multiple_permissive_policies', x.table_name,
         pg_catalog.format('%s permissive %s policies for role %s: %s; all are evaluated and ORed',
           pg_catalog.count(*), x.cmd, x.role_name,
           pg_catalog.string_agg(pg_catalog.quote_ident(x.polname::text), ', ' ORDER BY x.polname)),
         'merge them into one policy per role and command'
  FROM (
    SELECT p.table_name, p.polname, r AS role_name, c AS cmd
    FROM policies p
    CROSS JOIN LATERAL pg_catalog.unnest(p.role_names) AS r
    CROSS JOIN LATERAL pg_catalog.unnest(CASE p.polcmd
        WHEN 'r' THEN ARRAY['SELECT'] WHEN 'a' THEN ARRAY['INSERT']
        WHEN 'w' THEN ARRAY['UPDATE'] WHEN 'd' THEN ARRAY['DELETE']
        ELSE ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE'] END) AS c
    WHERE p.polpermissive
  ) x
  GROUP BY x.table_name, x.role_name, x.cmd
  HAVING pg_catalog.count(*) OPERATOR(pg_catalog.>) 1
  UNION ALL
  SELECT 'policy_reads_user_metadata', p.qname,
         'the policy reads user-editable metadata: any user can set it on their own account',
         'decide on app_metadata / raw_app_meta_data (server-controlled) or on tables instead'
  FROM policies p
  WHERE pg_catalog.concat(p.qual_sql, ' ', p.check_sql) OPERATOR(pg_catalog.~*) '(raw_)?user_meta(_)?data'
  UNION ALL
  SELECT 'policy_calls_volatile', p.qname,
         'calls VOLATILE ' OPERATOR(pg_catalog.||) pg_catalog.string_agg(f.oid::regprocedure::text, ', ' ORDER BY f.oid)
           OPERATOR(pg_catalog.||) ': re-evaluated for every row, and the result may differ between rows',
         'mark the function STABLE if it is, or compute the value once in (SELECT ...)'
  FROM policies p
  JOIN policy_calls pc ON pc.policy_oid OPERATOR(pg_catalog.=) p.oid
  JOIN pg_catalog.pg_proc f ON f.oid OPERATOR(pg_catalog.=) ANY (pc.all_funcs)
  WHERE f.provolatile OPERATOR(pg_catalog.=) 'v'
  GROUP BY p.qname
  UNION ALL
  SELECT 'policy_per_row_claims', pr.qname,
         pg_catalog.concat_ws('; ',
           CASE WHEN pr.claims_parsed THEN 'current_setting(''request.jwt.claims'') is cast to json/jsonb on every row' END,
           CASE WHEN pr.helpers IS NOT NULL THEN 'unwrapped SQL/plpgsql helper ' OPERATOR(pg_catalog.||) pr.helpers OPERATOR(pg_catalog.||) ' runs on every row' END),
         'wrap the call as (SELECT auth.uid()) so it becomes an initPlan, or use careguard''s C helpers (auth.uid(), auth.jwt(), auth.claim())'
  FROM (
    SELECT p.qname,
           (pg_catalog.concat(p.qual_sql, ' ', p.check_sql) OPERATOR(pg_catalog.~) 'request\.jwt\.claim'
            AND ('pg_catalog.current_setting(text,boolean)'::regprocedure OPERATOR(pg_catalog.=) ANY (pc.per_row_funcs)
                 OR 'pg_catalog.current_setting(text)'::regprocedure OPERATOR(pg_catalog.=) ANY (pc.per_row_funcs))
            AND pc.per_row_tree OPERATOR(pg_catalog.~) ':resulttype (114|3802) ') AS claims_parsed,
           (SELECT pg_catalog.string_agg(f.oid::regprocedure::text, ', ' ORDER BY f.oid)
            FROM pg_catalog.pg_proc f
            JOIN pg_catalog.pg_language l ON l.oid OPERATOR(pg_catalog.=) f.prolang
            WHERE f.oid OPERATOR(pg_catalog.=) ANY (pc.per_row_funcs)
              AND f.pronargs OPERATOR(pg_catalog.=) 0
              AND l.lanname OPERATOR(pg_catalog.=) ANY (ARRAY['sql', 'plpgsql'])
              -- A helper with careguard's planner support is hoisted: once per query.
              AND f.prosupport OPERATOR(pg_catalog.<>) 'careguard.claims_support'::pg_catalog.regproc) AS helpers
    FROM policies p
    JOIN policy_calls pc ON pc.policy_oid OPERATOR(pg_catalog.=) p.oid
  ) pr
  WHERE pr.claims_parsed OR pr.helpers IS NOT NULL
  -- Indexes ---------------------------------------------------------------
  UNION ALL
  SELECT 'policy_column_unindexed', pg_catalog.format('%s.%I', t.qname, a.attname),
         pg_catalog.format('policies %s filter on %I, and no index starts with it: each query scans the whole table',
           pg_catalog.string_agg(DISTINCT pg_catalog.quote_ident(p.polname::text), ', '), a.attname),
         pg_catalog.format('CREATE INDEX ON %s (%I)', t.qname, a.attname)
  FROM policies p
  JOIN tables t ON t.oid OPERATOR(pg_catalog.=) p.polrelid
  CROSS JOIN LATERAL pg_catalog.unnest(careguard.audit_own_columns(
      careguard.audit_strip_sublinks(p.qual_tree))) AS col(attnum)
  JOIN pg_catalog.pg_attribute a
    ON a.attrelid OPERATOR(pg_catalog.=) t.oid AND a.attnum OPERATOR(pg_catalog.=) col.attnum
  WHERE p.qual_tree IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_index i
                    WHERE i.indrelid OPERATOR(pg_catalog.=) t.oid AND i.indisvalid
                      AND i.indkey[0] OPERATOR(pg_catalog.=) col.attnum)
  GROUP BY t.qname, a.attname
  UNION ALL
  SELECT 'fk_without_index', pg_catalog.format('%I on %s', con.conname, t.qname),
         pg_catalog.format('foreign key (%s) has no index starting with its columns: deletes and updates of %s scan %s',
           cols.names, con.confrelid::regclass, t.qname),
         pg_catalog.format('CREATE INDEX ON %s (%s)', t.qname, cols.names)
  FROM pg_catalog.pg_constraint con
  JOIN tables t ON t.oid OPERATOR(pg_catalog.=) con.conrelid
  CROSS JOIN LATERAL (
    SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname::text), ', ' ORDER BY k.ord) AS names
    FROM pg_catalog.unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
    JOIN pg_catalog.pg_attribute a
      ON a.attrelid OPERATOR(pg_catalog.=) con.conrelid AND a.attnum OPERATOR(pg_catalog.=) k.attnum
  ) cols
  WHERE con.contype OPERATOR(pg_catalog.=) 'f'
    AND NOT EXISTS (
      SELECT 1 FROM pg_catalog.pg_index i
      WHERE i.indrelid OPERATOR(pg_catalog.=) con.conrelid AND i.indisvalid
        AND i.indnkeyatts OPERATOR(pg_catalog.>=) pg_catalog.cardinality(con.conkey)
        -- the first n key columns are exactly the FK's columns, in any order
        AND (SELECT pg_catalog.array_agg(x ORDER BY x)
             FROM pg_catalog.unnest((i.indkey::smallint[])[0:pg_catalog.cardinality(con.conkey) OPERATOR(pg_catalog.-) 1]) AS x)
            OPERATOR(pg_catalog.=)
            (SELECT pg_catalog.array_agg(x ORDER BY x) FROM pg_catalog.unnest(con.conkey) AS x))
  -- Functions -------------------------------------------------------------
  UNION ALL
  SELECT 'secdef_mutable_search_path', f.qname,
         CASE WHEN f.pinned
              THEN 'SECURITY DEFINER whose SET search_path names a schema others can create objects in ($user, public, a schema with CREATE granted, or pg_temp before the end): a caller can plant a function there and run it with the owner''s rights'
              ELSE 'SECURITY DEFINER without SET search_path: a caller can plant objects in an earlier schema and run them with the owner''s rights' END,
         pg_catalog.format('ALTER FUNCTION %s SET search_path = pg_catalog, pg_temp', f.qname)
  FROM functions f
  WHERE f.prosecdef AND NOT f.safely_pinned
  UNION ALL
  SELECT 'secdef_executable_by_anon', f.qname,
         'SECURITY DEFINER and executable by anon: unauthenticated callers run it with the owner''s rights',
         pg_catalog.format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC, anon (or document why anon needs it)', f.qname)
  FROM functions f
  WHERE f.prosecdef
    -- Trigger functions cannot be called directly, whoever holds EXECUTE.
    AND f.prorettype OPERATOR(pg_catalog.<>) ALL (ARRAY['pg_catalog.trigger'::pg_catalog.regtype,
                                                        'pg_catalog.event_trigger'::pg_catalog.regtype]::oid[])
    AND pg_catalog.to_regrole('anon') IS NOT NULL
    AND pg_catalog.has_function_privilege('anon', f.oid, 'EXECUTE')
  UNION ALL
  SELECT 'function_mutable_search_path', r.qname,
         pg_catalog.format('no trusted SET search_path and the body names %s without a schema: the caller''s search_path (pg_temp first, for relations) decides what runs',
           pg_catalog.array_to_string(r.relations, ', ')),
         pg_catalog.format('schema-qualify every name, and ALTER FUNCTION %s SET search_path = pg_catalog, pg_temp', r.qname)
  FROM (SELECT p.qname,
               CASE WHEN p.by_tree
                    THEN ARRAY(SELECT DISTINCT t.name FROM tree_names t
                               WHERE t.oid OPERATOR(pg_catalog.=) p.oid AND t.kind OPERATOR(pg_catalog.=) 'relation'
                               ORDER BY 1)
                    ELSE careguard.audit_unqualified_relations(p.prosrc) END AS relations
        FROM parsed p) r
  WHERE pg_catalog.cardinality(r.relations) OPERATOR(pg_catalog.>) 0
  UNION ALL
  SELECT 'function_unqualified_name', p.qname,
         pg_catalog.format('no trusted SET search_path, and the body %s: inlined into a caller''s query or run under its search_path, they resolve there, so a role that can create a function or type in a schema it puts first decides what runs',
           pg_catalog.concat_ws(' and ',
             'calls ' OPERATOR(pg_catalog.||) pg_catalog.string_agg(DISTINCT t.name OPERATOR(pg_catalog.||) '()', ', ')
                        FILTER (WHERE t.kind OPERATOR(pg_catalog.=) 'function'),
             'names the type' OPERATOR(pg_catalog.||) ' ' OPERATOR(pg_catalog.||) pg_catalog.string_agg(DISTINCT t.name, ', ')
                        FILTER (WHERE t.kind OPERATOR(pg_catalog.=) 'type'))
           OPERATOR(pg_catalog.||) ' without a schema'),
         pg_catalog.format('write pg_catalog.f(...) and pg_catalog.type (schema.f, schema.type for your own); or, if %s need not be inlined, ALTER FUNCTION %s SET search_path = pg_catalog, pg_temp',
           p.qname, p.qname)
  FROM parsed p
  JOIN tree_names t ON t.oid OPERATOR(pg_catalog.=) p.oid AND t.kind OPERATOR(pg_catalog.=) ANY (ARRAY['function', 'type'])
  WHERE p.by_tree
  GROUP BY p.qname
  UNION ALL
  SELECT 'function_implicit_operator', io.qname,
         pg_catalog.format('no trusted SET search_path, and the body leaves operators to the caller''s search_path: %s%s. '
                           'Run or inlined in a caller''s query, they resolve there, so a role that can create an '
                           'operator in a schema on its own search_path can change the result; %s',
           pg_catalog.array_to_string(io.frags[1:5], '; '),
           CASE WHEN pg_catalog.cardinality(io.frags) OPERATOR(pg_catalog.>) 5
                THEN pg_catalog.format(' (and %s more)', pg_catalog.cardinality(io.frags) OPERATOR(pg_catalog.-) 5) ELSE '' END,
           COALESCE('policies calling it: ' OPERATOR(pg_catalog.||) (
             SELECT pg_catalog.string_agg(pg_catalog.format('%I on %s', pol.polname, pol.polrelid::regclass), ', '
                                          ORDER BY pol.polrelid::regclass::text, pol.polname)
             FROM pg_catalog.pg_policy pol
             WHERE io.oid OPERATOR(pg_catalog.=) ANY (careguard.audit_called_functions(
                     pg_catalog.concat(pol.polqual::text, ' ', pol.polwithcheck::text)))),
             'no policy calls it directly')),
         pg_catalog.format('write every operator as OPERATOR(pg_catalog.op), every CASE as a searched CASE '
                           '(CASE WHEN x OPERATOR(pg_catalog.=) ... THEN), IN (...) as OPERATOR(pg_catalog.=) ANY (ARRAY[...]); '
                           'or, if %s need not be inlined, ALTER FUNCTION %s SET search_path = pg_catalog, pg_temp',
           io.qname, io.qname)
  FROM implicit_ops io
  WHERE pg_catalog.cardinality(io.frags) OPERATOR(pg_catalog.>) 0
  -- Views -----------------------------------------------------------------
  UNION ALL
  SELECT 'policy_reads_raw_claims', p.qname,
         'reads request.jwt.claims with current_setting() itself: careguard''s trust rules do not apply (session-level claims that outlive their transaction, and claims a direct client sets while trust_request_claims is off, are honoured)',
         'read identity through auth.uid(), auth.role(), auth.jwt() or auth.claim()'
  FROM policies p
  WHERE pg_catalog.concat(p.qual_sql, ' ', p.check_sql) OPERATOR(pg_catalog.~) 'current_setting\(''request\.jwt\.claim'
  UNION ALL
  -- Materialized views and foreign tables have no row-level security: a
  -- client role that may read one reads all of it.
  SELECT CASE c.relkind WHEN 'm' THEN 'materialized_view_in_api' ELSE 'foreign_table_in_api' END,
         pg_catalog.format('%I.%I', ns.nspname, c.relname),
         pg_catalog.format('%s readable by %s, and it has no row-level security: every row is visible',
           CASE c.relkind WHEN 'm' THEN 'materialized view' ELSE 'foreign table' END,
           pg_catalog.array_to_string(careguard.audit_exposed_to(c.oid), ', ')),
         pg_catalog.format('REVOKE ALL ON %I.%I FROM PUBLIC and the roles named; serve its rows through a view with security_invoker or a function that checks the caller',
           ns.nspname, c.relname)
  FROM pg_catalog.pg_class c
  JOIN audited_ns ns ON ns.oid OPERATOR(pg_catalog.=) c.relnamespace
  WHERE c.relkind OPERATOR(pg_catalog.=) ANY (ARRAY['m', 'f']::"char"[])
    AND pg_catalog.cardinality(careguard.audit_exposed_to(c.oid)) OPERATOR(pg_catalog.>) 0
  UNION ALL
  SELECT 'view_bypasses_rls', pg_catalog.format('%I.%I', ns.nspname, v.relname),
         'the view reads ' OPERATOR(pg_catalog.||) pg_catalog.string_agg(DISTINCT base.oid::regclass::text, ', ')
           OPERATOR(pg_catalog.||) ' (row-level security) with its owner''s rights, so their policies do not apply to its readers',
         pg_catalog.format('ALTER VIEW %I.%I SET (security_invoker = true)', ns.nspname, v.relname)
  FROM pg_catalog.pg_class v
  JOIN audited_ns ns ON ns.oid OPERATOR(pg_catalog.=) v.relnamespace
  JOIN pg_catalog.pg_rewrite rw ON rw.ev_class OPERATOR(pg_catalog.=) v.oid
  JOIN pg_catalog.pg_depend d
    ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_rewrite'::regclass
   AND d.objid OPERATOR(pg_catalog.=) rw.oid
   AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::regclass
  JOIN pg_catalog.pg_class base
    ON base.oid OPERATOR(pg_catalog.=) d.refobjid AND base.oid OPERATOR(pg_catalog.<>) v.oid
  WHERE v.relkind OPERATOR(pg_catalog.=) 'v'
    AND base.relrowsecurity
    AND NOT COALESCE(
      (SELECT pg_catalog.lower(pg_catalog.split_part(o, '=', 2)) OPERATOR(pg_catalog.=) ANY (ARRAY['true', 'on', '1', 'yes'])
       FROM pg_catalog.unnest(v.reloptions) AS o
       WHERE o LIKE 'security\_invoker=%'), false)
  GROUP BY ns.nspname, v.relname
  -- Privileges ------------------------------------------------------------
  UNION ALL
  SELECT 'phi_public_grant', g.object,
         pg_catalog.format('PHI %s: %s granted to %s', g.kind, g.privileges, g.grantees),
         pg_catalog.format('REVOKE ALL ON %s %s FROM %s', pg_catalog.upper(g.kind), g.object, g.grantees)
  FROM (
    SELECT 'schema' AS kind, pg_catalog.quote_ident(ns.nspname::text) AS object,
           pg_catalog.string_agg(DISTINCT acl.privilege_type, ', ') AS privileges,
           pg_catalog.string_agg(DISTINCT CASE WHEN acl.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC' ELSE 'anon' END, ', ') AS grantees
    FROM audited_ns ns
    JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) ns.oid
    CROSS JOIN LATERAL pg_catalog.aclexplode(n.nspacl) AS acl
    WHERE ns.nspname OPERATOR(pg_catalog.=) ANY (SELECT s.schema_name FROM careguard.audit_phi_schemas s)
      AND (acl.grantee OPERATOR(pg_catalog.=) 0
           OR acl.grantee OPERATOR(pg_catalog.=) pg_catalog.to_regrole('anon')::oid)
    GROUP BY ns.nspname
    UNION ALL
    SELECT 'table', t.qname,
           pg_catalog.string_agg(DISTINCT acl.privilege_type, ', '),
           pg_catalog.string_agg(DISTINCT CASE WHEN acl.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC' ELSE 'anon' END, ', ')
    FROM tables t
    JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) t.oid
    CROSS JOIN LATERAL pg_catalog.aclexplode(c.relacl) AS acl
    WHERE t.nspname OPERATOR(pg_catalog.=) ANY (SELECT s.schema_name FROM careguard.audit_phi_schemas s)
      AND (acl.grantee OPERATOR(pg_catalog.=) 0
           OR acl.grantee OPERATOR(pg_catalog.=) pg_catalog.to_regrole('anon')::oid)
    GROUP BY t.qname
  ) g
  UNION ALL
  SELECT 'privileged_role', pg_catalog.quote_ident(r.rolname::text),
         pg_catalog.concat_ws(' and ', CASE WHEN r.rolsuper THEN 'SUPERUSER' END,
                              CASE WHEN r.rolbypassrls THEN 'BYPASSRLS' END)
           OPERATOR(pg_catalog.||) CASE WHEN r.rolcanlogin THEN ', can log in' ELSE ', cannot log in' END
           OPERATOR(pg_catalog.||) ': ignores every row-level security policy',
         'confirm the role needs this; keep the list short and reviewed'
  FROM pg_catalog.pg_roles r
  WHERE r.rolsuper OR r.rolbypassrls
  -- Privacy and configuration ----------------------------------------------
  UNION ALL
  SELECT 'phi_column_statistics', pg_catalog.format('%s.%I', t.qname, a.attname),
         pg_catalog.format('PHI column of type %s %s: the planner''s row estimates (shown by EXPLAIN to anyone who may query the table) confirm guessed values that RLS hides',
                           pg_catalog.format_type(a.atttypid, a.atttypmod),
                           CASE WHEN a.attstattarget OPERATOR(pg_catalog.<>) 0 THEN 'collects most-common values and histograms'
                                ELSE 'still has statistics from an ANALYZE run before SET STATISTICS 0' END),
         pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I SET STATISTICS 0; then, as a superuser, DELETE FROM pg_catalog.pg_statistic WHERE starelid OPERATOR(pg_catalog.=) %L::regclass AND staattnum OPERATOR(pg_catalog.=) %s',
                           t.qname, a.attname, t.qname, a.attnum)
  FROM tables t
  JOIN pg_catalog.pg_attribute a
    ON a.attrelid OPERATOR(pg_catalog.=) t.oid AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped
  JOIN pg_catalog.pg_type ty ON ty.oid OPERATOR(pg_catalog.=) a.atttypid
  LEFT JOIN pg_catalog.pg_type elem ON elem.oid OPERATOR(pg_catalog.=) ty.typelem AND ty.typcategory OPERATOR(pg_catalog.=) 'A'
  WHERE t.nspname OPERATOR(pg_catalog.=) ANY (SELECT s.schema_name FROM careguard.audit_phi_schemas s)
    -- Free text: string types and json, or arrays of them. Identifiers: uuid
    -- columns (a patient's id and visit count), unless a foreign key ties them
    -- to a table outside the PHI schemas and auth (a provider directory).
    AND (ty.typcategory OPERATOR(pg_catalog.=) 'S' OR elem.typcategory OPERATOR(pg_catalog.=) 'S'
         OR a.atttypid OPERATOR(pg_catalog.=) ANY (ARRAY['pg_catalog.json'::regtype, 'pg_catalog.jsonb'::regtype]::oid[])
         OR (a.atttypid OPERATOR(pg_catalog.=) 'pg_catalog.uuid'::regtype
             AND NOT EXISTS (
               SELECT 1 FROM pg_catalog.pg_constraint fk
               JOIN pg_catalog.pg_class rc ON rc.oid OPERATOR(pg_catalog.=) fk.confrelid
               JOIN pg_catalog.pg_namespace rn ON rn.oid OPERATOR(pg_catalog.=) rc.relnamespace
               WHERE fk.conrelid OPERATOR(pg_catalog.=) t.oid AND fk.contype OPERATOR(pg_catalog.=) 'f'
                 AND fk.conkey OPERATOR(pg_catalog.=) ARRAY[a.attnum]
                 AND rn.nspname OPERATOR(pg_catalog.<>) 'auth'
                 AND rn.nspname OPERATOR(pg_catalog.<>) ALL (SELECT s.schema_name FROM careguard.audit_phi_schemas s))))
    -- A column a CHECK limits to a list of values is an enumeration, not free text.
    AND NOT EXISTS (
      SELECT 1 FROM pg_catalog.pg_constraint c
      WHERE c.conrelid OPERATOR(pg_catalog.=) t.oid AND c.contype OPERATOR(pg_catalog.=) 'c'
        AND c.conkey OPERATOR(pg_catalog.=) ARRAY[a.attnum]
        AND pg_catalog.pg_get_constraintdef(c.oid) LIKE '%= ANY (ARRAY[%')
    AND (a.attstattarget OPERATOR(pg_catalog.<>) 0
         OR EXISTS (SELECT 1 FROM pg_catalog.pg_stats st
                    WHERE st.schemaname OPERATOR(pg_catalog.=) t.nspname
                      AND st.tablename OPERATOR(pg_catalog.=) t.relname
                      AND st.attname OPERATOR(pg_catalog.=) a.attname
                      AND (st.most_common_vals IS NOT NULL OR st.histogram_bounds IS NOT NULL)))
  UNION ALL
  SELECT 'careguard_not_preloaded', 'shared_preload_libraries',
         'careguard was loaded after this session started: it trusts no claims and refuses auth.login(), because a client could have chosen its settings',
         'add careguard to shared_preload_libraries in postgresql.conf and restart the server'
  WHERE NOT careguard.is_preloaded()
  -- Backups ---------------------------------------------------------------
  UNION ALL
  SELECT 'extension_table_not_dumped', t.qname,
         pg_catalog.format('owned by extension %I and holds rows, but is not registered with pg_extension_config_dump: pg_dump skips its data', e.extname),
         pg_catalog.format('in the extension script: SELECT pg_catalog.pg_extension_config_dump(%L, '''')', t.qname)
  FROM tables t
  JOIN pg_catalog.pg_depend d
    ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::regclass
   AND d.objid OPERATOR(pg_catalog.=) t.oid
   AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::regclass
   AND d.deptype OPERATOR(pg_catalog.=) 'e'
  JOIN pg_catalog.pg_extension e ON e.oid OPERATOR(pg_catalog.=) d.refobjid
  WHERE NOT t.oid OPERATOR(pg_catalog.=) ANY (COALESCE(e.extconfig, '{}'::oid[]))
    AND careguard.audit_table_has_rows(t.oid)
  -- splinter's hygiene rules ------------------------------------------------
  UNION ALL
  SELECT s.rule, s.object, s.detail, s.fix
  FROM careguard.audit_splinter_findings(ARRAY(SELECT ns.oid FROM audited_ns ns)) AS s
  -- Registered queries' plans under their persona ---------------------------
  UNION ALL
  SELECT qp.rule, qp.object, qp.detail, qp.fix FROM careguard.audit_query_plans(schemas) qp
)
SELECT f.rule, r.severity, f.object, f.detail, f.fix
FROM findings f
JOIN careguard.audit_rules() r ON r.rule OPERATOR(pg_catalog.=) f.rule
ORDER BY CASE r.severity WHEN 'error' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, f.rule, f.object
$audit$;

CREATE OR REPLACE FUNCTION auth.jwks() RETURNS jsonb
  LANGUAGE c VOLATILE PARALLEL RESTRICTED
  SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'careguard_auth_jwks';
