-- careguard 0.4.0 -> 0.3.0: no rule help texts.
DROP FUNCTION careguard.audit_rule_docs();
