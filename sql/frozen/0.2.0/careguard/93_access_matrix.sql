-- The access matrix: who can see and change what, probed for real inside
-- always-rolled-back subtransactions (docs/audit-rules.md).

-- The default contexts: the platform's roles (anon, service_role, and
-- authenticated as a real user where there is one), plus whatever the
-- registered context sources add for a product's roles. A context is
-- {"name", "role", "claims"}.
CREATE FUNCTION careguard.access_matrix_default_contexts() RETURNS jsonb
  LANGUAGE plpgsql STABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $contexts$
DECLARE
  any_user uuid;
  source regproc;
  added jsonb;
  contexts jsonb := pg_catalog.jsonb_build_array(
    pg_catalog.jsonb_build_object('name', 'anon', 'role', 'anon',
      'claims', pg_catalog.jsonb_build_object('role', 'anon')));
BEGIN
  -- A source runs with the rights of whoever runs the matrix (a superuser),
  -- so only one a superuser owns is called: if a registered function is
  -- dropped, nobody else can take its name and have it run.
  FOR source IN
    SELECT p.oid::regproc
    FROM careguard.access_matrix_context_sources s
    JOIN pg_catalog.pg_proc p ON p.oid OPERATOR(pg_catalog.=) pg_catalog.to_regprocedure(s.function_name)
    JOIN pg_catalog.pg_roles o ON o.oid OPERATOR(pg_catalog.=) p.proowner
    WHERE o.rolsuper
    ORDER BY s.function_name
  LOOP
    EXECUTE pg_catalog.format('SELECT %s()', source) INTO added;
    IF pg_catalog.jsonb_typeof(added) OPERATOR(pg_catalog.<>) 'array' THEN
      RAISE EXCEPTION 'context source % returned no JSON array', source USING ERRCODE = '22023';
    END IF;
    contexts := contexts OPERATOR(pg_catalog.||) added;
  END LOOP;
  SELECT u.id INTO any_user FROM auth.users u ORDER BY u.id LIMIT 1;
  RETURN contexts OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_array(
    pg_catalog.jsonb_build_object('name', 'service_role', 'role', 'service_role',
      'claims', pg_catalog.jsonb_build_object('role', 'service_role')),
    pg_catalog.jsonb_build_object('name', 'authenticated', 'role', 'authenticated',
      'claims', pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
        'sub', any_user, 'role', 'authenticated', 'aud', 'authenticated'))));
END
$contexts$;
COMMENT ON FUNCTION careguard.access_matrix_default_contexts() IS
  'The access matrix''s default contexts: anon, each registered source''s contexts, service_role, authenticated.';

-- Becomes the probed role for the rest of a probe's subtransaction, pinned
-- (C): code a probe evaluates cannot RESET ROLE back to the superuser
-- running the matrix.
CREATE FUNCTION careguard.probe_as(role_name text) RETURNS void
  LANGUAGE c VOLATILE PARALLEL UNSAFE STRICT
  AS 'MODULE_PATHNAME', 'careguard_probe_as';
REVOKE ALL ON FUNCTION careguard.probe_as(text) FROM PUBLIC;
COMMENT ON FUNCTION careguard.probe_as(text) IS
  'Access matrix internals: SET LOCAL ROLE, then no role change until the subtransaction ends.';

