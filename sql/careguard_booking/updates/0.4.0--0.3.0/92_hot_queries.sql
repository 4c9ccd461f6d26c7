-- careguard_booking's hot queries leave the plan audit. Run before (or
-- without) careguard's own step down, whose registry may already be gone.
DO $unregister$
BEGIN
  IF pg_catalog.to_regclass('careguard.query_registry') IS NOT NULL THEN
    DELETE FROM careguard.query_registry q
     WHERE q.registered_by_extension OPERATOR(pg_catalog.=) 'careguard_booking';
  END IF;
END
$unregister$;
