-- Break-the-glass (HIPAA §164.312(a)(2)(ii), emergency access): a member of
-- careguard_break_glass reaches one patient's rows for a few minutes beyond
-- the normal policies, with a stated reason. Every grant is ledgered (it
-- outlives a rollback), announced with NOTIFY careguard_break_glass, expires
-- by itself, and stays in careguard.glass_review() until an auditor signs it
-- off. A product's policies add a branch: patient_id = ANY (careguard.glass_patients()).

SELECT careguard.ensure_role('careguard_break_glass', 'NOLOGIN NOINHERIT');
GRANT USAGE ON SCHEMA careguard TO careguard_break_glass, authenticated;

CREATE TABLE careguard.glass_grants (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id uuid NOT NULL,
  role_name name NOT NULL,
  patient_id uuid NOT NULL,
  reason text NOT NULL,
  granted_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
  expires_at timestamptz NOT NULL,
  reviewed_by name,
  reviewed_at timestamptz,
  review_note text,
  CONSTRAINT glass_grants_window CHECK (expires_at OPERATOR(pg_catalog.>) granted_at
    AND expires_at OPERATOR(pg_catalog.<=) (granted_at OPERATOR(pg_catalog.+) '4 hours'::pg_catalog.interval)),
  -- Whoever writes the row: a reason a reviewer can read (three words at least), small enough for
  -- the NOTIFY payload (8000 bytes) and a ledger record.
  CONSTRAINT glass_grants_reason CHECK (
    pg_catalog.char_length(pg_catalog.btrim(reason)) OPERATOR(pg_catalog.>=) 20
    AND pg_catalog.octet_length(reason) OPERATOR(pg_catalog.<=) 2000
    AND pg_catalog.array_length(pg_catalog.regexp_split_to_array(pg_catalog.btrim(reason), '\s+'), 1)
        OPERATOR(pg_catalog.>=) 3)
);
CREATE INDEX glass_grants_user_idx ON careguard.glass_grants (user_id, expires_at);
CREATE INDEX glass_grants_unreviewed_idx ON careguard.glass_grants (reviewed_at, granted_at);
COMMENT ON TABLE careguard.glass_grants IS
  'Break-the-glass grants: who reached which patient, why, until when, and who reviewed it.';
ALTER TABLE careguard.glass_grants ENABLE ROW LEVEL SECURITY;
ALTER TABLE careguard.glass_grants FORCE ROW LEVEL SECURITY;
REVOKE ALL ON careguard.glass_grants FROM PUBLIC;
-- INSERT on the columns break_glass() writes only: not on id, so that no
-- breaker can choose a grant's id (OVERRIDING SYSTEM VALUE needs it) and make
-- two grants share one.
GRANT SELECT ON careguard.glass_grants TO careguard_break_glass;
GRANT INSERT (user_id, role_name, patient_id, reason, expires_at) ON careguard.glass_grants
  TO careguard_break_glass;
GRANT SELECT, UPDATE (reviewed_by, reviewed_at, review_note) ON careguard.glass_grants TO careguard_auditor;
-- A breaker sees and makes only their own grants, under their own identity.
CREATE POLICY glass_grants_own ON careguard.glass_grants FOR SELECT TO careguard_break_glass
  USING (user_id OPERATOR(pg_catalog.=) auth.uid());
CREATE POLICY glass_grants_make ON careguard.glass_grants FOR INSERT TO careguard_break_glass
  WITH CHECK (user_id OPERATOR(pg_catalog.=) auth.uid() AND role_name OPERATOR(pg_catalog.=) CURRENT_USER
              AND reviewed_at IS NULL AND reviewed_by IS NULL
              -- Opened now, not back- or forward-dated past the window check.
              AND granted_at OPERATOR(pg_catalog.=) pg_catalog.now());
CREATE POLICY glass_grants_review_read ON careguard.glass_grants FOR SELECT TO careguard_auditor USING (true);
CREATE POLICY glass_grants_review ON careguard.glass_grants FOR UPDATE TO careguard_auditor
  USING (reviewed_at IS NULL) WITH CHECK (reviewed_by OPERATOR(pg_catalog.=) CURRENT_USER);
-- Backends cache the active grants (to flag break-glass disclosures).
CREATE TRIGGER glass_grants_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
  ON careguard.glass_grants FOR EACH STATEMENT EXECUTE FUNCTION careguard.phi_registry_changed();

-- Ledgers and announces each grant and each sign-off; SECURITY DEFINER to
-- reach the ledger, which the breaker cannot.
CREATE FUNCTION careguard.glass_grant_recorded() RETURNS trigger
  LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $recorded$
