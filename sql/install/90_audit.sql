-- Policy audit: careguard.audit() reports holes in RLS, policies, indexes,
-- functions, views, privileges and backups of any schema, extension-owned
-- objects included; careguard.access_matrix() shows who can see and change
-- what. Every rule is documented in docs/audit-rules.md.

-- Schemas holding protected health information; the DBA may add their own.
-- Rows careguard ships are marked builtin so pg_dump keeps only the DBA's.
CREATE TABLE careguard.audit_phi_schemas (
  schema_name name PRIMARY KEY,
  builtin boolean NOT NULL DEFAULT false
);
COMMENT ON TABLE careguard.audit_phi_schemas IS
  'Schemas whose contents are PHI: the phi_public_grant audit rule checks them.';
INSERT INTO careguard.audit_phi_schemas (schema_name, builtin)
  VALUES ('patients', true), ('bookings', true);
SELECT pg_catalog.pg_extension_config_dump('careguard.audit_phi_schemas', 'WHERE NOT builtin');
ALTER TABLE careguard.audit_phi_schemas ENABLE ROW LEVEL SECURITY;
ALTER TABLE careguard.audit_phi_schemas FORCE ROW LEVEL SECURITY;
REVOKE ALL ON careguard.audit_phi_schemas FROM PUBLIC;
GRANT SELECT ON careguard.audit_phi_schemas TO admin;
CREATE POLICY audit_phi_schemas_admin_read ON careguard.audit_phi_schemas
  FOR SELECT TO admin USING (true);

-- The rule catalogue: one row per rule id with its fixed severity. audit()
-- takes severities from here, the CLI builds SARIF's rules[] from it.
CREATE FUNCTION careguard.audit_rules()
  RETURNS TABLE (rule text, severity text, category text, summary text)
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $rules$
  SELECT * FROM (VALUES
    ('rls_disabled_exposed', 'error', 'rls',
     'Table readable by anon or authenticated with row-level security disabled'),
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
     'SECURITY DEFINER function without a pinned search_path'),
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
    ('phi_column_statistics', 'warning', 'privacy',
     'Free-text PHI column with planner statistics: EXPLAIN row estimates confirm guessed values past RLS'),
    ('careguard_not_preloaded', 'error', 'configuration',
     'careguard is not in shared_preload_libraries, so it trusts no identity and sign-in is refused')
  ) AS r(rule, severity, category, summary)
$rules$;
COMMENT ON FUNCTION careguard.audit_rules() IS
  'The audit rule catalogue: id, severity, category, one-line summary. See docs/audit-rules.md.';

-- Removes every {SUBLINK ...} node from a node-tree string, leaving what a
-- policy evaluates on every row; a subquery is an initPlan, run once.
CREATE FUNCTION careguard.audit_strip_sublinks(tree text) RETURNS text
  LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $strip$
DECLARE
  start_at integer;
  pos integer;
  depth integer;
  ch text;
BEGIN
  LOOP
    start_at := pg_catalog.strpos(tree, '{SUBLINK');
    EXIT WHEN start_at OPERATOR(pg_catalog.=) 0;
    pos := start_at;
    depth := 0;
    -- nodeToString escapes braces inside tokens with a backslash, so
    -- counting unescaped braces finds the end of the node.
    LOOP
      ch := pg_catalog.substr(tree, pos, 1);
      EXIT WHEN ch OPERATOR(pg_catalog.=) '';
      IF ch OPERATOR(pg_catalog.=) E'\\' THEN
        pos := pos OPERATOR(pg_catalog.+) 1;
      ELSIF ch OPERATOR(pg_catalog.=) '{' THEN
        depth := depth OPERATOR(pg_catalog.+) 1;
      ELSIF ch OPERATOR(pg_catalog.=) '}' THEN
        depth := depth OPERATOR(pg_catalog.-) 1;
        EXIT WHEN depth OPERATOR(pg_catalog.=) 0;
      END IF;
      pos := pos OPERATOR(pg_catalog.+) 1;
    END LOOP;
    tree := pg_catalog.substr(tree, 1, start_at OPERATOR(pg_catalog.-) 1)
            OPERATOR(pg_catalog.||) '<sublink>'
            OPERATOR(pg_catalog.||) pg_catalog.substr(tree, pos OPERATOR(pg_catalog.+) 1);
  END LOOP;
  RETURN tree;
END
$strip$;
COMMENT ON FUNCTION careguard.audit_strip_sublinks(text) IS
  'Audit internals: a policy node tree without its subqueries (the per-row part).';

-- Function OIDs a node tree calls (FUNCEXPR funcid and OPEXPR opfuncid).
CREATE FUNCTION careguard.audit_called_functions(tree text) RETURNS oid[]
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $called$
  SELECT COALESCE(pg_catalog.array_agg(DISTINCT m[1]::oid), '{}'::oid[])
  FROM pg_catalog.regexp_matches(tree, ':(?:func|opfunc)id (\d+)', 'g') AS m
