-- Downgrade piece 0.4.0 -> 0.3.0: removes the disclosure ledger and
-- break-the-glass (sql/careguard/97_ledger.sql, 98_break_glass.sql).
-- Downgrade careguard_booking first. The ledger is an audit record HIPAA
-- keeps for six years: a downgrade that would discard rows is refused unless
-- a superuser confirms with SET careguard.ledger_purging = on, after
-- exporting it (careguard-audit ledger export). Roles stay (cluster-wide).
DO $refuse$
BEGIN
  IF EXISTS (SELECT FROM careguard.ledger)
     AND pg_catalog.current_setting('careguard.ledger_purging', true) IS DISTINCT FROM 'on' THEN
    RAISE EXCEPTION 'the disclosure ledger holds records; a downgrade would discard them'
      USING ERRCODE = '55000',
            HINT = 'Export it (careguard-audit ledger export), then SET careguard.ledger_purging = on and retry.';
  END IF;
END
$refuse$;
DROP EVENT TRIGGER careguard_ledger_guard_drop;
DROP FUNCTION careguard.glass_sign_off(bigint, text);
DROP FUNCTION careguard.glass_review();
ALTER EXTENSION careguard DROP TABLE careguard.glass_rollback_reviews;
-- Sign-offs of ledger records, going with the ledger (refused above unless confirmed):
-- squawk-ignore ban-drop-table
DROP TABLE IF EXISTS careguard.glass_rollback_reviews;
DROP FUNCTION careguard.glass_rollback_review_recorded();
DROP FUNCTION careguard.glass_rollback_review_check();
DROP FUNCTION careguard.glass_xact_ended(xid8);
DROP FUNCTION careguard.glass_patients();
DROP FUNCTION careguard.break_glass(uuid, text, integer);
-- Break-glass grants exist only with the ledger that records them:
-- squawk-ignore ban-drop-table
DROP TABLE IF EXISTS careguard.glass_grants;
DROP FUNCTION careguard.glass_grant_recorded();
REVOKE USAGE ON SCHEMA careguard FROM careguard_break_glass, authenticated;
DROP FUNCTION careguard.disclosures(uuid, timestamptz, timestamptz);
DROP FUNCTION careguard.ledger_purge();
DROP FUNCTION careguard.verify_ledger(bigint, text);
DROP FUNCTION careguard.ledger_ensure_month(timestamptz);
DROP FUNCTION careguard.ledger_head();
DROP FUNCTION careguard.ledger_flush(integer);
DROP FUNCTION careguard.ledger_append(text, jsonb, uuid);
DROP FUNCTION careguard.ledger_link(bytea, bigint, text);
-- Config tables leave pg_extension.extconfig only when detached first.
ALTER EXTENSION careguard DROP TABLE careguard.ledger;
-- The ledger is empty or its purge was confirmed (refused above otherwise):
-- squawk-ignore ban-drop-table
DROP TABLE IF EXISTS careguard.ledger;
ALTER EXTENSION careguard DROP TABLE careguard.ledger_writer_state;
-- The writer's position in its spool: meaningless without the ledger:
-- squawk-ignore ban-drop-table
DROP TABLE IF EXISTS careguard.ledger_writer_state;
DROP FUNCTION careguard.ledger_refuse_change();
DROP FUNCTION careguard.ledger_guard_drop();
DROP TRIGGER audit_phi_schemas_changed ON careguard.audit_phi_schemas;
DROP FUNCTION careguard.register_phi(pg_catalog.regclass, name, boolean);
ALTER EXTENSION careguard DROP TABLE careguard.phi_tables;
-- The registrations 0.3.0 keeps per schema (audit_phi_schemas) stay:
-- squawk-ignore ban-drop-table
DROP TABLE IF EXISTS careguard.phi_tables;
DROP FUNCTION careguard.phi_registry_changed();
