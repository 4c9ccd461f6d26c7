-- The audit fixture: schema audit_fixture plants every audit rule's flaw
-- exactly once, next to clean look-alikes that must NOT fire. Expected
-- findings are in test/audit/expected.tsv (rule, object); the pgTAP suite
-- test/pgtap/90_audit.sql and the CLI tests compare against them.
-- Needs careguard installed and a superuser. Undo with teardown.sql, or run
-- it inside a transaction that rolls back. Load it as one transaction (psql -1):
-- the gate exception below is SET LOCAL.

CREATE SCHEMA audit_fixture;
-- authenticated may use the schema (so exposure is real); anon may not.
GRANT USAGE ON SCHEMA audit_fixture TO authenticated;
-- The fixture schema counts as PHI for the phi_public_grant rule.
INSERT INTO careguard.audit_phi_schemas (schema_name) VALUES ('audit_fixture');
-- The plants are holes on purpose: the policy gate lets the transaction that
-- loads them commit, and records each (teardown.sql removes the records).
SET LOCAL careguard.allow_policy_gap = 'test/audit/fixture.sql plants the holes the audit must report';

-- A SQL auth helper the Supabase way (parses claims): fine when wrapped.
CREATE FUNCTION audit_fixture.sql_uid() RETURNS uuid
  LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
  AS $$ SELECT (pg_catalog.current_setting('request.jwt.claims', true)::jsonb ->> 'sub')::uuid $$;

-- Clean look-alike: every good practice at once. Fires nothing.
CREATE TABLE audit_fixture.clean_owned (
  id bigint PRIMARY KEY,
  owner uuid NOT NULL,
  note text);
CREATE INDEX ON audit_fixture.clean_owned (owner);
ALTER TABLE audit_fixture.clean_owned ALTER COLUMN note SET STATISTICS 0;
ALTER TABLE audit_fixture.clean_owned ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY clean_read ON audit_fixture.clean_owned FOR SELECT TO authenticated
  USING (owner = auth.uid());
CREATE POLICY clean_insert ON audit_fixture.clean_owned FOR INSERT TO authenticated
  WITH CHECK (owner = (SELECT audit_fixture.sql_uid()));
CREATE POLICY clean_update ON audit_fixture.clean_owned FOR UPDATE TO authenticated
  USING (owner = (SELECT auth.uid())) WITH CHECK (owner = auth.uid());
CREATE POLICY clean_admin_all ON audit_fixture.clean_owned FOR ALL TO admin
  USING (true) WITH CHECK (true);
GRANT SELECT, INSERT, UPDATE, DELETE ON audit_fixture.clean_owned TO authenticated;
INSERT INTO audit_fixture.clean_owned VALUES
  (1, '00000000-0000-4000-8000-00000000000a', 'a1'),
  (2, '00000000-0000-4000-8000-00000000000a', 'a2'),
  (3, '00000000-0000-4000-8000-00000000000b', 'b1');

-- phi_column_statistics: free text in a PHI table, analysed with the default
-- statistics target; the enumerated column next to it is not free text.
CREATE TABLE audit_fixture.free_text_stats (
  id bigint PRIMARY KEY,
  diagnosis text,
  channel text CHECK (channel = ANY (ARRAY['email', 'sms'])));
ALTER TABLE audit_fixture.free_text_stats ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY free_text_stats_admin ON audit_fixture.free_text_stats FOR SELECT TO admin USING (true);
GRANT SELECT ON audit_fixture.free_text_stats TO admin;
INSERT INTO audit_fixture.free_text_stats
  SELECT i, CASE WHEN i % 3 = 0 THEN 'HIV viral load review' ELSE 'checkup ' || i END,
         CASE WHEN i % 2 = 0 THEN 'email' ELSE 'sms' END
  FROM generate_series(1, 300) i;
ANALYZE audit_fixture.free_text_stats;

-- rls_disabled_exposed through a member of authenticated (a product's
-- patient, say), not authenticated itself.
CREATE ROLE audit_fixture_member NOLOGIN;
GRANT authenticated TO audit_fixture_member;
CREATE TABLE audit_fixture.member_exposed (id bigint PRIMARY KEY);
GRANT SELECT ON audit_fixture.member_exposed TO audit_fixture_member;

