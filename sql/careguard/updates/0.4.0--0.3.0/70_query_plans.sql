-- The plan audit leaves 0.3.0: its functions, then the registry. Queries a
-- DBA registered are lost with it (pg_dump the table first to keep them).
DROP FUNCTION careguard.audit_query_plans(text[], boolean);
DROP FUNCTION careguard.query_plans(boolean);
DROP FUNCTION careguard.rls_applies_to(text, text[]);
DROP FUNCTION careguard.explain_as(text, text, text, boolean);
DROP FUNCTION careguard.plan_relations(jsonb);
DROP FUNCTION careguard.plan_index_losses(jsonb, jsonb, text);
DROP FUNCTION careguard.plan_index_columns(jsonb);
DROP FUNCTION careguard.plan_subplans_per_row(jsonb);
DROP FUNCTION careguard.plan_claims_per_row(jsonb);
DROP FUNCTION careguard.plan_claim_helper_pattern();
DROP FUNCTION careguard.plan_per_row_expressions(jsonb);
DROP FUNCTION careguard.plan_node_actuals(jsonb);
DROP FUNCTION careguard.plan_node_label(jsonb);
DROP FUNCTION careguard.plan_node_relation(jsonb);
DROP FUNCTION careguard.plan_nodes(jsonb);
DROP FUNCTION careguard.registered_queries();
DROP FUNCTION careguard.unregister_query(text);
DROP FUNCTION careguard.register_query(text, text, jsonb, text, name, numeric, name);
DROP FUNCTION careguard.registered_statement(text, text);
-- Taken out of the extension first: that is what removes it from
-- pg_extension.extconfig (a plain DROP TABLE leaves its oid there).
ALTER EXTENSION careguard DROP TABLE careguard.query_registry;
-- Empty of a DBA's rows (69_query_registry_refuse.sql refused otherwise):
-- squawk-ignore ban-drop-table
DROP TABLE IF EXISTS careguard.query_registry;
