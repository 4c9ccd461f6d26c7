-- Citus (docs/scale-out.md): on a node of a Citus cluster careguard's planner
-- hook copies a policy's `column = auth.provider_id()` (or auth.uid()) into
-- the query with the claim's value, so that Citus routes to one shard; this
-- guard goes with it and raises CG003 if the plan is ever run for another
-- identity (src/pg/citus_routing.cpp). Executable by everyone, as the claim
-- helpers are: it compares the caller's own claim with a constant.
CREATE FUNCTION auth.pinned_claim_matches(claim text, planned uuid) RETURNS boolean
  LANGUAGE c STABLE PARALLEL SAFE STRICT
  AS 'MODULE_PATHNAME', 'careguard_pinned_claim_matches';
COMMENT ON FUNCTION auth.pinned_claim_matches(text, uuid) IS
  'True when the claim (sub or provider_id) still has the value a routed plan was made with; otherwise CG003.';
