-- The audit itself: one row per finding over the named schemas, by default
-- every schema but PostgreSQL's own; an unknown schema is an error.
CREATE FUNCTION careguard.audit(schemas text[] DEFAULT NULL)
  RETURNS TABLE (rule text, severity text, object text, detail text, fix text)
  LANGUAGE sql STABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
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
implicit_ops AS MATERIALIZED (
  -- Unpinned SQL/plpgsql bodies parsed at run time (or inlined) under the
  -- caller's search_path; SECURITY DEFINER ones are secdef_mutable_search_path's.
  SELECT f.oid, f.qname, careguard.audit_implicit_operators(f.prosrc, f.lanname::text) AS frags
  FROM functions f
  WHERE NOT f.prosecdef AND NOT f.pinned
    AND f.lanname OPERATOR(pg_catalog.=) ANY (ARRAY['sql', 'plpgsql'])
    AND f.prosqlbody IS NULL  -- BEGIN ATOMIC bodies are bound at creation time
),
client_roles AS (
  -- The roles clients act as: anon, authenticated and every role that is a
  -- member of them (a product's patient, provider, admin), bypassers aside.
  SELECT r.rolname::text AS rolname FROM pg_catalog.pg_roles r
  WHERE (r.rolname OPERATOR(pg_catalog.=) ANY (ARRAY['anon', 'authenticated'])
         OR EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members m
                    JOIN pg_catalog.pg_roles g ON g.oid OPERATOR(pg_catalog.=) m.roleid
                    WHERE m.member OPERATOR(pg_catalog.=) r.oid
                      AND g.rolname OPERATOR(pg_catalog.=) ANY (ARRAY['anon', 'authenticated'])))
    AND NOT r.rolsuper AND NOT r.rolbypassrls
),
findings AS (
  -- RLS state -------------------------------------------------------------
  SELECT 'rls_disabled_exposed' AS rule, t.qname AS object,
         'row-level security is disabled and '
           OPERATOR(pg_catalog.||) pg_catalog.array_to_string(ARRAY(
             SELECT c.rolname FROM client_roles c
             WHERE careguard.audit_role_can(c.rolname, t.oid, 'SELECT') ORDER BY 1), ', ')
           OPERATOR(pg_catalog.||) ' can SELECT from it: every row is visible' AS detail,
         pg_catalog.format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY; then add policies', t.qname) AS fix
  FROM tables t
  WHERE NOT t.relrowsecurity
    AND EXISTS (SELECT 1 FROM client_roles c WHERE careguard.audit_role_can(c.rolname, t.oid, 'SELECT'))
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
              ELSE 'WITH CHECK (true) lets the role write any row' END
           OPERATOR(pg_catalog.||) ' for ' OPERATOR(pg_catalog.||) pg_catalog.array_to_string(p.role_names, ', '),
         'state explicitly which new rows the role may write: WITH CHECK (<ownership predicate>)'
  FROM (SELECT p.*, COALESCE(p.check_sql, CASE WHEN p.polcmd OPERATOR(pg_catalog.<>) 'a' THEN p.qual_sql END) AS effective_check
        FROM policies p) p
  WHERE p.polcmd OPERATOR(pg_catalog.=) ANY (ARRAY['a', 'w', '*']::"char"[])
    AND p.polpermissive
    AND (p.effective_check IS NULL
         OR (p.effective_check OPERATOR(pg_catalog.=) 'true'
             AND NOT p.role_names OPERATOR(pg_catalog.<@) ARRAY['admin', 'service_role']))
  UNION ALL
  SELECT 'write_policy_using_true', p.qname,
         pg_catalog.format('%s policy with USING (true) lets %s change every row',
           CASE p.polcmd WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE' ELSE 'ALL' END,
           pg_catalog.array_to_string(p.role_names, ', ')),
         'restrict USING to the rows the role owns, or scope the policy TO admin'
  FROM policies p
  WHERE p.polcmd OPERATOR(pg_catalog.=) ANY (ARRAY['w', 'd', '*']::"char"[])
    AND p.qual_sql OPERATOR(pg_catalog.=) 'true'
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
  SELECT 'function_mutable_search_path', f.qname,
         pg_catalog.format('no SET search_path and the body names %s without a schema: the caller''s search_path decides what runs',
           pg_catalog.array_to_string(careguard.audit_unqualified_relations(f.prosrc), ', ')),
         pg_catalog.format('schema-qualify every name, and ALTER FUNCTION %s SET search_path = pg_catalog, pg_temp', f.qname)
  FROM functions f
  WHERE NOT f.prosecdef AND NOT f.pinned
    AND f.lanname OPERATOR(pg_catalog.=) ANY (ARRAY['sql', 'plpgsql'])
    AND f.prosqlbody IS NULL  -- BEGIN ATOMIC bodies are bound at creation time
    AND pg_catalog.cardinality(careguard.audit_unqualified_relations(f.prosrc)) OPERATOR(pg_catalog.>) 0
  UNION ALL
  SELECT 'function_implicit_operator', io.qname,
         pg_catalog.format('no SET search_path, and the body leaves operators to the caller''s search_path: %s%s. '
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
           pg_catalog.array_to_string(ARRAY(SELECT r.rolname FROM client_roles r
                                            WHERE careguard.audit_role_can(r.rolname, c.oid, 'SELECT') ORDER BY 1), ', ')),
         pg_catalog.format('REVOKE ALL ON %I.%I FROM PUBLIC, anon, authenticated; serve its rows through a view with security_invoker or a function that checks the caller',
           ns.nspname, c.relname)
  FROM pg_catalog.pg_class c
  JOIN audited_ns ns ON ns.oid OPERATOR(pg_catalog.=) c.relnamespace
  WHERE c.relkind OPERATOR(pg_catalog.=) ANY (ARRAY['m', 'f']::"char"[])
    AND EXISTS (SELECT 1 FROM client_roles r WHERE careguard.audit_role_can(r.rolname, c.oid, 'SELECT'))
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
)
SELECT f.rule, r.severity, f.object, f.detail, f.fix
FROM findings f
JOIN careguard.audit_rules() r ON r.rule OPERATOR(pg_catalog.=) f.rule
ORDER BY CASE r.severity WHEN 'error' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, f.rule, f.object
$audit$;
COMMENT ON FUNCTION careguard.audit(text[]) IS
  'Policy audit of the named schemas (extension-owned objects included): one row per finding. See docs/audit-rules.md.';

