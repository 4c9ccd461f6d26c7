-- Shared reference data in public: everyone reads it (anon included); only
-- admin writes it. Role-scoped policies: the write policies exist only for
-- admin, so no other role has a policy that could let a write through.

CREATE TABLE public.categories (
  id pg_catalog.uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
  parent_id pg_catalog.uuid,
  slug pg_catalog.text NOT NULL,
  name pg_catalog.text NOT NULL,
  description pg_catalog.text,
  created_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
  updated_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT categories_pkey PRIMARY KEY (id),
  CONSTRAINT categories_slug_key UNIQUE (slug),
  CONSTRAINT categories_parent_id_fkey FOREIGN KEY (parent_id)
    REFERENCES public.categories (id) ON DELETE RESTRICT,
  CONSTRAINT categories_slug_check CHECK (slug OPERATOR(pg_catalog.~) '^[a-z0-9]+(-[a-z0-9]+)*$'),
  CONSTRAINT categories_not_own_parent CHECK (parent_id OPERATOR(pg_catalog.<>) id)
);
CREATE INDEX categories_parent_id_idx ON public.categories (parent_id);
COMMENT ON TABLE public.categories IS 'Provider specialties, hierarchical through parent_id. Public reference data.';

CREATE TABLE public.locations (
  id pg_catalog.uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
  city pg_catalog.text NOT NULL,
  region pg_catalog.text NOT NULL,
  country pg_catalog.text NOT NULL,
  timezone pg_catalog.text NOT NULL,
  created_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
  updated_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT locations_pkey PRIMARY KEY (id),
  CONSTRAINT locations_city_region_country_key UNIQUE (country, region, city),
  CONSTRAINT locations_country_check CHECK (country OPERATOR(pg_catalog.~) '^[A-Z]{2}$')
);
COMMENT ON TABLE public.locations IS 'Cities where providers practise, with their IANA time zone. Public reference data.';

-- A CHECK constraint cannot consult the time zone database; this trigger
-- does, and fails with 22023 (invalid_parameter_value) on an unknown zone.
CREATE FUNCTION public.locations_check_timezone() RETURNS trigger
  LANGUAGE plpgsql STABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
  AS $fn$
BEGIN
  PERFORM pg_catalog.timezone(NEW.timezone, pg_catalog.now());
  RETURN NEW;
END
$fn$;
REVOKE ALL ON FUNCTION public.locations_check_timezone() FROM PUBLIC;
COMMENT ON FUNCTION public.locations_check_timezone() IS
  'BEFORE INSERT/UPDATE trigger on public.locations: rejects a time zone PostgreSQL does not know (22023).';

CREATE TRIGGER locations_check_timezone BEFORE INSERT OR UPDATE OF timezone ON public.locations
  FOR EACH ROW EXECUTE FUNCTION public.locations_check_timezone();
CREATE TRIGGER categories_touch_updated_at BEFORE UPDATE ON public.categories
  FOR EACH ROW EXECUTE FUNCTION careguard.touch_updated_at();
CREATE TRIGGER locations_touch_updated_at BEFORE UPDATE ON public.locations
  FOR EACH ROW EXECUTE FUNCTION careguard.touch_updated_at();

ALTER TABLE public.categories ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.categories FORCE ROW LEVEL SECURITY;
ALTER TABLE public.locations ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.locations FORCE ROW LEVEL SECURITY;

CREATE POLICY categories_select_all ON public.categories FOR SELECT TO anon, authenticated USING (true);
-- Admin writes need the admin role claim as well as the admin database role:
-- a login role that can SET ROLE admin without a token changes nothing.
CREATE POLICY categories_insert_admin ON public.categories FOR INSERT TO admin
  WITH CHECK (auth.role() OPERATOR(pg_catalog.=) 'admin');
CREATE POLICY categories_update_admin ON public.categories FOR UPDATE TO admin
  USING (auth.role() OPERATOR(pg_catalog.=) 'admin') WITH CHECK (auth.role() OPERATOR(pg_catalog.=) 'admin');
CREATE POLICY categories_delete_admin ON public.categories FOR DELETE TO admin
  USING (auth.role() OPERATOR(pg_catalog.=) 'admin');

CREATE POLICY locations_select_all ON public.locations FOR SELECT TO anon, authenticated USING (true);
CREATE POLICY locations_insert_admin ON public.locations FOR INSERT TO admin
  WITH CHECK (auth.role() OPERATOR(pg_catalog.=) 'admin');
CREATE POLICY locations_update_admin ON public.locations FOR UPDATE TO admin
  USING (auth.role() OPERATOR(pg_catalog.=) 'admin') WITH CHECK (auth.role() OPERATOR(pg_catalog.=) 'admin');
CREATE POLICY locations_delete_admin ON public.locations FOR DELETE TO admin
  USING (auth.role() OPERATOR(pg_catalog.=) 'admin');

REVOKE ALL ON TABLE public.categories, public.locations FROM PUBLIC;
GRANT SELECT ON TABLE public.categories, public.locations TO anon, authenticated;
GRANT INSERT, UPDATE, DELETE ON TABLE public.categories, public.locations TO admin;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE public.categories, public.locations TO service_role;

SELECT pg_catalog.pg_extension_config_dump('public.categories', '');
SELECT pg_catalog.pg_extension_config_dump('public.locations', '');
