// careguard adapter: the role and relation names remembered across
// statements (see catalog_names.hpp). An entry is forgotten when the
// catalogue row it came from changes, so a caller gets what the catalogue
// says at its statement. Relation names are kept unquoted: quoting follows
// the session's quote_all_identifiers at each use.
#include "careguard/pg/catalog_names.hpp"

#include <cstring>

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

// One role, found by oid (a record's users) or by name (a token's role).
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

const RememberedRole& remember_role(Oid oid, const char* name, uint64 forgettings_before) {
  RememberedRole& entry = roles[next_role];
  next_role = (next_role + 1) % kRememberedNames;
  copy_name(entry.name, name);
  entry.oid = forgettings_before == role_forgettings ? oid : InvalidOid;
  return entry;
}

// Any change to pg_authid reaches this: PostgreSQL invalidates every cache
// on a changed row's catalogue (AUTHNAME too), and a reset calls them all.
void forget_roles(Datum, int, uint32) {
  ++role_forgettings;
  for (RememberedRole& role : roles) role.oid = InvalidOid;
}

void forget_relations(Datum, int, uint32) {
  forget_remembered_relation(InvalidOid);
}

}  // namespace

const char* remembered_role_name(Oid role) {
  if (OidIsValid(role)) {
    for (const RememberedRole& known : roles) {
      if (known.oid == role) return known.name;
    }
  }
  const uint64 forgettings = role_forgettings;
  char* name = GetUserNameFromId(role, false);
  const RememberedRole& entry = remember_role(role, name, forgettings);
  pfree(name);
  return entry.name;
}

Oid known_role_oid(const char* name) noexcept {
  // A longer name is looked up as given (PostgreSQL compares its first
  // NAMEDATALEN - 1 bytes), never matched against a truncated entry.
  if (strnlen(name, NAMEDATALEN) == NAMEDATALEN) return InvalidOid;
  for (const RememberedRole& known : roles) {
    if (OidIsValid(known.oid) && std::strcmp(known.name, name) == 0) return known.oid;
  }
  return InvalidOid;
}

Oid remembered_role_oid(const char* name) {
  Oid oid = known_role_oid(name);
  if (OidIsValid(oid)) return oid;
  const uint64 forgettings = role_forgettings;
  oid = get_role_oid(name, true);
  if (OidIsValid(oid) && strnlen(name, NAMEDATALEN) < NAMEDATALEN) {
    (void)remember_role(oid, name, forgettings);
  }
  return oid;
}

char* remembered_relation_name(Oid relid) {
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
      elog(ERROR, "careguard: cache lookup failed for relation %u", relid);
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

void forget_remembered_relation(Oid relid) {
  ++relation_forgettings;
  for (RememberedRelation& relation : relations) {
    if (!OidIsValid(relid) || relation.oid == relid) relation.oid = InvalidOid;
  }
}

void register_catalog_name_invalidation() {
  CacheRegisterSyscacheCallback(AUTHOID, forget_roles, PointerGetDatum(nullptr));
  // A schema renamed renames every relation in it.
  CacheRegisterSyscacheCallback(NAMESPACEOID, forget_relations, PointerGetDatum(nullptr));
}

}  // namespace careguard::pg
