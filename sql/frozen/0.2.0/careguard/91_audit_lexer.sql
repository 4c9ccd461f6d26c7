-- The audit's readers of node trees and function bodies: the lexer-level
-- helpers the rules of 92_audit.sql are built from.

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

-- Whether a function's SET search_path is one a caller cannot plant objects
-- in: every schema it names is pg_catalog, or exists and only superusers can
-- create in it (its owner is one, and no other role holds CREATE); pg_temp
-- named, and last; never $user. No SET search_path at all is not pinned.
CREATE FUNCTION careguard.audit_trusted_search_path(proconfig text[]) RETURNS boolean
  LANGUAGE plpgsql STABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $trusted$
DECLARE
  setting text;
  entries text[];
  entry text;
  position int := 0;
BEGIN
  SELECT pg_catalog.substr(c, 13) INTO setting FROM pg_catalog.unnest(proconfig) AS c
    WHERE c LIKE 'search\_path=%' LIMIT 1;
  IF setting IS NULL THEN
    RETURN false;
  END IF;
  entries := pg_catalog.string_to_array(setting, ',');
  -- Unless pg_temp is named, PostgreSQL searches it first for relations.
  IF pg_catalog.btrim(pg_catalog.btrim(entries[pg_catalog.cardinality(entries)]), '"')
       OPERATOR(pg_catalog.<>) 'pg_temp' THEN
    RETURN false;
  END IF;
  FOREACH entry IN ARRAY COALESCE(entries, '{}'::text[]) LOOP
    position := position OPERATOR(pg_catalog.+) 1;
    entry := pg_catalog.btrim(pg_catalog.btrim(entry), '"');
    CONTINUE WHEN entry OPERATOR(pg_catalog.=) '' OR entry OPERATOR(pg_catalog.=) 'pg_catalog';
    IF entry OPERATOR(pg_catalog.=) 'pg_temp' THEN
      IF position OPERATOR(pg_catalog.<>) pg_catalog.cardinality(entries) THEN
        RETURN false;
      END IF;
      CONTINUE;
    END IF;
    IF entry OPERATOR(pg_catalog.=) '$user' OR entry OPERATOR(pg_catalog.~) '^pg_(toast_)?temp_' OR NOT EXISTS (
         SELECT 1 FROM pg_catalog.pg_namespace n JOIN pg_catalog.pg_roles o ON o.oid OPERATOR(pg_catalog.=) n.nspowner
         WHERE n.nspname OPERATOR(pg_catalog.=) entry AND o.rolsuper
           AND NOT EXISTS (
             SELECT 1 FROM pg_catalog.aclexplode(n.nspacl) AS a
             LEFT JOIN pg_catalog.pg_roles g ON g.oid OPERATOR(pg_catalog.=) a.grantee
             WHERE a.privilege_type OPERATOR(pg_catalog.=) 'CREATE'
               AND (a.grantee OPERATOR(pg_catalog.=) 0 OR NOT g.rolsuper))) THEN
      RETURN false;
    END IF;
  END LOOP;
  RETURN true;
END
$trusted$;
COMMENT ON FUNCTION careguard.audit_trusted_search_path(text[]) IS
  'Audit internals: whether a SET search_path names only schemas no untrusted role can create objects in.';
REVOKE ALL ON FUNCTION careguard.audit_trusted_search_path(text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION careguard.audit_trusted_search_path(text[]) TO careguard_auditor;
