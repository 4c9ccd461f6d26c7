-- The auth schema: Supabase-compatible claim helpers, implemented in C++.
CREATE SCHEMA auth;
COMMENT ON SCHEMA auth IS 'Identity: Supabase-compatible claim helpers, users, and verified JWT sign-in';
GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role;

-- Plan-time support for the helpers: hoists calls with constant arguments
-- into an initPlan (once per query, not per row), and loads careguard.so
-- during planning so the hook that carries claim trust into parallel workers
-- exists before they start.
CREATE FUNCTION careguard.claims_support(internal) RETURNS internal
  LANGUAGE c STABLE PARALLEL SAFE STRICT
  AS 'MODULE_PATHNAME', 'careguard_claims_support';
REVOKE ALL ON FUNCTION careguard.claims_support(internal) FROM PUBLIC;

-- Whether careguard.so came from shared_preload_libraries. Loaded any later,
-- a client's startup options may already have replaced the DBA's settings,
-- so careguard then trusts no identity (docs/security-model.md).
CREATE FUNCTION careguard.is_preloaded() RETURNS boolean
  LANGUAGE c STABLE PARALLEL SAFE
  AS 'MODULE_PATHNAME', 'careguard_is_preloaded';
COMMENT ON FUNCTION careguard.is_preloaded() IS
  'True when careguard was loaded through shared_preload_libraries; otherwise it trusts no identity.';
DO $preload$
BEGIN
  IF NOT careguard.is_preloaded() THEN
    RAISE WARNING 'careguard is not in shared_preload_libraries: it will trust no claims and refuse auth.login()'
      USING HINT = 'Add careguard to shared_preload_libraries in postgresql.conf and restart the server.';
  END IF;
END
$preload$;

-- The helpers below are C functions without SET search_path: they look up no
-- SQL object by name, so search_path cannot change what they do, and a SET
-- clause would save and restore a setting on every call, once per row when a
-- policy calls them. STABLE: the claims cannot change within one statement.
-- PARALLEL SAFE: workers read the leader's settings, and the leader publishes
-- which of them it trusts (see docs/architecture.md).

CREATE FUNCTION auth.uid() RETURNS uuid
  LANGUAGE c STABLE PARALLEL SAFE
  SUPPORT careguard.claims_support
  AS 'MODULE_PATHNAME', 'careguard_auth_uid';
COMMENT ON FUNCTION auth.uid() IS
  'The user id: request.jwt.claim.sub, else the sub claim of request.jwt.claims, as uuid; NULL when unset. Supabase-compatible.';

CREATE FUNCTION auth.role() RETURNS text
  LANGUAGE c STABLE PARALLEL SAFE
  SUPPORT careguard.claims_support
  AS 'MODULE_PATHNAME', 'careguard_auth_role';
COMMENT ON FUNCTION auth.role() IS
  'The role claim: request.jwt.claim.role, else request.jwt.claims ->> ''role''; NULL when unset. Supabase-compatible.';

CREATE FUNCTION auth.email() RETURNS text
  LANGUAGE c STABLE PARALLEL SAFE
  SUPPORT careguard.claims_support
  AS 'MODULE_PATHNAME', 'careguard_auth_email';
COMMENT ON FUNCTION auth.email() IS
  'The email claim: request.jwt.claim.email, else request.jwt.claims ->> ''email''; NULL when unset. Supabase-compatible.';

CREATE FUNCTION auth.jwt() RETURNS jsonb
  LANGUAGE c STABLE PARALLEL SAFE
  SUPPORT careguard.claims_support
  AS 'MODULE_PATHNAME', 'careguard_auth_jwt';
COMMENT ON FUNCTION auth.jwt() IS
  'All claims as jsonb: request.jwt.claim, else request.jwt.claims; NULL when unset. Supabase-compatible.';

CREATE FUNCTION auth.provider_id() RETURNS uuid
  LANGUAGE c STABLE PARALLEL SAFE
  SUPPORT careguard.claims_support
  AS 'MODULE_PATHNAME', 'careguard_auth_provider_id';
COMMENT ON FUNCTION auth.provider_id() IS
  'The provider profile id: request.jwt.claim.provider_id, else the provider_id claim, as uuid; NULL when unset.';

CREATE FUNCTION auth.claim(VARIADIC path text[]) RETURNS text
  LANGUAGE c STABLE PARALLEL SAFE STRICT
  SUPPORT careguard.claims_support
  AS 'MODULE_PATHNAME', 'careguard_auth_claim';
COMMENT ON FUNCTION auth.claim(text[]) IS
  'One claim as text, by name (auth.claim(''role'')) or path (auth.claim(''app_metadata'', ''tier'')), rendered as ->> / #>> would.';
