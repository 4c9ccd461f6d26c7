-- careguard.disclosures() as 0.4.0 shipped it: created by 0.3.0--0.4.0,
-- restored by 0.4.1--0.4.0 (sql/careguard/97_ledger_disclosures.sql has the newest).
-- A patient's accounting of disclosures (HIPAA §164.528): who saw or changed
-- that patient's rows, when, as whom and how. A patient may ask for their own
-- (patient_id = auth.uid()); a member of careguard_auditor for anyone's.
-- SECURITY DEFINER to read the ledger, which callers cannot; the caller's
-- role is the role setting (SET LOCAL ROLE, which a definer function does not
-- change), or the login when none is set. It returns this patient's entry
-- only, never the other patients a record lists.
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
BEGIN
  IF patient_id IS NULL THEN
    RAISE EXCEPTION 'an accounting is for one patient' USING ERRCODE = '22004';
  END IF;
  IF patient_id IS DISTINCT FROM auth.uid()
     -- USAGE, not MEMBER: a NOINHERIT gateway login may SET ROLE to an
     -- auditor's role, but until it does it holds none of its rights.
     AND NOT pg_catalog.pg_has_role(caller, 'careguard_auditor', 'USAGE') THEN
    RAISE EXCEPTION 'an accounting of disclosures is for the patient themselves or an auditor'
      USING ERRCODE = '42501';
  END IF;
  RETURN QUERY
    SELECT (r OPERATOR(pg_catalog.->>) 'at')::timestamptz, l.seq, l.kind,
           r OPERATOR(pg_catalog.->>) 'relation', r OPERATOR(pg_catalog.->>) 'command',
           r OPERATOR(pg_catalog.->>) 'session_user', r OPERATOR(pg_catalog.->>) 'current_user',
           r OPERATOR(pg_catalog.->>) 'sub', r OPERATOR(pg_catalog.->>) 'application_name',
           r OPERATOR(pg_catalog.->>) 'rls', r OPERATOR(pg_catalog.->>) 'bypass_reason',
           COALESCE((r OPERATOR(pg_catalog.->>) 'nested')::boolean, false),
           COALESCE((r OPERATOR(pg_catalog.->>) 'break_glass')::boolean, false)
             OR l.kind OPERATOR(pg_catalog.=) 'break_glass',
           r OPERATOR(pg_catalog.->) 'detail' OPERATOR(pg_catalog.->>) 'reason'
      FROM careguard.ledger l, LATERAL (SELECT l.record::jsonb AS r) AS parsed
     WHERE l.patient_ids OPERATOR(pg_catalog.@>) ARRAY[patient_id]
       AND (r OPERATOR(pg_catalog.->>) 'at')::timestamptz OPERATOR(pg_catalog.>=) from_time
       AND (r OPERATOR(pg_catalog.->>) 'at')::timestamptz OPERATOR(pg_catalog.<) to_time
     ORDER BY l.seq;
END
$disclosures$;
REVOKE ALL ON FUNCTION careguard.disclosures(uuid, timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION careguard.disclosures(uuid, timestamptz, timestamptz)
  TO authenticated, careguard_auditor;
