-- A patient's accounting of disclosures (HIPAA §164.528): who saw or changed
-- that patient's rows, when, as whom and how. A patient may ask for their own
-- (patient_id = auth.uid()); a member of careguard_auditor for anyone's.
-- SECURITY DEFINER to read the ledger, which callers cannot; the caller's
-- role is the role setting (SET LOCAL ROLE, which a definer function does not
-- change), or the login when none is set. It returns this patient's entry
-- only, never the other patients a record lists.
-- A patient's own accounting does not name another user whose function,
-- trigger or policy read their rows on the way (a SECURITY DEFINER search
-- such as bookings.busy_time() scans the appointments of every patient in
-- its window), or whose statement failed (an INSERT naming them that RLS
-- refused): such a record under a sub not theirs is listed with its time,
-- relation and command, its reader's session user, role, sub and
-- application name NULL, unless the reader was staff when the record was
-- written (reader_staff: a superuser, a BYPASSRLS role, or one with the
-- rights of careguard_auditor or careguard_break_glass, granted to the
-- provider by careguard_booking; for a record without it, the recorded
-- current_user's role now). Unknown means unnamed. A direct read that
-- completed keeps its names: under RLS only staff reach another patient's
-- rows, and whoever did saw them. An auditor sees every name.
CREATE FUNCTION careguard.disclosures(patient_id uuid, from_time timestamptz DEFAULT '-infinity',
                                      to_time timestamptz DEFAULT 'infinity')
  RETURNS TABLE (at timestamptz, seq bigint, kind text, relation text, command text,
                 session_user_name text, role_name text, sub text, application_name text,
                 rls text, bypass_reason text, nested boolean, break_glass boolean, reason text)
  LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $disclosures$
DECLARE
  caller text := CASE pg_catalog.current_setting('role')
                   WHEN 'none' THEN SESSION_USER::text ELSE pg_catalog.current_setting('role') END;
  -- USAGE, not MEMBER: a NOINHERIT gateway login may SET ROLE to an
  -- auditor's role, but until it does it holds none of its rights.
  auditor boolean := pg_catalog.pg_has_role(caller, 'careguard_auditor', 'USAGE');
BEGIN
  IF patient_id IS NULL THEN
    RAISE EXCEPTION 'an accounting is for one patient' USING ERRCODE = '22004';
  END IF;
  IF patient_id IS DISTINCT FROM auth.uid() AND NOT auditor THEN
    RAISE EXCEPTION 'an accounting of disclosures is for the patient themselves or an auditor'
      USING ERRCODE = '42501';
  END IF;
  RETURN QUERY
    SELECT (r OPERATOR(pg_catalog.->>) 'at')::timestamptz, l.seq, l.kind,
           r OPERATOR(pg_catalog.->>) 'relation', r OPERATOR(pg_catalog.->>) 'command',
           CASE WHEN NOT unnamed THEN r OPERATOR(pg_catalog.->>) 'session_user' END,
           CASE WHEN NOT unnamed THEN r OPERATOR(pg_catalog.->>) 'current_user' END,
           CASE WHEN NOT unnamed THEN r OPERATOR(pg_catalog.->>) 'sub' END,
           CASE WHEN NOT unnamed THEN r OPERATOR(pg_catalog.->>) 'application_name' END,
           r OPERATOR(pg_catalog.->>) 'rls', r OPERATOR(pg_catalog.->>) 'bypass_reason',
           COALESCE((r OPERATOR(pg_catalog.->>) 'nested')::boolean, false),
           COALESCE((r OPERATOR(pg_catalog.->>) 'break_glass')::boolean, false)
             OR l.kind OPERATOR(pg_catalog.=) 'break_glass',
           r OPERATOR(pg_catalog.->) 'detail' OPERATOR(pg_catalog.->>) 'reason'
      FROM careguard.ledger l,
           LATERAL (SELECT l.record::jsonb AS r) AS parsed,
           LATERAL (SELECT
             -- nested, inside a SECURITY DEFINER function, or failed
             COALESCE((r OPERATOR(pg_catalog.->>) 'nested')::boolean, false)
               OR COALESCE((r OPERATOR(pg_catalog.->>) 'security_definer')::boolean, false)
               OR COALESCE((r OPERATOR(pg_catalog.->>) 'aborted')::boolean, false) AS on_the_way,
             -- the patient's own sub in any spelling auth.uid() accepts
             COALESCE(pg_catalog.translate(pg_catalog.lower(r OPERATOR(pg_catalog.->>) 'sub'), '{}-', '')
                        OPERATOR(pg_catalog.=) pg_catalog.translate(patient_id::text, '-', ''), false) AS own,
             COALESCE((r OPERATOR(pg_catalog.->>) 'reader_staff')::boolean,
                      (SELECT a.rolsuper OR a.rolbypassrls
                              OR pg_catalog.pg_has_role(a.oid, 'careguard_auditor', 'USAGE')
                              OR pg_catalog.pg_has_role(a.oid, 'careguard_break_glass', 'USAGE')
                         FROM pg_catalog.pg_roles a
                        WHERE a.oid OPERATOR(pg_catalog.=) pg_catalog.to_regrole(
                                pg_catalog.quote_ident(r OPERATOR(pg_catalog.->>) 'current_user'))::pg_catalog.oid),
                      false) AS staff) AS reader,
           LATERAL (SELECT NOT auditor AND reader.on_the_way AND NOT reader.own AND NOT reader.staff
                      AS unnamed) AS shown
     WHERE l.patient_ids OPERATOR(pg_catalog.@>) ARRAY[patient_id]
       AND (r OPERATOR(pg_catalog.->>) 'at')::timestamptz OPERATOR(pg_catalog.>=) from_time
       AND (r OPERATOR(pg_catalog.->>) 'at')::timestamptz OPERATOR(pg_catalog.<) to_time
     ORDER BY l.seq;
END
$disclosures$;
REVOKE ALL ON FUNCTION careguard.disclosures(uuid, timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION careguard.disclosures(uuid, timestamptz, timestamptz)
  TO authenticated, careguard_auditor;
