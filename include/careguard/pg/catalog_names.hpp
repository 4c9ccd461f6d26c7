// careguard adapter: role and relation names, remembered across statements
// until the catalogue row they came from changes (catalog_names.cpp). A
// sign-in resolves the role its token names, and every audited statement
// names its users and relations: lookups that were 3% of a sign-in and a
// tenth of the ledger's work in a backend. May ereport; owns no C++ objects.
#pragma once

#include "careguard/pg/postgres.hpp"

namespace careguard::pg {

// A role's name (valid until the next call); ERROR when there is none.
const char* remembered_role_name(Oid role);
// A role's oid by its exact name, InvalidOid when there is none.
Oid remembered_role_oid(const char* name);
// The same when it is remembered, else InvalidOid: no catalogue access, so
// it never raises and needs no error trap around it.
Oid known_role_oid(const char* name) noexcept;
// A relation's qualified name, quoted as the session's quote_all_identifiers
// says now (palloc'd).
char* remembered_relation_name(Oid relid);
// Forgets a relation's name (every one for InvalidOid): from the PHI
// registry's relcache callback, as PostgreSQL has ten relcache callback slots
// for every extension loaded.
void forget_remembered_relation(Oid relid);
// Registers the syscache callbacks behind them; from _PG_init.
void register_catalog_name_invalidation();

}  // namespace careguard::pg
