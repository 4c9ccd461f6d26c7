-- Migration rehearsal (docs/migrations.md): the policy invariants, a
-- catalogue snapshot, and careguard.rehearse(), which runs a migration and
-- its down migration for real in a subtransaction it always rolls back.
-- New in 0.3.0; the 0.2.0 to 0.3.0 upgrade takes this file whole.

-- The invariants every protected table keeps (the tables of the registered
-- PHI schemas and those careguard.protect() manages): row-level security
-- enabled and forced, and each command granted to a role that RLS applies
-- to (not a superuser, not BYPASSRLS, not the owner) covered by a policy for
-- that command (or ALL) that applies to the role (named, PUBLIC, or a role
-- it is a member of). One row per table and missing thing; none when all
-- hold. The commit-time policy gate checks the same invariants.
CREATE FUNCTION careguard.policy_gaps()
  RETURNS TABLE (relation text, missing text)
  LANGUAGE sql STABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $gaps$
WITH protected AS (
  SELECT c.oid, c.relowner, c.relrowsecurity, c.relforcerowsecurity, c.relacl,
         pg_catalog.format('%I.%I', n.nspname, c.relname) AS qname
    FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
   WHERE c.relkind OPERATOR(pg_catalog.=) ANY (ARRAY['r', 'p']::"char"[])
     AND (n.nspname OPERATOR(pg_catalog.=) ANY (SELECT s.schema_name FROM careguard.audit_phi_schemas s)
          OR c.oid OPERATOR(pg_catalog.=) ANY (SELECT t.relation::pg_catalog.oid FROM careguard.protected_tables t))
),
grants AS (
  SELECT DISTINCT t.oid, t.qname, g.grantee, g.privilege_type
    FROM protected t
   CROSS JOIN LATERAL (
     SELECT a.grantee, a.privilege_type FROM pg_catalog.aclexplode(t.relacl) AS a
     UNION ALL
     SELECT a.grantee, a.privilege_type
       FROM pg_catalog.pg_attribute att CROSS JOIN LATERAL pg_catalog.aclexplode(att.attacl) AS a
      WHERE att.attrelid OPERATOR(pg_catalog.=) t.oid AND att.attnum OPERATOR(pg_catalog.>) 0
        AND NOT att.attisdropped) AS g
   WHERE g.privilege_type OPERATOR(pg_catalog.=) ANY (ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE'])
     AND g.grantee OPERATOR(pg_catalog.<>) t.relowner
     AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r
                      WHERE r.oid OPERATOR(pg_catalog.=) g.grantee AND (r.rolsuper OR r.rolbypassrls))
)
SELECT t.qname, 'row level security is disabled' FROM protected t WHERE NOT t.relrowsecurity
UNION ALL
SELECT t.qname, 'row level security is not forced' FROM protected t WHERE NOT t.relforcerowsecurity
UNION ALL
SELECT g.qname,
       pg_catalog.format('%s is granted to %s but no %s policy applies to it', g.privilege_type,
                         CASE WHEN g.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC'
                              ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(g.grantee)::text) END,
                         g.privilege_type)
  FROM grants g
 WHERE NOT EXISTS (
   SELECT 1 FROM pg_catalog.pg_policy p
    WHERE p.polrelid OPERATOR(pg_catalog.=) g.oid
      AND p.polcmd OPERATOR(pg_catalog.=) ANY (ARRAY['*', CASE g.privilege_type WHEN 'SELECT' THEN 'r'
                                                       WHEN 'INSERT' THEN 'a' WHEN 'UPDATE' THEN 'w' ELSE 'd' END]::"char"[])
      AND (0::pg_catalog.oid OPERATOR(pg_catalog.=) ANY (p.polroles)
           OR (g.grantee OPERATOR(pg_catalog.<>) 0
               AND EXISTS (SELECT 1 FROM pg_catalog.unnest(p.polroles) AS pr(role_oid)
                            WHERE pg_catalog.pg_has_role(g.grantee, pr.role_oid, 'MEMBER')))))
ORDER BY 1, 2
$gaps$;
REVOKE ALL ON FUNCTION careguard.policy_gaps() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION careguard.policy_gaps() TO careguard_auditor;
COMMENT ON FUNCTION careguard.policy_gaps() IS
  'Protected tables (registered PHI schemas, careguard.protect()) that miss enabled or forced RLS, or a policy '
  'covering a granted command: one row per table and missing thing.';

