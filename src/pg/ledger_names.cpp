// careguard adapter: the role and relation names a ledger record carries,
// remembered across statements. Every audited statement names its session
// user, its current user and each relation it read; three catalogue lookups
// per statement were a tenth of the ledger's cost in the backend. An entry
// is forgotten when the catalogue row it came from changes, so a record
// names what the catalogue says at the statement. Names are kept unquoted:
// quoting follows the session's quote_all_identifiers at each use.
#include <cstring>

#include "careguard/pg/ledger_internal.hpp"

extern "C" {
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
}

namespace careguard::pg {

namespace {

constexpr int kRememberedNames = 16;

struct RememberedRole {
  Oid oid;
  char name[NAMEDATALEN];
};

struct RememberedRelation {
  Oid oid;
  char schema[NAMEDATALEN];
  char name[NAMEDATALEN];
};

RememberedRole roles[kRememberedNames];
RememberedRelation relations[kRememberedNames];
int next_role = 0;
int next_relation = 0;
// Counts the forgettings: a lookup that took a lock may have processed an
// invalidation between its reads, and what it read is then not remembered.
uint64 role_forgettings = 0;
uint64 relation_forgettings = 0;

// A catalogue name (at most NAMEDATALEN - 1 bytes) into a fixed slot.
void copy_name(char (&slot)[NAMEDATALEN], const char* name) {
  const std::size_t length = strnlen(name, NAMEDATALEN - 1);
  std::memcpy(slot, name, length);
  slot[length] = '\0';
}

void forget_roles(Datum, int, uint32) {
  ++role_forgettings;
  for (RememberedRole& role : roles) role.oid = InvalidOid;
}

void forget_relations(Datum, int, uint32) {
  forget_ledger_relation_name(InvalidOid);
}

}  // namespace

const char* ledger_role_name(Oid role) {
  if (OidIsValid(role)) {
    for (const RememberedRole& known : roles) {
      if (known.oid == role) return known.name;
    }
  }
  const uint64 forgettings = role_forgettings;
  char* name = GetUserNameFromId(role, false);
  RememberedRole& entry = roles[next_role];
  next_role = (next_role + 1) % kRememberedNames;
  copy_name(entry.name, name);
  entry.oid = forgettings == role_forgettings ? role : InvalidOid;
  pfree(name);
  return entry.name;
}

const char* ledger_relation_name(Oid relid) {
  const RememberedRelation* found = nullptr;
  if (OidIsValid(relid)) {
    for (const RememberedRelation& known : relations) {
      if (known.oid == relid) found = &known;
    }
  }
  if (found == nullptr) {
    const uint64 forgettings = relation_forgettings;
    const char* name = get_rel_name(relid);
    const char* schema = name == nullptr ? nullptr : get_namespace_name(get_rel_namespace(relid));
    if (name == nullptr || schema == nullptr) {
      elog(ERROR, "careguard ledger: cache lookup failed for relation %u", relid);
    }
    RememberedRelation& entry = relations[next_relation];
    next_relation = (next_relation + 1) % kRememberedNames;
    copy_name(entry.name, name);
    copy_name(entry.schema, schema);
    entry.oid = forgettings == relation_forgettings ? relid : InvalidOid;
    found = &entry;
  }
  return quote_qualified_identifier(found->schema, found->name);
}

void forget_ledger_relation_name(Oid relid) {
  ++relation_forgettings;
  for (RememberedRelation& relation : relations) {
    if (!OidIsValid(relid) || relation.oid == relid) relation.oid = InvalidOid;
  }
}

void register_ledger_name_invalidation() {
  CacheRegisterSyscacheCallback(AUTHOID, forget_roles, PointerGetDatum(nullptr));
  // A schema renamed renames every relation in it. (A relation's own
  // changes arrive through the registry's relcache callback: PostgreSQL has
  // ten relcache callback slots for every extension loaded.)
  CacheRegisterSyscacheCallback(NAMESPACEOID, forget_relations, PointerGetDatum(nullptr));
}

}  // namespace careguard::pg
