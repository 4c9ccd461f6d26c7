-- careguard.protect(): careguard's patterns on a table of your own, in one
-- call. Tables it protects are listed in careguard.protected_tables.
CREATE TABLE careguard.protected_tables (
  relation regclass PRIMARY KEY,
  owner_column name NOT NULL,
  protected_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE careguard.protected_tables IS
  'Tables careguard.protect() manages: forced RLS and owner policies through the hoisted helpers.';
SELECT pg_catalog.pg_extension_config_dump('careguard.protected_tables', '');
ALTER TABLE careguard.protected_tables ENABLE ROW LEVEL SECURITY;
ALTER TABLE careguard.protected_tables FORCE ROW LEVEL SECURITY;
REVOKE ALL ON careguard.protected_tables FROM PUBLIC;
GRANT SELECT ON careguard.protected_tables TO careguard_auditor;
CREATE POLICY protected_tables_auditor_read ON careguard.protected_tables
  FOR SELECT TO careguard_auditor USING (true);

-- Forces RLS on the table; gives `roles` the rows whose owner_column is the
-- caller's auth.uid() (read, insert, update, delete, each write checked
-- with WITH CHECK, so a row cannot be handed to someone else); optionally
-- gives admin_role every row when its token carries that role claim;
-- indexes the owner column; grants the commands. Idempotent: a second call
-- replaces careguard's own policies (named careguard_*) and nothing else.
CREATE FUNCTION careguard.protect(target regclass, owner_column name,
                                  roles name[] DEFAULT ARRAY['authenticated']::name[],
                                  admin_role name DEFAULT NULL,
                                  service_role_access boolean DEFAULT true)
  RETURNS text
  LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
  SET search_path = pg_catalog, pg_temp
AS $protect$
DECLARE
  owner_type regtype;
  role_list text;
  command text;
  owner_check text;