$called$;
COMMENT ON FUNCTION careguard.audit_called_functions(text) IS
  'Audit internals: OIDs of the functions and operator functions a node tree calls.';

-- Attribute numbers of the policy's own table read at the top query level.
CREATE FUNCTION careguard.audit_own_columns(tree text) RETURNS smallint[]
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $cols$
  SELECT COALESCE(pg_catalog.array_agg(DISTINCT m[1]::smallint), '{}'::smallint[])
  FROM pg_catalog.regexp_matches(tree,
    '\{VAR :varno 1 :varattno (\d+) :vartype \d+ :vartypmod -?\d+ :varcollid \d+ :varlevelsup 0 ',
    'g') AS m
$cols$;
COMMENT ON FUNCTION careguard.audit_own_columns(text) IS
  'Audit internals: positive attnums of the policy table a node tree reads directly.';

-- A function body with its comments blanked and its string constants
-- ('...', E'...', U&'...', B'...', X'...', N'...', $tag$...$tag$) replaced by
-- the placeholder '' (so an expression keeps an operand). Quoted identifiers
-- are copied as they are, so a quote inside one starts no string. Nested
-- /* */ comments are followed. Standard-conforming strings are assumed.
CREATE FUNCTION careguard.audit_strip_comments_literals(body text) RETURNS text
  LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $lex$
DECLARE
  done text := '';
  rest text := body;
  pos integer;
  depth integer;
  tok text;
  tag text;
BEGIN
  LOOP
    pos := pg_catalog.regexp_instr(rest,
      '--|/\*|"|(?<![[:alnum:]_$])(?:[EeBbXxNn]|[Uu]&)?''|(?<![[:alnum:]_$])\$(?:[[:alpha:]_][[:alnum:]_]*)?\$');
    IF pos OPERATOR(pg_catalog.=) 0 THEN
      RETURN done OPERATOR(pg_catalog.||) rest;
    END IF;
    done := done OPERATOR(pg_catalog.||) pg_catalog.substr(rest, 1, pos OPERATOR(pg_catalog.-) 1);
    rest := pg_catalog.substr(rest, pos);
    IF pg_catalog.starts_with(rest, '--') THEN
      pos := pg_catalog.strpos(rest, E'\n');
      rest := CASE WHEN pos OPERATOR(pg_catalog.=) 0 THEN '' ELSE pg_catalog.substr(rest, pos) END;
      done := done OPERATOR(pg_catalog.||) ' ';
    ELSIF pg_catalog.starts_with(rest, '/*') THEN
      depth := 1;
      rest := pg_catalog.substr(rest, 3);
      WHILE depth OPERATOR(pg_catalog.>) 0 LOOP
        pos := pg_catalog.regexp_instr(rest, '/\*|\*/');
        IF pos OPERATOR(pg_catalog.=) 0 THEN
          rest := '';
          EXIT;
        END IF;
        IF pg_catalog.substr(rest, pos, 2) OPERATOR(pg_catalog.=) '/*' THEN
          depth := depth OPERATOR(pg_catalog.+) 1;
        ELSE
          depth := depth OPERATOR(pg_catalog.-) 1;
        END IF;
        rest := pg_catalog.substr(rest, pos OPERATOR(pg_catalog.+) 2);
      END LOOP;
      done := done OPERATOR(pg_catalog.||) ' ';
    ELSIF pg_catalog.starts_with(rest, '"') THEN
      tok := (pg_catalog.regexp_match(rest, '^("(?:[^"]|"")*"?)'))[1];
      done := done OPERATOR(pg_catalog.||) tok;
      rest := pg_catalog.substr(rest, pg_catalog.length(tok) OPERATOR(pg_catalog.+) 1);
    ELSIF pg_catalog.starts_with(rest, '$') THEN
      tag := (pg_catalog.regexp_match(rest, '^(\$(?:[[:alpha:]_][[:alnum:]_]*)?\$)'))[1];
      rest := pg_catalog.substr(rest, pg_catalog.length(tag) OPERATOR(pg_catalog.+) 1);
      pos := pg_catalog.strpos(rest, tag);
      rest := CASE WHEN pos OPERATOR(pg_catalog.=) 0 THEN ''
                   ELSE pg_catalog.substr(rest, pos OPERATOR(pg_catalog.+) pg_catalog.length(tag)) END;
      done := done OPERATOR(pg_catalog.||) ' '''' ';
    ELSE
      -- E'...' takes backslash escapes; every other kind only doubled quotes.
      tok := (pg_catalog.regexp_match(rest,
               CASE WHEN rest OPERATOR(pg_catalog.~) '^[Ee]' THEN '^([Ee]''(?:[^''\\]|\\.|'''')*''?)'
                    ELSE '^((?:[BbXxNn]|[Uu]&)?''(?:[^'']|'''')*''?)' END))[1];
      rest := pg_catalog.substr(rest, pg_catalog.length(tok) OPERATOR(pg_catalog.+) 1);
      done := done OPERATOR(pg_catalog.||) ' '''' ';
    END IF;
  END LOOP;
