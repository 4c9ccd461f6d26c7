-- careguard_booking install script, assembled by the Makefile from
-- sql/careguard_booking/*.sql; the rules of sql/careguard/00_header.sql hold.
-- The healthcare booking product on the careguard platform: its roles, the
-- concern schemas public, providers, patients and bookings, their policies,
-- its registrations with the platform's audit, and demo data.

\echo Use "CREATE EXTENSION careguard_booking CASCADE" to load this file. \quit

-- The access functions (providers.can_manage_provider, patients.can_access_patient,
-- bookings.can_access_booking) share one design, stated here once:
--  * inlinable on purpose: no SET clause, which would stop the planner from
--    inlining them into the policies, so every name and operator is qualified;
--  * each role-scoped policy passes its role as a constant, so after inlining
--    the CASE folds to one index-friendly comparison for that role;
--  * a searched CASE with OPERATOR(pg_catalog.=): a simple CASE (CASE as_role
--    WHEN ...) compares with an implicit = that, once inlined, would be looked
--    up through the caller's search_path, where anyone may have planted one;
--  * the admin branch needs the admin role claim too, not only the database
--    role: SET ROLE admin without a token sees nothing.
