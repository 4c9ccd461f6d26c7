-- patients: the patient record (PHI) and the patient's preferences.
-- The tables are here; their access function and policies follow the
-- bookings schema (75_patient_access.sql), because a provider's right to
-- read a record depends on its appointments.

CREATE SCHEMA patients;
COMMENT ON SCHEMA patients IS 'Patient records (PHI) and preferences';
GRANT USAGE ON SCHEMA patients TO authenticated, service_role;

CREATE TABLE patients.profiles (
  id pg_catalog.uuid NOT NULL,
  full_name pg_catalog.text NOT NULL,
  date_of_birth pg_catalog.date NOT NULL,
  preferred_language pg_catalog.text NOT NULL DEFAULT 'en',
  allergies pg_catalog.text[] NOT NULL DEFAULT '{}'::pg_catalog.text[],
  phone pg_catalog.text,
  address_line pg_catalog.text,
  city pg_catalog.text,
  postal_code pg_catalog.text,
  country pg_catalog.text,
  insurance_provider pg_catalog.text,
  insurance_member_id pg_catalog.text,
  emergency_contact_name pg_catalog.text,
  emergency_contact_phone pg_catalog.text,
  notes pg_catalog.text,
  created_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
  updated_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT profiles_pkey PRIMARY KEY (id),
  CONSTRAINT profiles_id_fkey FOREIGN KEY (id) REFERENCES auth.users (id) ON DELETE RESTRICT,
  CONSTRAINT profiles_full_name_check CHECK (pg_catalog.length(full_name) OPERATOR(pg_catalog.>) 0),
  CONSTRAINT profiles_date_of_birth_check
    CHECK (date_of_birth OPERATOR(pg_catalog.>=) '1900-01-01'::pg_catalog.date)
);
COMMENT ON TABLE patients.profiles IS
  'The patient record (PHI); id is the patient''s auth user id. Care fields (provider-readable): '
  'id, full_name, date_of_birth, preferred_language, allergies.';
-- Planner statistics keep sample values (most-common values, histogram
-- bounds), and EXPLAIN's row estimates reveal them to anyone who may plan a
-- query on the table, whatever RLS hides: a guessed diagnosis, or a patient's
-- id and how many visits it has. PHI text and patient identifiers keep none;
-- the audit rule phi_column_statistics checks this (docs/security-model.md).
ALTER TABLE patients.profiles
  ALTER COLUMN id SET STATISTICS 0,
  ALTER COLUMN full_name SET STATISTICS 0,
  ALTER COLUMN date_of_birth SET STATISTICS 0,
  ALTER COLUMN preferred_language SET STATISTICS 0,
  ALTER COLUMN allergies SET STATISTICS 0,
  ALTER COLUMN phone SET STATISTICS 0,
  ALTER COLUMN address_line SET STATISTICS 0,
  ALTER COLUMN city SET STATISTICS 0,
  ALTER COLUMN postal_code SET STATISTICS 0,
  ALTER COLUMN country SET STATISTICS 0,
  ALTER COLUMN insurance_provider SET STATISTICS 0,
  ALTER COLUMN insurance_member_id SET STATISTICS 0,
  ALTER COLUMN emergency_contact_name SET STATISTICS 0,
  ALTER COLUMN emergency_contact_phone SET STATISTICS 0,
  ALTER COLUMN notes SET STATISTICS 0;

CREATE TABLE patients.preferences (
  patient_id pg_catalog.uuid NOT NULL,
  contact_channel pg_catalog.text NOT NULL DEFAULT 'email',
  reminders_enabled pg_catalog.bool NOT NULL DEFAULT true,
  share_with_family pg_catalog.bool NOT NULL DEFAULT false,
  marketing_opt_in pg_catalog.bool NOT NULL DEFAULT false,
  updated_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
  -- How long before an appointment its reminder goes out: an interval, so
  -- that the reminder time is starts_at - reminder_before. It replaced
  -- reminder_minutes_before (int4 minutes) in 0.3.0/0.4.0 and comes last,
  -- where ADD COLUMN put it in upgraded databases (docs/migrations.md).
  reminder_before pg_catalog.interval NOT NULL DEFAULT '1 day'::pg_catalog.interval,
  CONSTRAINT preferences_pkey PRIMARY KEY (patient_id),
  CONSTRAINT preferences_patient_id_fkey FOREIGN KEY (patient_id)
    REFERENCES patients.profiles (id) ON DELETE RESTRICT,
  CONSTRAINT preferences_contact_channel_check
    CHECK (contact_channel OPERATOR(pg_catalog.=) ANY (ARRAY['email', 'sms', 'phone']::pg_catalog.text[])),
  -- At most a week ahead; an interval compares a month as 30 days, so
  -- months never pass.
  CONSTRAINT preferences_reminder_before_check
    CHECK (reminder_before OPERATOR(pg_catalog.>=) '0'::pg_catalog.interval
           AND reminder_before OPERATOR(pg_catalog.<=) '7 days'::pg_catalog.interval)
);
COMMENT ON TABLE patients.preferences IS 'A patient''s notification and sharing preferences: the patient and admin only.';
ALTER TABLE patients.preferences ALTER COLUMN patient_id SET STATISTICS 0;

CREATE TRIGGER profiles_touch_updated_at BEFORE UPDATE ON patients.profiles
  FOR EACH ROW EXECUTE FUNCTION careguard.touch_updated_at();
CREATE TRIGGER preferences_touch_updated_at BEFORE UPDATE ON patients.preferences
  FOR EACH ROW EXECUTE FUNCTION careguard.touch_updated_at();

ALTER TABLE patients.profiles ENABLE ROW LEVEL SECURITY;
ALTER TABLE patients.profiles FORCE ROW LEVEL SECURITY;
ALTER TABLE patients.preferences ENABLE ROW LEVEL SECURITY;
ALTER TABLE patients.preferences FORCE ROW LEVEL SECURITY;

REVOKE ALL ON TABLE patients.profiles, patients.preferences FROM PUBLIC;
-- The patient reads and writes its own record (never its id once created).
GRANT SELECT, INSERT ON TABLE patients.profiles TO patient;
GRANT UPDATE (full_name, date_of_birth, preferred_language, allergies, phone, address_line, city,
              postal_code, country, insurance_provider, insurance_member_id,
              emergency_contact_name, emergency_contact_phone, notes)
  ON TABLE patients.profiles TO patient;
-- A provider reads the care fields only: column privileges, not a view, so
-- that SELECT * fails loudly (42501) instead of silently showing less.
GRANT SELECT (id, full_name, date_of_birth, preferred_language, allergies) ON TABLE patients.profiles TO provider;
GRANT SELECT ON TABLE patients.profiles TO admin;
GRANT SELECT, INSERT ON TABLE patients.preferences TO patient;
GRANT UPDATE (contact_channel, reminders_enabled, share_with_family, marketing_opt_in, reminder_before)
  ON TABLE patients.preferences TO patient;
GRANT SELECT ON TABLE patients.preferences TO admin;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE patients.profiles, patients.preferences TO service_role;

SELECT pg_catalog.pg_extension_config_dump('patients.profiles', '');
SELECT pg_catalog.pg_extension_config_dump('patients.preferences', '');
