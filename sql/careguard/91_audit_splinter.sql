-- The audit's exposure test and the rules that follow Supabase's splinter
-- (docs/audit-rules.md lists each splinter lint and careguard's answer).

-- Who, besides the owner, may read a relation: 'PUBLIC' when every role
-- may, else every role that holds SELECT on it and USAGE on its schema, by
-- grant or by membership. Superusers, BYPASSRLS roles (the privileged_role
-- inventory), PostgreSQL's predefined roles, members of pg_read_all_data
-- (granted all reads on purpose) and roles that act as the owner (members
-- of it) are left out. Every role counts, LOGIN or not: a NOLOGIN role is
-- what a gateway or a member becomes with SET ROLE.
CREATE FUNCTION careguard.audit_exposed_to(rel oid) RETURNS text[]
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
CREATE FUNCTION careguard.audit_security_invoker(rel oid) RETURNS boolean
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
CREATE FUNCTION careguard.audit_sensitive_column(column_name name) RETURNS boolean
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
CREATE FUNCTION careguard.audit_splinter_findings(audited oid[])
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
