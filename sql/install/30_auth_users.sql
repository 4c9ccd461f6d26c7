-- auth.users: a Supabase-compatible subset of the identity table, plus the
-- helpers every concern schema shares (updated_at upkeep).
-- Access: nobody but admin (read) and service_role (BYPASSRLS) sees a row;
-- anon, authenticated, patient and provider have no privilege on it at all.

-- Keeps updated_at truthful on every table that has one. Runs as the invoker;
-- it touches only NEW, so it is safe anywhere a trigger runs.
CREATE FUNCTION careguard.touch_updated_at() RETURNS trigger
  LANGUAGE plpgsql VOLATILE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
  AS $fn$
BEGIN
  NEW.updated_at := pg_catalog.now();
  RETURN NEW;
END
$fn$;
REVOKE ALL ON FUNCTION careguard.touch_updated_at() FROM PUBLIC;
COMMENT ON FUNCTION careguard.touch_updated_at() IS
  'BEFORE UPDATE trigger: sets NEW.updated_at to the transaction time.';

CREATE TABLE auth.users (
  id pg_catalog.uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
  email pg_catalog.text,
  phone pg_catalog.text,
  raw_app_meta_data pg_catalog.jsonb NOT NULL DEFAULT '{}'::pg_catalog.jsonb,
  raw_user_meta_data pg_catalog.jsonb NOT NULL DEFAULT '{}'::pg_catalog.jsonb,
  created_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
  updated_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT users_pkey PRIMARY KEY (id),
  CONSTRAINT users_email_check CHECK (email OPERATOR(pg_catalog.~) '^[^@[:space:]]+@[^@[:space:]]+$'),
  CONSTRAINT users_meta_check CHECK (
    pg_catalog.jsonb_typeof(raw_app_meta_data) OPERATOR(pg_catalog.=) 'object'
    AND pg_catalog.jsonb_typeof(raw_user_meta_data) OPERATOR(pg_catalog.=) 'object')
);
CREATE UNIQUE INDEX users_email_key ON auth.users (pg_catalog.lower(email));
CREATE UNIQUE INDEX users_phone_key ON auth.users (phone);
COMMENT ON TABLE auth.users IS
  'Identity (Supabase-compatible subset). PII: readable by admin and service_role only.';

CREATE TRIGGER users_touch_updated_at BEFORE UPDATE ON auth.users
  FOR EACH ROW EXECUTE FUNCTION careguard.touch_updated_at();

ALTER TABLE auth.users ENABLE ROW LEVEL SECURITY;
ALTER TABLE auth.users FORCE ROW LEVEL SECURITY;
CREATE POLICY users_select_admin ON auth.users FOR SELECT TO admin
  USING (auth.role() OPERATOR(pg_catalog.=) 'admin');

REVOKE ALL ON TABLE auth.users FROM PUBLIC;
GRANT SELECT ON TABLE auth.users TO admin;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE auth.users TO service_role;

SELECT pg_catalog.pg_extension_config_dump('auth.users', '');
