-- careguard install script, assembled by the Makefile from sql/careguard/*.sql.
-- Rules for every careguard script (PostgreSQL "Security Considerations for
-- Extension Scripts"): every name and operator schema-qualified, search_path
-- pinned on functions (exceptions say why), never a replacing or conditional
-- CREATE. The one exception to pinning: SQL functions a policy calls must stay
-- inlinable, and a SET clause stops inlining; they are qualified throughout
-- instead, and say so in one line.

\echo Use "CREATE EXTENSION careguard" to load this file. \quit

-- careguard's own schema: the audit, the access matrix and the registries
-- through which products (careguard_booking, or yours) tell them what is PHI.
CREATE SCHEMA careguard;
COMMENT ON SCHEMA careguard IS 'careguard internals: audit, access matrix, registries';
REVOKE ALL ON SCHEMA careguard FROM PUBLIC;
