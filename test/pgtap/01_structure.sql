-- What this proves: the careguard data model exists as designed -- schemas,
-- tables, policies (names, commands, roles), RLS enabled AND forced on every
-- table, every table and the history sequence registered for pg_dump, least
-- privilege (nothing reachable by PUBLIC, only service_role bypasses RLS),
-- and every function pinned or deliberately inlinable.
-- Run: pg_prove -d <db> test/pgtap/*.sql (careguard and pgtap installed).
BEGIN;
-- seed_demo reports its progress as NOTICEs; the TAP output stays clean.
SET LOCAL client_min_messages = warning;
SELECT plan(181);

SELECT has_schema(s) FROM unnest(ARRAY['auth', 'careguard', 'providers', 'patients', 'bookings']) AS s;
SELECT has_table('auth', 'users', 'auth.users exists');
SELECT tables_are('providers', ARRAY['profiles', 'availability']);
SELECT tables_are('patients', ARRAY['profiles', 'preferences']);
SELECT tables_are('bookings', ARRAY['appointments', 'status_history']);
SELECT has_table('public', 'categories', 'public.categories exists');
SELECT has_table('public', 'locations', 'public.locations exists');

CREATE TEMP TABLE cg_tables (t regclass) ON COMMIT DROP;
INSERT INTO cg_tables VALUES ('auth.users'), ('public.categories'), ('public.locations'),
  ('providers.profiles'), ('providers.availability'), ('patients.profiles'), ('patients.preferences'),
  ('bookings.appointments'), ('bookings.status_history');

SELECT ok(c.relrowsecurity AND c.relforcerowsecurity, format('%s: RLS enabled and forced', c.oid::regclass))
  FROM cg_tables t JOIN pg_class c ON c.oid = t.t ORDER BY 1;
SELECT ok(EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = t.t AND k.contype = 'p'),
          format('%s: has a primary key', t.t)) FROM cg_tables t ORDER BY t.t::text;
SELECT ok(ARRAY['auth.users', 'public.categories', 'public.locations', 'providers.profiles', 'providers.availability',
                'patients.profiles', 'patients.preferences', 'bookings.appointments', 'bookings.status_history',
                'bookings.status_history_id_seq']::regclass[]
          <@ (SELECT array_agg(c) FROM pg_extension e, unnest(e.extconfig::regclass[]) AS c
              WHERE e.extname IN ('careguard', 'careguard_booking')),
          'every table (and the history sequence) is registered with pg_extension_config_dump');

-- Every foreign key column leads some index.
SELECT is_empty($$
  SELECT k.conname FROM pg_constraint k
   WHERE k.contype = 'f' AND k.conrelid = ANY (SELECT t FROM pg_temp.cg_tables)
     AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = k.conrelid AND i.indkey[0] = k.conkey[1])$$,
  'every foreign key column has an index');
-- ON DELETE never cascades or nulls: always RESTRICT.
SELECT is_empty($$
  SELECT k.conname FROM pg_constraint k
   WHERE k.contype = 'f' AND k.conrelid = ANY (SELECT t FROM pg_temp.cg_tables) AND k.confdeltype <> 'r'$$,
  'every foreign key is ON DELETE RESTRICT');
SELECT col_is_pk('bookings'::name, 'appointments'::name, 'id'::name, 'appointments.id is the primary key');
SELECT has_column('bookings'::name, 'appointments'::name, c::name, format('appointments.%s exists', c)) FROM unnest(ARRAY['patient_id', 'provider_id', 'starts_at',
  'ends_at', 'during', 'status', 'reason', 'created_at', 'updated_at']) AS c;
SELECT ok(EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'appointments_no_overlap' AND contype = 'x'),
          'appointments have the no-overlap exclusion constraint');
SELECT has_index('bookings', 'appointments', 'appointments_provider_confirmed_idx', ARRAY['provider_id', 'starts_at'],
                 'the provider dashboard has its partial index');

-- Policies: the design, table by table.
CREATE TEMP TABLE cg_policies (s name, t name, p name, cmd text, roles name[]) ON COMMIT DROP;
INSERT INTO cg_policies VALUES
  ('auth', 'users', 'users_select_admin', 'SELECT', '{admin}'),
  ('public', 'categories', 'categories_select_all', 'SELECT', '{anon,authenticated}'),
  ('public', 'categories', 'categories_insert_admin', 'INSERT', '{admin}'),
  ('public', 'categories', 'categories_update_admin', 'UPDATE', '{admin}'),
  ('public', 'categories', 'categories_delete_admin', 'DELETE', '{admin}'),
  ('public', 'locations', 'locations_select_all', 'SELECT', '{anon,authenticated}'),
  ('public', 'locations', 'locations_insert_admin', 'INSERT', '{admin}'),
  ('public', 'locations', 'locations_update_admin', 'UPDATE', '{admin}'),
  ('public', 'locations', 'locations_delete_admin', 'DELETE', '{admin}'),
  ('providers', 'profiles', 'profiles_select_all', 'SELECT', '{anon,authenticated}'),
  ('providers', 'profiles', 'profiles_insert_provider', 'INSERT', '{provider}'),
  ('providers', 'profiles', 'profiles_update_provider', 'UPDATE', '{provider}'),
  ('providers', 'profiles', 'profiles_insert_admin', 'INSERT', '{admin}'),
  ('providers', 'profiles', 'profiles_update_admin', 'UPDATE', '{admin}'),
  ('providers', 'profiles', 'profiles_delete_admin', 'DELETE', '{admin}'),
  ('providers', 'availability', 'availability_select_signed_in', 'SELECT', '{authenticated}'),
  ('providers', 'availability', 'availability_insert_provider', 'INSERT', '{provider}'),
  ('providers', 'availability', 'availability_update_provider', 'UPDATE', '{provider}'),
  ('providers', 'availability', 'availability_delete_provider', 'DELETE', '{provider}'),
  ('providers', 'availability', 'availability_insert_admin', 'INSERT', '{admin}'),
  ('providers', 'availability', 'availability_update_admin', 'UPDATE', '{admin}'),
  ('providers', 'availability', 'availability_delete_admin', 'DELETE', '{admin}'),
  ('patients', 'profiles', 'profiles_select_patient', 'SELECT', '{patient}'),
  ('patients', 'profiles', 'profiles_select_provider', 'SELECT', '{provider}'),
  ('patients', 'profiles', 'profiles_select_admin', 'SELECT', '{admin}'),
  ('patients', 'profiles', 'profiles_insert_patient', 'INSERT', '{patient}'),
  ('patients', 'profiles', 'profiles_update_patient', 'UPDATE', '{patient}'),
  ('patients', 'preferences', 'preferences_select_patient', 'SELECT', '{patient}'),
  ('patients', 'preferences', 'preferences_select_admin', 'SELECT', '{admin}'),
  ('patients', 'preferences', 'preferences_insert_patient', 'INSERT', '{patient}'),
  ('patients', 'preferences', 'preferences_update_patient', 'UPDATE', '{patient}'),
  ('bookings', 'appointments', 'appointments_select_patient', 'SELECT', '{patient}'),
  ('bookings', 'appointments', 'appointments_select_provider', 'SELECT', '{provider}'),
  ('bookings', 'appointments', 'appointments_select_admin', 'SELECT', '{admin}'),
  ('bookings', 'appointments', 'appointments_insert_patient', 'INSERT', '{patient}'),
  ('bookings', 'appointments', 'appointments_insert_admin', 'INSERT', '{admin}'),
  ('bookings', 'appointments', 'appointments_update_patient', 'UPDATE', '{patient}'),
  ('bookings', 'appointments', 'appointments_update_provider', 'UPDATE', '{provider}'),
  ('bookings', 'appointments', 'appointments_update_admin', 'UPDATE', '{admin}'),
  ('bookings', 'appointments', 'appointments_delete_admin', 'DELETE', '{admin}'),
  ('bookings', 'status_history', 'status_history_select_patient', 'SELECT', '{patient}'),
  ('bookings', 'status_history', 'status_history_select_provider', 'SELECT', '{provider}'),
  ('bookings', 'status_history', 'status_history_select_admin', 'SELECT', '{admin}');

SELECT policies_are(s, t, array_agg(p), format('%I.%I has exactly the designed policies', s, t))
  FROM cg_policies GROUP BY s, t ORDER BY s, t;
SELECT policy_cmd_is(s, t, p, cmd, format('%I.%I: %s is for %s', s, t, p, cmd)) FROM cg_policies ORDER BY s, t, p;
SELECT policy_roles_are(s, t, p, roles, format('%I.%I: %s is for %s', s, t, p, roles)) FROM cg_policies ORDER BY s, t, p;

-- Every INSERT and UPDATE policy has a WITH CHECK; no policy applies to PUBLIC.
SELECT is_empty($$SELECT schemaname || '.' || policyname FROM pg_policies
                   WHERE cmd IN ('INSERT', 'UPDATE') AND with_check IS NULL
                     AND schemaname IN ('auth', 'public', 'providers', 'patients', 'bookings')$$,
                'every INSERT and UPDATE policy has a WITH CHECK');
SELECT is_empty($$SELECT schemaname || '.' || policyname FROM pg_policies
                   WHERE 'public' = ANY (roles) AND schemaname IN ('auth', 'public', 'providers', 'patients', 'bookings')$$,
                'no policy applies to PUBLIC');

-- Roles: only service_role bypasses RLS (superusers aside).
SELECT is((SELECT array_agg(rolname::text ORDER BY rolname) FROM pg_roles WHERE rolbypassrls AND NOT rolsuper),
          ARRAY['service_role'], 'service_role is the only non-superuser role with BYPASSRLS');

-- Least privilege: PUBLIC holds no table privilege and no EXECUTE in our schemas.
SELECT is_empty($$SELECT t.t::text FROM pg_temp.cg_tables t JOIN pg_class c ON c.oid = t.t
                   WHERE EXISTS (SELECT 1 FROM aclexplode(c.relacl) a WHERE a.grantee = 0)$$,
                'PUBLIC has no privilege on any careguard table');
SELECT is_empty($$SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                   WHERE (n.nspname IN ('providers', 'patients', 'bookings')
                          OR p.oid::regprocedure::text IN ('careguard.touch_updated_at()', 'careguard.demo_users()',
                            'careguard.seed_demo(integer,integer,integer,integer,date)',
                            'careguard.demo_uuid(integer,text,bigint)', 'careguard.demo_hex(text,integer,integer)'))
                     AND (p.proacl IS NULL OR EXISTS (SELECT 1 FROM aclexplode(p.proacl) a WHERE a.grantee = 0))$$,
                'PUBLIC may execute no function in providers, patients, bookings, nor the data-model helpers in careguard');
SELECT ok(NOT has_table_privilege(r, t.t, priv), format('%s has no %s on %s', r, priv, t.t))
  FROM (VALUES ('anon', 'bookings.appointments', 'SELECT'), ('anon', 'patients.profiles', 'SELECT'),
               ('anon', 'providers.availability', 'SELECT'), ('authenticated', 'auth.users', 'SELECT'),
               ('patient', 'auth.users', 'SELECT'), ('provider', 'auth.users', 'SELECT'),
               ('patient', 'bookings.appointments', 'DELETE'), ('provider', 'bookings.appointments', 'DELETE'),
               ('provider', 'bookings.appointments', 'INSERT'), ('patient', 'bookings.status_history', 'INSERT'),
               ('provider', 'bookings.status_history', 'UPDATE'), ('service_role', 'bookings.status_history', 'INSERT'),
               ('provider', 'patients.preferences', 'SELECT'), ('admin', 'patients.profiles', 'UPDATE'))
       AS t(r, t, priv);
SELECT ok(NOT has_column_privilege('provider', 'patients.profiles', c, 'SELECT'), format('provider cannot read patients.profiles.%s', c))
  FROM unnest(ARRAY['phone', 'address_line', 'insurance_provider', 'insurance_member_id', 'emergency_contact_name',
                    'emergency_contact_phone', 'notes']) AS c;
SELECT ok(has_column_privilege('provider', 'patients.profiles', c, 'SELECT'), format('provider can read care field patients.profiles.%s', c))
  FROM unnest(ARRAY['id', 'full_name', 'date_of_birth', 'preferred_language', 'allergies']) AS c;
SELECT ok(NOT has_column_privilege(r, 'bookings.appointments', c, 'UPDATE'), format('%s cannot update appointments.%s', r, c))
  FROM unnest(ARRAY['patient', 'provider']) AS r, unnest(ARRAY['patient_id', 'provider_id', 'starts_at', 'reason']) AS c;

-- Functions: SET search_path everywhere except the inlinable SQL helpers.
SELECT set_eq($$SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                 WHERE (n.nspname IN ('providers', 'patients', 'bookings', 'public')
                        OR p.proname IN ('touch_updated_at', 'demo_users', 'seed_demo', 'demo_uuid', 'demo_hex'))
                   AND p.proowner = (SELECT extowner FROM pg_extension WHERE extname = 'careguard_booking')
                   AND EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e'
                               AND d.refobjid IN (SELECT oid FROM pg_extension
                                                  WHERE extname IN ('careguard', 'careguard_booking')))
                   AND p.prolang <> (SELECT oid FROM pg_language WHERE lanname = 'c')
                   AND NOT coalesce('search_path=pg_catalog, pg_temp' = ANY (p.proconfig), false)$$,
              ARRAY['bookings.can_access_booking(uuid,uuid,text)', 'patients.can_access_patient(uuid,text)',
                    'providers.can_manage_provider(uuid,text)', 'careguard.demo_uuid(integer,text,bigint)',
                    'careguard.demo_hex(text,integer,integer)'],
              'only the inlinable SQL helpers run without SET search_path');
SELECT is(obj_description('bookings.can_access_booking(uuid,uuid,text)'::regprocedure, 'pg_proc') IS NOT NULL, true,
          'can_access_booking is documented');
SELECT ok(p.prosecdef, 'the history trigger function is SECURITY DEFINER')
  FROM pg_proc p WHERE p.oid = 'bookings.record_status_history()'::regprocedure;

SELECT * FROM finish();
ROLLBACK;
