-- Query plans: planning each registered query as its persona and as its
-- bypassing reference, and the audit's verdicts on the two plans.

-- One EXPLAIN (FORMAT JSON, VERBOSE) of a statement as a role with claims,
-- in a subtransaction that is always rolled back (so an ANALYZE's writes
-- are undone), with the claims set transaction-locally and the role pinned
-- by careguard.probe_as(), as the access matrix's probes are: what planning
-- evaluates runs as that role and cannot switch back to the superuser
-- running the audit. Returns the "Plan" object; an error propagates, after
-- the rollback restored the caller's role and claims.
CREATE FUNCTION careguard.explain_as(role_name text, claims text, statement text, with_analyze boolean)
  RETURNS jsonb
  LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
  SET search_path = pg_catalog, pg_temp
AS $explain$
DECLARE
  plan json;
BEGIN
  BEGIN
    PERFORM pg_catalog.set_config('request.jwt.claims', claims, true);
    PERFORM careguard.probe_as(role_name);
    EXECUTE pg_catalog.format('EXPLAIN (FORMAT JSON, VERBOSE, COSTS%s) %s',
              CASE WHEN with_analyze THEN ', ANALYZE, TIMING false' ELSE '' END, statement) INTO plan;
    RAISE EXCEPTION 'careguard probe rollback' USING ERRCODE = 'CGRBK';
  EXCEPTION WHEN SQLSTATE 'CGRBK' THEN
    RETURN (plan::jsonb) OPERATOR(pg_catalog.->) 0 OPERATOR(pg_catalog.->) 'Plan';
  END;
END
$explain$;
REVOKE ALL ON FUNCTION careguard.explain_as(text, text, text, boolean) FROM PUBLIC;
COMMENT ON FUNCTION careguard.explain_as(text, text, text, boolean) IS
  'Query-plan internals: EXPLAIN (FORMAT JSON, VERBOSE[, ANALYZE]) as a role with claims, always rolled back.';

-- The relations among rels on which row-level security applies to a role.
CREATE FUNCTION careguard.rls_applies_to(role_name text, rels text[]) RETURNS text[]
  LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
  SET search_path = pg_catalog, pg_temp
AS $applies$
DECLARE
  applies text[];
BEGIN
  BEGIN
    PERFORM careguard.probe_as(role_name);
    SELECT pg_catalog.array_agg(r ORDER BY r) INTO applies
      FROM pg_catalog.unnest(rels) AS r WHERE pg_catalog.row_security_active(r);
    RAISE EXCEPTION 'careguard probe rollback' USING ERRCODE = 'CGRBK';
  EXCEPTION WHEN SQLSTATE 'CGRBK' THEN
    RETURN applies;
  END;
END
$applies$;
REVOKE ALL ON FUNCTION careguard.rls_applies_to(text, text[]) FROM PUBLIC;
COMMENT ON FUNCTION careguard.rls_applies_to(text, text[]) IS
  'Query-plan internals: the relations on which row-level security applies to the role (row_security_active as it).';

-- One row per active registered query: both plans, or why they were not
-- judged or failed. with_analyze adds ANALYZE: the queries then run (and
-- are rolled back), but only once a plain EXPLAIN showed which relations
-- they read and that no code a non-superuser wrote is among theirs.
CREATE FUNCTION careguard.query_plans(with_analyze boolean DEFAULT false)
  RETURNS TABLE (query_name text, context_name text, persona_role text, reference_role text,
                 persona_plan jsonb, reference_plan jsonb, not_judged text, failed text,
                 max_cost_ratio numeric)
  LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
  SET search_path = pg_catalog, pg_temp
AS $plans$
DECLARE
  q record;
  ctx jsonb;
  defaults jsonb;
  claims text;
  reference_rels text[];
  applies text[];
  why text;