BEGIN
  IF target IS NULL OR owner_column IS NULL OR roles IS NULL OR pg_catalog.cardinality(roles) OPERATOR(pg_catalog.=) 0 THEN
    RAISE EXCEPTION 'careguard.protect: target, owner_column and roles are required' USING ERRCODE = '22004';
  END IF;
  -- A partitioned table's RLS does not cover queries on its partitions, so
  -- "protected" would overstate it: protect each partition instead.
  IF (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) target)
       OPERATOR(pg_catalog.=) 'p' THEN
    RAISE EXCEPTION 'careguard.protect: % is partitioned; its partitions are reachable directly', target
      USING ERRCODE = '42809', HINT = 'Call careguard.protect() on each partition.';
  END IF;
  IF (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) target)
       OPERATOR(pg_catalog.<>) 'r' THEN
    RAISE EXCEPTION 'careguard.protect: % is not a table', target USING ERRCODE = '42809';
  END IF;
  SELECT a.atttypid::regtype INTO owner_type FROM pg_catalog.pg_attribute a
    WHERE a.attrelid OPERATOR(pg_catalog.=) target AND a.attname OPERATOR(pg_catalog.=) owner_column
      AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped;
  IF owner_type IS NULL THEN
    RAISE EXCEPTION 'careguard.protect: % has no column %', target, pg_catalog.quote_ident(owner_column)
      USING ERRCODE = '42703';
  END IF;
  IF owner_type OPERATOR(pg_catalog.<>) 'pg_catalog.uuid'::regtype THEN
    RAISE EXCEPTION 'careguard.protect: owner column % is %, not uuid (auth.uid() is a uuid)',
      pg_catalog.quote_ident(owner_column), owner_type USING ERRCODE = '42804';
  END IF;
  SELECT pg_catalog.string_agg(pg_catalog.quote_ident(r), ', ') INTO role_list
    FROM pg_catalog.unnest(roles) AS r;
  IF EXISTS (SELECT 1 FROM pg_catalog.unnest(roles || admin_role) AS r
             WHERE r IS NOT NULL AND pg_catalog.to_regrole(pg_catalog.quote_ident(r)) IS NULL) THEN
    RAISE EXCEPTION 'careguard.protect: a role in % does not exist', roles || admin_role USING ERRCODE = '42704';
  END IF;

  EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY', target);
  FOR command IN SELECT p.polname FROM pg_catalog.pg_policy p
      WHERE p.polrelid OPERATOR(pg_catalog.=) target AND p.polname::text LIKE 'careguard\_%' LOOP
    EXECUTE pg_catalog.format('DROP POLICY %I ON %s', command, target);
  END LOOP;
  -- auth.uid() is hoisted into an initPlan, so each policy is one indexable
  -- comparison: a bare column against a value computed once per query.
  owner_check := pg_catalog.format('%I OPERATOR(pg_catalog.=) auth.uid()', owner_column);
  EXECUTE pg_catalog.format('CREATE POLICY careguard_owner_select ON %s FOR SELECT TO %s USING (%s)',
                            target, role_list, owner_check);
  EXECUTE pg_catalog.format('CREATE POLICY careguard_owner_insert ON %s FOR INSERT TO %s WITH CHECK (%s)',
                            target, role_list, owner_check);
  EXECUTE pg_catalog.format('CREATE POLICY careguard_owner_update ON %s FOR UPDATE TO %s USING (%s) WITH CHECK (%s)',
                            target, role_list, owner_check, owner_check);
  EXECUTE pg_catalog.format('CREATE POLICY careguard_owner_delete ON %s FOR DELETE TO %s USING (%s)',
                            target, role_list, owner_check);
  EXECUTE pg_catalog.format('GRANT SELECT, INSERT, UPDATE, DELETE ON %s TO %s', target, role_list);
  IF admin_role IS NOT NULL THEN
    -- The database role alone is not an identity: the token must say so too.
    EXECUTE pg_catalog.format(
      'CREATE POLICY careguard_admin_all ON %s FOR ALL TO %I USING (auth.role() OPERATOR(pg_catalog.=) %L) '
      'WITH CHECK (auth.role() OPERATOR(pg_catalog.=) %L)', target, admin_role, admin_role, admin_role);
    EXECUTE pg_catalog.format('GRANT SELECT, INSERT, UPDATE, DELETE ON %s TO %I', target, admin_role);
  END IF;
  IF service_role_access THEN
    -- service_role bypasses RLS by design; it needs the privileges only.
    EXECUTE pg_catalog.format('GRANT SELECT, INSERT, UPDATE, DELETE ON %s TO service_role', target);
  END IF;
  PERFORM FROM pg_catalog.pg_index i
    JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) i.indrelid
     AND a.attnum OPERATOR(pg_catalog.=) i.indkey[0]
    WHERE i.indrelid OPERATOR(pg_catalog.=) target AND a.attname OPERATOR(pg_catalog.=) owner_column;
  IF NOT FOUND THEN
    EXECUTE pg_catalog.format('CREATE INDEX ON %s (%I)', target, owner_column);
  END IF;
  INSERT INTO careguard.protected_tables AS p (relation, owner_column) VALUES (target, owner_column)
    ON CONFLICT ON CONSTRAINT protected_tables_pkey
    DO UPDATE SET owner_column = excluded.owner_column, protected_at = pg_catalog.now();
  RETURN pg_catalog.format('%s: RLS forced; owner policies on %s for %s%s', target,
                           pg_catalog.quote_ident(owner_column), role_list,
                           CASE WHEN admin_role IS NULL THEN '' ELSE ', all rows for ' || admin_role END);
END
$protect$;
REVOKE ALL ON FUNCTION careguard.protect(regclass, name, name[], name, boolean) FROM PUBLIC;
COMMENT ON FUNCTION careguard.protect(regclass, name, name[], name, boolean) IS
  'Forced RLS, owner policies through the hoisted auth.uid() with WITH CHECK, optional admin path, an index and grants; idempotent.';
