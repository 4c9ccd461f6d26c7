-- providers: the public directory of provider profiles and their bookable
-- availability. The directory is public (anon reads it); availability is for
-- signed-in users; the owning provider (the provider_id claim) and admin write.

CREATE SCHEMA providers;
COMMENT ON SCHEMA providers IS 'Provider directory and availability';
GRANT USAGE ON SCHEMA providers TO anon, authenticated, service_role;

CREATE TABLE providers.profiles (
  id pg_catalog.uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
  user_id pg_catalog.uuid NOT NULL,
  display_name pg_catalog.text NOT NULL,
  category_id pg_catalog.uuid NOT NULL,
  location_id pg_catalog.uuid NOT NULL,
  bio pg_catalog.text,
  languages pg_catalog.text[] NOT NULL DEFAULT '{en}'::pg_catalog.text[],
  accepting_new_patients pg_catalog.bool NOT NULL DEFAULT true,
  created_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
  updated_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT profiles_pkey PRIMARY KEY (id),
  CONSTRAINT profiles_user_id_key UNIQUE (user_id),
  CONSTRAINT profiles_user_id_fkey FOREIGN KEY (user_id) REFERENCES auth.users (id) ON DELETE RESTRICT,
  CONSTRAINT profiles_category_id_fkey FOREIGN KEY (category_id)
    REFERENCES public.categories (id) ON DELETE RESTRICT,
  CONSTRAINT profiles_location_id_fkey FOREIGN KEY (location_id)
    REFERENCES public.locations (id) ON DELETE RESTRICT,
  CONSTRAINT profiles_display_name_check
    CHECK (pg_catalog.length(display_name) OPERATOR(pg_catalog.>) 0
           AND pg_catalog.length(display_name) OPERATOR(pg_catalog.<=) 200)
);
CREATE INDEX profiles_category_id_idx ON providers.profiles (category_id);
CREATE INDEX profiles_location_id_idx ON providers.profiles (location_id);
COMMENT ON TABLE providers.profiles IS
  'Public provider directory. id is the provider_id claim of the provider''s token; user_id is its auth user.';

CREATE TABLE providers.availability (
  id pg_catalog.uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
  provider_id pg_catalog.uuid NOT NULL,
  during pg_catalog.tstzrange NOT NULL,
  created_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT availability_pkey PRIMARY KEY (id),
  CONSTRAINT availability_provider_id_fkey FOREIGN KEY (provider_id)
    REFERENCES providers.profiles (id) ON DELETE RESTRICT,
  CONSTRAINT availability_during_check CHECK (
    NOT pg_catalog.isempty(during) AND pg_catalog.lower_inc(during) AND NOT pg_catalog.upper_inc(during)
    AND NOT pg_catalog.lower_inf(during) AND NOT pg_catalog.upper_inf(during)),
  -- One provider's ranges never overlap, so a slot lies inside at most one.
  -- uuid uses btree_gist's default GiST operator class.
  CONSTRAINT availability_no_overlap EXCLUDE USING gist (
    provider_id WITH OPERATOR(pg_catalog.=), during WITH OPERATOR(pg_catalog.&&))
);
CREATE INDEX availability_provider_id_idx ON providers.availability (provider_id, pg_catalog.lower(during));
COMMENT ON TABLE providers.availability IS
  'A provider''s bookable time ranges ([start, end)); appointments must lie inside one. Signed-in users read.';

CREATE TRIGGER profiles_touch_updated_at BEFORE UPDATE ON providers.profiles
  FOR EACH ROW EXECUTE FUNCTION careguard.touch_updated_at();

-- An access function: inlinable, qualified, folded per role (00_header.sql).
CREATE FUNCTION providers.can_manage_provider(provider_id pg_catalog.uuid, as_role pg_catalog.text)
  RETURNS pg_catalog.bool
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $fn$
  SELECT CASE
    WHEN as_role OPERATOR(pg_catalog.=) 'provider' THEN provider_id OPERATOR(pg_catalog.=) auth.provider_id()
    WHEN as_role OPERATOR(pg_catalog.=) 'admin' THEN auth.role() OPERATOR(pg_catalog.=) 'admin'
    ELSE false
  END
