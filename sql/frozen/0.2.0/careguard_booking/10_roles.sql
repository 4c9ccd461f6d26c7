-- The booking product's roles, made the platform's way (careguard.ensure_role).
SELECT careguard.ensure_role('patient', 'NOLOGIN INHERIT');
SELECT careguard.ensure_role('provider', 'NOLOGIN INHERIT');
SELECT careguard.ensure_role('admin', 'NOLOGIN INHERIT');
-- Aggregates only, no row of any table (78_booking_services.sql).
SELECT careguard.ensure_role('analyst', 'NOLOGIN NOINHERIT');

-- The application roles share what every signed-in user may do.
GRANT authenticated TO patient, provider, admin;
-- The gateway login switches to them with SET LOCAL ROLE.
GRANT patient, provider, admin, analyst TO authenticator;
