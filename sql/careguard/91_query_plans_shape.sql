-- Query plans: reading the shape of an EXPLAIN (FORMAT JSON, VERBOSE) plan.
-- Every function here takes the "Plan" object of one EXPLAIN and only reads
-- it. What runs once and what runs per row is read from the plan's structure,
-- so no ANALYZE is needed (docs/audit-rules.md, "Query plans").

-- Every node of a plan with its parent; in_subplan: inside an InitPlan or a
-- SubPlan, i.e. not on the path that produces the query's rows.
CREATE FUNCTION careguard.plan_nodes(plan jsonb)
  RETURNS TABLE (node jsonb, parent jsonb, relationship text, in_subplan boolean)
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $nodes$
  WITH RECURSIVE walk(node, parent, relationship, in_subplan) AS (
    SELECT plan, NULL::jsonb, NULL::text, false
    WHERE plan IS NOT NULL
    UNION ALL
    SELECT c.child, w.node, c.child OPERATOR(pg_catalog.->>) 'Parent Relationship',
           w.in_subplan OR (c.child OPERATOR(pg_catalog.->>) 'Parent Relationship')
                             OPERATOR(pg_catalog.=) ANY (ARRAY['InitPlan', 'SubPlan'])
    FROM walk w
    CROSS JOIN LATERAL pg_catalog.jsonb_array_elements(
      COALESCE(w.node OPERATOR(pg_catalog.->) 'Plans', '[]'::jsonb)) AS c(child)
  )
  SELECT w.node, w.parent, w.relationship, w.in_subplan FROM walk w
$nodes$;
COMMENT ON FUNCTION careguard.plan_nodes(jsonb) IS
  'Query-plan internals: every node of an EXPLAIN JSON plan, its parent, and whether it lies inside an InitPlan/SubPlan.';

-- The relation a scan node reads, as schema.name, or NULL.
CREATE FUNCTION careguard.plan_node_relation(node jsonb) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $rel$
  SELECT pg_catalog.format('%I.%I', node OPERATOR(pg_catalog.->>) 'Schema', node OPERATOR(pg_catalog.->>) 'Relation Name')
  WHERE node OPERATOR(pg_catalog.?) 'Relation Name'
$rel$;
COMMENT ON FUNCTION careguard.plan_node_relation(jsonb) IS
  'Query-plan internals: schema.relation of a scan node (EXPLAIN VERBOSE), or NULL.';

-- A node as EXPLAIN's text format names it: "Index Scan using i on s.t",
-- and a bitmap heap scan with the indexes its bitmaps come from.
CREATE FUNCTION careguard.plan_node_label(node jsonb) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $label$
  SELECT pg_catalog.concat(
    CASE WHEN (node OPERATOR(pg_catalog.->>) 'Parallel Aware')::boolean THEN 'Parallel ' END,
    node OPERATOR(pg_catalog.->>) 'Node Type',
    ' using ' OPERATOR(pg_catalog.||) pg_catalog.quote_ident(node OPERATOR(pg_catalog.->>) 'Index Name'),
    ' on ' OPERATOR(pg_catalog.||) careguard.plan_node_relation(node),
    CASE WHEN node OPERATOR(pg_catalog.->>) 'Node Type' OPERATOR(pg_catalog.=) 'Bitmap Heap Scan' THEN
      ' (bitmap of ' OPERATOR(pg_catalog.||) (
        SELECT pg_catalog.string_agg(DISTINCT pg_catalog.quote_ident(b.node OPERATOR(pg_catalog.->>) 'Index Name'), ', ')
        FROM careguard.plan_nodes(node) b
        WHERE b.node OPERATOR(pg_catalog.->>) 'Node Type' OPERATOR(pg_catalog.=) 'Bitmap Index Scan')
      OPERATOR(pg_catalog.||) ')' END)
$label$;
COMMENT ON FUNCTION careguard.plan_node_label(jsonb) IS
  'Query-plan internals: a node''s type, index and relation as EXPLAIN''s text format shows them.';

-- What ANALYZE saw of a node, when the plan was made with it.
CREATE FUNCTION careguard.plan_node_actuals(node jsonb) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $actuals$
  SELECT pg_catalog.format(' [ANALYZE: %s loop(s), %s row(s) out per loop%s]',
           node OPERATOR(pg_catalog.->>) 'Actual Loops', node OPERATOR(pg_catalog.->>) 'Actual Rows',
           ', ' OPERATOR(pg_catalog.||) (node OPERATOR(pg_catalog.->>) 'Rows Removed by Filter')
             OPERATOR(pg_catalog.||) ' removed by the filter')
  WHERE node OPERATOR(pg_catalog.?) 'Actual Loops'
