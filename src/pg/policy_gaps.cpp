// careguard adapter: what a protected table lacks, read from pg_class,
// pg_attribute and pg_policy. The rule is stated in policy_gaps.hpp.
#include "careguard/pg/policy_gaps.hpp"

#include "careguard/pg/catalog_scan.hpp"

extern "C" {
#include "access/htup_details.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_class.h"
#include "catalog/pg_policy.h"
#include "lib/stringinfo.h"
#include "utils/acl.h"
#include "utils/rel.h"
}

namespace careguard::pg {

namespace {

// The commands a policy governs, with pg_policy.polcmd's letter for each.
struct Command {
  AclMode privilege;
  char polcmd;
  const char* name;
};
constexpr Command kCommands[] = {{ACL_SELECT, 'r', "SELECT"},
                                 {ACL_INSERT, 'a', "INSERT"},
                                 {ACL_UPDATE, 'w', "UPDATE"},
                                 {ACL_DELETE, 'd', "DELETE"}};
constexpr AclMode kGoverned = ACL_SELECT | ACL_INSERT | ACL_UPDATE | ACL_DELETE;

struct Grant {
  Oid grantee;  // ACL_ID_PUBLIC for PUBLIC
  AclMode privileges;
};

struct Policy {
  char polcmd;
  bool permissive;
  NameData name;
  int role_count;
  Oid* roles;
};

// Adds an ACL's governed privileges to *grants, merged by grantee.
void collect_grants(Datum acl_datum, List** grants) {
  Acl* acl = DatumGetAclP(acl_datum);
  const AclItem* items = ACL_DAT(acl);
  for (int i = 0; i < ACL_NUM(acl); ++i) {
    AclMode privileges = ACLITEM_GET_PRIVS(items[i]) & kGoverned;
    if (privileges == 0) continue;
    Grant* found = nullptr;
    ListCell* cell;
    foreach (cell, *grants) {
      auto* grant = static_cast<Grant*>(lfirst(cell));
      if (grant->grantee == items[i].ai_grantee) found = grant;
    }
    if (found == nullptr) {
      found = static_cast<Grant*>(palloc0(sizeof(Grant)));
      found->grantee = items[i].ai_grantee;
      *grants = lappend(*grants, found);
    }
    found->privileges |= privileges;
  }
}

// Table-level and column-level grants alike: a column grant of SELECT lets
// its grantee read those columns of every row RLS lets through.
List* grants_of(HeapTuple class_tuple, Oid relid, int columns) {
  List* grants = NIL;
  bool isnull = true;
  Datum acl = SysCacheGetAttr(RELOID, class_tuple, Anum_pg_class_relacl, &isnull);
  if (!isnull) collect_grants(acl, &grants);
  for (int attnum = 1; attnum <= columns; ++attnum) {
    HeapTuple attribute =
        SearchSysCache2(ATTNUM, ObjectIdGetDatum(relid), Int16GetDatum(static_cast<int16>(attnum)));
    if (!HeapTupleIsValid(attribute)) continue;
    if (!reinterpret_cast<Form_pg_attribute>(GETSTRUCT(attribute))->attisdropped) {
      Datum column_acl = SysCacheGetAttr(ATTNUM, attribute, Anum_pg_attribute_attacl, &isnull);
      if (!isnull) collect_grants(column_acl, &grants);
    }
    ReleaseSysCache(attribute);
  }
  return grants;
}

// Every policy of the table, from pg_policy (the relcache builds policies
// only while RLS is enabled, and a gap may be exactly that it is not).
List* policies_of(Oid relid) {
  List* policies = NIL;
  for_each_catalog_row(PolicyRelationId, PolicyPolrelidPolnameIndexId, Anum_pg_policy_polrelid,
                       relid, [&policies](HeapTuple tuple, Relation catalog) {
                         auto* form = reinterpret_cast<Form_pg_policy>(GETSTRUCT(tuple));
                         auto* policy = static_cast<Policy*>(palloc0(sizeof(Policy)));
                         policy->polcmd = form->polcmd;
                         policy->permissive = form->polpermissive;
                         policy->name = form->polname;
                         bool isnull = true;
                         Datum roles = heap_getattr(tuple, Anum_pg_policy_polroles,
                                                    RelationGetDescr(catalog), &isnull);
                         if (!isnull) {
                           ArrayType* array = DatumGetArrayTypePCopy(roles);
                           policy->role_count = ArrayGetNItems(ARR_NDIM(array), ARR_DIMS(array));
                           policy->roles = reinterpret_cast<Oid*>(ARR_DATA_PTR(array));
                         }
                         policies = lappend(policies, policy);
                       });
  return policies;
}

// Whether a permissive policy for the command applies to the grantee, as
// PostgreSQL decides it for a query: a policy TO PUBLIC applies to everyone,
// a policy TO r to every role that has r's privileges.
bool covered(List* policies, char polcmd, Oid grantee) {
  ListCell* cell;
  foreach (cell, policies) {
    const auto* policy = static_cast<const Policy*>(lfirst(cell));
    if (!policy->permissive || (policy->polcmd != polcmd && policy->polcmd != '*')) continue;
    for (int i = 0; i < policy->role_count; ++i) {
      Oid role = policy->roles[i];
      if (role == ACL_ID_PUBLIC) return true;
      if (grantee != ACL_ID_PUBLIC && has_privs_of_role(grantee, role)) return true;
    }
  }
  return false;
}

bool has_policy_named(List* policies, const NameData& name) {
  ListCell* cell;
  foreach (cell, policies) {
    if (namestrcmp(&static_cast<Policy*>(lfirst(cell))->name, NameStr(name)) == 0) return true;
  }
  return false;
}

void add_gap(List** gaps, Oid relid, const char* table, const char* missing) {
  auto* gap = static_cast<PolicyGap*>(palloc(sizeof(PolicyGap)));
  gap->relid = relid;
  gap->table = pstrdup(table);
  gap->missing = pstrdup(missing);
  *gaps = lappend(*gaps, gap);
}

}  // namespace

void append_policy_gaps(Oid relid, List* dropped_restrictive, List** gaps) {
  HeapTuple class_tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
  if (!HeapTupleIsValid(class_tuple)) return;  // dropped since
  const auto* form = reinterpret_cast<Form_pg_class>(GETSTRUCT(class_tuple));
  const char* table =
      quote_qualified_identifier(get_namespace_name(form->relnamespace), NameStr(form->relname));
  if (!form->relrowsecurity) add_gap(gaps, relid, table, "row-level security is disabled");
  if (!form->relforcerowsecurity) {
    add_gap(gaps, relid, table, "row-level security is not forced (the owner bypasses it)");
  }
  Oid owner = form->relowner;
  List* grants = grants_of(class_tuple, relid, form->relnatts);
  ReleaseSysCache(class_tuple);

  List* policies = policies_of(relid);
  ListCell* cell;
  foreach (cell, grants) {
    const auto* grant = static_cast<const Grant*>(lfirst(cell));
    // These never meet a policy: the owner is judged by FORCE above, and
    // superusers and BYPASSRLS roles bypass RLS by definition.
    if (grant->grantee == owner) continue;
    if (grant->grantee != ACL_ID_PUBLIC &&
        (superuser_arg(grant->grantee) || has_bypassrls_privilege(grant->grantee))) {
      continue;
    }
    const char* grantee = grant->grantee == ACL_ID_PUBLIC
                              ? "PUBLIC"
                              : quote_identifier(GetUserNameFromId(grant->grantee, false));
    for (const Command& command : kCommands) {
      if ((grant->privileges & command.privilege) == 0) continue;
      if (covered(policies, command.polcmd, grant->grantee)) continue;
      StringInfoData missing;
      initStringInfo(&missing);
      appendStringInfo(&missing, "%s granted to %s has no permissive policy covering it",
                       command.name, grantee);
      add_gap(gaps, relid, table, missing.data);
    }
  }
  foreach (cell, dropped_restrictive) {
    const auto* dropped = static_cast<const DroppedPolicy*>(lfirst(cell));
    if (dropped->relid != relid || has_policy_named(policies, dropped->name)) continue;
    StringInfoData missing;
    initStringInfo(&missing);
    appendStringInfo(&missing, "restrictive policy %s was dropped and not recreated",
                     quote_identifier(NameStr(dropped->name)));
    add_gap(gaps, relid, table, missing.data);
  }
}

}  // namespace careguard::pg