-- Why probing a table would run code no superuser wrote, or NULL. Defence in
-- depth beside probe_as(): a table's owner, the
-- types of its columns (casts to json run in to_jsonb), and the functions its
-- policies, triggers, defaults, checks, index expressions and rules call must
-- all belong to superusers before anything of it is evaluated.
CREATE FUNCTION careguard.access_matrix_untrusted_code(rel oid) RETURNS text
  LANGUAGE sql STABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $untrusted$
  WITH code AS (
    SELECT 'the table is owned by ' OPERATOR(pg_catalog.||) o.rolname AS why, o.rolsuper AS trusted
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_roles o ON o.oid OPERATOR(pg_catalog.=) c.relowner
    WHERE c.oid OPERATOR(pg_catalog.=) rel
    UNION ALL
    SELECT pg_catalog.format('column %I has type %s owned by %s', a.attname, a.atttypid::regtype, o.rolname), o.rolsuper
    FROM pg_catalog.pg_attribute a
    JOIN pg_catalog.pg_type t ON t.oid OPERATOR(pg_catalog.=) a.atttypid
    JOIN pg_catalog.pg_roles o ON o.oid OPERATOR(pg_catalog.=) t.typowner
    WHERE a.attrelid OPERATOR(pg_catalog.=) rel AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped
    UNION ALL
    SELECT pg_catalog.format('%s calls %s owned by %s', src.what, f.oid::regprocedure, o.rolname), o.rolsuper
    FROM (
      SELECT 'a policy' AS what, careguard.audit_called_functions(pg_catalog.concat(p.polqual::text, ' ', p.polwithcheck::text)) AS funcs
        FROM pg_catalog.pg_policy p WHERE p.polrelid OPERATOR(pg_catalog.=) rel
      UNION ALL
      SELECT 'a trigger', ARRAY[t.tgfoid] FROM pg_catalog.pg_trigger t WHERE t.tgrelid OPERATOR(pg_catalog.=) rel
      UNION ALL
      SELECT 'a default', careguard.audit_called_functions(d.adbin::text)
        FROM pg_catalog.pg_attrdef d WHERE d.adrelid OPERATOR(pg_catalog.=) rel
      UNION ALL
      SELECT 'a constraint', careguard.audit_called_functions(k.conbin::text)
        FROM pg_catalog.pg_constraint k WHERE k.conrelid OPERATOR(pg_catalog.=) rel AND k.conbin IS NOT NULL
      UNION ALL
      SELECT 'an index', careguard.audit_called_functions(pg_catalog.concat(i.indexprs::text, ' ', i.indpred::text))
        FROM pg_catalog.pg_index i WHERE i.indrelid OPERATOR(pg_catalog.=) rel
      UNION ALL
      SELECT 'a rule', careguard.audit_called_functions(pg_catalog.concat(r.ev_qual::text, ' ', r.ev_action::text))
        FROM pg_catalog.pg_rewrite r WHERE r.ev_class OPERATOR(pg_catalog.=) rel
    ) src
    CROSS JOIN LATERAL pg_catalog.unnest(src.funcs) AS called(fn)
    JOIN pg_catalog.pg_proc f ON f.oid OPERATOR(pg_catalog.=) called.fn
    JOIN pg_catalog.pg_roles o ON o.oid OPERATOR(pg_catalog.=) f.proowner
  )
  SELECT code.why FROM code WHERE NOT code.trusted ORDER BY 1 LIMIT 1
$untrusted$;
COMMENT ON FUNCTION careguard.access_matrix_untrusted_code(oid) IS
  'Access matrix internals: why probing a table would run code only a non-superuser wrote, or NULL.';

-- Quoted, comma-separated columns of a table the role holds a privilege on.
CREATE FUNCTION careguard.access_matrix_columns(rel oid, role_name text, privilege text) RETURNS text[]
  LANGUAGE sql STABLE STRICT PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $cols$
  SELECT COALESCE(pg_catalog.array_agg(pg_catalog.quote_ident(a.attname::text) ORDER BY a.attnum), '{}'::text[])
  FROM pg_catalog.pg_attribute a
  WHERE a.attrelid OPERATOR(pg_catalog.=) rel AND a.attnum OPERATOR(pg_catalog.>) 0
    AND NOT a.attisdropped AND a.attgenerated OPERATOR(pg_catalog.=) ''
    -- GENERATED ALWAYS identities may not be updated, even to themselves.
    AND NOT (privilege OPERATOR(pg_catalog.=) 'UPDATE' AND a.attidentity OPERATOR(pg_catalog.=) 'a')
    AND pg_catalog.has_column_privilege(role_name, rel, a.attnum, privilege)
$cols$;
COMMENT ON FUNCTION careguard.access_matrix_columns(oid, text, text) IS
  'Access matrix internals: the columns of a table a role may INSERT or UPDATE.';

