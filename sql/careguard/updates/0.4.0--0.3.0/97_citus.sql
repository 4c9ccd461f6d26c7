-- careguard 0.4.0 -> 0.3.0: removes the Citus routed-plan guard. The access
-- matrix goes back to 0.3.0's body in 93_access_matrix_all_tables.sql.
DROP FUNCTION auth.pinned_claim_matches(text, uuid);
