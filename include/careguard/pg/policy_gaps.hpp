// careguard adapter: the policy gate's invariant for one table, read from
// the catalogue (syscache and index scans, no SPI: it runs at PRE_COMMIT).
#pragma once

#include "careguard/pg/postgres.hpp"

namespace careguard::pg {

// One thing a protected table lacks; palloc'd in the current context.
struct PolicyGap {
  Oid relid;
  char* table;    // schema-qualified, quoted where needed
  char* missing;  // "row-level security is disabled", "SELECT granted to patient has no policy"
};

// A restrictive policy this transaction dropped, by table and name.
struct DroppedPolicy {
  Oid relid;
  NameData name;
};

// Appends to *gaps what the table lacks: RLS enabled, RLS forced, and for
// every command (SELECT, INSERT, UPDATE, DELETE) granted on the table or
// any of its columns to a role other than the owner, a superuser or a
// BYPASSRLS role (PUBLIC included), a permissive policy for that command
// whose roles cover the grantee (PUBLIC, the grantee, or a role whose
// privileges it has). A restrictive policy in dropped_restrictive that no
// policy of the same name replaced counts too: its loss widens access.
// Plain C inside: run it under call_pg.
void append_policy_gaps(Oid relid, List* dropped_restrictive, List** gaps);

}  // namespace careguard::pg
