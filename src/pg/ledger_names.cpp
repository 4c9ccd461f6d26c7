// careguard adapter: the role and relation names a ledger record carries,
// remembered across statements. Every audited statement names its session
// user, its current user and each relation it read; three catalogue lookups
// and a quoting pass per statement were a tenth of the ledger's cost in the
// backend. An entry is forgotten when the catalogue row it came from
// changes, so a record names what the catalogue says at the statement.
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
// A quoted schema.relation: each part at most NAMEDATALEN - 1 bytes, every
// byte possibly a doubled quote, plus two quotes each, the dot and a NUL.
constexpr std::size_t kQualifiedNameBytes = 2 * (2 * (NAMEDATALEN - 1) + 2) + 2;

struct RememberedName {
  Oid oid;
  char name[kQualifiedNameBytes];
};

RememberedName role_names[kRememberedNames];
RememberedName relation_names[kRememberedNames];
int next_role_slot = 0;
int next_relation_slot = 0;

const char* find_name(const RememberedName* names, Oid oid) {
  for (int i = 0; i < kRememberedNames; ++i) {
    if (names[i].oid == oid) return names[i].name;
  }
  return nullptr;
}

const char* remember(RememberedName* names, int* next_slot, Oid oid, const char* name) {
  RememberedName& entry = names[*next_slot];
  *next_slot = (*next_slot + 1) % kRememberedNames;
  const std::size_t length = strnlen(name, kQualifiedNameBytes - 1);
  std::memcpy(entry.name, name, length);
  entry.name[length] = '\0';
  entry.oid = oid;
  return entry.name;
}

void forget_all(RememberedName* names) {
  for (int i = 0; i < kRememberedNames; ++i) names[i].oid = InvalidOid;
}

void forget_role_names(Datum, int, uint32) {
  forget_all(role_names);
}

void forget_relation_name(Datum, Oid relid) {
  for (int i = 0; i < kRememberedNames; ++i) {
    if (!OidIsValid(relid) || relation_names[i].oid == relid) relation_names[i].oid = InvalidOid;
  }
}

void forget_relation_names(Datum, int, uint32) {
  forget_all(relation_names);
}

}  // namespace

const char* ledger_role_name(Oid role) {
  if (const char* known = find_name(role_names, role)) return known;
  char* name = GetUserNameFromId(role, false);
  const char* remembered = remember(role_names, &next_role_slot, role, name);
  pfree(name);
  return remembered;
}

const char* ledger_relation_name(Oid relid) {
  if (const char* known = find_name(relation_names, relid)) return known;
  const char* name =
      quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)), get_rel_name(relid));
  return remember(relation_names, &next_relation_slot, relid, name);
}

void register_ledger_name_invalidation() {
  CacheRegisterSyscacheCallback(AUTHOID, forget_role_names, PointerGetDatum(nullptr));
  CacheRegisterRelcacheCallback(forget_relation_name, PointerGetDatum(nullptr));
  // A schema renamed renames every relation in it.
  CacheRegisterSyscacheCallback(NAMESPACEOID, forget_relation_names, PointerGetDatum(nullptr));
}

}  // namespace careguard::pg