DECLARE
  -- xid: glass_review() tells by it a grant whose transaction rolled back.
  detail jsonb := pg_catalog.jsonb_build_object(
    'grant_id', NEW.id, 'user_id', NEW.user_id, 'role', NEW.role_name, 'reason', NEW.reason,
    'expires_at', NEW.expires_at, 'reviewed_by', NEW.reviewed_by, 'review_note', NEW.review_note,
    'xid', pg_catalog.pg_current_xact_id());
BEGIN
  IF TG_OP OPERATOR(pg_catalog.=) 'INSERT' THEN
    PERFORM careguard.ledger_append('break_glass', detail, NEW.patient_id);
    -- Any role may LISTEN: the payload names the grant only (its reason may
    -- describe the patient); the officer reads the rest in glass_review().
    PERFORM pg_catalog.pg_notify('careguard_break_glass',
      pg_catalog.jsonb_build_object('grant_id', NEW.id)::text);
  ELSE
    PERFORM careguard.ledger_append('break_glass_review', detail, NEW.patient_id);
  END IF;
  RETURN NULL;
END
$recorded$;
REVOKE ALL ON FUNCTION careguard.glass_grant_recorded() FROM PUBLIC;
CREATE TRIGGER glass_grants_recorded AFTER INSERT OR UPDATE ON careguard.glass_grants
  FOR EACH ROW EXECUTE FUNCTION careguard.glass_grant_recorded();

-- Opens the glass for one patient. The reason must say something: at least
-- 20 characters and three words, at most 2000 bytes. At most 240 minutes.
CREATE FUNCTION careguard.break_glass(patient_id uuid, reason text, minutes integer DEFAULT 30)
  RETURNS timestamptz
  LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
  SET search_path = pg_catalog, pg_temp
AS $break$
DECLARE
  expires timestamptz;
BEGIN
  IF auth.uid() IS NULL THEN
    RAISE EXCEPTION 'break-glass needs an identity (a verified or gateway sub)' USING ERRCODE = '28000';
  END IF;
  IF NOT pg_catalog.pg_has_role(CURRENT_USER, 'careguard_break_glass', 'MEMBER') THEN
    RAISE EXCEPTION 'role "%" may not break the glass', CURRENT_USER USING ERRCODE = '42501';
  END IF;
  IF patient_id IS NULL OR reason IS NULL
     OR pg_catalog.length(pg_catalog.btrim(reason)) OPERATOR(pg_catalog.<) 20
     OR pg_catalog.octet_length(reason) OPERATOR(pg_catalog.>) 2000
     OR pg_catalog.array_length(pg_catalog.regexp_split_to_array(pg_catalog.btrim(reason), '\s+'), 1)
        OPERATOR(pg_catalog.<) 3 THEN
    RAISE EXCEPTION 'break-glass needs a reason a reviewer can check (20 characters and three words at least, 2000 bytes at most)'
      USING ERRCODE = '22023';
  END IF;
  IF minutes IS NULL OR minutes OPERATOR(pg_catalog.<) 1 OR minutes OPERATOR(pg_catalog.>) 240 THEN
    RAISE EXCEPTION 'break-glass lasts 1 to 240 minutes, not %', minutes USING ERRCODE = '22023';
  END IF;
  INSERT INTO careguard.glass_grants (user_id, role_name, patient_id, reason, expires_at)
  VALUES (auth.uid(), CURRENT_USER, break_glass.patient_id, pg_catalog.btrim(reason),
          pg_catalog.now() OPERATOR(pg_catalog.+) pg_catalog.make_interval(mins => minutes))
  RETURNING expires_at INTO expires;
  RETURN expires;