BEGIN
  FOR q IN SELECT r.* FROM careguard.registered_queries() r WHERE r.active ORDER BY r.query_name LOOP
    query_name := q.query_name; reference_role := q.reference_role; max_cost_ratio := q.max_cost_ratio;
    persona_role := NULL; persona_plan := NULL; reference_plan := NULL; not_judged := NULL; failed := NULL;
    ctx := q.context;
    context_name := COALESCE(ctx OPERATOR(pg_catalog.->>) 'name', ctx OPERATOR(pg_catalog.->>) 'role');
    -- {"name"} alone: one of the access matrix's default contexts, a real user.
    IF NOT ctx OPERATOR(pg_catalog.?) 'role' THEN
      defaults := COALESCE(defaults, careguard.access_matrix_default_contexts());
      SELECT d INTO ctx FROM pg_catalog.jsonb_array_elements(defaults) AS d
        WHERE d OPERATOR(pg_catalog.->>) 'name' OPERATOR(pg_catalog.=) context_name LIMIT 1;
      IF ctx IS NULL THEN
        failed := pg_catalog.format('22023: no default context is named %s (the access matrix''s contexts are %s)',
                    context_name, (SELECT pg_catalog.string_agg(d OPERATOR(pg_catalog.->>) 'name', ', ')
                                   FROM pg_catalog.jsonb_array_elements(defaults) AS d));
        RETURN NEXT;
        CONTINUE;
      END IF;
    END IF;
    persona_role := ctx OPERATOR(pg_catalog.->>) 'role';
    why := CASE WHEN pg_catalog.to_regrole(persona_role) IS NULL THEN persona_role
                WHEN pg_catalog.to_regrole(q.reference_role) IS NULL THEN q.reference_role END;
    IF why IS NOT NULL THEN
      failed := pg_catalog.format('42704: role %s does not exist', why);
      RETURN NEXT;
      CONTINUE;
    END IF;
    -- The role claim follows the role unless the context says otherwise.
    claims := (pg_catalog.jsonb_build_object('role', persona_role)
               OPERATOR(pg_catalog.||) COALESCE(ctx OPERATOR(pg_catalog.->) 'claims', '{}'::jsonb))::text;

    -- The reference: the same claims, a role that bypasses RLS, a plain
    -- EXPLAIN first to learn what the query reads.
    BEGIN
      reference_plan := careguard.explain_as(q.reference_role, claims, COALESCE(q.reference_query, q.query), false);
    EXCEPTION WHEN OTHERS THEN
      failed := pg_catalog.format('%s: %s (as the reference role %s)', SQLSTATE, SQLERRM, q.reference_role);
      RETURN NEXT;
      CONTINUE;
    END;
    reference_rels := careguard.plan_relations(reference_plan);
    -- Whether the reference really bypasses RLS there (BYPASSRLS, or an
    -- owner of a table without FORCE), asked as it.
    applies := careguard.rls_applies_to(q.reference_role, reference_rels);
    IF applies IS NOT NULL THEN
      not_judged := pg_catalog.format('the reference role %s does not bypass row-level security on %s',
                      q.reference_role, pg_catalog.array_to_string(applies, ', '));
    END IF;
    -- Nothing of a table whose code a non-superuser wrote is planned as the
    -- persona, nor run (the access matrix's rule).
    IF not_judged IS NULL THEN
      SELECT 'not planned as the persona: ' OPERATOR(pg_catalog.||) r OPERATOR(pg_catalog.||) ': '
               OPERATOR(pg_catalog.||) careguard.access_matrix_untrusted_code(r::regclass)
        INTO not_judged
        FROM pg_catalog.unnest(reference_rels) AS r
        WHERE careguard.access_matrix_untrusted_code(r::regclass) IS NOT NULL
        ORDER BY r LIMIT 1;
    END IF;
    IF not_judged IS NULL THEN
      BEGIN
        IF with_analyze THEN
          reference_plan := careguard.explain_as(q.reference_role, claims, COALESCE(q.reference_query, q.query), true);
        END IF;
      EXCEPTION WHEN OTHERS THEN
        failed := pg_catalog.format('%s: %s (as the reference role %s)', SQLSTATE, SQLERRM, q.reference_role);
      END;
    END IF;
    IF not_judged IS NULL AND failed IS NULL THEN
      BEGIN
        persona_plan := careguard.explain_as(persona_role, claims, q.query, with_analyze);
      EXCEPTION WHEN OTHERS THEN
        failed := pg_catalog.format('%s: %s (as %s)', SQLSTATE, SQLERRM, context_name);
      END;
    END IF;
    -- An empty table (no pages, or statistics that count no rows) gives the
    -- planner nothing to go on: a sequential scan is then right for both
    -- plans, and its choice says nothing about the policy.
    IF not_judged IS NULL AND failed IS NULL THEN
      SELECT pg_catalog.format('%s is empty to the planner (no pages, or statistics that count no rows): its choice says nothing about the policy', r)
        INTO not_judged
        FROM pg_catalog.unnest(careguard.plan_relations(persona_plan) OPERATOR(pg_catalog.||) reference_rels) AS r
        JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) r::regclass
        WHERE pg_catalog.pg_relation_size(c.oid) OPERATOR(pg_catalog.=) 0
           OR c.reltuples OPERATOR(pg_catalog.=) 0
        ORDER BY r LIMIT 1;
    END IF;
    RETURN NEXT;
  END LOOP;
