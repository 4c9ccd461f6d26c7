-- 0.3.0 has no query registry: queries a DBA registered (no extension's)
-- would be lost with it, so the downgrade refuses (CG010) while any exist.
-- A product's own rows go with the product's step down.
DO $refuse$
DECLARE
  registered pg_catalog.int8;
BEGIN
  SELECT pg_catalog.count(*) INTO registered FROM careguard.query_registry q
   WHERE q.registered_by_extension IS NULL;
  IF registered OPERATOR(pg_catalog.>) 0 THEN
    RAISE EXCEPTION USING ERRCODE = 'CG010',
      MESSAGE = pg_catalog.format('downgrade to 0.3.0 would lose data: %s rows of careguard.query_registry '
                                  '(queries registered with careguard.register_query)', registered),
      HINT = 'Keep them (pg_dump -t careguard.query_registry) and unregister them first, or stay on 0.4.0.';
  END IF;
END
$refuse$;
