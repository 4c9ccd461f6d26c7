-- bookings: appointments and their status history.
-- Access is decided by one function, bookings.can_access_booking(patient_id,
-- provider_id, as_role), called by role-scoped policies with the role as a
-- constant. It is inlined and its CASE folds, so each role's policy becomes
-- one index-friendly comparison (see docs/data-model.md for the plans).

CREATE SCHEMA bookings;
COMMENT ON SCHEMA bookings IS 'Appointments and their status history';
GRANT USAGE ON SCHEMA bookings TO authenticated, service_role;

CREATE TYPE bookings.appointment_status AS ENUM ('pending', 'confirmed', 'cancelled', 'completed', 'no_show');
COMMENT ON TYPE bookings.appointment_status IS
  'pending -> confirmed | cancelled; confirmed -> completed | no_show | cancelled. cancelled, completed and no_show are final.';

CREATE TABLE bookings.appointments (
  id pg_catalog.uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
  patient_id pg_catalog.uuid NOT NULL,
  provider_id pg_catalog.uuid NOT NULL,
  starts_at pg_catalog.timestamptz NOT NULL,
  ends_at pg_catalog.timestamptz NOT NULL,
  during pg_catalog.tstzrange NOT NULL
    GENERATED ALWAYS AS (pg_catalog.tstzrange(starts_at, ends_at, '[)')) STORED,
  status bookings.appointment_status NOT NULL DEFAULT 'pending',
  reason pg_catalog.text,
  created_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
  updated_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
  -- Where the appointment takes place: the provider's location when booked
  -- (bookings.appointments_default_location), kept when the provider moves.
  -- Added in 0.3.0, NOT NULL since 0.4.0; last, where ADD COLUMN put it in
  -- upgraded databases (docs/migrations.md).
  location_id pg_catalog.uuid NOT NULL,
  CONSTRAINT appointments_pkey PRIMARY KEY (id),
  CONSTRAINT appointments_patient_id_fkey FOREIGN KEY (patient_id)
    REFERENCES patients.profiles (id) ON DELETE RESTRICT,
  CONSTRAINT appointments_provider_id_fkey FOREIGN KEY (provider_id)
    REFERENCES providers.profiles (id) ON DELETE RESTRICT,
  CONSTRAINT appointments_location_id_fkey FOREIGN KEY (location_id)
    REFERENCES public.locations (id) ON DELETE RESTRICT,
  CONSTRAINT appointments_time_check CHECK (
    ends_at OPERATOR(pg_catalog.>) starts_at
    AND ends_at OPERATOR(pg_catalog.<=) (starts_at OPERATOR(pg_catalog.+) '8 hours'::pg_catalog.interval)),
  CONSTRAINT appointments_reason_check CHECK (pg_catalog.length(reason) OPERATOR(pg_catalog.<=) 2000),
  -- No two live (pending or confirmed) appointments of one provider overlap,
  -- under concurrent inserts too: 23P01 exclusion_violation.
  CONSTRAINT appointments_no_overlap EXCLUDE USING gist (
    provider_id WITH OPERATOR(pg_catalog.=), during WITH OPERATOR(pg_catalog.&&))
    WHERE (status OPERATOR(pg_catalog.=) ANY (ARRAY['pending', 'confirmed']::bookings.appointment_status[]))
);
-- patient_id: the FK and the patient policy; ordered by time for "my appointments".
CREATE INDEX appointments_patient_id_idx ON bookings.appointments (patient_id, starts_at);
-- provider_id: the FK and the provider policy.
CREATE INDEX appointments_provider_id_idx ON bookings.appointments (provider_id, starts_at);
-- location_id: the FK (a location's deletion looks its appointments up).
CREATE INDEX appointments_location_id_idx ON bookings.appointments (location_id);
-- The provider dashboard: confirmed appointments in start order.
CREATE INDEX appointments_provider_confirmed_idx ON bookings.appointments (provider_id, starts_at)
  WHERE (status OPERATOR(pg_catalog.=) 'confirmed'::bookings.appointment_status);
COMMENT ON TABLE bookings.appointments IS
  'Appointments. patient_id is the patient''s auth uid, provider_id the provider profile id; reason is PHI.';
-- reason is free-text PHI, patient_id and id identify patients and visits:
-- no sample values for EXPLAIN to reveal (see patients.profiles).
ALTER TABLE bookings.appointments
  ALTER COLUMN reason SET STATISTICS 0,
  ALTER COLUMN patient_id SET STATISTICS 0,
  ALTER COLUMN id SET STATISTICS 0;

CREATE TABLE bookings.status_history (
  id pg_catalog.int8 GENERATED ALWAYS AS IDENTITY,
  appointment_id pg_catalog.uuid NOT NULL,
  -- Copied from the appointment (never reassigned), so that the history is
  -- guarded by the same inlinable access function as the appointment itself.
  patient_id pg_catalog.uuid NOT NULL,
  provider_id pg_catalog.uuid NOT NULL,
  from_status bookings.appointment_status,
  to_status bookings.appointment_status,
  changed_by pg_catalog.uuid,
  changed_by_role pg_catalog.text NOT NULL,
  changed_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT status_history_pkey PRIMARY KEY (id),
  CONSTRAINT status_history_from_check CHECK (from_status IS NOT NULL)
);
-- No foreign key to the appointment on purpose: the audit trail outlives a
-- deleted appointment (a deletion is recorded as to_status NULL).
CREATE INDEX status_history_appointment_id_idx ON bookings.status_history (appointment_id, id);
CREATE INDEX status_history_patient_id_idx ON bookings.status_history (patient_id);
CREATE INDEX status_history_provider_id_idx ON bookings.status_history (provider_id);
ALTER TABLE bookings.status_history
  ALTER COLUMN changed_by_role SET STATISTICS 0,
  ALTER COLUMN appointment_id SET STATISTICS 0,
  ALTER COLUMN patient_id SET STATISTICS 0,
  ALTER COLUMN provider_id SET STATISTICS 0,
  ALTER COLUMN changed_by SET STATISTICS 0;
COMMENT ON TABLE bookings.status_history IS
  'Every status change of an appointment (to_status NULL: deleted). '
  'Written only by the SECURITY DEFINER trigger bookings.record_status_history().';

-- An access function: inlinable, qualified, folded per role (00_header.sql).
CREATE FUNCTION bookings.can_access_booking(patient_id pg_catalog.uuid, provider_id pg_catalog.uuid,
                                            as_role pg_catalog.text)
  RETURNS pg_catalog.bool
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $fn$
  SELECT CASE
    WHEN as_role OPERATOR(pg_catalog.=) 'patient' THEN patient_id OPERATOR(pg_catalog.=) auth.uid()
    WHEN as_role OPERATOR(pg_catalog.=) 'provider' THEN provider_id OPERATOR(pg_catalog.=) auth.provider_id()
    WHEN as_role OPERATOR(pg_catalog.=) 'admin' THEN auth.role() OPERATOR(pg_catalog.=) 'admin'
    ELSE false
  END
$fn$;
REVOKE ALL ON FUNCTION bookings.can_access_booking(pg_catalog.uuid, pg_catalog.uuid, pg_catalog.text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION bookings.can_access_booking(pg_catalog.uuid, pg_catalog.uuid, pg_catalog.text)
  TO authenticated, service_role;
COMMENT ON FUNCTION bookings.can_access_booking(pg_catalog.uuid, pg_catalog.uuid, pg_catalog.text) IS
  'The single source of truth for appointment access: is the caller, acting as as_role, the appointment''s '
  'patient or provider, or an admin? Inlined into the role-scoped policies of appointments and status_history.';

-- For tables that hold only an appointment id. EXISTS cannot be inlined, so
-- this one pins search_path; it runs as the caller, and the caller's own
-- policies on bookings.appointments decide (one source of truth again).
CREATE FUNCTION bookings.can_access_booking(appointment_id pg_catalog.uuid)
  RETURNS pg_catalog.bool
  LANGUAGE sql STABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
  AS $fn$
  SELECT EXISTS (SELECT 1 FROM bookings.appointments a WHERE a.id OPERATOR(pg_catalog.=) appointment_id)
$fn$;
REVOKE ALL ON FUNCTION bookings.can_access_booking(pg_catalog.uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION bookings.can_access_booking(pg_catalog.uuid) TO authenticated, service_role;
COMMENT ON FUNCTION bookings.can_access_booking(pg_catalog.uuid) IS
  'Whether the caller can see the appointment with this id, as decided by the policies of bookings.appointments.';

-- The provider branch of patients.can_access_patient: the patients the
-- caller's provider (provider_id claim) has an appointment with, any status.
-- One query per statement, not one per row: it takes no arguments, so
-- careguard's planner support hoists the call into an initPlan, and
-- `id = ANY(...)` then probes the primary key.
CREATE FUNCTION bookings.patients_of_current_provider()
  RETURNS pg_catalog.uuid[]
  LANGUAGE sql STABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
  AS $fn$
  SELECT COALESCE(pg_catalog.array_agg(DISTINCT a.patient_id), '{}'::pg_catalog.uuid[])
    FROM bookings.appointments a
   WHERE a.provider_id OPERATOR(pg_catalog.=) auth.provider_id()
$fn$;
REVOKE ALL ON FUNCTION bookings.patients_of_current_provider() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION bookings.patients_of_current_provider() TO provider, service_role;
COMMENT ON FUNCTION bookings.patients_of_current_provider() IS
  'The patients the caller''s provider (provider_id claim) has an appointment with, of any status.';

-- A patient books only inside one of the provider's availability ranges.
-- PL/pgSQL, not SQL: its pinned search_path keeps it from being inlined
-- either way, and on Citus a SQL function with parameters cannot run the
-- nested distributed query this one is there (bookings.citus_prepare_workers).
CREATE FUNCTION bookings.slot_is_available(provider_id pg_catalog.uuid, starts_at pg_catalog.timestamptz,
                                           ends_at pg_catalog.timestamptz)
  RETURNS pg_catalog.bool
  LANGUAGE plpgsql STABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
  AS $fn$
BEGIN
  RETURN EXISTS (
    SELECT 1 FROM providers.availability av
     WHERE av.provider_id OPERATOR(pg_catalog.=) slot_is_available.provider_id
       AND av.during OPERATOR(pg_catalog.@>) pg_catalog.tstzrange(starts_at, ends_at, '[)'));
END
$fn$;
-- These run queries under RLS, so their claims decide rows, and they are
-- PARALLEL SAFE. careguard's planner support (which loads careguard.so at
-- plan time) makes sure the leader's claim-trust hook is in place before a
-- parallel plan that calls them starts; see docs/architecture.md.
ALTER FUNCTION bookings.can_access_booking(pg_catalog.uuid) SUPPORT careguard.claims_support;
ALTER FUNCTION bookings.patients_of_current_provider() SUPPORT careguard.claims_support;
ALTER FUNCTION bookings.slot_is_available(pg_catalog.uuid, pg_catalog.timestamptz, pg_catalog.timestamptz)
  SUPPORT careguard.claims_support;
REVOKE ALL ON FUNCTION bookings.slot_is_available(pg_catalog.uuid, pg_catalog.timestamptz, pg_catalog.timestamptz)
  FROM PUBLIC;
GRANT EXECUTE ON FUNCTION bookings.slot_is_available(pg_catalog.uuid, pg_catalog.timestamptz, pg_catalog.timestamptz)
  TO authenticated, service_role;
COMMENT ON FUNCTION bookings.slot_is_available(pg_catalog.uuid, pg_catalog.timestamptz, pg_catalog.timestamptz) IS
  'Whether [starts_at, ends_at) lies inside one of the provider''s availability ranges.';

-- Which application role the current user acts as, for the status rules.
CREATE FUNCTION bookings.acting_role() RETURNS pg_catalog.text
  LANGUAGE sql STABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
  AS $fn$
  SELECT CASE
    WHEN r.rolsuper OR r.rolbypassrls THEN 'service_role'
    WHEN pg_catalog.pg_has_role(r.oid, 'admin', 'USAGE') THEN 'admin'
    WHEN pg_catalog.pg_has_role(r.oid, 'provider', 'USAGE') THEN 'provider'
    WHEN pg_catalog.pg_has_role(r.oid, 'patient', 'USAGE') THEN 'patient'
    ELSE 'none'
  END
  FROM pg_catalog.pg_roles r
  WHERE r.rolname OPERATOR(pg_catalog.=) CURRENT_USER
$fn$;
REVOKE ALL ON FUNCTION bookings.acting_role() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION bookings.acting_role() TO authenticated, service_role;
COMMENT ON FUNCTION bookings.acting_role() IS
  'The application role the current user acts as: service_role (superuser or BYPASSRLS), admin, provider, patient or none.';

CREATE FUNCTION bookings.status_transition_allowed(as_role pg_catalog.text,
                                                   from_status bookings.appointment_status,
                                                   to_status bookings.appointment_status)
  RETURNS pg_catalog.bool
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
  AS $fn$
  SELECT CASE
    WHEN as_role OPERATOR(pg_catalog.=) 'patient' THEN
      from_status OPERATOR(pg_catalog.=) ANY ('{pending,confirmed}'::bookings.appointment_status[])
      AND to_status OPERATOR(pg_catalog.=) 'cancelled'
    WHEN as_role OPERATOR(pg_catalog.=) ANY ('{provider,admin,service_role}'::pg_catalog.text[]) THEN
      (from_status OPERATOR(pg_catalog.=) 'pending'
        AND to_status OPERATOR(pg_catalog.=) ANY ('{confirmed,cancelled}'::bookings.appointment_status[]))
      OR (from_status OPERATOR(pg_catalog.=) 'confirmed'
        AND to_status OPERATOR(pg_catalog.=) ANY ('{completed,no_show,cancelled}'::bookings.appointment_status[]))
      -- admin and service_role may correct a recorded outcome
      OR (as_role OPERATOR(pg_catalog.<>) 'provider'
        AND from_status OPERATOR(pg_catalog.=) ANY ('{completed,no_show}'::bookings.appointment_status[])
        AND to_status OPERATOR(pg_catalog.=) ANY ('{completed,no_show}'::bookings.appointment_status[]))
    ELSE false
  END
$fn$;
REVOKE ALL ON FUNCTION bookings.status_transition_allowed(pg_catalog.text, bookings.appointment_status,
                                                          bookings.appointment_status) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION bookings.status_transition_allowed(pg_catalog.text, bookings.appointment_status,
                                                             bookings.appointment_status) TO authenticated, service_role;
COMMENT ON FUNCTION bookings.status_transition_allowed(pg_catalog.text, bookings.appointment_status,
                                                       bookings.appointment_status) IS
  'The status state machine per acting role (patient: cancel only; provider: confirm, cancel, complete, no_show).';

-- BEFORE UPDATE: an appointment is never reassigned (CG002) and its status
-- moves only along the state machine for the acting role (CG001).
CREATE FUNCTION bookings.appointments_guard_update() RETURNS trigger
  LANGUAGE plpgsql VOLATILE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
  AS $fn$
DECLARE
  acting pg_catalog.text;
BEGIN
  IF NEW.id OPERATOR(pg_catalog.<>) OLD.id
     OR NEW.patient_id OPERATOR(pg_catalog.<>) OLD.patient_id
     OR NEW.provider_id OPERATOR(pg_catalog.<>) OLD.provider_id
     OR NEW.created_at OPERATOR(pg_catalog.<>) OLD.created_at THEN
    RAISE EXCEPTION USING
      ERRCODE = 'CG002',
      MESSAGE = pg_catalog.format('appointment %s cannot be reassigned', OLD.id),
      HINT = 'Cancel it and book a new appointment.';
  END IF;
  IF NEW.status OPERATOR(pg_catalog.<>) OLD.status THEN
    acting := bookings.acting_role();
    IF NOT bookings.status_transition_allowed(acting, OLD.status, NEW.status) THEN
      RAISE EXCEPTION USING
        ERRCODE = 'CG001',
        MESSAGE = pg_catalog.format('appointment %s: %s may not change status from %s to %s',
                                    OLD.id, acting, OLD.status, NEW.status);
    END IF;
  END IF;
  NEW.updated_at := pg_catalog.now();
  RETURN NEW;
END
$fn$;
REVOKE ALL ON FUNCTION bookings.appointments_guard_update() FROM PUBLIC;
COMMENT ON FUNCTION bookings.appointments_guard_update() IS
  'BEFORE UPDATE trigger on bookings.appointments: no reassignment (SQLSTATE CG002); status transitions per role (CG001).';

-- Booking races (docs/data-model.md): concurrent bookings of one provider
-- take turns. Without this, two INSERTs of overlapping slots each add their
-- index entry, then each waits for the other's transaction while checking
-- the exclusion constraint: a deadlock (40P01 after deadlock_timeout) instead
-- of the exclusion_violation (23P01) the loser is promised. Holding the
-- provider's lock until commit means a later booker checks against a
-- committed row and gets 23P01 at once. The key is (namespace, hash of
-- provider_id) with the two-int4 form, so it never collides with one-bigint
-- advisory locks; a hash collision only makes two providers take turns.
-- Taken before RLS and constraint checks (BEFORE ROW triggers run first), so
-- a refused booking also waits its turn, and releases the lock on rollback.
CREATE FUNCTION bookings.appointments_lock_provider() RETURNS trigger
  LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
  SET search_path = pg_catalog, pg_temp
  AS $fn$
BEGIN
  -- Only a row that can conflict: live (pending or confirmed), and on UPDATE
  -- only if its provider, time or liveness changed.
  IF NEW.status OPERATOR(pg_catalog.=) ANY ('{pending,confirmed}'::bookings.appointment_status[])
     AND (TG_OP OPERATOR(pg_catalog.=) 'INSERT'
          OR NEW.provider_id OPERATOR(pg_catalog.<>) OLD.provider_id
          OR NEW.starts_at OPERATOR(pg_catalog.<>) OLD.starts_at
          OR NEW.ends_at OPERATOR(pg_catalog.<>) OLD.ends_at
          OR NOT OLD.status OPERATOR(pg_catalog.=) ANY ('{pending,confirmed}'::bookings.appointment_status[])) THEN
    PERFORM pg_catalog.pg_advisory_xact_lock(1128747074, pg_catalog.uuid_hash(NEW.provider_id));
  END IF;
  RETURN NEW;
END
$fn$;
REVOKE ALL ON FUNCTION bookings.appointments_lock_provider() FROM PUBLIC;
COMMENT ON FUNCTION bookings.appointments_lock_provider() IS
  'BEFORE INSERT/UPDATE trigger on bookings.appointments: serializes live bookings of one provider with '
  'pg_advisory_xact_lock(1128747074 (''CGPB''), uuid_hash(provider_id)), so a losing booker gets 23P01, never 40P01.';

-- Statement-level, with transition tables: one set-based INSERT per
-- statement. SECURITY DEFINER: patients and providers have no privilege on
-- the history and cannot forge it. Not on INSERT: a booking is not a status
-- change (appointments.created_at records it), and an INSERT trigger would
-- also fire while pg_restore loads the appointments, doubling the restored
-- history.
CREATE FUNCTION bookings.record_status_history() RETURNS trigger
  LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $fn$
DECLARE
  -- The invoker's role: SET ROLE survives the definer switch in this setting.
  actor pg_catalog.text := CASE pg_catalog.current_setting('role')
                             WHEN 'none' THEN SESSION_USER::pg_catalog.text
                             ELSE pg_catalog.current_setting('role') END;
  by_uid pg_catalog.uuid := auth.uid();
BEGIN
  IF TG_OP OPERATOR(pg_catalog.=) 'UPDATE' THEN
    INSERT INTO bookings.status_history
           (appointment_id, patient_id, provider_id, from_status, to_status, changed_by, changed_by_role)
    SELECT n.id, n.patient_id, n.provider_id, o.status, n.status, by_uid, actor
      FROM old_rows o JOIN new_rows n ON n.id OPERATOR(pg_catalog.=) o.id
     WHERE n.status OPERATOR(pg_catalog.<>) o.status;
  ELSE
    INSERT INTO bookings.status_history
           (appointment_id, patient_id, provider_id, from_status, to_status, changed_by, changed_by_role)
    SELECT o.id, o.patient_id, o.provider_id, o.status, NULL, by_uid, actor FROM old_rows o;
  END IF;
  RETURN NULL;
END
$fn$;
REVOKE ALL ON FUNCTION bookings.record_status_history() FROM PUBLIC;
COMMENT ON FUNCTION bookings.record_status_history() IS
  'AFTER UPDATE/DELETE statement trigger on bookings.appointments: appends status changes and deletions to bookings.status_history.';

CREATE TRIGGER appointments_guard_update BEFORE UPDATE ON bookings.appointments
  FOR EACH ROW EXECUTE FUNCTION bookings.appointments_guard_update();
-- Named to fire after appointments_guard_update (triggers fire in name
-- order): a reassignment is refused before it waits for any lock.
CREATE TRIGGER appointments_lock_provider BEFORE INSERT OR UPDATE OF provider_id, starts_at, ends_at, status
  ON bookings.appointments
  FOR EACH ROW EXECUTE FUNCTION bookings.appointments_lock_provider();
CREATE TRIGGER appointments_history_update AFTER UPDATE ON bookings.appointments
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION bookings.record_status_history();
CREATE TRIGGER appointments_history_delete AFTER DELETE ON bookings.appointments
  REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION bookings.record_status_history();

ALTER TABLE bookings.appointments ENABLE ROW LEVEL SECURITY;
ALTER TABLE bookings.appointments FORCE ROW LEVEL SECURITY;
ALTER TABLE bookings.status_history ENABLE ROW LEVEL SECURITY;
ALTER TABLE bookings.status_history FORCE ROW LEVEL SECURITY;

CREATE POLICY appointments_select_patient ON bookings.appointments FOR SELECT TO patient
  USING (bookings.can_access_booking(patient_id, provider_id, 'patient'));
-- No break-the-glass branch here: OR-ed into this policy it costs the
-- provider dashboard its ordered index scan (docs/audit-trail.md).
CREATE POLICY appointments_select_provider ON bookings.appointments FOR SELECT TO provider
  USING (bookings.can_access_booking(patient_id, provider_id, 'provider'));
CREATE POLICY appointments_select_admin ON bookings.appointments FOR SELECT TO admin
  USING (bookings.can_access_booking(patient_id, provider_id, 'admin'));
-- A patient books for itself, as pending, inside the provider's availability.
CREATE POLICY appointments_insert_patient ON bookings.appointments FOR INSERT TO patient
  WITH CHECK (bookings.can_access_booking(patient_id, provider_id, 'patient')
              AND status OPERATOR(pg_catalog.=) 'pending'::bookings.appointment_status
              AND bookings.slot_is_available(provider_id, starts_at, ends_at));
CREATE POLICY appointments_insert_admin ON bookings.appointments FOR INSERT TO admin
  WITH CHECK (bookings.can_access_booking(patient_id, provider_id, 'admin'));
CREATE POLICY appointments_update_patient ON bookings.appointments FOR UPDATE TO patient
  USING (bookings.can_access_booking(patient_id, provider_id, 'patient'))
  WITH CHECK (bookings.can_access_booking(patient_id, provider_id, 'patient')
              AND status OPERATOR(pg_catalog.=) 'cancelled'::bookings.appointment_status);
CREATE POLICY appointments_update_provider ON bookings.appointments FOR UPDATE TO provider
  USING (bookings.can_access_booking(patient_id, provider_id, 'provider'))
  WITH CHECK (bookings.can_access_booking(patient_id, provider_id, 'provider')
              AND status OPERATOR(pg_catalog.=) ANY
                  ('{confirmed,completed,no_show,cancelled}'::bookings.appointment_status[]));
CREATE POLICY appointments_update_admin ON bookings.appointments FOR UPDATE TO admin
  USING (bookings.can_access_booking(patient_id, provider_id, 'admin'))
  WITH CHECK (bookings.can_access_booking(patient_id, provider_id, 'admin'));
CREATE POLICY appointments_delete_admin ON bookings.appointments FOR DELETE TO admin
  USING (bookings.can_access_booking(patient_id, provider_id, 'admin'));

CREATE POLICY status_history_select_patient ON bookings.status_history FOR SELECT TO patient
  USING (bookings.can_access_booking(patient_id, provider_id, 'patient'));
-- The second branch is break-the-glass (docs/audit-trail.md): an empty array
-- unless the provider opened the glass for a patient; careguard.glass_patients()
-- is hoisted into an initPlan, so the branch is an index condition.
CREATE POLICY status_history_select_provider ON bookings.status_history FOR SELECT TO provider
  USING (bookings.can_access_booking(patient_id, provider_id, 'provider')
         OR patient_id OPERATOR(pg_catalog.=) ANY (careguard.glass_patients()));
CREATE POLICY status_history_select_admin ON bookings.status_history FOR SELECT TO admin
  USING (bookings.can_access_booking(patient_id, provider_id, 'admin'));

REVOKE ALL ON TABLE bookings.appointments, bookings.status_history FROM PUBLIC;
GRANT SELECT ON TABLE bookings.appointments TO patient, provider, admin;
GRANT INSERT (patient_id, provider_id, starts_at, ends_at, reason) ON TABLE bookings.appointments TO patient;
-- Patients and providers change the status only (the trigger sets updated_at).
GRANT UPDATE (status) ON TABLE bookings.appointments TO patient, provider;
GRANT INSERT, UPDATE, DELETE ON TABLE bookings.appointments TO admin;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE bookings.appointments TO service_role;
-- The history is append-only through the trigger, for service_role too.
GRANT SELECT ON TABLE bookings.status_history TO patient, provider, admin, service_role;
REVOKE ALL ON SEQUENCE bookings.status_history_id_seq FROM PUBLIC;

SELECT pg_catalog.pg_extension_config_dump('bookings.appointments', '');
SELECT pg_catalog.pg_extension_config_dump('bookings.status_history', '');
-- The identity sequence too, or a restored history would restart at 1.
SELECT pg_catalog.pg_extension_config_dump('bookings.status_history_id_seq', '');