$actuals$;
COMMENT ON FUNCTION careguard.plan_node_actuals(jsonb) IS
  'Query-plan internals: loops and rows of a node of an EXPLAIN ANALYZE plan, else NULL.';

-- The expressions a node evaluates for every row it handles. A Result node
-- without an input of its own (the form of an initPlan, `(SELECT auth.uid())`)
-- produces one row: nothing of it runs per row. Index conditions are left
-- out: their keys are computed once per scan (a STABLE function serves as an
-- index key), and Recheck Cond repeats them.
CREATE FUNCTION careguard.plan_per_row_expressions(node jsonb)
  RETURNS TABLE (clause text, expression text)
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $exprs$
  SELECT k, CASE pg_catalog.jsonb_typeof(node OPERATOR(pg_catalog.->) k)
              WHEN 'array' THEN (SELECT pg_catalog.string_agg(e, ', ')
                                 FROM pg_catalog.jsonb_array_elements_text(node OPERATOR(pg_catalog.->) k) AS e)
              ELSE node OPERATOR(pg_catalog.->>) k END
  FROM pg_catalog.unnest(ARRAY['Filter', 'Join Filter', 'Hash Cond', 'Merge Cond', 'Output', 'Sort Key',
                               'Group Key', 'Cache Key', 'Run Condition', 'Conflict Filter']) AS k
  WHERE node OPERATOR(pg_catalog.?) k
    AND (node OPERATOR(pg_catalog.->>) 'Node Type' OPERATOR(pg_catalog.<>) 'Result'
         OR EXISTS (SELECT 1 FROM pg_catalog.jsonb_array_elements(
                      COALESCE(node OPERATOR(pg_catalog.->) 'Plans', '[]'::jsonb)) AS c(child)
                    WHERE NOT (c.child OPERATOR(pg_catalog.->>) 'Parent Relationship')
                            OPERATOR(pg_catalog.=) ANY (ARRAY['InitPlan', 'SubPlan'])))
$exprs$;
COMMENT ON FUNCTION careguard.plan_per_row_expressions(jsonb) IS
  'Query-plan internals: the clauses (Filter, Join Filter, Output, ...) a plan node evaluates once per row.';

-- A claim helper as EXPLAIN VERBOSE prints it under the audit's search_path
-- (pg_catalog, pg_temp: functions of other schemas are qualified): careguard's
-- or Supabase's helpers, or a read of the JWT claims setting inlined from a
-- SQL helper or written into a policy.
CREATE FUNCTION careguard.plan_claim_helper_pattern() RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $pattern$
  SELECT '(^|[^[:alnum:]_."])auth\.(uid|jwt|role|email|claim|provider_id)\(|current_setting\(''request\.jwt\.claim'::text
$pattern$;
COMMENT ON FUNCTION careguard.plan_claim_helper_pattern() IS
  'Query-plan internals: the regular expression that finds a claim helper call in EXPLAIN VERBOSE text.';

-- (a) Claim helpers a plan evaluates per row: "Filter of Seq Scan on s.t: (...)".
CREATE FUNCTION careguard.plan_claims_per_row(plan jsonb) RETURNS text[]
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $claims$
  SELECT COALESCE(pg_catalog.array_agg(DISTINCT pg_catalog.concat(
           e.clause, ' of ', careguard.plan_node_label(n.node), ': ', e.expression,
           careguard.plan_node_actuals(n.node))), '{}'::text[])
  FROM careguard.plan_nodes(plan) n
  CROSS JOIN LATERAL careguard.plan_per_row_expressions(n.node) e
  WHERE e.expression OPERATOR(pg_catalog.~) careguard.plan_claim_helper_pattern()
$claims$;
COMMENT ON FUNCTION careguard.plan_claims_per_row(jsonb) IS
  'Query-plan internals: where a plan evaluates a claim helper once per row.';