END
$break$;
REVOKE ALL ON FUNCTION careguard.break_glass(uuid, text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION careguard.break_glass(uuid, text, integer) TO careguard_break_glass;

-- The patients the caller's open glass reaches now: for policies. Not
-- inlinable (it reads a table); the planner support function hoists it into
-- an initPlan, so a policy's `patient_id = ANY (...)` stays an index condition.
CREATE FUNCTION careguard.glass_patients() RETURNS uuid[]
  LANGUAGE sql STABLE PARALLEL SAFE
  SUPPORT careguard.claims_support
  SET search_path = pg_catalog, pg_temp
AS $patients$
  SELECT COALESCE(pg_catalog.array_agg(g.patient_id), '{}'::uuid[])
    FROM careguard.glass_grants g
   WHERE g.user_id OPERATOR(pg_catalog.=) auth.uid()
     AND g.expires_at OPERATOR(pg_catalog.>) pg_catalog.now()
     AND pg_catalog.pg_has_role(CURRENT_USER, 'careguard_break_glass', 'MEMBER')
$patients$;
REVOKE ALL ON FUNCTION careguard.glass_patients() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION careguard.glass_patients() TO authenticated, careguard_break_glass;

-- Sign-offs of grants whose transaction rolled back: the grant's row is gone
-- (its ledger record is not, and the access it gave within its transaction
-- happened), so the sign-off is a row of its own, ledgered like the others.
CREATE TABLE careguard.glass_rollback_reviews (
  grant_id bigint PRIMARY KEY,
  reviewed_by name NOT NULL DEFAULT CURRENT_USER,
  reviewed_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
  review_note text NOT NULL
    CHECK (pg_catalog.char_length(pg_catalog.btrim(review_note)) OPERATOR(pg_catalog.>=) 10
           AND pg_catalog.octet_length(review_note) OPERATOR(pg_catalog.<=) 2000)
);
COMMENT ON TABLE careguard.glass_rollback_reviews IS
  'Sign-offs of break-glass grants whose transaction rolled back (they are in the ledger only).';
SELECT pg_catalog.pg_extension_config_dump('careguard.glass_rollback_reviews', '');
ALTER TABLE careguard.glass_rollback_reviews ENABLE ROW LEVEL SECURITY;
ALTER TABLE careguard.glass_rollback_reviews FORCE ROW LEVEL SECURITY;
REVOKE ALL ON careguard.glass_rollback_reviews FROM PUBLIC;
GRANT SELECT, INSERT ON careguard.glass_rollback_reviews TO careguard_auditor;
CREATE POLICY glass_rollback_reviews_read ON careguard.glass_rollback_reviews FOR SELECT
  TO careguard_auditor USING (true);
CREATE POLICY glass_rollback_reviews_sign ON careguard.glass_rollback_reviews FOR INSERT
  TO careguard_auditor
  WITH CHECK (reviewed_by OPERATOR(pg_catalog.=) CURRENT_USER
              AND reviewed_at OPERATOR(pg_catalog.=) pg_catalog.now());

CREATE FUNCTION careguard.glass_rollback_review_recorded() RETURNS trigger
  LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $recorded$
BEGIN
  PERFORM careguard.ledger_append('break_glass_review',
    pg_catalog.jsonb_build_object('grant_id', NEW.grant_id, 'reviewed_by', NEW.reviewed_by,
                                  'review_note', NEW.review_note, 'rolled_back', true,
                                  'xid', pg_catalog.pg_current_xact_id()),
    (SELECT l.patient_ids[1] FROM careguard.ledger l
      WHERE l.kind OPERATOR(pg_catalog.=) 'break_glass'
        AND (l.record::jsonb OPERATOR(pg_catalog.->) 'detail' OPERATOR(pg_catalog.->>) 'grant_id')::bigint
            OPERATOR(pg_catalog.=) NEW.grant_id
      LIMIT 1));
  RETURN NULL;
END
$recorded$;
REVOKE ALL ON FUNCTION careguard.glass_rollback_review_recorded() FROM PUBLIC;
CREATE TRIGGER glass_rollback_reviews_recorded AFTER INSERT ON careguard.glass_rollback_reviews
  FOR EACH ROW EXECUTE FUNCTION careguard.glass_rollback_review_recorded();

-- Only a rolled-back grant awaiting review can be signed: not one that is
-- still open, was never opened, or has a row of its own. SECURITY DEFINER to
-- see every grant and record whoever signs.
CREATE FUNCTION careguard.glass_rollback_review_check() RETURNS trigger
  LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $check$
BEGIN
  PERFORM FROM careguard.glass_review() r
    WHERE r.id OPERATOR(pg_catalog.=) NEW.grant_id AND r.rolled_back;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no unreviewed break-glass grant %', NEW.grant_id USING ERRCODE = 'P0002';
  END IF;
  RETURN NEW;
END
$check$;
REVOKE ALL ON FUNCTION careguard.glass_rollback_review_check() FROM PUBLIC;
CREATE TRIGGER glass_rollback_reviews_check BEFORE INSERT ON careguard.glass_rollback_reviews
  FOR EACH ROW EXECUTE FUNCTION careguard.glass_rollback_review_check();

-- Whether the transaction with this xid (from a break-glass record) has
-- ended, without asking the commit log about an xid it cannot answer for:
-- one at or past this snapshot's xmax is another cluster's (a restored
-- ledger), one below its xmin has ended (its status may be truncated away).
-- A record without an xid counts as ended: it is listed, never hidden.
CREATE FUNCTION careguard.glass_xact_ended(x xid8) RETURNS boolean
  LANGUAGE sql VOLATILE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $ended$
  SELECT CASE
    WHEN x IS NULL THEN true
    WHEN x OPERATOR(pg_catalog.>=) pg_catalog.pg_snapshot_xmax(pg_catalog.pg_current_snapshot()) THEN true
    WHEN x OPERATOR(pg_catalog.<) pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot()) THEN true
    ELSE COALESCE(pg_catalog.pg_xact_status(x) OPERATOR(pg_catalog.<>) 'in progress', true)
  END
