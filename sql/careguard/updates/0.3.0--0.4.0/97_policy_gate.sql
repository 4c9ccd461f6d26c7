-- 0.3.0 -> 0.4.0: the policy gate's record of allowed exceptions.
CREATE TABLE careguard.policy_gap_exceptions (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  recorded_at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
  transaction_id xid8 NOT NULL DEFAULT pg_catalog.pg_current_xact_id(),
  session_user_name name NOT NULL,
  current_user_name name NOT NULL,
  table_oid oid NOT NULL,
  table_name text NOT NULL,
  missing text NOT NULL,
  reason text NOT NULL
    CONSTRAINT policy_gap_exceptions_reason_check
    CHECK (pg_catalog.btrim(reason) OPERATOR(pg_catalog.<>) '')
);
COMMENT ON TABLE careguard.policy_gap_exceptions IS
  'Policy gaps a transaction committed deliberately (careguard.allow_policy_gap): who, when, which table, what was missing, why.';
SELECT pg_catalog.pg_extension_config_dump('careguard.policy_gap_exceptions', '');
SELECT pg_catalog.pg_extension_config_dump('careguard.policy_gap_exceptions_id_seq', '');
ALTER TABLE careguard.policy_gap_exceptions ENABLE ROW LEVEL SECURITY;
ALTER TABLE careguard.policy_gap_exceptions FORCE ROW LEVEL SECURITY;
REVOKE ALL ON careguard.policy_gap_exceptions FROM PUBLIC;
GRANT SELECT ON careguard.policy_gap_exceptions TO careguard_auditor;
CREATE POLICY policy_gap_exceptions_auditor_read ON careguard.policy_gap_exceptions
  FOR SELECT TO careguard_auditor USING (true);
