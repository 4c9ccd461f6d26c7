-- Verified sign-in: keys, auth.login(token), auth.sign(claims).

-- Signing and verification keys. Key material (private_jwk) is readable only
-- by the owner: PUBLIC gets nothing, and RLS is forced with no policy, so
-- even a mistaken GRANT exposes no row. auth.login() reads the keys as the
-- table's owner, the way a SECURITY DEFINER function would.
CREATE TABLE auth.signing_keys (
  kid text PRIMARY KEY,
  kty text NOT NULL,
  alg text NOT NULL,
  state text NOT NULL DEFAULT 'standby'
    CONSTRAINT signing_keys_state_check
    CHECK (state OPERATOR(pg_catalog.=) ANY ('{standby,in_use,revoked}'::pg_catalog.text[])),
  public_jwk jsonb NOT NULL,
  private_jwk jsonb,
  created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
  state_changed_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE auth.signing_keys IS
  'JWT keys by kid. standby and in_use keys verify tokens; in_use keys sign; revoked keys do neither.';
REVOKE ALL ON TABLE auth.signing_keys FROM PUBLIC;
ALTER TABLE auth.signing_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE auth.signing_keys FORCE ROW LEVEL SECURITY;
SELECT pg_catalog.pg_extension_config_dump('auth.signing_keys', '');

-- Tells every backend, at commit, to reload its cached key set.
CREATE FUNCTION careguard.signing_keys_changed() RETURNS trigger
  LANGUAGE c VOLATILE PARALLEL UNSAFE
  SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'careguard_signing_keys_changed';
REVOKE ALL ON FUNCTION careguard.signing_keys_changed() FROM PUBLIC;
COMMENT ON FUNCTION careguard.signing_keys_changed() IS
  'Trigger: invalidates the per-backend key cache of auth.login() when auth.signing_keys changes.';
CREATE TRIGGER signing_keys_changed
  AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON auth.signing_keys
  FOR EACH STATEMENT EXECUTE FUNCTION careguard.signing_keys_changed();

-- Validates one JWK and describes it (kid, kty, alg, has_private, bits, public_jwk).
CREATE FUNCTION careguard.inspect_jwk(jwk jsonb) RETURNS jsonb
  LANGUAGE c IMMUTABLE PARALLEL SAFE STRICT
  SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'careguard_inspect_jwk';
REVOKE ALL ON FUNCTION careguard.inspect_jwk(jsonb) FROM PUBLIC;
COMMENT ON FUNCTION careguard.inspect_jwk(jsonb) IS
  'Validates one JWK and returns its description with the public part only; never echoes key material.';

-- Loads a JSON Web Key Set (the document served at /.well-known/jwks.json,
-- or one with private members for signing). Returns the kids loaded.
CREATE FUNCTION auth.import_jwks(jwks jsonb, initial_state text DEFAULT 'standby')
  RETURNS SETOF text
  LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  jwk jsonb;
  info jsonb;
BEGIN
  IF pg_catalog.jsonb_typeof(jwks OPERATOR(pg_catalog.->) 'keys') IS DISTINCT FROM 'array' THEN
    RAISE EXCEPTION 'a JWKS is an object with a "keys" array' USING ERRCODE = '22023';
  END IF;
  FOR jwk IN SELECT * FROM pg_catalog.jsonb_array_elements(jwks OPERATOR(pg_catalog.->) 'keys') LOOP
    CONTINUE WHEN (jwk OPERATOR(pg_catalog.->>) 'use') OPERATOR(pg_catalog.=) 'enc';
    info := careguard.inspect_jwk(jwk);
    INSERT INTO auth.signing_keys (kid, kty, alg, state, public_jwk, private_jwk)
    VALUES (info OPERATOR(pg_catalog.->>) 'kid', info OPERATOR(pg_catalog.->>) 'kty',
            info OPERATOR(pg_catalog.->>) 'alg', initial_state,
            info OPERATOR(pg_catalog.->) 'public_jwk',
            CASE WHEN (info OPERATOR(pg_catalog.->>) 'has_private')::boolean THEN jwk END);
    RETURN NEXT info OPERATOR(pg_catalog.->>) 'kid';
  END LOOP;
END $$;
REVOKE ALL ON FUNCTION auth.import_jwks(jsonb, text) FROM PUBLIC;
COMMENT ON FUNCTION auth.import_jwks(jsonb, text) IS
  'Loads the keys of a JWKS (RSA, EC, OKP public keys; oct HMAC secrets) by kid, in the given state. Privileged.';

-- Loads a raw HMAC secret, such as a Supabase project's JWT secret.
CREATE FUNCTION auth.import_hmac_secret(kid text, secret text, alg text DEFAULT 'HS256',
                                        initial_state text DEFAULT 'in_use')
  RETURNS text
  LANGUAGE sql VOLATILE PARALLEL UNSAFE
  SET search_path = pg_catalog, pg_temp
  BEGIN ATOMIC
    SELECT auth.import_jwks(
      pg_catalog.jsonb_build_object('keys', pg_catalog.jsonb_build_array(
        pg_catalog.jsonb_build_object('kty', 'oct', 'kid', kid, 'alg', alg,
          'k', pg_catalog.rtrim(pg_catalog.translate(
                 pg_catalog.encode(pg_catalog.convert_to(secret, 'UTF8'), 'base64'),
                 E'+/\n', '-_'), '=')))),
      initial_state);
  END;
REVOKE ALL ON FUNCTION auth.import_hmac_secret(text, text, text, text) FROM PUBLIC;
COMMENT ON FUNCTION auth.import_hmac_secret(text, text, text, text) IS
  'Loads a raw HMAC secret (e.g. a Supabase JWT secret) as an oct key. Privileged.';

-- Moves a key between standby, in_use and revoked; rotation without downtime.
CREATE FUNCTION auth.set_key_state(kid text, new_state text) RETURNS void
  LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
  SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  UPDATE auth.signing_keys k
     SET state = new_state, state_changed_at = pg_catalog.now()
   WHERE k.kid OPERATOR(pg_catalog.=) set_key_state.kid;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no key with kid "%"', kid USING ERRCODE = '42704';
  END IF;
END $$;
REVOKE ALL ON FUNCTION auth.set_key_state(text, text) FROM PUBLIC;
COMMENT ON FUNCTION auth.set_key_state(text, text) IS
  'Sets a key''s state: standby (verifies), in_use (verifies and signs), revoked (neither). Privileged.';

-- The public keys that verify tokens, as a JWKS anyone may fetch.
CREATE FUNCTION auth.jwks() RETURNS jsonb
  LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  BEGIN ATOMIC
    SELECT pg_catalog.jsonb_build_object('keys',
      COALESCE(pg_catalog.jsonb_agg(k.public_jwk ORDER BY k.kid), '[]'::pg_catalog.jsonb))
      FROM auth.signing_keys k
     WHERE k.state OPERATOR(pg_catalog.<>) 'revoked' AND k.kty OPERATOR(pg_catalog.<>) 'oct';
  END;
COMMENT ON FUNCTION auth.jwks() IS
  'The public JWKS (standby and in-use asymmetric keys); never includes private or HMAC material.';
REVOKE ALL ON FUNCTION auth.jwks() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.jwks() TO anon, authenticated, service_role, authenticator;

-- Verifies a token and makes its claims and role this transaction's identity.
-- No SET search_path, on purpose: it is a C function whose only SQL (the key
-- query) names every object and operator schema-qualified, so search_path
-- cannot change what it does, and a SET clause would save and restore a
-- setting on every sign-in, the hot path of a direct-connect deployment.
CREATE FUNCTION auth.login(token text) RETURNS jsonb
  LANGUAGE c VOLATILE PARALLEL UNSAFE STRICT
  AS 'MODULE_PATHNAME', 'careguard_auth_login';
COMMENT ON FUNCTION auth.login(text) IS
  'Verifies a JWT (HS*, RS*, PS256, ES256/384, EdDSA) against auth.signing_keys; on success the claims become this transaction''s identity and the session switches to the role claim (SET LOCAL ROLE). Returns the claims.';
GRANT USAGE ON SCHEMA auth TO authenticator;

-- Signs claims with the in-use key (or the one named). For tests and
-- development; needs read access to key material, so only privileged roles.
CREATE FUNCTION auth.sign(claims jsonb, kid text DEFAULT NULL, alg text DEFAULT NULL) RETURNS text
  LANGUAGE c VOLATILE PARALLEL UNSAFE
  SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'careguard_auth_sign';
REVOKE ALL ON FUNCTION auth.sign(jsonb, text, text) FROM PUBLIC;
COMMENT ON FUNCTION auth.sign(jsonb, text, text) IS
  'Signs claims into a compact JWS with the in-use key or the key named by kid. Privileged.';
