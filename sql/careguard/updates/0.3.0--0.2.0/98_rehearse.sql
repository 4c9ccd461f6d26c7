-- 0.2.0 has no migration rehearsal. Functions only: no data to lose.
DROP FUNCTION IF EXISTS careguard.rehearse(pg_catalog.text, pg_catalog.text, pg_catalog.text[], pg_catalog.text);
DROP FUNCTION IF EXISTS careguard.rehearse_locks();
DROP FUNCTION IF EXISTS careguard.rehearse_refusal(pg_catalog.text);
DROP FUNCTION IF EXISTS careguard.catalogue_fingerprint();
DROP FUNCTION IF EXISTS careguard.catalogue_snapshot();
DROP FUNCTION IF EXISTS careguard.policy_gaps();
