-- Diagnostic for the guard's soak test; not for applications.
CREATE FUNCTION careguard_test.guard_selftest(kind text) RETURNS integer
  LANGUAGE c VOLATILE PARALLEL UNSAFE STRICT
  SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'careguard_guard_selftest';
REVOKE ALL ON FUNCTION careguard_test.guard_selftest(text) FROM PUBLIC;
COMMENT ON FUNCTION careguard_test.guard_selftest(text) IS
  'Diagnostic: raises the named failure (careguard, bad_alloc, std, unknown, postgres) through the C++ guard.';