-- What a migration and its down migration must leave as they found it, for
-- every non-system schema: relations with their RLS flags, options and
-- ACLs; columns with type, nullability, default, statistics target and
-- ACL (not their position: a column a down migration adds back comes last);
-- constraints, indexes, triggers, policies, functions (definition, flags,
-- settings, ACL), types and enum labels, schemas and their ACLs, comments,
-- and each extension's version and pg_extension_config_dump registrations.
CREATE FUNCTION careguard.catalogue_snapshot()
  RETURNS TABLE (kind text, object text, detail text)
  LANGUAGE sql STABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $snapshot$
WITH ns AS MATERIALIZED (
  SELECT n.oid, n.nspname, n.nspacl FROM pg_catalog.pg_namespace n
   WHERE n.nspname OPERATOR(pg_catalog.=) ANY (careguard.audited_schemas(NULL))
),
rel AS MATERIALIZED (
  SELECT c.oid, c.relkind, c.relrowsecurity, c.relforcerowsecurity, c.relacl, c.reloptions,
         pg_catalog.format('%I.%I', ns.nspname, c.relname) AS qname
    FROM pg_catalog.pg_class c JOIN ns ON ns.oid OPERATOR(pg_catalog.=) c.relnamespace
   WHERE c.relkind OPERATOR(pg_catalog.<>) ALL (ARRAY['t', 'i', 'I', 'c']::"char"[])
)
SELECT 'schema', pg_catalog.quote_ident(ns.nspname), pg_catalog.array_to_string(
         ARRAY(SELECT x::text FROM pg_catalog.unnest(ns.nspacl) AS x ORDER BY 1), ',')
  FROM ns
UNION ALL
SELECT 'relation', r.qname,
       pg_catalog.format('kind=%s rls=%s forced=%s options=%s acl=%s', r.relkind, r.relrowsecurity,
                         r.relforcerowsecurity, r.reloptions,
                         ARRAY(SELECT x::text FROM pg_catalog.unnest(r.relacl) AS x ORDER BY 1))
  FROM rel r
UNION ALL
SELECT 'column', pg_catalog.format('%s.%I', r.qname, a.attname),
       pg_catalog.format('%s notnull=%s default=%s generated=%s identity=%s statistics=%s acl=%s',
                         pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull,
                         pg_catalog.pg_get_expr(d.adbin, d.adrelid), a.attgenerated, a.attidentity,
                         a.attstattarget,
                         ARRAY(SELECT x::text FROM pg_catalog.unnest(a.attacl) AS x ORDER BY 1))
  FROM rel r
  JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) r.oid
  LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid OPERATOR(pg_catalog.=) a.attrelid
   AND d.adnum OPERATOR(pg_catalog.=) a.attnum
 WHERE a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped
UNION ALL
SELECT 'constraint', pg_catalog.format('%I on %s', co.conname, r.qname), pg_catalog.pg_get_constraintdef(co.oid)
  FROM rel r JOIN pg_catalog.pg_constraint co ON co.conrelid OPERATOR(pg_catalog.=) r.oid
UNION ALL
SELECT 'index', pg_catalog.format('%s', i.indexrelid::pg_catalog.regclass), pg_catalog.pg_get_indexdef(i.indexrelid)
  FROM rel r JOIN pg_catalog.pg_index i ON i.indrelid OPERATOR(pg_catalog.=) r.oid
UNION ALL
SELECT 'trigger', pg_catalog.format('%I on %s', tg.tgname, r.qname),
       pg_catalog.format('%s enabled=%s', pg_catalog.pg_get_triggerdef(tg.oid), tg.tgenabled)
  FROM rel r JOIN pg_catalog.pg_trigger tg ON tg.tgrelid OPERATOR(pg_catalog.=) r.oid
 WHERE NOT tg.tgisinternal
UNION ALL
SELECT 'policy', pg_catalog.format('%I on %s', p.polname, r.qname),
       pg_catalog.format('cmd=%s permissive=%s roles=%s using=%s check=%s', p.polcmd, p.polpermissive,
                         ARRAY(SELECT CASE WHEN pr OPERATOR(pg_catalog.=) 0 THEN 'public'
                                           ELSE pg_catalog.pg_get_userbyid(pr)::text END
                                 FROM pg_catalog.unnest(p.polroles) AS pr ORDER BY 1),
                         pg_catalog.pg_get_expr(p.polqual, p.polrelid),
                         pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid))
  FROM rel r JOIN pg_catalog.pg_policy p ON p.polrelid OPERATOR(pg_catalog.=) r.oid
