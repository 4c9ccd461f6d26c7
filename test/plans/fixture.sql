-- The plan fixture: schema plan_fixture plants each plan rule's flaw in one
-- registered query, next to a clean look-alike that must not fire. Each
-- query runs as the signed-in user below (role authenticated) and is
-- compared with service_role's plan. Needs careguard and a superuser; run it
-- inside a transaction that rolls back (test/pgtap/93_query_plans.sql).
CREATE SCHEMA plan_fixture;
GRANT USAGE ON SCHEMA plan_fixture TO authenticated, service_role;

-- Tables of one shape: 10,000 rows over 500 owners (or fewer).
CREATE FUNCTION plan_fixture.owned_table(name text, owners int DEFAULT 500) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('CREATE TABLE plan_fixture.%I (id bigint PRIMARY KEY, owner uuid NOT NULL,
                    group_id int NOT NULL, created_at timestamptz NOT NULL, note text)', name);
  EXECUTE format('CREATE INDEX ON plan_fixture.%I (owner, created_at)', name);
  EXECUTE format('INSERT INTO plan_fixture.%I
                  SELECT g, (''00000000-0000-4000-8000-'' || lpad((g %% %s)::text, 12, ''0''))::uuid, g %% 50,
                         timestamptz ''2026-01-01'' + g * interval ''1 hour'', ''n'' || g
                  FROM generate_series(1, 10000) g', name, owners);
  EXECUTE format('ALTER TABLE plan_fixture.%I ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY', name);
  EXECUTE format('GRANT SELECT ON plan_fixture.%I TO authenticated, service_role', name);
  EXECUTE format('ANALYZE plan_fixture.%I', name);
END $$;
SELECT plan_fixture.owned_table(t)
  FROM unnest(ARRAY['clean', 'raw_claims', 'inlined_helper', 'group_notes', 'cast_owner', 'costly']) AS t;
SELECT plan_fixture.owned_table('either', 50);
CREATE INDEX ON plan_fixture.either (group_id);

-- clean: the hoisted helper against the indexed column. Fires nothing.
CREATE POLICY clean_read ON plan_fixture.clean FOR SELECT TO authenticated USING (owner = auth.uid());
-- raw_claims: the claims parsed by the policy itself, on every row.
CREATE POLICY raw_claims_read ON plan_fixture.raw_claims FOR SELECT TO authenticated
  USING (owner::text = current_setting('request.jwt.claims', true)::jsonb ->> 'sub');
-- inlined_helper: a Supabase-style SQL helper, inlined into the policy, so
-- the plan shows its current_setting() on every row, not its name.
CREATE FUNCTION plan_fixture.sql_uid() RETURNS uuid LANGUAGE sql STABLE
  AS $$ SELECT (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid $$;
GRANT EXECUTE ON FUNCTION plan_fixture.sql_uid() TO authenticated;
CREATE POLICY inlined_helper_read ON plan_fixture.inlined_helper FOR SELECT TO authenticated
  USING (owner::text = plan_fixture.sql_uid()::text);
-- group_notes: membership checked by a correlated subquery, once per row.
CREATE TABLE plan_fixture.members (group_id int NOT NULL, member uuid NOT NULL, since timestamptz NOT NULL,
                                   PRIMARY KEY (group_id, member));
INSERT INTO plan_fixture.members
  SELECT g % 50, ('00000000-0000-4000-8000-' || lpad((g % 500)::text, 12, '0'))::uuid, timestamptz '2026-01-01'
  FROM generate_series(1, 1000) g ON CONFLICT DO NOTHING;
ANALYZE plan_fixture.members;
GRANT SELECT ON plan_fixture.members TO authenticated, service_role;
CREATE POLICY group_notes_read ON plan_fixture.group_notes FOR SELECT TO authenticated
  USING (EXISTS (SELECT 1 FROM plan_fixture.members m
                 WHERE m.group_id = group_notes.group_id AND m.member = auth.uid()
                   AND m.since <= group_notes.created_at));
-- cast_owner: a cast of the column, so no index can serve the policy.
CREATE POLICY cast_owner_read ON plan_fixture.cast_owner FOR SELECT TO authenticated
  USING (owner::text = auth.uid()::text);
-- either: an OR branch. Both branches use an index (a BitmapOr), but the
-- rows no longer come in index order: a sort where the reference has none.
CREATE POLICY either_read ON plan_fixture.either FOR SELECT TO authenticated
  USING (owner = auth.uid() OR group_id = 7);
-- costly: an expensive non-inlined check on every row, same scan as the reference.
CREATE FUNCTION plan_fixture.visible(owner uuid) RETURNS boolean
  LANGUAGE plpgsql STABLE COST 1000 SET search_path = pg_catalog, pg_temp AS $$ BEGIN RETURN true; END $$;
GRANT EXECUTE ON FUNCTION plan_fixture.visible(uuid) TO authenticated;
CREATE POLICY costly_read ON plan_fixture.costly FOR SELECT TO authenticated USING (plan_fixture.visible(owner));
-- empty: no rows, so nothing about its plan can be judged.
CREATE TABLE plan_fixture.empty (id bigint PRIMARY KEY, owner uuid NOT NULL);
ALTER TABLE plan_fixture.empty ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY empty_read ON plan_fixture.empty FOR SELECT TO authenticated USING (owner = auth.uid());
GRANT SELECT ON plan_fixture.empty TO authenticated, service_role;
-- hidden: authenticated has no privilege on it, so its query fails.
CREATE TABLE plan_fixture.hidden (id bigint PRIMARY KEY);
INSERT INTO plan_fixture.hidden SELECT generate_series(1, 100);
GRANT SELECT ON plan_fixture.hidden TO service_role;

-- The registrations: one user, and service_role's plan of the same rows.
CREATE FUNCTION pg_temp.register(name text, query text, reference text, ratio numeric DEFAULT 10)
  RETURNS void LANGUAGE sql AS $$
  SELECT careguard.register_query(name, query,
    '{"name": "owner 7", "role": "authenticated", "claims": {"sub": "00000000-0000-4000-8000-000000000007"}}',
    reference_query => reference, max_cost_ratio => ratio) $$;
SELECT pg_temp.register('fixture.clean', 'SELECT * FROM plan_fixture.clean ORDER BY created_at LIMIT 20',
  'SELECT * FROM plan_fixture.clean WHERE owner = auth.uid() ORDER BY created_at LIMIT 20');
SELECT pg_temp.register('fixture.raw_claims', 'SELECT count(*) FROM plan_fixture.raw_claims', NULL);
SELECT pg_temp.register('fixture.inlined_helper', 'SELECT count(*) FROM plan_fixture.inlined_helper', NULL);
-- The per-row SubPlan also costs far more than the reference: the ratio is
-- raised so that this query shows the SubPlan rule alone.
SELECT pg_temp.register('fixture.group_notes', 'SELECT count(*) FROM plan_fixture.group_notes', NULL, 1e9);
SELECT pg_temp.register('fixture.cast_owner', 'SELECT * FROM plan_fixture.cast_owner ORDER BY created_at LIMIT 20',
  'SELECT * FROM plan_fixture.cast_owner WHERE owner = auth.uid() ORDER BY created_at LIMIT 20', 1e9);
SELECT pg_temp.register('fixture.either', 'SELECT * FROM plan_fixture.either ORDER BY created_at LIMIT 20',
  'SELECT * FROM plan_fixture.either WHERE owner = auth.uid() ORDER BY created_at LIMIT 20', 1e9);
SELECT pg_temp.register('fixture.costly', 'SELECT count(*) FROM plan_fixture.costly', NULL);
SELECT pg_temp.register('fixture.empty', 'SELECT * FROM plan_fixture.empty', NULL);
SELECT pg_temp.register('fixture.hidden', 'SELECT * FROM plan_fixture.hidden', NULL);
-- A context that names no default context: it cannot be planned at all.
SELECT careguard.register_query('fixture.no_context', 'SELECT * FROM plan_fixture.clean', '{"name": "nobody"}');
