-- New in 0.4.0 and not dropped by 60_audit_tree.sql: the 0.3.0 audit() it
-- restored does not call it.
DROP FUNCTION IF EXISTS careguard.audit_per_row_tree(pg_catalog.pg_node_tree);