UNION ALL
SELECT 'function', pg_catalog.format('%s', p.oid::pg_catalog.regprocedure),
       pg_catalog.format('kind=%s returns=%s volatile=%s parallel=%s definer=%s strict=%s leakproof=%s support=%s '
                         'config=%s acl=%s body=%s',
                         p.prokind, pg_catalog.format_type(p.prorettype, NULL), p.provolatile, p.proparallel,
                         p.prosecdef, p.proisstrict, p.proleakproof, p.prosupport, p.proconfig,
                         ARRAY(SELECT x::text FROM pg_catalog.unnest(p.proacl) AS x ORDER BY 1),
                         pg_catalog.md5(COALESCE(p.prosrc, '') OPERATOR(pg_catalog.||) COALESCE(p.probin, '')))
  FROM pg_catalog.pg_proc p JOIN ns ON ns.oid OPERATOR(pg_catalog.=) p.pronamespace
UNION ALL
SELECT 'type', pg_catalog.format('%s', t.oid::pg_catalog.regtype),
       pg_catalog.format('type=%s labels=%s acl=%s', t.typtype,
                         ARRAY(SELECT e.enumlabel::text FROM pg_catalog.pg_enum e
                                WHERE e.enumtypid OPERATOR(pg_catalog.=) t.oid ORDER BY e.enumsortorder),
                         ARRAY(SELECT x::text FROM pg_catalog.unnest(t.typacl) AS x ORDER BY 1))
  FROM pg_catalog.pg_type t JOIN ns ON ns.oid OPERATOR(pg_catalog.=) t.typnamespace
 WHERE t.typtype OPERATOR(pg_catalog.=) ANY (ARRAY['e', 'd', 'r', 'm']::"char"[])
    OR (t.typtype OPERATOR(pg_catalog.=) 'c'
        AND (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) t.typrelid)
            OPERATOR(pg_catalog.=) 'c')
UNION ALL
SELECT 'comment', pg_catalog.format('%s %s', o.type, o.identity), dsc.description
  FROM pg_catalog.pg_description dsc
 CROSS JOIN LATERAL pg_catalog.pg_identify_object(dsc.classoid, dsc.objoid, dsc.objsubid) AS o
 WHERE o.schema OPERATOR(pg_catalog.=) ANY (SELECT ns.nspname FROM ns)
    OR (dsc.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_namespace'::pg_catalog.regclass
        AND dsc.objoid OPERATOR(pg_catalog.=) ANY (SELECT ns.oid FROM ns))
UNION ALL
SELECT 'extension', pg_catalog.quote_ident(e.extname),
       pg_catalog.format('version=%s config=%s conditions=%s', e.extversion,
                         ARRAY(SELECT c::pg_catalog.regclass::text FROM pg_catalog.unnest(e.extconfig) AS c ORDER BY 1),
                         ARRAY(SELECT u.x FROM ROWS FROM (pg_catalog.unnest(e.extconfig), pg_catalog.unnest(e.extcondition)) AS u(c, x)
                                ORDER BY u.c::pg_catalog.regclass::text))
  FROM pg_catalog.pg_extension e
ORDER BY 1, 2, 3
$snapshot$;
REVOKE ALL ON FUNCTION careguard.catalogue_snapshot() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION careguard.catalogue_snapshot() TO careguard_auditor;
COMMENT ON FUNCTION careguard.catalogue_snapshot() IS
  'Schema, policies, grants, comments and extension registrations of every non-system schema, one row per object: '
  'what a migration followed by its down migration must leave unchanged.';

-- One hash of the snapshot, to compare two databases or two moments.
CREATE FUNCTION careguard.catalogue_fingerprint() RETURNS text
  LANGUAGE sql STABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $fingerprint$
  SELECT pg_catalog.md5(pg_catalog.string_agg(pg_catalog.concat_ws(' ', s.kind, s.object, s.detail), E'\n'
                                              ORDER BY s.kind, s.object, s.detail))
    FROM careguard.catalogue_snapshot() AS s