-- materialized_view_in_api and foreign_table_in_api: no RLS on either.
CREATE MATERIALIZED VIEW audit_fixture.owned_mv AS SELECT id, owner FROM audit_fixture.clean_owned;
GRANT SELECT ON audit_fixture.owned_mv TO authenticated;
CREATE FOREIGN DATA WRAPPER audit_fixture_fdw;
CREATE SERVER audit_fixture_server FOREIGN DATA WRAPPER audit_fixture_fdw;
CREATE FOREIGN TABLE audit_fixture.remote_rows (id bigint) SERVER audit_fixture_server;
GRANT SELECT ON audit_fixture.remote_rows TO authenticated;

-- rls_disabled_exposed: authenticated can read, RLS off.
CREATE TABLE audit_fixture.exposed (id bigint PRIMARY KEY);
GRANT SELECT ON audit_fixture.exposed TO authenticated;

-- Clean look-alike: RLS off, but nobody but the owner can read it.
CREATE TABLE audit_fixture.private_no_rls (id bigint PRIMARY KEY);

-- rls_not_forced
CREATE TABLE audit_fixture.not_forced (id bigint PRIMARY KEY);
ALTER TABLE audit_fixture.not_forced ENABLE ROW LEVEL SECURITY;
CREATE POLICY not_forced_read ON audit_fixture.not_forced FOR SELECT TO authenticated USING (true);

-- policy_without_rls (not readable by anon/authenticated, so not "exposed")
CREATE TABLE audit_fixture.policy_no_rls (id bigint PRIMARY KEY);
CREATE POLICY policy_no_rls_read ON audit_fixture.policy_no_rls FOR SELECT TO authenticated USING (true);

-- rls_no_policy
CREATE TABLE audit_fixture.no_policy (id bigint PRIMARY KEY);
ALTER TABLE audit_fixture.no_policy ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;

-- write_policy_unchecked: an INSERT policy with no WITH CHECK.
CREATE TABLE audit_fixture.insert_unchecked (id bigint PRIMARY KEY);
ALTER TABLE audit_fixture.insert_unchecked ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY insert_unchecked_ins ON audit_fixture.insert_unchecked FOR INSERT TO authenticated;

-- write_policy_using_true: anyone signed in may delete every row.
CREATE TABLE audit_fixture.delete_all (id bigint PRIMARY KEY);
ALTER TABLE audit_fixture.delete_all ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY delete_all_del ON audit_fixture.delete_all FOR DELETE TO authenticated USING (true);

-- multiple_permissive_policies: two SELECT policies for authenticated.
CREATE TABLE audit_fixture.two_permissive (id bigint PRIMARY KEY);
ALTER TABLE audit_fixture.two_permissive ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY two_permissive_a ON audit_fixture.two_permissive FOR SELECT TO authenticated USING (true);
CREATE POLICY two_permissive_b ON audit_fixture.two_permissive FOR SELECT TO authenticated USING (true);
-- Clean look-alike: a restrictive policy is ANDed, not ORed.
CREATE POLICY two_permissive_r ON audit_fixture.two_permissive AS RESTRICTIVE FOR SELECT TO authenticated
  USING (true);

