-- The catalogue beside the dump, by plain queries that need no careguard
-- function (0.2.0 has none): policies, grants, comments and extension
-- config registrations, by name, in a stable order.
\pset format unaligned
\pset tuples_only on
SELECT 'policy', schemaname, tablename, policyname, permissive, roles::text, cmd, qual, with_check
  FROM pg_policies ORDER BY 2, 3, 4;
SELECT 'acl', n.nspname, c.relname, c.relkind, ARRAY(SELECT x::text FROM unnest(c.relacl) x ORDER BY 1)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND c.relacl IS NOT NULL ORDER BY 2, 3;
SELECT 'column acl', c.oid::regclass::text, a.attname, ARRAY(SELECT x::text FROM unnest(a.attacl) x ORDER BY 1)
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND a.attacl IS NOT NULL
   AND NOT a.attisdropped ORDER BY 2, 3;
SELECT 'function acl', p.oid::regprocedure::text, ARRAY(SELECT x::text FROM unnest(p.proacl) x ORDER BY 1)
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 2;
SELECT 'schema acl', n.nspname, ARRAY(SELECT x::text FROM unnest(n.nspacl) x ORDER BY 1)
  FROM pg_namespace n WHERE n.nspname NOT LIKE 'pg\_%' ORDER BY 2;
SELECT 'comment', o.type, o.identity, d.description
  FROM pg_description d CROSS JOIN LATERAL pg_identify_object(d.classoid, d.objoid, d.objsubid) o
 WHERE coalesce(o.schema, '') NOT IN ('pg_catalog', 'information_schema')
 ORDER BY 2, 3;
SELECT 'extension', e.extname, e.extversion,
       ARRAY(SELECT u.c::regclass::text || ' ' || u.w FROM ROWS FROM (unnest(e.extconfig), unnest(e.extcondition)) u(c, w)
              ORDER BY 1)
  FROM pg_extension e ORDER BY 2;
