-- auth.users: Supabase's identity table, plus the trigger every table with
-- updated_at shares. Access: only service_role (BYPASSRLS) sees a row; anon
-- and authenticated have no privilege on it at all.

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

-- Supabase's auth.users column for column (supabase/auth), so a Supabase
-- project's migrations, seeds and test helpers run unchanged; careguard adds
-- defaults and checks Supabase leaves to its auth server.
CREATE TABLE auth.users (
  instance_id pg_catalog.uuid,
  id pg_catalog.uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
  aud pg_catalog.varchar(255),
  role pg_catalog.varchar(255),
  email pg_catalog.varchar(255),
  encrypted_password pg_catalog.varchar(255),
  email_confirmed_at pg_catalog.timestamptz,
  invited_at pg_catalog.timestamptz,
  confirmation_token pg_catalog.varchar(255),
  confirmation_sent_at pg_catalog.timestamptz,
  recovery_token pg_catalog.varchar(255),
  recovery_sent_at pg_catalog.timestamptz,
  email_change_token_new pg_catalog.varchar(255),
  email_change pg_catalog.varchar(255),
  email_change_sent_at pg_catalog.timestamptz,
  last_sign_in_at pg_catalog.timestamptz,
  raw_app_meta_data pg_catalog.jsonb DEFAULT '{}'::pg_catalog.jsonb,
  raw_user_meta_data pg_catalog.jsonb DEFAULT '{}'::pg_catalog.jsonb,
  is_super_admin pg_catalog.bool,
  created_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
  updated_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
  phone pg_catalog.text DEFAULT NULL,
  phone_confirmed_at pg_catalog.timestamptz DEFAULT NULL,
  phone_change pg_catalog.text DEFAULT '',
  phone_change_token pg_catalog.varchar(255) DEFAULT '',
  phone_change_sent_at pg_catalog.timestamptz DEFAULT NULL,
  confirmed_at pg_catalog.timestamptz
    GENERATED ALWAYS AS (LEAST(email_confirmed_at, phone_confirmed_at)) STORED,
  email_change_token_current pg_catalog.varchar(255) DEFAULT '',
  email_change_confirm_status pg_catalog.int2 DEFAULT 0,
  banned_until pg_catalog.timestamptz,
  reauthentication_token pg_catalog.varchar(255) DEFAULT '',
  reauthentication_sent_at pg_catalog.timestamptz DEFAULT NULL,
  is_sso_user pg_catalog.bool NOT NULL DEFAULT false,
  deleted_at pg_catalog.timestamptz,
  is_anonymous pg_catalog.bool NOT NULL DEFAULT false,
  CONSTRAINT users_pkey PRIMARY KEY (id),
  CONSTRAINT users_email_check CHECK (email OPERATOR(pg_catalog.~) '^[^@[:space:]]+@[^@[:space:]]+$'),
  CONSTRAINT users_meta_check CHECK (
    (raw_app_meta_data IS NULL OR pg_catalog.jsonb_typeof(raw_app_meta_data) OPERATOR(pg_catalog.=) 'object')
    AND (raw_user_meta_data IS NULL OR pg_catalog.jsonb_typeof(raw_user_meta_data) OPERATOR(pg_catalog.=) 'object')),
  CONSTRAINT users_email_change_confirm_status_check CHECK (
    email_change_confirm_status OPERATOR(pg_catalog.>=) 0 AND email_change_confirm_status OPERATOR(pg_catalog.<=) 2)
);
CREATE UNIQUE INDEX users_email_key ON auth.users (pg_catalog.lower(email::pg_catalog.text));
CREATE UNIQUE INDEX users_phone_key ON auth.users (phone);
CREATE INDEX users_instance_id_idx ON auth.users (instance_id);
COMMENT ON TABLE auth.users IS
  'Identity, with Supabase''s columns. PII: no application role of the platform reads it; service_role (BYPASSRLS) does.';

CREATE TRIGGER users_touch_updated_at BEFORE UPDATE ON auth.users
  FOR EACH ROW EXECUTE FUNCTION careguard.touch_updated_at();

-- Forced RLS and no policy: a product grants its own readers (careguard_booking's admin).
ALTER TABLE auth.users ENABLE ROW LEVEL SECURITY;
ALTER TABLE auth.users FORCE ROW LEVEL SECURITY;

REVOKE ALL ON TABLE auth.users FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE auth.users TO service_role;

SELECT pg_catalog.pg_extension_config_dump('auth.users', '');