END
$plans$;
REVOKE ALL ON FUNCTION careguard.query_plans(boolean) FROM PUBLIC;
COMMENT ON FUNCTION careguard.query_plans(boolean) IS
  'Each active registered query''s EXPLAIN (FORMAT JSON, VERBOSE) as its persona and as its bypassing reference role, '
  'or why it was not judged or failed. Superuser only: it switches roles.';

-- The audit's plan findings over the given schemas (a query belongs to the
-- schemas of the relations its plans read; one that could not be planned at
-- all is reported in every audit, as is a caller who cannot plan any).
CREATE FUNCTION careguard.audit_query_plans(schemas text[] DEFAULT NULL, with_analyze boolean DEFAULT false)
  RETURNS TABLE (rule text, object text, detail text, fix text)
  LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
  SET search_path = pg_catalog, pg_temp
AS $audit$
DECLARE
  audited text[] := careguard.audited_schemas(schemas);
  waiting bigint;
BEGIN
  SELECT pg_catalog.count(*) INTO waiting FROM careguard.registered_queries() r WHERE r.active;
  IF waiting OPERATOR(pg_catalog.=) 0 THEN
    RETURN;
  END IF;
  IF NOT (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) CURRENT_USER) THEN
    rule := 'plan_not_judged';
    object := 'careguard.query_registry';
    detail := pg_catalog.format('%s registered quer%s not planned: planning as a persona switches roles, which only a superuser''s audit may do',
                waiting, CASE WHEN waiting OPERATOR(pg_catalog.=) 1 THEN 'y was' ELSE 'ies were' END);
    fix := 'run the audit as a superuser to judge the plans';
    RETURN NEXT;
    RETURN;
  END IF;
  RETURN QUERY
  WITH plans AS (
    SELECT p.*, pg_catalog.format('%s as %s', p.query_name, p.context_name) AS label,
           (p.persona_plan OPERATOR(pg_catalog.->>) 'Total Cost')::numeric AS persona_cost,
           (p.reference_plan OPERATOR(pg_catalog.->>) 'Total Cost')::numeric AS reference_cost,
           careguard.plan_relations(p.persona_plan) OPERATOR(pg_catalog.||) careguard.plan_relations(p.reference_plan) AS rels
    FROM careguard.query_plans(with_analyze) p
  ),
  scoped AS (
    SELECT p.* FROM plans p
    WHERE pg_catalog.cardinality(p.rels) OPERATOR(pg_catalog.=) 0
       OR EXISTS (SELECT 1 FROM pg_catalog.unnest(p.rels) AS r
                  JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) r::regclass
                  JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
                  WHERE n.nspname::text OPERATOR(pg_catalog.=) ANY (audited))
  ),
  judged AS (
    SELECT p.*, careguard.plan_claims_per_row(p.persona_plan) AS claims_per_row,
           careguard.plan_subplans_per_row(p.persona_plan) AS subplans,
           careguard.plan_subplans_per_row(p.reference_plan) AS reference_subplans,
           careguard.plan_index_losses(p.persona_plan, p.reference_plan, p.reference_role) AS losses
    FROM scoped p
    WHERE p.failed IS NULL AND p.not_judged IS NULL
  )
  SELECT 'plan_query_failed'::text, p.label, 'the query fails: ' OPERATOR(pg_catalog.||) p.failed,
         pg_catalog.format('make the query run as its persona and its reference role (privileges, names), or unregister it: SELECT careguard.unregister_query(%L)', p.query_name)
  FROM scoped p WHERE p.failed IS NOT NULL
  UNION ALL
  SELECT 'plan_not_judged', p.label, 'not judged: ' OPERATOR(pg_catalog.||) p.not_judged,
         'load representative data and ANALYZE (or fix the reason given), then audit again'
  FROM scoped p WHERE p.not_judged IS NOT NULL
  UNION ALL
  SELECT 'plan_claims_per_row', j.label,
         pg_catalog.format('as %s, a claim helper is evaluated for every row instead of once: %s',
                           j.context_name, pg_catalog.array_to_string(j.claims_per_row, '; ')),
         'call careguard''s C helpers (auth.uid(), auth.jwt(), auth.claim(...)), which are hoisted into an initPlan, or wrap the call as (SELECT auth.uid()); never parse current_setting(''request.jwt.claims'') in a policy'
  FROM judged j WHERE pg_catalog.cardinality(j.claims_per_row) OPERATOR(pg_catalog.>) 0
  UNION ALL
  SELECT 'plan_policy_subplan_per_row', j.label,
         pg_catalog.format('as %s, %s SubPlan(s) run once per row (%s''s plan has %s): %s',
                           j.context_name, pg_catalog.cardinality(j.subplans), j.reference_role,
                           pg_catalog.cardinality(j.reference_subplans), pg_catalog.array_to_string(j.subplans, '; ')),
         'rewrite the policy''s correlated subquery as a comparison with a value computed once: a function without arguments that returns the set (column = ANY (f()), an initPlan), or an uncorrelated IN (SELECT ...), which is hashed'
  FROM judged j
  WHERE pg_catalog.cardinality(j.subplans) OPERATOR(pg_catalog.>) pg_catalog.cardinality(j.reference_subplans)
  UNION ALL
  SELECT 'plan_index_lost', j.label,
         pg_catalog.format('as %s: %s', j.context_name, pg_catalog.array_to_string(j.losses, '; ')),
         pg_catalog.format('let the persona''s policy reduce to a comparison of an indexed column with a hoisted helper (provider_id = auth.provider_id()), with no cast of the column, OR branch or non-inlined function around it; compare with careguard.query_plans() (as %s and as %s)',
                           j.context_name, j.reference_role)
  -- A shape the planner itself estimates as no dearer is its better choice
  -- for the persona's rows (a policy column more selective than the query's).
  FROM judged j WHERE pg_catalog.cardinality(j.losses) OPERATOR(pg_catalog.>) 0
    AND j.persona_cost OPERATOR(pg_catalog.>) j.reference_cost
  UNION ALL
  SELECT 'plan_cost_ratio', j.label,
         pg_catalog.format('as %s, the estimated total cost %s is %s times %s''s %s (the limit is %s times)',
                           j.context_name, j.persona_cost, pg_catalog.round(j.persona_cost OPERATOR(pg_catalog./)
                             GREATEST(j.reference_cost, 0.01), 1), j.reference_role, j.reference_cost, j.max_cost_ratio),
         pg_catalog.format('see what the policy adds in careguard.query_plans(); if the cost is intended, register the query again with a higher max_cost_ratio: careguard.register_query(%L, ..., max_cost_ratio => ...)', j.query_name)
  FROM judged j
  WHERE j.persona_cost OPERATOR(pg_catalog.>)
        (j.max_cost_ratio OPERATOR(pg_catalog.*) GREATEST(j.reference_cost, 0.01));
END
$audit$;
REVOKE ALL ON FUNCTION careguard.audit_query_plans(text[], boolean) FROM PUBLIC;
-- careguard_auditor may call it: for anyone but a superuser it only says the
-- plans were not judged (careguard.query_plans() itself stays superuser-only).
GRANT EXECUTE ON FUNCTION careguard.audit_query_plans(text[], boolean) TO careguard_auditor;
COMMENT ON FUNCTION careguard.audit_query_plans(text[], boolean) IS
  'The audit''s findings on the registered queries'' plans (rules plan_*), over the schemas their plans read.';
