-- Upgrade piece 0.3.0 -> 0.4.0: bookings.slot_is_available() in PL/pgSQL
-- (sql/careguard_booking/70_bookings.sql says why); same query, grants kept.
CREATE OR REPLACE FUNCTION bookings.slot_is_available(provider_id pg_catalog.uuid, starts_at pg_catalog.timestamptz,
                                                      ends_at pg_catalog.timestamptz)
  RETURNS pg_catalog.bool
  LANGUAGE plpgsql STABLE PARALLEL SAFE
  SUPPORT careguard.claims_support
  SET search_path = pg_catalog, pg_temp
  AS $fn$
BEGIN
  RETURN EXISTS (
    SELECT 1 FROM providers.availability av
     WHERE av.provider_id OPERATOR(pg_catalog.=) slot_is_available.provider_id
       AND av.during OPERATOR(pg_catalog.@>) pg_catalog.tstzrange(starts_at, ends_at, '[)'));
END
$fn$;
