-- Roles of the security model. Roles are cluster-wide objects: they are
-- created only where missing, are shared by every database, and survive
-- DROP EXTENSION (see docs/security-model.md).
DO $roles$
DECLARE
  wanted record;
BEGIN
  FOR wanted IN
    SELECT * FROM (VALUES
      ('anon',          'NOLOGIN NOINHERIT'),
      ('authenticated', 'NOLOGIN NOINHERIT'),
      ('service_role',  'NOLOGIN NOINHERIT BYPASSRLS'),
      ('patient',       'NOLOGIN INHERIT'),
      ('provider',      'NOLOGIN INHERIT'),
      ('admin',         'NOLOGIN INHERIT'),
      ('authenticator', 'NOLOGIN NOINHERIT')) AS r(name, options)
  LOOP
    IF pg_catalog.to_regrole(wanted.name) IS NULL THEN
      EXECUTE pg_catalog.format('CREATE ROLE %I %s', wanted.name, wanted.options);
    END IF;
  END LOOP;
END
$roles$;

-- The application roles share what every signed-in user may do.
GRANT authenticated TO patient, provider, admin;
-- The gateway login switches to these with SET LOCAL ROLE; NOINHERIT keeps
-- it powerless until it does. The DBA gives it LOGIN and a password.
GRANT anon, authenticated, service_role, patient, provider, admin TO authenticator;