-- (b) SubPlans run once per row of their parent: not hashed (a hashed
-- SubPlan runs once and is probed), and under a node that handles rows.
CREATE FUNCTION careguard.plan_subplans_per_row(plan jsonb) RETURNS text[]
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $subplans$
  SELECT COALESCE(pg_catalog.array_agg(pg_catalog.concat(
           n.node OPERATOR(pg_catalog.->>) 'Subplan Name', ' (', careguard.plan_node_label(n.node), ') for each row of ',
           careguard.plan_node_label(n.parent), careguard.plan_node_actuals(n.node))
           ORDER BY n.node OPERATOR(pg_catalog.->>) 'Subplan Name'), '{}'::text[])
  FROM careguard.plan_nodes(plan) n
  WHERE n.relationship OPERATOR(pg_catalog.=) 'SubPlan'
    AND NOT (n.parent OPERATOR(pg_catalog.-) 'Plans')::text OPERATOR(pg_catalog.~)
            ('hashed ' OPERATOR(pg_catalog.||) (n.node OPERATOR(pg_catalog.->>) 'Subplan Name') OPERATOR(pg_catalog.||) '\M')
    AND EXISTS (SELECT 1 FROM careguard.plan_per_row_expressions(n.parent) e
                WHERE e.expression OPERATOR(pg_catalog.~)
                      ((n.node OPERATOR(pg_catalog.->>) 'Subplan Name') OPERATOR(pg_catalog.||) '\M'))
$subplans$;
COMMENT ON FUNCTION careguard.plan_subplans_per_row(jsonb) IS
  'Query-plan internals: the SubPlans a plan runs once per row of their parent (not hashed).';