-- policy_reads_user_metadata (careguard's C auth.jwt(): nothing else fires)
CREATE TABLE audit_fixture.metadata_gate (id bigint PRIMARY KEY);
ALTER TABLE audit_fixture.metadata_gate ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY metadata_gate_read ON audit_fixture.metadata_gate FOR SELECT TO authenticated
  USING ((auth.jwt() -> 'user_metadata' ->> 'tier') = 'gold');

-- policy_calls_volatile
CREATE TABLE audit_fixture.volatile_gate (id bigint PRIMARY KEY);
ALTER TABLE audit_fixture.volatile_gate ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY volatile_gate_read ON audit_fixture.volatile_gate FOR SELECT TO authenticated
  USING (random() < 2);

-- policy_per_row_claims: claims parsed on every row (owner is indexed).
CREATE TABLE audit_fixture.claims_per_row (id bigint PRIMARY KEY, owner uuid NOT NULL);
CREATE INDEX ON audit_fixture.claims_per_row (owner);
ALTER TABLE audit_fixture.claims_per_row ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY claims_per_row_read ON audit_fixture.claims_per_row FOR SELECT TO authenticated
  USING (owner = (current_setting('request.jwt.claims', true)::jsonb ->> 'sub')::uuid);
-- Clean look-alike: the same parse, wrapped once per statement.
CREATE POLICY claims_per_row_ins ON audit_fixture.claims_per_row FOR INSERT TO authenticated
  WITH CHECK (owner = (SELECT (current_setting('request.jwt.claims', true)::jsonb ->> 'sub')::uuid));

-- policy_column_unindexed: the policy filters on owner, which has no index.
CREATE TABLE audit_fixture.unindexed_owner (id bigint PRIMARY KEY, owner uuid NOT NULL);
ALTER TABLE audit_fixture.unindexed_owner ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY unindexed_owner_read ON audit_fixture.unindexed_owner FOR SELECT TO authenticated
  USING (owner = auth.uid());

-- fk_without_index (the parent doubles as the clean look-alike)
CREATE TABLE audit_fixture.parent (id bigint PRIMARY KEY);
ALTER TABLE audit_fixture.parent ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY parent_read ON audit_fixture.parent FOR SELECT TO authenticated USING (true);
CREATE TABLE audit_fixture.child (
  id bigint PRIMARY KEY,
  parent_id bigint NOT NULL CONSTRAINT child_parent_fk REFERENCES audit_fixture.parent (id));
ALTER TABLE audit_fixture.child ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY child_read ON audit_fixture.child FOR SELECT TO authenticated USING (true);
CREATE TABLE audit_fixture.child_indexed (
  id bigint PRIMARY KEY,
  parent_id bigint NOT NULL REFERENCES audit_fixture.parent (id));
CREATE INDEX ON audit_fixture.child_indexed (parent_id, id);
ALTER TABLE audit_fixture.child_indexed ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY child_indexed_read ON audit_fixture.child_indexed FOR SELECT TO authenticated USING (true);

-- secdef_mutable_search_path (not executable by anon)
CREATE FUNCTION audit_fixture.secdef_unpinned() RETURNS integer
  LANGUAGE sql SECURITY DEFINER AS $$ SELECT 1 $$;
REVOKE EXECUTE ON FUNCTION audit_fixture.secdef_unpinned() FROM PUBLIC;

-- secdef_mutable_search_path, "pinned" to a schema anyone may create in.
CREATE FUNCTION audit_fixture.secdef_public_path() RETURNS integer
  LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_catalog AS $$ SELECT 1 $$;
REVOKE EXECUTE ON FUNCTION audit_fixture.secdef_public_path() FROM PUBLIC;

-- Clean look-alike: a SECURITY DEFINER trigger function that PUBLIC may
-- execute (it cannot be called directly).
CREATE FUNCTION audit_fixture.secdef_trigger() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$ BEGIN RETURN NEW; END $$;

-- secdef_executable_by_anon (pinned, but PUBLIC keeps EXECUTE)
CREATE FUNCTION audit_fixture.secdef_for_anon() RETURNS integer
  LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$ SELECT 1 $$;

-- Clean look-alike: pinned and revoked.
CREATE FUNCTION audit_fixture.secdef_clean() RETURNS integer
  LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$ SELECT 1 $$;
REVOKE EXECUTE ON FUNCTION audit_fixture.secdef_clean() FROM PUBLIC;

-- function_mutable_search_path: unqualified relation, no SET search_path.
CREATE FUNCTION audit_fixture.count_parents() RETURNS bigint
  LANGUAGE plpgsql STABLE AS $$ BEGIN RETURN (SELECT count(*) FROM parent); END $$;
-- Clean look-alikes: qualified names; a CTE; IS DISTINCT FROM; BEGIN ATOMIC.
CREATE FUNCTION audit_fixture.count_parents_qualified() RETURNS bigint
  LANGUAGE plpgsql STABLE AS $$
DECLARE n bigint;
BEGIN
  WITH p AS (SELECT id FROM audit_fixture.parent)
  SELECT count(*) INTO n FROM p WHERE p.id IS DISTINCT FROM 0;
  RETURN n;
END $$;
CREATE FUNCTION audit_fixture.count_parents_atomic() RETURNS bigint
  LANGUAGE sql STABLE BEGIN ATOMIC SELECT count(*) FROM audit_fixture.parent; END;

-- function_implicit_operator: the inlinable access check the way the security
-- review found it (simple CASE, bare =), called by a policy. No SET
-- search_path, so both resolve through the querying role's search_path.
CREATE FUNCTION audit_fixture.can_read_owned(row_owner uuid, as_role text) RETURNS boolean
  LANGUAGE sql STABLE
  AS $$ SELECT CASE as_role WHEN 'owner' THEN row_owner = auth.uid() ELSE false END $$;
CREATE POLICY clean_read_patient ON audit_fixture.clean_owned FOR SELECT TO patient
  USING (audit_fixture.can_read_owned(owner, 'owner'));
-- Clean look-alike: also unpinned and inlinable, but a searched CASE and
-- OPERATOR(pg_catalog.=) throughout (the careguard fix).
CREATE FUNCTION audit_fixture.can_read_owned_qualified(row_owner uuid, as_role text) RETURNS boolean
  LANGUAGE sql STABLE
  AS $$ SELECT CASE WHEN as_role OPERATOR(pg_catalog.=) 'owner'
                    THEN row_owner OPERATOR(pg_catalog.=) auth.uid() ELSE false END $$;
CREATE POLICY clean_read_provider ON audit_fixture.clean_owned FOR SELECT TO provider
  USING (audit_fixture.can_read_owned_qualified(owner, 'owner'));

-- view_bypasses_rls
CREATE VIEW audit_fixture.parent_owner_view AS SELECT id FROM audit_fixture.parent;
-- Clean look-alike
CREATE VIEW audit_fixture.parent_invoker_view WITH (security_invoker = true) AS
  SELECT id FROM audit_fixture.parent;

-- phi_public_grant: a PHI table granted to anon.
CREATE TABLE audit_fixture.phi_granted (id bigint PRIMARY KEY);
ALTER TABLE audit_fixture.phi_granted ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY phi_granted_read ON audit_fixture.phi_granted FOR SELECT TO authenticated USING (true);
GRANT SELECT ON audit_fixture.phi_granted TO anon;

-- privileged_role
CREATE ROLE audit_fixture_bypass NOLOGIN BYPASSRLS;

-- extension_table_not_dumped: owned by careguard, holds a row, unregistered.
CREATE TABLE audit_fixture.ext_undumped (id bigint PRIMARY KEY);
ALTER TABLE audit_fixture.ext_undumped ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY ext_undumped_read ON audit_fixture.ext_undumped FOR SELECT TO authenticated USING (true);
INSERT INTO audit_fixture.ext_undumped VALUES (1);
ALTER EXTENSION careguard ADD TABLE audit_fixture.ext_undumped;
-- Clean look-alike: extension-owned but empty.
CREATE TABLE audit_fixture.ext_empty (id bigint PRIMARY KEY);
ALTER TABLE audit_fixture.ext_empty ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY ext_empty_read ON audit_fixture.ext_empty FOR SELECT TO authenticated USING (true);
ALTER EXTENSION careguard ADD TABLE audit_fixture.ext_empty;

-- Issue 13's holes ------------------------------------------------------
-- A role outside anon/authenticated (a clerk's back office) reads a PHI
-- table with RLS off; its password column makes it sensitive too.
CREATE ROLE audit_fixture_clerk NOLOGIN;
GRANT USAGE ON SCHEMA audit_fixture TO audit_fixture_clerk;
CREATE TABLE audit_fixture.clerk_exposed (id bigint PRIMARY KEY, password text);
GRANT SELECT ON audit_fixture.clerk_exposed TO audit_fixture_clerk;
-- A foreign table and a materialized view over auth.users, both for the clerk.
CREATE FOREIGN TABLE audit_fixture.clerk_remote (id bigint) SERVER audit_fixture_server;
GRANT SELECT ON audit_fixture.clerk_remote TO audit_fixture_clerk;
CREATE MATERIALIZED VIEW audit_fixture.user_emails AS SELECT id, email FROM auth.users WITH NO DATA;
GRANT SELECT ON audit_fixture.user_emails TO audit_fixture_clerk;

-- Write policies that fold to true: 1 = 1 (UPDATE: its USING is also the
-- check), true OR x (DELETE), coalesce(true, ...) (INSERT's check).
CREATE TABLE audit_fixture.folded_true (id bigint PRIMARY KEY, owner uuid NOT NULL);
CREATE INDEX ON audit_fixture.folded_true (owner);
ALTER TABLE audit_fixture.folded_true ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY folded_upd ON audit_fixture.folded_true FOR UPDATE TO authenticated USING (1 = 1);
CREATE POLICY folded_del ON audit_fixture.folded_true FOR DELETE TO authenticated
  USING (true OR owner IS NULL);
CREATE POLICY folded_ins ON audit_fixture.folded_true FOR INSERT TO authenticated
  WITH CHECK (coalesce(true, owner = auth.uid()));
-- Clean look-alikes (issue 13, §2): Supabase's tutorial UPDATE policy
-- without WITH CHECK (its USING is the check), a RESTRICTIVE INSERT without
-- one, and a user function that is not evaluated (it would say true).
CREATE TABLE audit_fixture.tutorial (id uuid PRIMARY KEY);
ALTER TABLE audit_fixture.tutorial ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY tutorial_upd ON audit_fixture.tutorial FOR UPDATE TO authenticated
  USING ((SELECT auth.uid()) = id);
CREATE POLICY tutorial_restrict ON audit_fixture.tutorial AS RESTRICTIVE FOR INSERT TO authenticated;
CREATE POLICY tutorial_ins ON audit_fixture.tutorial FOR INSERT TO authenticated
  WITH CHECK (id = (SELECT auth.uid()));
CREATE FUNCTION audit_fixture.says_true(v int) RETURNS boolean
  LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$ SELECT true $$;
CREATE POLICY tutorial_del ON audit_fixture.tutorial FOR DELETE TO authenticated
  USING (audit_fixture.says_true(1) AND id = (SELECT auth.uid()));

-- Inlinable helpers hijackable through IS NOT DISTINCT FROM (no OPERATOR()
-- spelling) and through an unqualified call.
CREATE FUNCTION audit_fixture.same_owner(a uuid, b uuid) RETURNS boolean
  LANGUAGE sql STABLE AS $$ SELECT a IS NOT DISTINCT FROM b $$;
CREATE FUNCTION audit_fixture.owner_matches(a uuid, b uuid) RETURNS boolean
  LANGUAGE sql STABLE AS $$ SELECT uuid_eq(a, b) $$;
-- Clean look-alike: every name qualified.
CREATE FUNCTION audit_fixture.owner_matches_qualified(a uuid, b uuid) RETURNS boolean
  LANGUAGE sql STABLE AS $$ SELECT pg_catalog.uuid_eq(a, b) AND a::pg_catalog.text OPERATOR(pg_catalog.<>) '' $$;

-- splinter's hygiene: no primary key, duplicate indexes, a reg* column, a
-- foreign key to auth.users' unique phone, a SECURITY DEFINER function for
-- signed-in users.
CREATE TABLE audit_fixture.no_pk (id bigint NOT NULL, handler regproc);
ALTER TABLE audit_fixture.no_pk ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY no_pk_read ON audit_fixture.no_pk FOR SELECT TO authenticated USING (true);
CREATE INDEX no_pk_id_a ON audit_fixture.no_pk (id);
CREATE INDEX no_pk_id_b ON audit_fixture.no_pk (id);
CREATE TABLE audit_fixture.email_ref (
  id bigint PRIMARY KEY,
  phone text CONSTRAINT email_ref_phone_fk REFERENCES auth.users (phone));
CREATE INDEX ON audit_fixture.email_ref (phone);
ALTER TABLE audit_fixture.email_ref ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY email_ref_admin ON audit_fixture.email_ref FOR SELECT TO admin USING (true);
CREATE FUNCTION audit_fixture.secdef_for_users() RETURNS integer
  LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$ SELECT 1 $$;
REVOKE EXECUTE ON FUNCTION audit_fixture.secdef_for_users() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit_fixture.secdef_for_users() TO authenticated;

-- The owner columns identify people in a PHI schema, and the new plants'
-- text columns are not the statistics rule's: they keep no planner
-- statistics, so phi_column_statistics fires only on its own plant above.
DO $$
DECLARE col record;
BEGIN
  FOR col IN SELECT a.attrelid::regclass AS rel, a.attname FROM pg_attribute a
      JOIN pg_class c ON c.oid = a.attrelid
      WHERE c.relnamespace = 'audit_fixture'::regnamespace AND c.relkind = 'r'
        AND (a.atttypid = 'uuid'::regtype
             OR (a.atttypid = 'text'::regtype AND c.relname <> 'free_text_stats'))
        AND a.attnum > 0 AND NOT a.attisdropped LOOP
    EXECUTE format('ALTER TABLE %s ALTER COLUMN %I SET STATISTICS 0', col.rel, col.attname);
  END LOOP;
END $$;
