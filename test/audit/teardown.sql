-- Removes what fixture.sql created (for runs that commit the fixture).
ALTER EXTENSION careguard DROP TABLE audit_fixture.ext_undumped;
ALTER EXTENSION careguard DROP TABLE audit_fixture.ext_empty;
DROP SCHEMA audit_fixture CASCADE;
DELETE FROM careguard.audit_phi_schemas WHERE schema_name = 'audit_fixture';
DROP ROLE audit_fixture_bypass;
DROP SCHEMA IF EXISTS audit_cli_empty;