$ended$;
REVOKE ALL ON FUNCTION careguard.glass_xact_ended(xid8) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION careguard.glass_xact_ended(xid8) TO careguard_auditor;

-- Grants awaiting a reviewer's sign-off, oldest first: the grants' rows, and
-- the grants the ledger recorded whose transaction has ended without leaving
-- a row (rolled back, or its savepoint was), marked rolled_back. VOLATILE:
-- pg_xact_status reads the commit log as it is now.
CREATE FUNCTION careguard.glass_review()
  RETURNS TABLE (id bigint, user_id uuid, role_name name, patient_id uuid, reason text,
                 granted_at timestamptz, expires_at timestamptz, expired boolean,
                 rolled_back boolean)
  LANGUAGE sql VOLATILE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $review$
  SELECT g.id, g.user_id, g.role_name, g.patient_id, g.reason, g.granted_at, g.expires_at,
         g.expires_at OPERATOR(pg_catalog.<=) pg_catalog.now(), false
    FROM careguard.glass_grants g WHERE g.reviewed_at IS NULL
  UNION ALL
  SELECT b.grant_id, (b.detail OPERATOR(pg_catalog.->>) 'user_id')::uuid,
         (b.detail OPERATOR(pg_catalog.->>) 'role')::name, b.patient_id,
         b.detail OPERATOR(pg_catalog.->>) 'reason', b.granted_at,
         (b.detail OPERATOR(pg_catalog.->>) 'expires_at')::timestamptz, true, true
    FROM (SELECT (l.record::jsonb OPERATOR(pg_catalog.->) 'detail' OPERATOR(pg_catalog.->>) 'grant_id')::bigint
                   AS grant_id,
                 l.record::jsonb OPERATOR(pg_catalog.->) 'detail' AS detail, l.patient_ids[1] AS patient_id,
                 (l.record::jsonb OPERATOR(pg_catalog.->>) 'at')::timestamptz AS granted_at
            FROM careguard.ledger l WHERE l.kind OPERATOR(pg_catalog.=) 'break_glass') b
   WHERE careguard.glass_xact_ended((b.detail OPERATOR(pg_catalog.->>) 'xid')::xid8)
     AND NOT EXISTS (SELECT FROM careguard.glass_grants g WHERE g.id OPERATOR(pg_catalog.=) b.grant_id)
     AND NOT EXISTS (SELECT FROM careguard.glass_rollback_reviews r
                      WHERE r.grant_id OPERATOR(pg_catalog.=) b.grant_id)
   ORDER BY 6, 1
$review$;
REVOKE ALL ON FUNCTION careguard.glass_review() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION careguard.glass_review() TO careguard_auditor;

CREATE FUNCTION careguard.glass_sign_off(grant_id bigint, note text) RETURNS void
  LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
  SET search_path = pg_catalog, pg_temp
AS $sign$
BEGIN
  IF note IS NULL OR pg_catalog.length(pg_catalog.btrim(note)) OPERATOR(pg_catalog.<) 10 THEN
    RAISE EXCEPTION 'a sign-off states what was checked (10 characters at least)' USING ERRCODE = '22023';
  END IF;
  UPDATE careguard.glass_grants g
     SET reviewed_by = CURRENT_USER, reviewed_at = pg_catalog.now(), review_note = pg_catalog.btrim(note)
   WHERE g.id OPERATOR(pg_catalog.=) grant_id AND g.reviewed_at IS NULL;
  IF FOUND THEN
    RETURN;
  END IF;
  -- No row: a rolled-back grant awaiting review, or none (the table's check
  -- trigger refuses that with P0002).
  INSERT INTO careguard.glass_rollback_reviews (grant_id, review_note)
  VALUES (grant_id, pg_catalog.btrim(note));
END
$sign$;
REVOKE ALL ON FUNCTION careguard.glass_sign_off(bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION careguard.glass_sign_off(bigint, text) TO careguard_auditor;
