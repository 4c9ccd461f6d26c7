-- careguard install script, assembled by Makefile.pgxs from sql/install/*.sql.
-- Rules (PostgreSQL "Security Considerations for Extension Scripts"):
-- every name and operator schema-qualified, search_path pinned on functions
-- (exceptions say why), never a replacing or conditional CREATE.

\echo Use "CREATE EXTENSION careguard CASCADE" to load this file. \quit

-- careguard's own schema: audit, demo data and test helpers live here.
CREATE SCHEMA careguard;
COMMENT ON SCHEMA careguard IS 'careguard internals: audit, access matrix, demo data';
REVOKE ALL ON SCHEMA careguard FROM PUBLIC;