-- The columns a scan node finds its rows by: those its index conditions
-- constrain (a bitmap heap scan's are in its bitmap index scans), read from
-- the conditions' text, where they are qualified by the scan's alias.
CREATE FUNCTION careguard.plan_index_columns(node jsonb) RETURNS text[]
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $columns$
  SELECT COALESCE(pg_catalog.array_agg(DISTINCT m[1] ORDER BY m[1]), '{}'::text[])
  FROM careguard.plan_nodes(node) n
  CROSS JOIN LATERAL pg_catalog.regexp_matches(n.node OPERATOR(pg_catalog.->>) 'Index Cond',
    '(?:^|[^[:alnum:]_$".])' OPERATOR(pg_catalog.||)
      pg_catalog.regexp_replace(pg_catalog.quote_ident(plan_index_columns.node OPERATOR(pg_catalog.->>) 'Alias'),
                                '([^[:alnum:]_])', '\\\1', 'g')
      OPERATOR(pg_catalog.||) '\.("(?:[^"]|"")+"|[[:alnum:]_$]+)', 'g') AS m
  WHERE n.node OPERATOR(pg_catalog.?) 'Index Cond'
    AND (n.node OPERATOR(pg_catalog.=) plan_index_columns.node
         OR (n.node OPERATOR(pg_catalog.->>) 'Node Type') OPERATOR(pg_catalog.=) 'Bitmap Index Scan')
$columns$;
COMMENT ON FUNCTION careguard.plan_index_columns(jsonb) IS
  'Query-plan internals: the columns a scan node''s index conditions constrain.';

-- (c) What the persona's plan lost against the reference's: a column the
-- reference finds a relation's rows by through an index, which the persona's
-- plan scans without (a sequential scan, or an index read by other columns
-- only), and a sort where the reference needs none (its index scan returns
-- rows in order). Only the nodes producing the query's rows count; InitPlans
-- and SubPlans (a policy's lookups) are judged by other rules, and a
-- relation the persona's plan does not scan at all (a policy function reads
-- it) lost nothing.
CREATE FUNCTION careguard.plan_index_losses(persona jsonb, reference jsonb, reference_role text) RETURNS text[]
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $losses$
  WITH scans AS (
    SELECT s.side, careguard.plan_node_relation(n.node) AS rel, careguard.plan_node_label(n.node) AS label,
           careguard.plan_index_columns(n.node) AS cols
    FROM (VALUES ('persona', persona), ('reference', reference)) AS s(side, plan)
    CROSS JOIN LATERAL careguard.plan_nodes(s.plan) n
    WHERE NOT n.in_subplan AND n.node OPERATOR(pg_catalog.?) 'Relation Name'
  ),
  per_relation AS (
    SELECT s.rel,
           pg_catalog.string_agg(DISTINCT s.label, ', ') FILTER (WHERE s.side OPERATOR(pg_catalog.=) 'persona') AS persona_scans,
           pg_catalog.string_agg(DISTINCT s.label, ', ')
             FILTER (WHERE s.side OPERATOR(pg_catalog.=) 'reference' AND pg_catalog.cardinality(s.cols) OPERATOR(pg_catalog.>) 0) AS reference_scans,
           ARRAY(SELECT DISTINCT c FROM scans r CROSS JOIN LATERAL pg_catalog.unnest(r.cols) AS c
                 WHERE r.rel OPERATOR(pg_catalog.=) s.rel AND r.side OPERATOR(pg_catalog.=) 'reference'
                 EXCEPT
                 SELECT c FROM scans p CROSS JOIN LATERAL pg_catalog.unnest(p.cols) AS c
                 WHERE p.rel OPERATOR(pg_catalog.=) s.rel AND p.side OPERATOR(pg_catalog.=) 'persona'
                 ORDER BY 1) AS lost_cols
    FROM scans s
    GROUP BY s.rel
  ),
  sorts AS (
    SELECT s.side, n.node
    FROM (VALUES ('persona', persona), ('reference', reference)) AS s(side, plan)
    CROSS JOIN LATERAL careguard.plan_nodes(s.plan) n
    WHERE NOT n.in_subplan
      AND (n.node OPERATOR(pg_catalog.->>) 'Node Type') OPERATOR(pg_catalog.=) ANY (ARRAY['Sort', 'Incremental Sort'])
  ),
  lost AS (
    SELECT pg_catalog.format('%s: %s''s plan finds its rows through an index on %s (%s), this plan has no index condition on %s (%s)',
             r.rel, reference_role, pg_catalog.array_to_string(r.lost_cols, ', '), r.reference_scans,
             CASE WHEN pg_catalog.cardinality(r.lost_cols) OPERATOR(pg_catalog.=) 1 THEN 'it' ELSE 'them' END,
             r.persona_scans) AS what
    FROM per_relation r
    WHERE r.persona_scans IS NOT NULL AND pg_catalog.cardinality(r.lost_cols) OPERATOR(pg_catalog.>) 0
    UNION ALL
    SELECT pg_catalog.format('the plan sorts (%s), where %s''s plan needs no such sort: its scan returns the rows in order',
             pg_catalog.string_agg(pg_catalog.concat(s.node OPERATOR(pg_catalog.->>) 'Node Type', ' by ',
               (SELECT pg_catalog.string_agg(k, ', ')
                FROM pg_catalog.jsonb_array_elements_text(s.node OPERATOR(pg_catalog.->) 'Sort Key') AS k)), '; ')
               FILTER (WHERE s.side OPERATOR(pg_catalog.=) 'persona'),
             reference_role)
    FROM sorts s
    HAVING pg_catalog.count(*) FILTER (WHERE s.side OPERATOR(pg_catalog.=) 'persona')
           OPERATOR(pg_catalog.>) pg_catalog.count(*) FILTER (WHERE s.side OPERATOR(pg_catalog.=) 'reference')
  )
  SELECT COALESCE(pg_catalog.array_agg(l.what ORDER BY l.what), '{}'::text[]) FROM lost l
$losses$;
COMMENT ON FUNCTION careguard.plan_index_losses(jsonb, jsonb, text) IS
  'Query-plan internals: index and ordered scans the persona''s plan lost against the bypassing reference plan.';

-- The relations a plan reads, anywhere in it.
CREATE FUNCTION careguard.plan_relations(plan jsonb) RETURNS text[]
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $relations$
  SELECT COALESCE(pg_catalog.array_agg(DISTINCT careguard.plan_node_relation(n.node)), '{}'::text[])
  FROM careguard.plan_nodes(plan) n
  WHERE n.node OPERATOR(pg_catalog.?) 'Relation Name'
$relations$;
COMMENT ON FUNCTION careguard.plan_relations(jsonb) IS
  'Query-plan internals: schema.relation of every relation an EXPLAIN JSON plan scans.';

REVOKE ALL ON FUNCTION careguard.plan_nodes(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION careguard.plan_node_relation(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION careguard.plan_node_label(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION careguard.plan_node_actuals(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION careguard.plan_per_row_expressions(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION careguard.plan_claim_helper_pattern() FROM PUBLIC;
REVOKE ALL ON FUNCTION careguard.plan_claims_per_row(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION careguard.plan_subplans_per_row(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION careguard.plan_index_columns(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION careguard.plan_index_losses(jsonb, jsonb, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION careguard.plan_relations(jsonb) FROM PUBLIC;
