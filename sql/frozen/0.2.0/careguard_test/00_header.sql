-- careguard_test install script, assembled by the Makefile from
-- sql/careguard_test/*.sql; the rules of sql/careguard/00_header.sql hold.
-- For test databases only: pgTAP helpers and the guard's self-test, whose C
-- entry point lives in careguard_test.so, not in the production library.

\echo Use "CREATE EXTENSION careguard_test CASCADE" to load this file. \quit