-- Who can see and change what: for each context and each RLS table, the
-- rows visible and whether a representative INSERT, UPDATE and DELETE
-- would pass privileges and policies. Every probe runs in a subtransaction
-- that is always rolled back (the sentinel SQLSTATE CGRBK), and the role and
-- claims are set transaction-locally inside it, so both are restored too.
-- SECURITY INVOKER: switching to any role needs a superuser (or a DBA who is
-- a member of every probed role and can read every table).
CREATE FUNCTION careguard.access_matrix(contexts jsonb DEFAULT NULL, schemas text[] DEFAULT NULL)
  RETURNS TABLE (context text, role text, relation text,
                 selectable_rows bigint, select_sqlstate text,
                 can_insert boolean, insert_sqlstate text,
                 can_update boolean, update_sqlstate text,
                 can_delete boolean, delete_sqlstate text,
                 writes_not_probed text)
  LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
  SET search_path = pg_catalog, pg_temp
AS $matrix$
DECLARE
  untrusted text;
  read_only_reason text;
  ctx jsonb;
  ctx_role text;
  ctx_claims text;
  rel record;
  fallback_row jsonb;
  visible_row jsonb;
  probe_row jsonb;
  cols text[];
  affected bigint;
BEGIN
  contexts := COALESCE(contexts, careguard.access_matrix_default_contexts());
  schemas := careguard.audited_schemas(schemas);
  -- Where no write can run, every write probe would fail with 25006 and read
  -- as "denied": a report from a replica would say "all locked down". Say
  -- instead that the verdict is unknown, in every row and once out loud.
  IF pg_catalog.pg_is_in_recovery() THEN
    writes_not_probed := 'read-only standby';
  ELSIF pg_catalog.current_setting('transaction_read_only') OPERATOR(pg_catalog.=) 'on' THEN
    writes_not_probed := 'read-only transaction';
  END IF;
  read_only_reason := writes_not_probed;
  IF writes_not_probed IS NOT NULL THEN
    RAISE WARNING 'careguard.access_matrix: no write can be probed in a %', writes_not_probed
      USING DETAIL = 'can_insert, can_update and can_delete are NULL (unknown, not denied), '
                     'their SQLSTATE is 25006, and writes_not_probed says why.',
            HINT = 'Run the access matrix on the primary, in a read-write transaction, for write verdicts.';
  END IF;
  IF pg_catalog.jsonb_typeof(contexts) OPERATOR(pg_catalog.<>) 'array' THEN
    RAISE EXCEPTION 'careguard.access_matrix: contexts must be a JSON array'
      USING ERRCODE = '22023', HINT = 'e.g. [{"name": "p1", "role": "patient", "claims": {"sub": "..."}}]';
  END IF;
  FOR ctx IN SELECT c FROM pg_catalog.jsonb_array_elements(contexts) AS c LOOP
    ctx_role := ctx OPERATOR(pg_catalog.->>) 'role';
    IF ctx_role IS NULL OR pg_catalog.to_regrole(ctx_role) IS NULL THEN
      RAISE EXCEPTION 'careguard.access_matrix: context % names no existing role', ctx
        USING ERRCODE = '22023';
    END IF;
    context := COALESCE(ctx OPERATOR(pg_catalog.->>) 'name', ctx_role);
    role := ctx_role;
    -- The role claim follows the role unless the context says otherwise.
    ctx_claims := (pg_catalog.jsonb_build_object('role', ctx_role)
                   OPERATOR(pg_catalog.||) COALESCE(ctx OPERATOR(pg_catalog.->) 'claims', '{}'::jsonb))::text;

    FOR rel IN
      SELECT c.oid, pg_catalog.format('%I.%I', n.nspname, c.relname) AS qname
      FROM pg_catalog.pg_class c
      JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
      WHERE n.nspname OPERATOR(pg_catalog.=) ANY (schemas)
        AND c.relkind OPERATOR(pg_catalog.=) ANY (ARRAY['r', 'p']::"char"[])
        AND c.relrowsecurity AND NOT c.relispartition
      ORDER BY n.nspname, c.relname
    LOOP
      relation := rel.qname;
      selectable_rows := NULL; select_sqlstate := NULL; visible_row := NULL;
      can_insert := NULL; insert_sqlstate := NULL;
      can_update := NULL; update_sqlstate := NULL;
      can_delete := NULL; delete_sqlstate := NULL;
      -- Nothing of a table whose code a non-superuser wrote is evaluated.
      untrusted := careguard.access_matrix_untrusted_code(rel.oid);
      IF untrusted IS NOT NULL THEN
        writes_not_probed := 'not probed: ' OPERATOR(pg_catalog.||) untrusted;
        RETURN NEXT;
        writes_not_probed := read_only_reason;
        CONTINUE;
      END IF;
      -- A row to copy when the context sees none: the invoker's first row.
      EXECUTE pg_catalog.format('SELECT pg_catalog.to_jsonb(t) FROM %s AS t LIMIT 1', rel.qname)
        INTO fallback_row;

      -- SELECT: how many rows the context sees, and one of them.
      BEGIN
        PERFORM pg_catalog.set_config('request.jwt.claims', ctx_claims, true);
        PERFORM careguard.probe_as(ctx_role);
        EXECUTE pg_catalog.format('SELECT pg_catalog.count(*) FROM %s', rel.qname) INTO selectable_rows;
        -- Column privileges may forbid reading whole rows: then copy the
        -- invoker's row instead; that is no verdict on SELECT.
        BEGIN
          EXECUTE pg_catalog.format('SELECT pg_catalog.to_jsonb(t) FROM %s AS t LIMIT 1', rel.qname)
            INTO visible_row;
        EXCEPTION WHEN insufficient_privilege THEN visible_row := NULL;
        END;
        RAISE EXCEPTION 'careguard probe rollback' USING ERRCODE = 'CGRBK';
      EXCEPTION
        WHEN SQLSTATE 'CGRBK' THEN NULL;
        WHEN OTHERS THEN select_sqlstate := SQLSTATE;
      END;

      IF writes_not_probed IS NOT NULL THEN
        insert_sqlstate := '25006'; update_sqlstate := '25006'; delete_sqlstate := '25006';
        RETURN NEXT;
        CONTINUE;
      END IF;

      -- INSERT: a copy of a row the context sees (else of any row), with
      -- only the columns the role may insert; the rest take defaults.
      probe_row := COALESCE(visible_row, fallback_row);
      IF probe_row IS NULL THEN
        insert_sqlstate := '02000';  -- empty table: nothing representative to copy
      ELSE
        cols := careguard.access_matrix_columns(rel.oid, ctx_role, 'INSERT');
        affected := 0;
        BEGIN
          PERFORM pg_catalog.set_config('request.jwt.claims', ctx_claims, true);
          PERFORM careguard.probe_as(ctx_role);
          IF pg_catalog.cardinality(cols) OPERATOR(pg_catalog.=) 0 THEN
            EXECUTE pg_catalog.format('INSERT INTO %s DEFAULT VALUES', rel.qname);
          ELSE
            EXECUTE pg_catalog.format(
              'INSERT INTO %1$s (%2$s) OVERRIDING SYSTEM VALUE SELECT %2$s FROM pg_catalog.jsonb_populate_record(NULL::%1$s, $1)',
              rel.qname, pg_catalog.array_to_string(cols, ', ')) USING probe_row;
          END IF;
          GET DIAGNOSTICS affected = ROW_COUNT;
          RAISE EXCEPTION 'careguard probe rollback' USING ERRCODE = 'CGRBK';
        EXCEPTION
          WHEN SQLSTATE 'CGRBK' THEN can_insert := affected OPERATOR(pg_catalog.>) 0;
          -- Class 23 (a duplicate key, an overlap, ...) is raised only after
          -- privileges and WITH CHECK passed: the policy allowed the write.
          WHEN OTHERS THEN
            insert_sqlstate := SQLSTATE;
            can_insert := SQLSTATE LIKE '23%';
        END;
      END IF;

      -- UPDATE: set the columns the role may update to their own values on
      -- the first row the context sees.
      cols := careguard.access_matrix_columns(rel.oid, ctx_role, 'UPDATE');
      affected := 0;
      BEGIN
        PERFORM pg_catalog.set_config('request.jwt.claims', ctx_claims, true);
        PERFORM careguard.probe_as(ctx_role);
        IF pg_catalog.cardinality(cols) OPERATOR(pg_catalog.=) 0 THEN
          -- No column privilege at all: let PostgreSQL say so (42501).
          cols := ARRAY[(SELECT pg_catalog.quote_ident(a.attname::text) FROM pg_catalog.pg_attribute a
                         WHERE a.attrelid OPERATOR(pg_catalog.=) rel.oid AND a.attnum OPERATOR(pg_catalog.>) 0
                           AND NOT a.attisdropped AND a.attgenerated OPERATOR(pg_catalog.=) ''
                           AND a.attidentity OPERATOR(pg_catalog.<>) 'a'
                         ORDER BY a.attnum LIMIT 1)];
        END IF;
        EXECUTE pg_catalog.format(
          'UPDATE %s AS t SET %s WHERE t.ctid OPERATOR(pg_catalog.=) (SELECT s.ctid FROM %s AS s LIMIT 1)',
          rel.qname,
          (SELECT pg_catalog.string_agg(pg_catalog.format('%s = t.%s', c, c), ', ')
           FROM pg_catalog.unnest(cols) AS c),
          rel.qname);
        GET DIAGNOSTICS affected = ROW_COUNT;
        RAISE EXCEPTION 'careguard probe rollback' USING ERRCODE = 'CGRBK';
      EXCEPTION
        WHEN SQLSTATE 'CGRBK' THEN
          can_update := affected OPERATOR(pg_catalog.>) 0;
          IF NOT can_update THEN update_sqlstate := '02000'; END IF;
        WHEN OTHERS THEN
          update_sqlstate := SQLSTATE;
          can_update := SQLSTATE LIKE '23%';
      END;

      -- DELETE: the first row the context sees.
      affected := 0;
      BEGIN
        PERFORM pg_catalog.set_config('request.jwt.claims', ctx_claims, true);
        PERFORM careguard.probe_as(ctx_role);
        EXECUTE pg_catalog.format(
          'DELETE FROM %s AS t WHERE t.ctid OPERATOR(pg_catalog.=) (SELECT s.ctid FROM %s AS s LIMIT 1)',
          rel.qname, rel.qname);
        GET DIAGNOSTICS affected = ROW_COUNT;
        RAISE EXCEPTION 'careguard probe rollback' USING ERRCODE = 'CGRBK';
      EXCEPTION
        WHEN SQLSTATE 'CGRBK' THEN
          can_delete := affected OPERATOR(pg_catalog.>) 0;
          IF NOT can_delete THEN delete_sqlstate := '02000'; END IF;
        WHEN OTHERS THEN
          delete_sqlstate := SQLSTATE;
          can_delete := SQLSTATE LIKE '23%';
      END;

      RETURN NEXT;
    END LOOP;
  END LOOP;
END
$matrix$;
COMMENT ON FUNCTION careguard.access_matrix(jsonb, text[]) IS
  'Per context x RLS table: rows visible and whether INSERT/UPDATE/DELETE of a representative row passes; all probes rolled back. '
  'On a read-only standby (or in a read-only transaction) the write verdicts are NULL with 25006 and writes_not_probed says why. Run as superuser.';

-- Switching to arbitrary roles is a superuser's job: no grants.
REVOKE ALL ON FUNCTION careguard.access_matrix_default_contexts() FROM PUBLIC;
REVOKE ALL ON FUNCTION careguard.access_matrix_columns(oid, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION careguard.access_matrix_untrusted_code(oid) FROM PUBLIC;
REVOKE ALL ON FUNCTION careguard.access_matrix(jsonb, text[]) FROM PUBLIC;
