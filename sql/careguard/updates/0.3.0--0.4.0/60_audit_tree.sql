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

-- careguard.audit() itself is redefined whole from its install part by
-- 62_audit.redefine, after the functions it calls exist.

CREATE OR REPLACE FUNCTION auth.jwks() RETURNS jsonb
  LANGUAGE c VOLATILE PARALLEL RESTRICTED
  SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'careguard_auth_jwks';
