-- Removes what fixture.sql created (for runs that commit the fixture).
ALTER EXTENSION careguard DROP TABLE audit_fixture.ext_undumped;
ALTER EXTENSION careguard DROP TABLE audit_fixture.ext_empty;
DROP SCHEMA audit_fixture CASCADE;
DELETE FROM careguard.audit_phi_schemas WHERE schema_name = 'audit_fixture';
DELETE FROM careguard.policy_gap_exceptions WHERE table_name LIKE 'audit\_fixture.%';
DROP ROLE audit_fixture_bypass;
DROP ROLE audit_fixture_member;
DROP ROLE audit_fixture_clerk;
DROP SERVER IF EXISTS audit_fixture_server CASCADE;
DROP FOREIGN DATA WRAPPER IF EXISTS audit_fixture_fdw CASCADE;
DROP SCHEMA IF EXISTS audit_cli_empty;
