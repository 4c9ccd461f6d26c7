-- careguard_booking install script, assembled by the Makefile from
-- sql/careguard_booking/*.sql; the rules of sql/careguard/00_header.sql hold.
-- The healthcare booking product on the careguard platform: its roles, the
-- concern schemas public, providers, patients and bookings, their policies,
-- its registrations with the platform's audit, and demo data.

\echo Use "CREATE EXTENSION careguard_booking CASCADE" to load this file. \quit
