-- What the booking product's admin may reach of the platform: the user
-- directory (with the admin role claim, as every admin policy needs) and the
-- audit. Policies are not extension members, so this one outlives DROP
-- EXTENSION careguard_booking; a re-install finds it and keeps it. Only the
-- table's owner can create a policy on it, so nobody else can have planted it.
DO $admin_reads_users$
BEGIN
  PERFORM FROM pg_catalog.pg_policy p
    WHERE p.polrelid OPERATOR(pg_catalog.=) 'auth.users'::pg_catalog.regclass
      AND p.polname OPERATOR(pg_catalog.=) 'users_select_admin';
  IF NOT FOUND THEN
    CREATE POLICY users_select_admin ON auth.users FOR SELECT TO admin
      USING (auth.role() OPERATOR(pg_catalog.=) 'admin');
  END IF;
END
$admin_reads_users$;
GRANT SELECT ON TABLE auth.users TO admin;