$fingerprint$;
REVOKE ALL ON FUNCTION careguard.catalogue_fingerprint() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION careguard.catalogue_fingerprint() TO careguard_auditor;
COMMENT ON FUNCTION careguard.catalogue_fingerprint() IS 'The md5 of careguard.catalogue_snapshot(), in its order.';

-- Statements that cannot run inside a transaction or a function, found
-- outside comments and literals: rehearse() refuses them (25001) before it
-- runs anything, instead of reporting a half-applied rehearsal.
CREATE FUNCTION careguard.rehearse_refusal(migration text) RETURNS text
  LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $refusal$
DECLARE
  code text := careguard.audit_strip_comments_literals(migration);
  found text;
BEGIN
  IF code OPERATOR(pg_catalog.~) '(^|\n)\s*\\' THEN
    RETURN 'a psql meta-command (a line starting with \): rehearse runs SQL only';
  END IF;
  found := (pg_catalog.regexp_match(code, '\m(CONCURRENTLY)\M', 'i'))[1];
  IF found IS NOT NULL THEN
    RETURN 'CONCURRENTLY (CREATE/DROP/REINDEX INDEX, DETACH PARTITION) cannot run inside a transaction: '
           'rehearse the plain form, and run the concurrent one outside any migration transaction';
  END IF;
  found := (pg_catalog.regexp_match(code,
    '(?:^|;)\s*(BEGIN(?!\s+ATOMIC)|COMMIT|ROLLBACK|ABORT|END\s*(?:;|$)|START\s+TRANSACTION|SAVEPOINT|RELEASE'
    '|PREPARE\s+TRANSACTION|VACUUM|ALTER\s+SYSTEM|(?:CREATE|DROP)\s+(?:DATABASE|TABLESPACE)'
    '|REINDEX\s+(?:SYSTEM|DATABASE)|CLUSTER\s*(?:;|$))', 'i'))[1];
  IF found IS NOT NULL THEN
    RETURN pg_catalog.format('%s cannot run inside the rehearsal''s transaction (a migration must not manage '
                             'its own transaction)', pg_catalog.upper(pg_catalog.btrim(found, E' \t\n;')));
  END IF;
  RETURN NULL;
END
$refusal$;
REVOKE ALL ON FUNCTION careguard.rehearse_refusal(text) FROM PUBLIC;
COMMENT ON FUNCTION careguard.rehearse_refusal(text) IS
  'Why rehearse() refuses a migration (a statement that cannot run in a transaction or function), or NULL.';

-- The relation locks this backend holds now, as "relation mode" strings;
-- PostgreSQL's own catalogues are left out.
CREATE FUNCTION careguard.rehearse_locks() RETURNS text[]
  LANGUAGE sql VOLATILE PARALLEL UNSAFE
  SET search_path = pg_catalog, pg_temp
AS $locks$
  SELECT COALESCE(pg_catalog.array_agg(DISTINCT pg_catalog.concat_ws(' ', c.oid::pg_catalog.regclass::text, l.mode)),
                  '{}'::text[])
    FROM pg_catalog.pg_locks l
    JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) l.relation
    JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
   WHERE l.pid OPERATOR(pg_catalog.=) pg_catalog.pg_backend_pid() AND l.locktype OPERATOR(pg_catalog.=) 'relation'
     AND l.granted AND l.database OPERATOR(pg_catalog.=) (SELECT d.oid FROM pg_catalog.pg_database d
                                                          WHERE d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database())
     AND n.nspname OPERATOR(pg_catalog.<>) ALL (ARRAY['pg_catalog', 'information_schema', 'pg_toast'])
$locks$;
REVOKE ALL ON FUNCTION careguard.rehearse_locks() FROM PUBLIC;