END
$lex$;
COMMENT ON FUNCTION careguard.audit_strip_comments_literals(text) IS
  'Audit internals: a SQL/plpgsql body without comments, its string constants replaced by ''''.';

-- Relation names a function body uses without a schema: the words after
-- FROM / JOIN / UPDATE / INSERT INTO that are not followed by "." or "(".
-- A heuristic, documented as such in docs/audit-rules.md.
CREATE FUNCTION careguard.audit_unqualified_relations(body text) RETURNS text[]
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $unq$
  WITH cleaned AS (
    -- Drop comments and string literals, then lower-case.
    -- "IS DISTINCT FROM x" compares values; it names no relation.
    SELECT pg_catalog.regexp_replace(pg_catalog.lower(careguard.audit_strip_comments_literals(body)),
             'distinct\s+from', ' ', 'g') AS src
  ), ctes AS (
    SELECT m[1] AS name
    FROM cleaned, pg_catalog.regexp_matches(cleaned.src, '([a-z_][a-z0-9_$]*)\s+as\s+(?:not\s+)?(?:materialized\s+)?\(', 'g') AS m
  ), hits AS (
    SELECT m[2] AS name
    FROM cleaned, pg_catalog.regexp_matches(cleaned.src,
      '(?:^|[^a-z0-9_$.])(from|join|update|insert\s+into)\s+(?:only\s+)?([a-z_][a-z0-9_$]*)(?![a-z0-9_$])(?!\s*[.(])',
      'g') AS m
  )
  SELECT COALESCE(pg_catalog.array_agg(DISTINCT h.name ORDER BY h.name), '{}'::text[])
  FROM hits h
  WHERE h.name OPERATOR(pg_catalog.<>) ALL (ARRAY['set', 'lateral', 'select', 'values', 'only', 'of',
                                                  'skip', 'nowait', 'new', 'old'])
    AND h.name OPERATOR(pg_catalog.<>) ALL (SELECT name FROM ctes)
    -- pg_catalog is searched first whatever search_path says.
    AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class c
                    WHERE c.relnamespace OPERATOR(pg_catalog.=) 'pg_catalog'::regnamespace
                      AND c.relname OPERATOR(pg_catalog.=) h.name::name)
$unq$;
COMMENT ON FUNCTION careguard.audit_unqualified_relations(text) IS
  'Audit internals: relation names a SQL/plpgsql body uses without a schema (heuristic).';

-- Operators a SQL/plpgsql body leaves to the search_path: bare operator
-- tokens (anything but OPERATOR(schema.op)), simple CASE (its WHEN compares
-- with an implicit =), and IN (...), BETWEEN, LIKE/ILIKE/SIMILAR TO and NULLIF,
-- which the parser turns into =, >=/<=, ~~/~~* and = looked up by name.
-- Returns the offending fragments in order of appearance. A heuristic on the
-- token stream, documented in docs/audit-rules.md with what it misses.
CREATE FUNCTION careguard.audit_implicit_operators(body text, lang text) RETURNS text[]
  LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $ops$
DECLARE
  src text;
  parts text[];
  toks text[] := '{}';
  run text;
  tail text;
  frags text[];
BEGIN
  src := careguard.audit_strip_comments_literals(body);
  -- A quoted identifier is an operand like any other.
  src := pg_catalog.regexp_replace(src, '"(?:[^"]|"")*"', ' quoted_identifier ', 'g');
  -- A schema-qualified OPERATOR(schema.op) is safe: keep only a marker that,
  -- like any operator, leaves the next token in operand position.
  src := pg_catalog.regexp_replace(src,
    'operator\s*\(\s*[[:alpha:]_][[:alnum:]_$]*\s*\.\s*[-+*/<>=~!@#%^&|`?]+\s*\)', ' operator ', 'gi');
  IF lang OPERATOR(pg_catalog.=) 'plpgsql' THEN
    -- <<label>>, #variable_conflict and the like are no operators.
    src := pg_catalog.regexp_replace(src, '<<\s*[[:alpha:]_][[:alnum:]_$]*\s*>>', ' ', 'g');
    src := pg_catalog.regexp_replace(src,
      '#\s*(?:variable_conflict|print_strict_params|option)\M[^\n;]*', ' ', 'gi');
    -- In the DECLARE section, "name type = default" assigns: the first lone
    -- = of each declaration becomes :=, which is dropped below.
    parts := pg_catalog.regexp_match(src, '^(\s*declare\M)(.*?)(\mbegin\M.*)$', 'i');
    IF parts IS NOT NULL THEN
      src := parts[1] OPERATOR(pg_catalog.||) pg_catalog.regexp_replace(parts[2],
               '(^|;)([^;=:]*?)(?<![-+*/<>=~!@#%^&|`?])=(?![-+*/<>=~!@#%^&|`?])', '\1\2 := ', 'g')
             OPERATOR(pg_catalog.||) parts[3];
    END IF;
  END IF;

  -- Tokens: words, $n, numbers, the '' placeholder, ::, :=, operator runs,
  -- single punctuation characters.
  FOR run IN
    SELECT m[1] FROM pg_catalog.regexp_matches(src,
      '([[:alpha:]_][[:alnum:]_$]*|\$[0-9]+|[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?|\.[0-9]+(?:[eE][-+]?[0-9]+)?|''''|::|:=|[-+*/<>=~!@#%^&|`?]+|[^[:space:]])',
      'g') WITH ORDINALITY AS r(m, ord)
    ORDER BY ord
  LOOP
    -- The lexer's rule: a multi-character operator ends in + or - only if it
    -- also holds one of ~ ! @ # % ^ & | ` ?; otherwise they are split off.
    IF run OPERATOR(pg_catalog.~) '^[-+*/<>=~!@#%^&|`?]{2,}$'
       AND run OPERATOR(pg_catalog.!~) '[~!@#%^&|`?]' THEN
      tail := (pg_catalog.regexp_match(run, '^(.*?)([-+]*)$'))[2];
      IF tail OPERATOR(pg_catalog.<>) '' AND pg_catalog.length(tail) OPERATOR(pg_catalog.<) pg_catalog.length(run) THEN
        toks := toks OPERATOR(pg_catalog.||) pg_catalog.left(run, pg_catalog.length(run) OPERATOR(pg_catalog.-) pg_catalog.length(tail));
        toks := toks OPERATOR(pg_catalog.||) pg_catalog.regexp_split_to_array(tail, '');
        CONTINUE;
      ELSIF tail OPERATOR(pg_catalog.<>) '' THEN
        toks := toks OPERATOR(pg_catalog.||) pg_catalog.regexp_split_to_array(tail, '');
        CONTINUE;
      END IF;
    END IF;
    toks := toks OPERATOR(pg_catalog.||) run;
  END LOOP;

  WITH t0 AS (
    SELECT CASE WHEN u.tok OPERATOR(pg_catalog.=) '''''' THEN '''...''' ELSE u.tok END AS tok,
           pg_catalog.lower(u.tok) AS lt, u.i
    FROM pg_catalog.unnest(toks) WITH ORDINALITY AS u(tok, i)
  ), t AS (
    -- Parenthesis depth, to find the clause a token belongs to.
    SELECT t0.*, pg_catalog.sum(CASE WHEN t0.tok OPERATOR(pg_catalog.=) '(' THEN 1
                                           WHEN t0.tok OPERATOR(pg_catalog.=) ')' THEN -1 ELSE 0 END)
                   OVER (ORDER BY t0.i) AS depth
    FROM t0
  ), w AS (
    SELECT t.tok, t.lt, t.i, t.depth,
           pg_catalog.lag(t.tok, 1) OVER o AS ptok, pg_catalog.lead(t.tok, 1) OVER o AS ntok,
           pg_catalog.lag(t.lt, 1) OVER o AS p1, pg_catalog.lag(t.lt, 2) OVER o AS p2,
           pg_catalog.lag(t.lt, 3) OVER o AS p3, pg_catalog.lag(t.lt, 4) OVER o AS p4,
           pg_catalog.lead(t.lt, 1) OVER o AS n1, pg_catalog.lead(t.lt, 2) OVER o AS n2
    FROM t WINDOW o AS (ORDER BY t.i)
  ), c AS (
    SELECT w.*,
           -- Whether the previous token ends an operand (so an operator here is binary).
           COALESCE(w.p1 OPERATOR(pg_catalog.~) '^(?:[[:alpha:]_][[:alnum:]_$]*|\$[0-9]+|\.?[0-9].*|''''|\)|\])$'
            AND w.p1 OPERATOR(pg_catalog.<>) ALL (ARRAY[
              'select', 'distinct', 'all', 'returning', 'then', 'else', 'when', 'return', 'and', 'or',
              'not', 'in', 'values', 'by', 'limit', 'offset', 'between', 'is', 'like', 'ilike', 'similar',
              'to', 'case', 'where', 'having', 'on', 'using', 'into', 'default', 'set', 'operator',
              'if', 'elsif', 'while', 'until', 'exit', 'continue', 'raise', 'perform', 'exists',
              'loop', 'begin', 'declare', 'any', 'some', 'array', 'with', 'as', 'do', 'execute',
              'from', 'join', 'assert', 'next', 'query', 'strict', 'over', 'filter']), false) AS after_operand,
           -- A plpgsql statement (or SQL SET item) starts before p1 (or p1.p3).
           COALESCE(w.p2 OPERATOR(pg_catalog.=) ANY (ARRAY['set', 'local', 'session', 'diagnostics'])
            OR (lang OPERATOR(pg_catalog.=) 'plpgsql'
                AND (COALESCE(w.p2, ';') OPERATOR(pg_catalog.=) ANY (ARRAY[';', 'begin', 'loop', 'then', 'else', 'declare'])
                     OR (w.p2 OPERATOR(pg_catalog.=) '.' AND w.p3 OPERATOR(pg_catalog.~) '^[[:alpha:]_]'
                         AND COALESCE(w.p4, ';') OPERATOR(pg_catalog.=) ANY (ARRAY[';', 'begin', 'loop', 'then', 'else']))))
            -- RAISE ... USING ERRCODE = ..., HINT = ...
            OR (lang OPERATOR(pg_catalog.=) 'plpgsql'
                AND w.p2 OPERATOR(pg_catalog.=) ANY (ARRAY['using', ','])
                AND w.p1 OPERATOR(pg_catalog.=) ANY (ARRAY['errcode', 'message', 'detail', 'hint', 'column',
                                                           'constraint', 'datatype', 'table', 'schema']))
            -- the second and later items of UPDATE ... SET a = x, b = y
            OR (w.lt OPERATOR(pg_catalog.=) '=' AND w.p2 OPERATOR(pg_catalog.=) ','
                AND (SELECT k.lt FROM t k
                     WHERE k.i OPERATOR(pg_catalog.<) w.i AND k.depth OPERATOR(pg_catalog.=) w.depth
                       AND k.lt OPERATOR(pg_catalog.=) ANY (ARRAY['set', 'select', 'where', 'from', 'returning',
                             'values', 'on', 'when', 'then', 'else', 'and', 'or', ';', 'having', 'using', 'into',
                             'if', 'elsif', 'return', 'by', 'begin', 'loop'])
                     ORDER BY k.i DESC LIMIT 1) OPERATOR(pg_catalog.=) 'set'), false) AS assign_start
    FROM w
  ), hits AS (
    SELECT c.i,
           CASE
             WHEN c.lt OPERATOR(pg_catalog.=) 'case'
               -- CASE and its test expression, up to WHEN (at most eight tokens).
               THEN (SELECT pg_catalog.string_agg(k.tok, ' ' ORDER BY k.i)
                     FROM t k
                     WHERE k.i OPERATOR(pg_catalog.>=) c.i AND k.i OPERATOR(pg_catalog.<) (c.i OPERATOR(pg_catalog.+) 8)
                       AND k.i OPERATOR(pg_catalog.<=) COALESCE(
                             (SELECT pg_catalog.min(x.i) FROM t x
                              WHERE x.i OPERATOR(pg_catalog.>) c.i AND x.lt OPERATOR(pg_catalog.=) 'when'), c.i))
                    OPERATOR(pg_catalog.||) ' ...'
             -- the operator and its neighbours, with dotted names whole.
             ELSE (SELECT pg_catalog.string_agg(k.tok, ' ' ORDER BY k.i)
                   FROM t k
                   WHERE k.i OPERATOR(pg_catalog.>=) (c.i OPERATOR(pg_catalog.-) CASE WHEN c.p2 OPERATOR(pg_catalog.=) '.' THEN 3 ELSE 1 END)
                     AND k.i OPERATOR(pg_catalog.<=) (c.i OPERATOR(pg_catalog.+) CASE WHEN c.n2 OPERATOR(pg_catalog.=) '.' THEN 3 ELSE 1 END))
           END AS frag
    FROM c
    WHERE
      -- (a) simple CASE: CASE not directly followed by WHEN (END CASE ends a plpgsql CASE).
      (c.lt OPERATOR(pg_catalog.=) 'case' AND c.p1 IS DISTINCT FROM 'end'
       AND c.n1 IS DISTINCT FROM 'when')
      -- (b) a bare operator token, except the non-operator uses of its characters.
      OR (c.tok OPERATOR(pg_catalog.~) '^[-+*/<>=~!@#%^&|`?]+$'
          AND c.tok OPERATOR(pg_catalog.<>) '=>'                    -- named argument
          AND NOT (c.tok OPERATOR(pg_catalog.=) '*'                 -- SELECT *, t.*, count(*)
                   AND (NOT c.after_operand
                        OR COALESCE(c.n1, ';') OPERATOR(pg_catalog.=) ANY (ARRAY[',', ')', ';', 'from', 'into'])))
          AND NOT (c.tok OPERATOR(pg_catalog.=) '-'                 -- a negative numeric literal
                   AND NOT c.after_operand
                   AND c.n1 OPERATOR(pg_catalog.~) '^\.?[0-9]'
                   AND c.n2 IS DISTINCT FROM '::')
          AND NOT (c.tok OPERATOR(pg_catalog.=) '%'                 -- %TYPE, %ROWTYPE
                   AND c.n1 OPERATOR(pg_catalog.=) ANY (ARRAY['type', 'rowtype']))
          AND NOT (c.tok OPERATOR(pg_catalog.=) '='                 -- assignment
                   AND c.p1 OPERATOR(pg_catalog.~) '^[[:alpha:]_]' AND c.assign_start))
      -- (c) keyword forms the parser turns into operators looked up by name.
      OR (c.lt OPERATOR(pg_catalog.=) ANY (ARRAY['like', 'ilike', 'similar', 'between'])
          AND (c.after_operand OR c.p1 OPERATOR(pg_catalog.=) 'not'))
      OR (c.lt OPERATOR(pg_catalog.=) 'in' AND c.n1 OPERATOR(pg_catalog.=) '('
          AND (c.after_operand OR c.p1 OPERATOR(pg_catalog.=) 'not')
          AND COALESCE(c.p2, '') OPERATOR(pg_catalog.<>) ALL (ARRAY['for', 'foreach']))
      OR (c.lt OPERATOR(pg_catalog.=) 'nullif' AND c.n1 OPERATOR(pg_catalog.=) '('
          AND c.p1 IS DISTINCT FROM '.')
  )
  SELECT COALESCE(pg_catalog.array_agg(d.frag ORDER BY d.first_i), '{}'::text[]) INTO frags
  FROM (SELECT pg_catalog.regexp_replace(h.frag, ' ?\. ?', '.', 'g') AS frag, pg_catalog.min(h.i) AS first_i
        FROM hits h GROUP BY 1) d;
  RETURN frags;
END
$ops$;
COMMENT ON FUNCTION careguard.audit_implicit_operators(text, text) IS
  'Audit internals: fragments of a SQL/plpgsql body whose operators the caller''s search_path resolves (heuristic).';

-- Whether a role exists and holds a privilege on a table (false if no such role).
CREATE FUNCTION careguard.audit_role_can(role_name text, rel oid, privilege text) RETURNS boolean
  LANGUAGE sql STABLE STRICT PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $can$
  SELECT pg_catalog.to_regrole(role_name) IS NOT NULL
     AND pg_catalog.has_schema_privilege(role_name,
           (SELECT c.relnamespace FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) rel),
           'USAGE')
     AND pg_catalog.has_table_privilege(role_name, rel, privilege)
$can$;
COMMENT ON FUNCTION careguard.audit_role_can(text, oid, text) IS
  'Audit internals: true when the role exists, may use the schema and holds the table privilege.';

-- Whether an extension-owned table holds at least one row.
CREATE FUNCTION careguard.audit_table_has_rows(rel oid) RETURNS boolean
  LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $rows$
DECLARE
  found_row boolean;
BEGIN
  -- Without SELECT (or under RLS) a count could lie: fall back to statistics.
  IF NOT pg_catalog.has_table_privilege(rel, 'SELECT')
     OR pg_catalog.row_security_active(rel) THEN
    RETURN (SELECT c.reltuples OPERATOR(pg_catalog.>) 0 OR c.relpages OPERATOR(pg_catalog.>) 0
            FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) rel);
  END IF;
  EXECUTE pg_catalog.format('SELECT EXISTS (SELECT 1 FROM %s)', rel::regclass) INTO found_row;
  RETURN found_row;
END
$rows$;
COMMENT ON FUNCTION careguard.audit_table_has_rows(oid) IS
  'Audit internals: does the table hold data (exact when readable, else from statistics).';

-- The audit itself: one row per finding over the named schemas.
CREATE FUNCTION careguard.audit(
    schemas text[] DEFAULT ARRAY['public', 'providers', 'patients', 'bookings', 'auth'])
  RETURNS TABLE (rule text, severity text, object text, detail text, fix text)
  LANGUAGE sql STABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $audit$
WITH
audited_ns AS (
  SELECT n.oid, n.nspname FROM pg_catalog.pg_namespace n
  WHERE n.nspname OPERATOR(pg_catalog.=) ANY (schemas)
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
                 WHERE cfg LIKE 'search\_path=%') AS pinned
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
careguard_members AS (
  SELECT d.classid, d.objid FROM pg_catalog.pg_depend d
  JOIN pg_catalog.pg_extension e ON e.oid OPERATOR(pg_catalog.=) d.refobjid
  WHERE d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::regclass
    AND d.deptype OPERATOR(pg_catalog.=) 'e' AND e.extname OPERATOR(pg_catalog.=) 'careguard'
),
findings AS (
  -- RLS state -------------------------------------------------------------
  SELECT 'rls_disabled_exposed' AS rule, t.qname AS object,
         'row-level security is disabled and '
           OPERATOR(pg_catalog.||) pg_catalog.array_to_string(ARRAY(
             SELECT r FROM pg_catalog.unnest(ARRAY['anon', 'authenticated']) AS r
             WHERE careguard.audit_role_can(r, t.oid, 'SELECT')), ' and ')
           OPERATOR(pg_catalog.||) ' can SELECT from it: every row is visible' AS detail,
         pg_catalog.format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY; then add policies', t.qname) AS fix
  FROM tables t
  WHERE NOT t.relrowsecurity
    AND (careguard.audit_role_can('anon', t.oid, 'SELECT')
         OR careguard.audit_role_can('authenticated', t.oid, 'SELECT'))
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
  SELECT 'write_policy_unchecked', p.qname,
         CASE WHEN p.check_sql IS NULL AND p.polcmd OPERATOR(pg_catalog.=) 'a'
                THEN 'INSERT policy without WITH CHECK'
              WHEN p.check_sql IS NULL
                THEN 'no WITH CHECK: new rows are checked only against USING (' OPERATOR(pg_catalog.||) COALESCE(p.qual_sql, '') OPERATOR(pg_catalog.||) ')'
              ELSE 'WITH CHECK (true) lets the role write any row' END
           OPERATOR(pg_catalog.||) ' for ' OPERATOR(pg_catalog.||) pg_catalog.array_to_string(p.role_names, ', '),
         'state explicitly which new rows the role may write: WITH CHECK (<ownership predicate>)'
  FROM policies p
  WHERE p.polcmd OPERATOR(pg_catalog.=) ANY (ARRAY['a', 'w', '*']::"char"[])
    AND (p.check_sql IS NULL
         OR (p.check_sql OPERATOR(pg_catalog.=) 'true'
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
              AND NOT EXISTS (SELECT 1 FROM careguard_members m
                              WHERE m.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::regclass
                                AND m.objid OPERATOR(pg_catalog.=) f.oid)) AS helpers
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
         'SECURITY DEFINER without SET search_path: a caller can plant objects in an earlier schema and run them with the owner''s rights',
         pg_catalog.format('ALTER FUNCTION %s SET search_path = pg_catalog, pg_temp', f.qname)
  FROM functions f
  WHERE f.prosecdef AND NOT f.pinned
  UNION ALL
  SELECT 'secdef_executable_by_anon', f.qname,
         'SECURITY DEFINER and executable by anon: unauthenticated callers run it with the owner''s rights',
         pg_catalog.format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC, anon (or document why anon needs it)', f.qname)
  FROM functions f
  WHERE f.prosecdef
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
    -- Free text: string types and json, or arrays of them.
    AND (ty.typcategory OPERATOR(pg_catalog.=) 'S' OR elem.typcategory OPERATOR(pg_catalog.=) 'S'
         OR a.atttypid OPERATOR(pg_catalog.=) ANY (ARRAY['pg_catalog.json'::regtype, 'pg_catalog.jsonb'::regtype]::oid[]))
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

-- The audit reads only catalogs: admin (the application's DBA-level role)
-- may run it; nobody else sees the inventory of holes.
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
REVOKE ALL ON careguard.audit_findings FROM PUBLIC;
GRANT USAGE ON SCHEMA careguard TO admin;
GRANT EXECUTE ON FUNCTION careguard.audit_rules() TO admin;
GRANT EXECUTE ON FUNCTION careguard.audit_strip_sublinks(text) TO admin;
GRANT EXECUTE ON FUNCTION careguard.audit_called_functions(text) TO admin;
GRANT EXECUTE ON FUNCTION careguard.audit_own_columns(text) TO admin;
GRANT EXECUTE ON FUNCTION careguard.audit_strip_comments_literals(text) TO admin;
GRANT EXECUTE ON FUNCTION careguard.audit_unqualified_relations(text) TO admin;
GRANT EXECUTE ON FUNCTION careguard.audit_implicit_operators(text, text) TO admin;
GRANT EXECUTE ON FUNCTION careguard.audit_role_can(text, oid, text) TO admin;
GRANT EXECUTE ON FUNCTION careguard.audit_table_has_rows(oid) TO admin;
GRANT EXECUTE ON FUNCTION careguard.audit(text[]) TO admin;
GRANT SELECT ON careguard.audit_findings TO admin;

-- One context per application role, using real users from the data where the
-- concern tables exist; a context is {"name", "role", "claims"}.
CREATE FUNCTION careguard.access_matrix_default_contexts() RETURNS jsonb
  LANGUAGE plpgsql STABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $contexts$
DECLARE
  patient_id uuid;
  provider_user uuid;
  provider_profile uuid;
  admin_id uuid;
  any_user uuid;
BEGIN
  -- Each lookup runs only when its table exists: the audit must work on a
  -- database whose concern schemas are partial or absent.
  IF pg_catalog.to_regclass('patients.profiles') IS NOT NULL THEN
    EXECUTE 'SELECT p.id FROM patients.profiles p ORDER BY p.id LIMIT 1' INTO patient_id;
  END IF;
  IF pg_catalog.to_regclass('providers.profiles') IS NOT NULL THEN
    EXECUTE 'SELECT p.user_id, p.id FROM providers.profiles p ORDER BY p.id LIMIT 1'
      INTO provider_user, provider_profile;
  END IF;
  IF pg_catalog.to_regclass('auth.users') IS NOT NULL THEN
    EXECUTE $q$SELECT u.id FROM auth.users u
               WHERE u.raw_app_meta_data OPERATOR(pg_catalog.->>) 'role' OPERATOR(pg_catalog.=) 'admin'
               ORDER BY u.id LIMIT 1$q$ INTO admin_id;
    EXECUTE 'SELECT u.id FROM auth.users u ORDER BY u.id LIMIT 1' INTO any_user;
  END IF;
  RETURN pg_catalog.jsonb_build_array(
    pg_catalog.jsonb_build_object('name', 'anon', 'role', 'anon',
      'claims', pg_catalog.jsonb_build_object('role', 'anon')),
    pg_catalog.jsonb_build_object('name', 'patient', 'role', 'patient',
      'claims', pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
        'sub', patient_id, 'role', 'patient', 'aud', 'authenticated'))),
    pg_catalog.jsonb_build_object('name', 'provider', 'role', 'provider',
      'claims', pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
        'sub', provider_user, 'role', 'provider', 'provider_id', provider_profile,
        'aud', 'authenticated'))),
    pg_catalog.jsonb_build_object('name', 'admin', 'role', 'admin',
      'claims', pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
        'sub', admin_id, 'role', 'admin', 'aud', 'authenticated'))),
    pg_catalog.jsonb_build_object('name', 'service_role', 'role', 'service_role',
      'claims', pg_catalog.jsonb_build_object('role', 'service_role')),
    pg_catalog.jsonb_build_object('name', 'authenticated', 'role', 'authenticated',
      'claims', pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
        'sub', any_user, 'role', 'authenticated', 'aud', 'authenticated'))));
END
$contexts$;
COMMENT ON FUNCTION careguard.access_matrix_default_contexts() IS
  'The access matrix''s default contexts: anon, patient, provider, admin, service_role, authenticated, with real user ids.';

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
CREATE FUNCTION careguard.access_matrix(
    contexts jsonb DEFAULT NULL,
    schemas text[] DEFAULT ARRAY['public', 'providers', 'patients', 'bookings', 'auth'])
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
  -- Where no write can run, every write probe would fail with 25006 and read
  -- as "denied": a report from a replica would say "all locked down". Say
  -- instead that the verdict is unknown, in every row and once out loud.
  IF pg_catalog.pg_is_in_recovery() THEN
    writes_not_probed := 'read-only standby';
  ELSIF pg_catalog.current_setting('transaction_read_only') OPERATOR(pg_catalog.=) 'on' THEN
    writes_not_probed := 'read-only transaction';
  END IF;
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
      -- A row to copy when the context sees none: the invoker's first row.
      EXECUTE pg_catalog.format('SELECT pg_catalog.to_jsonb(t) FROM %s AS t LIMIT 1', rel.qname)
        INTO fallback_row;

      -- SELECT: how many rows the context sees, and one of them.
      BEGIN
        PERFORM pg_catalog.set_config('role', ctx_role, true);
        PERFORM pg_catalog.set_config('request.jwt.claims', ctx_claims, true);
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
          PERFORM pg_catalog.set_config('role', ctx_role, true);
          PERFORM pg_catalog.set_config('request.jwt.claims', ctx_claims, true);
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
        PERFORM pg_catalog.set_config('role', ctx_role, true);
        PERFORM pg_catalog.set_config('request.jwt.claims', ctx_claims, true);
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
        PERFORM pg_catalog.set_config('role', ctx_role, true);
        PERFORM pg_catalog.set_config('request.jwt.claims', ctx_claims, true);
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
REVOKE ALL ON FUNCTION careguard.access_matrix(jsonb, text[]) FROM PUBLIC;
