-- Claim helpers: Supabase semantics, trust rules, savepoints, errors, plans.
CREATE SCHEMA extensions;
CREATE EXTENSION careguard_booking SCHEMA extensions CASCADE;

-- Nothing set: every helper is NULL.
SELECT auth.uid(), auth.role(), auth.email(), auth.jwt(), auth.provider_id(), auth.claim('sub');

-- Transaction-local claims (what PostgREST sends) are read.
BEGIN;
SELECT set_config('request.jwt.claims',
  '{"sub":"8d0f7e6a-1111-4222-8333-944445555666","role":"patient","email":"pat@example.org","provider_id":"0c9b1f7e-2222-4333-8444-a55556666777","n":1.50e1,"app_metadata":{"tier":"gold","tags":["a","b"]}}',
  true) IS NOT NULL AS set;
SELECT auth.uid(), auth.role(), auth.email(), auth.provider_id();
SELECT auth.jwt() ->> 'email' AS email_from_jwt, auth.claim('n') AS n, auth.claim('app_metadata', 'tier') AS tier,
       auth.claim('app_metadata', 'tags', '-1') AS last_tag, auth.claim('app_metadata') AS app_metadata;
COMMIT;

-- After the transaction the setting reads '' and the helpers read NULL.
SELECT current_setting('request.jwt.claims', true) AS leftover, auth.uid(), auth.jwt();

-- The one-claim settings of older gateways take precedence, as in Supabase.
BEGIN;
SELECT set_config('request.jwt.claims', '{"sub":"8d0f7e6a-1111-4222-8333-944445555666","role":"patient"}', true) IS NOT NULL AS set;
SET LOCAL request.jwt.claim.sub = '{b1ffcd00-0d1c-4f09-8c7e-7cc0ce491b22}';
SET LOCAL request.jwt.claim.role = 'admin';
SELECT auth.uid(), auth.role(), auth.claim('sub') AS sub_text;
SET LOCAL request.jwt.claim = '{"sub":"legacy"}';
SELECT auth.jwt(), auth.claim('role') AS role_text;
COMMIT;

-- Savepoints: rolling back restores the claims in force before.
BEGIN;
SELECT set_config('request.jwt.claims', '{"sub":"8d0f7e6a-1111-4222-8333-944445555666"}', true) IS NOT NULL AS set;
SAVEPOINT s1;
SELECT set_config('request.jwt.claims', '{"sub":"b1ffcd00-0d1c-4f09-8c7e-7cc0ce491b22"}', true) IS NOT NULL AS set;
SELECT auth.uid() AS inside_savepoint;
ROLLBACK TO SAVEPOINT s1;
SELECT auth.uid() AS after_rollback_to;
COMMIT;

-- Errors: class 22, naming the setting and the problem.
BEGIN;
SELECT set_config('request.jwt.claims', '{"sub":"user-42","role":"patient"}', true) IS NOT NULL AS set;
SELECT auth.role();
SAVEPOINT s;
SELECT auth.uid();
ROLLBACK TO SAVEPOINT s;
SELECT set_config('request.jwt.claims', '{"sub": oops}', true) IS NOT NULL AS set;
SELECT auth.role();
ROLLBACK;

-- Session-level claims (plain SET, set_config(..., false)) are not trusted:
-- the helpers read NULL and warn once per transaction.
SET request.jwt.claims = '{"sub":"8d0f7e6a-1111-4222-8333-944445555666","role":"admin"}';
SELECT auth.uid(), auth.role();
BEGIN;
SELECT auth.uid();
SELECT auth.role();
-- A local value on top of the session one is trusted.
SELECT set_config('request.jwt.claims', '{"sub":"b1ffcd00-0d1c-4f09-8c7e-7cc0ce491b22","role":"patient"}', true) IS NOT NULL AS set;
SELECT auth.uid(), auth.role();
COMMIT;
-- A superuser can restore the old, trusting behaviour.
SET careguard.trust_session_claims = on;
SELECT auth.uid(), auth.role();
RESET careguard.trust_session_claims;
RESET request.jwt.claims;

-- Only superusers may change the trust settings.
CREATE ROLE careguard_regress_user;
SET ROLE careguard_regress_user;
SET careguard.trust_session_claims = on;
SET careguard.leader_trusted_settings = 63;
RESET ROLE;
DROP ROLE careguard_regress_user;

-- Helper calls with constant arguments are hoisted into an initPlan where rows are scanned.
CREATE TABLE claims_plan_probe (owner uuid);
EXPLAIN (COSTS OFF) SELECT count(*) FROM claims_plan_probe WHERE owner = auth.uid();
-- Constant arguments hoist too; a per-row argument cannot.
EXPLAIN (COSTS OFF) SELECT count(*) FROM claims_plan_probe WHERE owner::text = auth.claim('sub');
EXPLAIN (COSTS OFF) SELECT count(*) FROM claims_plan_probe WHERE auth.claim(owner::text) IS NULL;
-- careguard's SQL functions that carry the support function hoist the same way.
EXPLAIN (COSTS OFF) SELECT count(*) FROM claims_plan_probe
  WHERE bookings.can_access_booking('8d0f7e6a-1111-4222-8333-944445555666'::uuid);
SET careguard.hoist_claim_helpers = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM claims_plan_probe WHERE owner = auth.uid();
RESET careguard.hoist_claim_helpers;
SELECT * FROM auth.uid();
DROP TABLE claims_plan_probe;

-- Markings are what the script promises.
SELECT p.proname, p.provolatile, p.proparallel, p.proconfig IS NULL AS no_set_clause,
       obj_description(p.oid, 'pg_proc') IS NOT NULL AS commented
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'auth' AND p.proname IN ('uid', 'role', 'email', 'jwt', 'provider_id', 'claim')
ORDER BY p.proname;
