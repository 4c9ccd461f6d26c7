-- What the booking product tells the platform: which schemas hold PHI, which
-- contexts the access matrix probes for its roles, and who may run the audit.
SELECT careguard.register_phi_schema('patients', builtin => true);
SELECT careguard.register_phi_schema('bookings', builtin => true);

-- A patient, a provider and an admin, each a real user from the data.
CREATE FUNCTION careguard.booking_matrix_contexts() RETURNS jsonb
  LANGUAGE plpgsql STABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $contexts$
DECLARE
  patient_id uuid;
  provider_user uuid;
  provider_profile uuid;
  admin_id uuid;
BEGIN
  SELECT p.id INTO patient_id FROM patients.profiles p ORDER BY p.id LIMIT 1;
  SELECT p.user_id, p.id INTO provider_user, provider_profile
    FROM providers.profiles p ORDER BY p.id LIMIT 1;
  SELECT u.id INTO admin_id FROM auth.users u
    WHERE u.raw_app_meta_data OPERATOR(pg_catalog.->>) 'role' OPERATOR(pg_catalog.=) 'admin'
    ORDER BY u.id LIMIT 1;
  RETURN pg_catalog.jsonb_build_array(
    pg_catalog.jsonb_build_object('name', 'patient', 'role', 'patient',
      'claims', pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
        'sub', patient_id, 'role', 'patient', 'aud', 'authenticated'))),
    pg_catalog.jsonb_build_object('name', 'provider', 'role', 'provider',
      'claims', pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
        'sub', provider_user, 'role', 'provider', 'provider_id', provider_profile,
        'aud', 'authenticated'))),
    pg_catalog.jsonb_build_object('name', 'admin', 'role', 'admin',
      'claims', pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
        'sub', admin_id, 'role', 'admin', 'aud', 'authenticated'))));
END
$contexts$;
REVOKE ALL ON FUNCTION careguard.booking_matrix_contexts() FROM PUBLIC;
COMMENT ON FUNCTION careguard.booking_matrix_contexts() IS
  'Access-matrix contexts of careguard_booking: a real patient, provider and admin.';
SELECT careguard.register_matrix_contexts('careguard.booking_matrix_contexts()', builtin => true);

-- The product's DBA-level role runs the audit.
GRANT careguard_auditor TO admin;