-- The audit over the default schemas, for a quick SELECT * .
CREATE VIEW careguard.audit_findings WITH (security_invoker = true) AS
  SELECT a.rule, a.severity, a.object, a.detail, a.fix FROM careguard.audit() AS a;
COMMENT ON VIEW careguard.audit_findings IS
  'careguard.audit() over public, providers, patients, bookings and auth.';

-- The audit reads only catalogs: careguard_auditor (granted to a product's
-- DBA-level role, such as careguard_booking's admin) may run it; nobody else
-- sees the inventory of holes.
REVOKE ALL ON FUNCTION careguard.audit_rules() FROM PUBLIC;
REVOKE ALL ON FUNCTION careguard.audit_strip_sublinks(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION careguard.audit_called_functions(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION careguard.audit_own_columns(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION careguard.audit_strip_comments_literals(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION careguard.audit_unqualified_relations(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION careguard.audit_implicit_operators(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION careguard.audit_role_can(text, oid, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION careguard.audit_table_has_rows(oid) FROM PUBLIC;
REVOKE ALL ON FUNCTION careguard.audit(text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION careguard.audited_schemas(text[]) FROM PUBLIC;
REVOKE ALL ON careguard.audit_findings FROM PUBLIC;
GRANT USAGE ON SCHEMA careguard TO careguard_auditor;
GRANT EXECUTE ON FUNCTION careguard.audit_rules() TO careguard_auditor;
GRANT EXECUTE ON FUNCTION careguard.audit_strip_sublinks(text) TO careguard_auditor;
GRANT EXECUTE ON FUNCTION careguard.audit_called_functions(text) TO careguard_auditor;
GRANT EXECUTE ON FUNCTION careguard.audit_own_columns(text) TO careguard_auditor;
GRANT EXECUTE ON FUNCTION careguard.audit_strip_comments_literals(text) TO careguard_auditor;
GRANT EXECUTE ON FUNCTION careguard.audit_unqualified_relations(text) TO careguard_auditor;
GRANT EXECUTE ON FUNCTION careguard.audit_implicit_operators(text, text) TO careguard_auditor;
GRANT EXECUTE ON FUNCTION careguard.audit_role_can(text, oid, text) TO careguard_auditor;
GRANT EXECUTE ON FUNCTION careguard.audit_table_has_rows(oid) TO careguard_auditor;
GRANT EXECUTE ON FUNCTION careguard.audit(text[]) TO careguard_auditor;
GRANT EXECUTE ON FUNCTION careguard.audited_schemas(text[]) TO careguard_auditor;
GRANT SELECT ON careguard.audit_findings TO careguard_auditor;

