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
      CONTINUE;
    END IF;
    -- An existing role is used as it is, so it must not carry powers the
    -- model does not give it: someone with CREATEROLE could have prepared
    -- one before the extension was installed.
    PERFORM FROM pg_catalog.pg_roles r
      WHERE r.rolname OPERATOR(pg_catalog.=) wanted.name
        AND (r.rolsuper OR (r.rolbypassrls AND wanted.name OPERATOR(pg_catalog.<>) 'service_role'));
    IF FOUND THEN
      RAISE EXCEPTION 'role "%" already exists with SUPERUSER or BYPASSRLS', wanted.name
        USING ERRCODE = '42501',
              HINT = 'careguard grants data to this role; drop it or remove those attributes first.';
    END IF;
    PERFORM FROM pg_catalog.pg_roles r
      WHERE r.rolname OPERATOR(pg_catalog.=) wanted.name AND r.rolcanlogin
        AND wanted.name OPERATOR(pg_catalog.<>) 'authenticator';
    IF FOUND THEN
      RAISE WARNING 'role "%" already exists and can log in; careguard expects it to be NOLOGIN', wanted.name;
    END IF;
  END LOOP;
END
$roles$;

-- The application roles share what every signed-in user may do.
GRANT authenticated TO patient, provider, admin;
-- The gateway login switches to these with SET LOCAL ROLE; NOINHERIT keeps
-- it powerless until it does. The DBA gives it LOGIN and a password.
GRANT anon, authenticated, service_role, patient, provider, admin TO authenticator;
