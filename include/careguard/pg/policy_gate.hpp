// careguard adapter: the policy gate. A transaction may not commit while it
// leaves a protected table (in a registered PHI schema, or registered by
// careguard.protect) with row-level security disabled or not forced, or with
// a command granted to a role no permissive policy covers. The tables a
// transaction touched are collected as it runs; COMMIT checks only those.
#pragma once

#include "careguard/pg/postgres.hpp"

namespace careguard::pg {

// careguard.allow_policy_gap: a reason, set with SET LOCAL, lets the gaps of
// this transaction commit; each is recorded in careguard.policy_gap_exceptions.
extern char* allow_policy_gap;

// Defines careguard.allow_policy_gap; from _PG_init.
void define_policy_gate_settings();

// Collection, called by the catalog hooks (catalog_hooks.cpp).
void note_utility_for_policy_gate(Node* statement);  // after a utility statement ran
void note_policy_drop(Oid policy_oid);               // before a policy is deleted
void note_relation_drop(Oid relid);                  // before a table is deleted
void note_catalog_writes(List* range_table);         // DML on pg_class/pg_policy/...

// At PRE_COMMIT and PRE_PREPARE: refuses the commit (55000) while a gap is
// left, or records the gaps when careguard.allow_policy_gap allows them.
// Costs one test of a flag when the transaction ran no DDL. May raise.
void enforce_policy_gate();

// Forgets what this transaction touched; at COMMIT and ABORT.
void reset_policy_gate_for_new_transaction();

// True for the sessions pg_restore opens as a superuser: they rebuild a
// dumped database object by object (a table before its policies, data
// before the rows it references), so neither the gate nor the foreign keys
// between careguard's own tables can judge an intermediate state there.
bool is_superuser_restore_session();

// The value of a setting when it was set in this transaction by SET LOCAL
// (or set_config(..., true)); nullptr when not, or when it was set any
// other way (a session SET, ALTER ROLE ... SET, a function's SET clause).
const char* transaction_local_value(const char* setting_name);

}  // namespace careguard::pg
