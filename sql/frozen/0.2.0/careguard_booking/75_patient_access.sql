-- Access to patient records, on the pattern of bookings.can_access_booking:
-- one function, called by role-scoped policies with the role as a constant.

-- An access function: inlinable, qualified, folded per role (00_header.sql).
-- For the patient it folds to id = auth.uid() (a primary-key lookup); for the
-- provider to id = ANY(bookings.patients_of_current_provider()), computed once
-- per statement (an initPlan) and probed through the key.
CREATE FUNCTION patients.can_access_patient(patient_id pg_catalog.uuid, as_role pg_catalog.text)
  RETURNS pg_catalog.bool
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $fn$
  SELECT CASE
    WHEN as_role OPERATOR(pg_catalog.=) 'patient' THEN patient_id OPERATOR(pg_catalog.=) auth.uid()
    WHEN as_role OPERATOR(pg_catalog.=) 'provider'
      THEN patient_id OPERATOR(pg_catalog.=) ANY (bookings.patients_of_current_provider())
    WHEN as_role OPERATOR(pg_catalog.=) 'admin' THEN auth.role() OPERATOR(pg_catalog.=) 'admin'
    ELSE false
  END
$fn$;
REVOKE ALL ON FUNCTION patients.can_access_patient(pg_catalog.uuid, pg_catalog.text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION patients.can_access_patient(pg_catalog.uuid, pg_catalog.text) TO authenticated, service_role;
COMMENT ON FUNCTION patients.can_access_patient(pg_catalog.uuid, pg_catalog.text) IS
  'The single source of truth for patient-record access: the patient itself, a provider with an appointment '
  'with the patient (care columns only, by column privilege), or an admin. Inlined into role-scoped policies.';

CREATE POLICY profiles_select_patient ON patients.profiles FOR SELECT TO patient
  USING (patients.can_access_patient(id, 'patient'));
CREATE POLICY profiles_select_provider ON patients.profiles FOR SELECT TO provider
  USING (patients.can_access_patient(id, 'provider'));
CREATE POLICY profiles_select_admin ON patients.profiles FOR SELECT TO admin
  USING (patients.can_access_patient(id, 'admin'));
CREATE POLICY profiles_insert_patient ON patients.profiles FOR INSERT TO patient
  WITH CHECK (patients.can_access_patient(id, 'patient'));
CREATE POLICY profiles_update_patient ON patients.profiles FOR UPDATE TO patient
  USING (patients.can_access_patient(id, 'patient'))
  WITH CHECK (patients.can_access_patient(id, 'patient'));

CREATE POLICY preferences_select_patient ON patients.preferences FOR SELECT TO patient
  USING (patients.can_access_patient(patient_id, 'patient'));
CREATE POLICY preferences_select_admin ON patients.preferences FOR SELECT TO admin
  USING (patients.can_access_patient(patient_id, 'admin'));
CREATE POLICY preferences_insert_patient ON patients.preferences FOR INSERT TO patient
  WITH CHECK (patients.can_access_patient(patient_id, 'patient'));
CREATE POLICY preferences_update_patient ON patients.preferences FOR UPDATE TO patient
  USING (patients.can_access_patient(patient_id, 'patient'))
  WITH CHECK (patients.can_access_patient(patient_id, 'patient'));