-- Rehearses a migration for real and leaves no trace: inside a
-- subtransaction that always rolls back, it applies up_sql, reports the
-- policy gaps (careguard.policy_gaps()) and audit findings
-- (careguard.audit()) that up_sql introduced, applies down_sql, and reports
-- every difference of careguard.catalogue_snapshot() from the start; for
-- each step the relation locks it added to those already held and how long
-- it ran. Rows: step (up, checks, down, result), kind (time, lock, gap,
-- finding, diff, error, ok, failed), severity, object, detail. The audit
-- covers audit_schemas, by default every schema (a role or membership change
-- shows outside any schema). The migration runs with the caller's
-- search_path, captured by the default of migration_search_path (evaluated
-- before this function's own pinned one).
CREATE FUNCTION careguard.rehearse(up_sql text, down_sql text, audit_schemas text[] DEFAULT NULL,
                                   migration_search_path text DEFAULT pg_catalog.current_setting('search_path'))
  RETURNS TABLE (step text, kind text, severity text, object text, detail text)
  LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
  SET search_path = pg_catalog, pg_temp
AS $rehearse$
DECLARE
  report jsonb := '[]';
  refusal text;
  snapshot_before text[];
  snapshot_after text[];
  gaps_before text[];
  findings_before text[];
  locks_held text[];
  locks_now text[];
  fingerprint_before text;
  started timestamptz;
  current_step text;
  failures int := 0;
  err_state text;
  err_message text;
BEGIN
  IF up_sql IS NULL OR down_sql IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '22004', MESSAGE = 'careguard.rehearse: up_sql and down_sql are required';
  END IF;
  refusal := COALESCE('up: ' OPERATOR(pg_catalog.||) careguard.rehearse_refusal(up_sql),
                      'down: ' OPERATOR(pg_catalog.||) careguard.rehearse_refusal(down_sql));
  IF refusal IS NOT NULL THEN
    RAISE EXCEPTION USING ERRCODE = '25001', MESSAGE = 'careguard.rehearse refuses the migration: ' OPERATOR(pg_catalog.||) refusal;
  END IF;

  snapshot_before := ARRAY(SELECT pg_catalog.concat_ws(' | ', s.kind, s.object, s.detail)
                             FROM careguard.catalogue_snapshot() AS s);
  fingerprint_before := careguard.catalogue_fingerprint();
  gaps_before := ARRAY(SELECT pg_catalog.concat_ws(': ', g.relation, g.missing) FROM careguard.policy_gaps() AS g);
  findings_before := ARRAY(SELECT pg_catalog.concat_ws(' | ', a.rule, a.severity, a.object, a.detail)
                             FROM careguard.audit(audit_schemas) AS a);
  locks_held := careguard.rehearse_locks();

  BEGIN
    current_step := 'up';
    PERFORM pg_catalog.set_config('search_path', migration_search_path, true);
    started := pg_catalog.clock_timestamp();
    EXECUTE up_sql;
    report := report OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('step', 'up', 'kind', 'time',
      'detail', pg_catalog.format('%s ms', pg_catalog.round((pg_catalog.extract('epoch', pg_catalog.clock_timestamp()
                 OPERATOR(pg_catalog.-) started) OPERATOR(pg_catalog.*) 1000)::numeric, 1)));
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    locks_now := careguard.rehearse_locks();
    report := report OPERATOR(pg_catalog.||) COALESCE((SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                'step', 'up', 'kind', 'lock', 'object', pg_catalog.split_part(l, ' ', 1),
                'detail', pg_catalog.substr(l, pg_catalog.strpos(l, ' ') OPERATOR(pg_catalog.+) 1)) ORDER BY l)
              FROM pg_catalog.unnest(locks_now) AS l WHERE l OPERATOR(pg_catalog.<>) ALL (locks_held)), '[]');

    current_step := 'checks';
    report := report OPERATOR(pg_catalog.||) COALESCE((SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                'step', 'checks', 'kind', 'gap', 'severity', 'error', 'object', g.relation, 'detail', g.missing)
                ORDER BY g.relation, g.missing)
              FROM careguard.policy_gaps() AS g
             WHERE pg_catalog.concat_ws(': ', g.relation, g.missing) OPERATOR(pg_catalog.<>) ALL (gaps_before)), '[]');
    report := report OPERATOR(pg_catalog.||) COALESCE((SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                'step', 'checks', 'kind', 'finding', 'severity', a.severity, 'object', a.object,
                'detail', pg_catalog.format('%s: %s', a.rule, a.detail)) ORDER BY a.rule, a.object)
              FROM careguard.audit(audit_schemas) AS a
             WHERE pg_catalog.concat_ws(' | ', a.rule, a.severity, a.object, a.detail)
                   OPERATOR(pg_catalog.<>) ALL (findings_before)), '[]');
    locks_held := careguard.rehearse_locks();

    current_step := 'down';
    PERFORM pg_catalog.set_config('search_path', migration_search_path, true);
    started := pg_catalog.clock_timestamp();
    EXECUTE down_sql;
    report := report OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('step', 'down', 'kind', 'time',
      'detail', pg_catalog.format('%s ms', pg_catalog.round((pg_catalog.extract('epoch', pg_catalog.clock_timestamp()
                 OPERATOR(pg_catalog.-) started) OPERATOR(pg_catalog.*) 1000)::numeric, 1)));
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    locks_now := careguard.rehearse_locks();
    report := report OPERATOR(pg_catalog.||) COALESCE((SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                'step', 'down', 'kind', 'lock', 'object', pg_catalog.split_part(l, ' ', 1),
                'detail', pg_catalog.substr(l, pg_catalog.strpos(l, ' ') OPERATOR(pg_catalog.+) 1)) ORDER BY l)
              FROM pg_catalog.unnest(locks_now) AS l WHERE l OPERATOR(pg_catalog.<>) ALL (locks_held)), '[]');

    current_step := 'down';
    snapshot_after := ARRAY(SELECT pg_catalog.concat_ws(' | ', s.kind, s.object, s.detail)
                              FROM careguard.catalogue_snapshot() AS s);
    report := report OPERATOR(pg_catalog.||) COALESCE((SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                'step', 'down', 'kind', 'diff', 'severity', 'error', 'object', pg_catalog.split_part(d.row, ' | ', 2),
                'detail', d.change OPERATOR(pg_catalog.||) d.row) ORDER BY d.row, d.change)
              FROM (SELECT b AS row, 'missing after down: ' AS change FROM pg_catalog.unnest(snapshot_before) AS b
                     WHERE b OPERATOR(pg_catalog.<>) ALL (snapshot_after)
                    UNION ALL
                    SELECT a, 'added by up/down: ' FROM pg_catalog.unnest(snapshot_after) AS a
                     WHERE a OPERATOR(pg_catalog.<>) ALL (snapshot_before)) AS d), '[]');
    -- Always roll back: this private SQLSTATE is caught just below.
    RAISE EXCEPTION USING ERRCODE = 'CGR00', MESSAGE = 'careguard.rehearse: rolling back';
  EXCEPTION
    WHEN SQLSTATE 'CGR00' THEN
      NULL;
    WHEN OTHERS THEN
      GET STACKED DIAGNOSTICS err_state = RETURNED_SQLSTATE, err_message = MESSAGE_TEXT;
      report := report OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('step', current_step, 'kind', 'error',
                  'severity', 'error', 'object', err_state, 'detail', err_message);
  END;

  -- The rollback undid everything: say so, or fail loudly.
  IF careguard.catalogue_fingerprint() OPERATOR(pg_catalog.<>) fingerprint_before THEN
    RAISE EXCEPTION USING ERRCODE = 'XX000', MESSAGE = 'careguard.rehearse: the catalogue changed after the rollback';
  END IF;
  SELECT pg_catalog.count(*) INTO failures FROM pg_catalog.jsonb_array_elements(report) AS r
   WHERE r OPERATOR(pg_catalog.->>) 'kind' OPERATOR(pg_catalog.=) ANY (ARRAY['gap', 'diff', 'error'])
      OR (r OPERATOR(pg_catalog.->>) 'kind' OPERATOR(pg_catalog.=) 'finding'
          AND r OPERATOR(pg_catalog.->>) 'severity' OPERATOR(pg_catalog.=) 'error');
  report := report OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('step', 'result',
              'kind', CASE WHEN failures OPERATOR(pg_catalog.=) 0 THEN 'ok' ELSE 'failed' END,
              'severity', CASE WHEN failures OPERATOR(pg_catalog.=) 0 THEN NULL ELSE 'error' END,
              'detail', pg_catalog.format('%s failing rows; rolled back, catalogue fingerprint %s unchanged',
                                          failures, fingerprint_before));
  RETURN QUERY SELECT r.step, r.kind, r.severity, r.object, r.detail
                 FROM pg_catalog.jsonb_to_recordset(report) AS r(step text, kind text, severity text, object text,
                                                                 detail text);
END
$rehearse$;
REVOKE ALL ON FUNCTION careguard.rehearse(text, text, text[], text) FROM PUBLIC;
COMMENT ON FUNCTION careguard.rehearse(text, text, text[], text) IS
  'Applies up_sql, checks the policy invariants and the audit, applies down_sql, compares the catalogue with the '
  'start, reports locks and timings, and rolls everything back. Refuses statements that cannot run in a '
  'transaction (25001).';
