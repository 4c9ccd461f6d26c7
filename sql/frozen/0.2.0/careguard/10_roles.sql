-- Roles of the security model. Roles are cluster-wide objects: they are
-- created only where missing, are shared by every database, and survive
-- DROP EXTENSION (see docs/security-model.md).

-- Creates a role of the model where it is missing. An existing role is used
-- as it is, so it must not carry powers the model does not give it: someone
-- with CREATEROLE could have prepared one before the extension was installed.
-- Products built on careguard (careguard_booking) create their roles with it.
CREATE FUNCTION careguard.ensure_role(role_name name, options text,
                                      may_bypass_rls boolean DEFAULT false,
                                      may_log_in boolean DEFAULT false)
  RETURNS void
  LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
  SET search_path = pg_catalog, pg_temp
AS $ensure$
BEGIN
  IF options OPERATOR(pg_catalog.!~) '^(NOLOGIN|INHERIT|NOINHERIT|BYPASSRLS)( (NOLOGIN|INHERIT|NOINHERIT|BYPASSRLS))*$' THEN
    RAISE EXCEPTION 'role options "%" are not among NOLOGIN, INHERIT, NOINHERIT, BYPASSRLS', options
      USING ERRCODE = '22023';
  END IF;
  IF pg_catalog.to_regrole(role_name) IS NULL THEN
    EXECUTE pg_catalog.format('CREATE ROLE %I %s', role_name, options);
    RETURN;
  END IF;
  PERFORM FROM pg_catalog.pg_roles r
    WHERE r.rolname OPERATOR(pg_catalog.=) role_name AND (r.rolsuper OR (r.rolbypassrls AND NOT may_bypass_rls));
  IF FOUND THEN
    RAISE EXCEPTION 'role "%" already exists with SUPERUSER or BYPASSRLS', role_name
      USING ERRCODE = '42501',
            HINT = 'careguard grants data to this role; drop it or remove those attributes first.';
  END IF;
  PERFORM FROM pg_catalog.pg_roles r
    WHERE r.rolname OPERATOR(pg_catalog.=) role_name AND r.rolcanlogin AND NOT may_log_in;
  IF FOUND THEN
    RAISE WARNING 'role "%" already exists and can log in; careguard expects it to be NOLOGIN', role_name;
  END IF;
END
$ensure$;
REVOKE ALL ON FUNCTION careguard.ensure_role(name, text, boolean, boolean) FROM PUBLIC;
COMMENT ON FUNCTION careguard.ensure_role(name, text, boolean, boolean) IS
  'Creates a role where missing; refuses an existing one with SUPERUSER (or BYPASSRLS unless allowed).';

SELECT careguard.ensure_role('anon', 'NOLOGIN NOINHERIT');
SELECT careguard.ensure_role('authenticated', 'NOLOGIN NOINHERIT');
SELECT careguard.ensure_role('service_role', 'NOLOGIN NOINHERIT BYPASSRLS', may_bypass_rls => true);
SELECT careguard.ensure_role('authenticator', 'NOLOGIN NOINHERIT', may_log_in => true);
-- May run the audit (careguard.audit()); a product grants it to its DBA role.
SELECT careguard.ensure_role('careguard_auditor', 'NOLOGIN NOINHERIT');

-- The gateway login switches to these with SET LOCAL ROLE; NOINHERIT keeps
-- it powerless until it does. The DBA gives it LOGIN and a password.
GRANT anon, authenticated, service_role TO authenticator;
