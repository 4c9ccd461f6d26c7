-- The Supabase profile: what a Supabase project's migrations take for granted
-- on top of the roles and auth schema, for projects moving to a plain
-- PostgreSQL. Off by default because it widens grants: every table a
-- migration then creates in public is granted to anon, authenticated and
-- service_role, so RLS is the only gate (the audit flags tables without it).
CREATE FUNCTION careguard.supabase_profile(enable boolean) RETURNS text
  LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
  SET search_path = pg_catalog, pg_temp
AS $profile$
DECLARE
  owner_role text := pg_catalog.quote_ident(CURRENT_USER::text);
BEGIN
  IF enable THEN
    -- Supabase projects have the schema and extensions already; a fresh
    -- database has not. The profile is opt-in by a superuser, so what exists
    -- is used as it is.
    IF pg_catalog.to_regnamespace('extensions') IS NULL THEN
      CREATE SCHEMA extensions;
    END IF;
    PERFORM FROM pg_catalog.pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) 'uuid-ossp';
    IF NOT FOUND THEN
      CREATE EXTENSION "uuid-ossp" SCHEMA extensions;
    END IF;
    PERFORM FROM pg_catalog.pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) 'pgcrypto';
    IF NOT FOUND THEN
      CREATE EXTENSION pgcrypto SCHEMA extensions;
    END IF;
    GRANT USAGE ON SCHEMA extensions TO anon, authenticated, service_role;
    GRANT USAGE ON SCHEMA public TO anon, authenticated, service_role;
    -- Supabase's default privileges, for objects the migrating role creates.
    EXECUTE pg_catalog.format('ALTER DEFAULT PRIVILEGES FOR ROLE %s IN SCHEMA public '
                              'GRANT ALL ON TABLES TO anon, authenticated, service_role', owner_role);
    EXECUTE pg_catalog.format('ALTER DEFAULT PRIVILEGES FOR ROLE %s IN SCHEMA public '
                              'GRANT ALL ON FUNCTIONS TO anon, authenticated, service_role', owner_role);
    EXECUTE pg_catalog.format('ALTER DEFAULT PRIVILEGES FOR ROLE %s IN SCHEMA public '
                              'GRANT ALL ON SEQUENCES TO anon, authenticated, service_role', owner_role);
    RETURN 'supabase profile on for objects ' || owner_role || ' creates in public';
  END IF;
  EXECUTE pg_catalog.format('ALTER DEFAULT PRIVILEGES FOR ROLE %s IN SCHEMA public '
                            'REVOKE ALL ON TABLES FROM anon, authenticated, service_role', owner_role);
  EXECUTE pg_catalog.format('ALTER DEFAULT PRIVILEGES FOR ROLE %s IN SCHEMA public '
                            'REVOKE ALL ON FUNCTIONS FROM anon, authenticated, service_role', owner_role);
  EXECUTE pg_catalog.format('ALTER DEFAULT PRIVILEGES FOR ROLE %s IN SCHEMA public '
                            'REVOKE ALL ON SEQUENCES FROM anon, authenticated, service_role', owner_role);
  IF pg_catalog.to_regnamespace('extensions') IS NOT NULL THEN
    REVOKE USAGE ON SCHEMA extensions FROM anon, authenticated, service_role;
  END IF;
  -- Grants already made on existing objects stay: revoking them could break
  -- a running application; the audit lists what remains exposed.
  RETURN 'supabase profile off for objects ' || owner_role || ' creates in public';
END
$profile$;
REVOKE ALL ON FUNCTION careguard.supabase_profile(boolean) FROM PUBLIC;
COMMENT ON FUNCTION careguard.supabase_profile(boolean) IS
  'Opt-in Supabase conventions: extensions schema (uuid-ossp, pgcrypto), USAGE and default privileges in public for anon, authenticated, service_role.';