$fn$;
REVOKE ALL ON FUNCTION providers.can_manage_provider(pg_catalog.uuid, pg_catalog.text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION providers.can_manage_provider(pg_catalog.uuid, pg_catalog.text) TO authenticated, service_role;
COMMENT ON FUNCTION providers.can_manage_provider(pg_catalog.uuid, pg_catalog.text) IS
  'Whether the caller, acting as as_role (a constant in each policy), may write the provider''s directory rows. Inlined into policies.';

ALTER TABLE providers.profiles ENABLE ROW LEVEL SECURITY;
ALTER TABLE providers.profiles FORCE ROW LEVEL SECURITY;
ALTER TABLE providers.availability ENABLE ROW LEVEL SECURITY;
ALTER TABLE providers.availability FORCE ROW LEVEL SECURITY;

CREATE POLICY profiles_select_all ON providers.profiles FOR SELECT TO anon, authenticated USING (true);
CREATE POLICY profiles_insert_provider ON providers.profiles FOR INSERT TO provider
  WITH CHECK (providers.can_manage_provider(id, 'provider') AND user_id OPERATOR(pg_catalog.=) auth.uid());
CREATE POLICY profiles_update_provider ON providers.profiles FOR UPDATE TO provider
  USING (providers.can_manage_provider(id, 'provider') AND user_id OPERATOR(pg_catalog.=) auth.uid())
  WITH CHECK (providers.can_manage_provider(id, 'provider') AND user_id OPERATOR(pg_catalog.=) auth.uid());
CREATE POLICY profiles_insert_admin ON providers.profiles FOR INSERT TO admin
  WITH CHECK (providers.can_manage_provider(id, 'admin'));
CREATE POLICY profiles_update_admin ON providers.profiles FOR UPDATE TO admin
  USING (providers.can_manage_provider(id, 'admin')) WITH CHECK (providers.can_manage_provider(id, 'admin'));
CREATE POLICY profiles_delete_admin ON providers.profiles FOR DELETE TO admin
  USING (providers.can_manage_provider(id, 'admin'));

CREATE POLICY availability_select_signed_in ON providers.availability FOR SELECT TO authenticated USING (true);
CREATE POLICY availability_insert_provider ON providers.availability FOR INSERT TO provider
  WITH CHECK (providers.can_manage_provider(provider_id, 'provider'));
CREATE POLICY availability_update_provider ON providers.availability FOR UPDATE TO provider
  USING (providers.can_manage_provider(provider_id, 'provider'))
  WITH CHECK (providers.can_manage_provider(provider_id, 'provider'));
CREATE POLICY availability_delete_provider ON providers.availability FOR DELETE TO provider
  USING (providers.can_manage_provider(provider_id, 'provider'));
CREATE POLICY availability_insert_admin ON providers.availability FOR INSERT TO admin
  WITH CHECK (providers.can_manage_provider(provider_id, 'admin'));
CREATE POLICY availability_update_admin ON providers.availability FOR UPDATE TO admin
  USING (providers.can_manage_provider(provider_id, 'admin'))
  WITH CHECK (providers.can_manage_provider(provider_id, 'admin'));
CREATE POLICY availability_delete_admin ON providers.availability FOR DELETE TO admin
  USING (providers.can_manage_provider(provider_id, 'admin'));

REVOKE ALL ON TABLE providers.profiles, providers.availability FROM PUBLIC;
GRANT SELECT ON TABLE providers.profiles TO anon, authenticated;
-- A provider edits its own directory entry but never its id or user.
GRANT INSERT ON TABLE providers.profiles TO provider;
GRANT UPDATE (display_name, category_id, location_id, bio, languages, accepting_new_patients)
  ON TABLE providers.profiles TO provider;
GRANT INSERT, UPDATE, DELETE ON TABLE providers.profiles TO admin;
GRANT SELECT ON TABLE providers.availability TO authenticated;
GRANT INSERT (provider_id, during), UPDATE (during), DELETE ON TABLE providers.availability TO provider, admin;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE providers.profiles, providers.availability TO service_role;

SELECT pg_catalog.pg_extension_config_dump('providers.profiles', '');
SELECT pg_catalog.pg_extension_config_dump('providers.availability', '');
