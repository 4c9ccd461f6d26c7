// careguard adapter: the policy gate at commit. While a transaction runs,
// the catalog hooks note the tables its DDL touched (created, altered,
// granted on, a policy dropped, also through CASCADE); at PRE_COMMIT the
// protected ones among them must hold the invariant of policy_gaps.hpp.
// Why not SPI for the check: at PRE_COMMIT deferred triggers have already
// fired and portals are closed, so the check reads the catalogue directly.
// The one write, an allowed exception's record, is a plain INSERT into a
// table without triggers, which needs neither.
#include "careguard/pg/policy_gate.hpp"

#include <cstring>

#include "careguard/pg/claim_settings.hpp"
#include "careguard/pg/guard.hpp"
#include "careguard/pg/policy_gaps.hpp"

extern "C" {
#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_class.h"
#include "catalog/pg_policy.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "nodes/parsenodes.h"
#include "utils/acl.h"
#include "utils/fmgroids.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
}

namespace careguard::pg {

char* allow_policy_gap = nullptr;

namespace {

// What this transaction's DDL touched, in TopTransactionContext.
bool gate_pending = false;        // anything to check at all
bool check_every_table = false;   // GRANT ... ALL TABLES IN SCHEMA, REASSIGN OWNED, catalog DML
List* touched_relations = NIL;    // oids
List* dropped_restrictive = NIL;  // DroppedPolicy*
List* dropped_relations = NIL;    // DroppedRelation*: a protected table may come back by name

struct DroppedRelation {
  Oid relid;
  char* schema;
  char* name;
};

void touch(Oid relid) {
  // A request's temporary tables are never protected: they cost nothing.
  if (!OidIsValid(relid) || get_rel_persistence(relid) == RELPERSISTENCE_TEMP) return;
  MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);
  touched_relations = list_append_unique_oid(touched_relations, relid);
  MemoryContextSwitchTo(old);
  gate_pending = true;
}

void touch_range_var(const RangeVar* relation) {
  if (relation != nullptr) touch(RangeVarGetRelid(relation, NoLock, true));
}

// The oids in column `attnum` (name or regclass) of a careguard registry,
// read with a fresh snapshot; NIL when the table does not exist here.
List* read_registry(Oid registry, bool names_schemas) {
  List* oids = NIL;
  if (!OidIsValid(registry)) return oids;
  Relation rel = table_open(registry, AccessShareLock);
  Snapshot snapshot = RegisterSnapshot(GetLatestSnapshot());
  TableScanDesc scan = table_beginscan(rel, snapshot, 0, nullptr);
  HeapTuple tuple;
  while ((tuple = heap_getnext(scan, ForwardScanDirection)) != nullptr) {
    bool isnull = true;
    Datum value = heap_getattr(tuple, 1, RelationGetDescr(rel), &isnull);
    if (isnull) continue;
    Oid oid = names_schemas ? get_namespace_oid(NameStr(*DatumGetName(value)), true)
                            : DatumGetObjectId(value);
    if (OidIsValid(oid)) oids = lappend_oid(oids, oid);
  }
  table_endscan(scan);
  UnregisterSnapshot(snapshot);
  table_close(rel, AccessShareLock);
  return oids;
}

// Every table in the given schemas (for the checks that cannot name tables).
List* tables_in_schemas(List* schemas, List* relations) {
  Relation catalog = table_open(RelationRelationId, AccessShareLock);
  SysScanDesc scan = systable_beginscan(catalog, InvalidOid, false, nullptr, 0, nullptr);
  HeapTuple tuple;
  while (HeapTupleIsValid(tuple = systable_getnext(scan))) {
    auto* form = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple));
    if (list_member_oid(schemas, form->relnamespace)) {
      relations = list_append_unique_oid(relations, form->oid);
    }
  }
  systable_endscan(scan);
  table_close(catalog, AccessShareLock);
  return relations;
}

bool is_checked_kind(Oid relid) {
  char kind = get_rel_relkind(relid);
  return (kind == RELKIND_RELATION || kind == RELKIND_PARTITIONED_TABLE) &&
         get_rel_persistence(relid) != RELPERSISTENCE_TEMP;
}

// Runs under call_pg: the gaps the protected tables this transaction
// touched are left with.
List* find_gaps() {
  // The last statement's catalogue changes become visible to the syscache.
  CommandCounterIncrement();
  Oid careguard_schema = get_namespace_oid("careguard", true);
  if (!OidIsValid(careguard_schema)) return NIL;
  List* phi_schemas = read_registry(get_relname_relid("audit_phi_schemas", careguard_schema), true);
  List* registered = read_registry(get_relname_relid("protected_tables", careguard_schema), false);
  if (phi_schemas == NIL && registered == NIL) return NIL;

  List* candidates = list_copy(touched_relations);
  if (check_every_table) {
    candidates = tables_in_schemas(phi_schemas, candidates);
    candidates = list_concat_unique_oid(candidates, registered);
  }
  // protected_tables holds a regclass, which no dependency keeps: a table
  // careguard.protect() registered, dropped and created again under its
  // name is still the protected table to whoever reads it.
  List* recreated = NIL;
  ListCell* cell;
  foreach (cell, dropped_relations) {
    const auto* dropped = static_cast<const DroppedRelation*>(lfirst(cell));
    if (!list_member_oid(registered, dropped->relid)) continue;
    Oid schema = get_namespace_oid(dropped->schema, true);
    Oid again = OidIsValid(schema) ? get_relname_relid(dropped->name, schema) : InvalidOid;
    if (OidIsValid(again)) {
      recreated = lappend_oid(recreated, again);
      candidates = list_append_unique_oid(candidates, again);
    }
  }

  List* gaps = NIL;
  foreach (cell, candidates) {
    Oid relid = lfirst_oid(cell);
    if (!is_checked_kind(relid)) continue;
    bool protected_table = list_member_oid(phi_schemas, get_rel_namespace(relid)) ||
                           list_member_oid(registered, relid) || list_member_oid(recreated, relid);
    if (protected_table) append_policy_gaps(relid, dropped_restrictive, &gaps);
  }
  return gaps;
}

bool blank(const char* text) {
  if (text == nullptr) return true;
  for (; *text != '\0'; ++text) {
    if (*text != ' ' && *text != '\t' && *text != '\n' && *text != '\r') return false;
  }
  return true;
}

char* describe_gaps(List* gaps) {
  StringInfoData text;
  initStringInfo(&text);
  ListCell* cell;
  foreach (cell, gaps) {
    const auto* gap = static_cast<const PolicyGap*>(lfirst(cell));
    appendStringInfo(&text, "%s%s: %s", text.len > 0 ? "\n" : "", gap->table, gap->missing);
  }
  return text.data;
}

// Runs under call_pg.
[[noreturn]] void refuse_gaps(List* gaps) {
  const auto* first = static_cast<const PolicyGap*>(linitial(gaps));
  const char* value = GetConfigOption("careguard.allow_policy_gap", true, false);
  const char* local = transaction_local_value("careguard.allow_policy_gap");
  const char* hint =
      local != nullptr ? "careguard.allow_policy_gap is set but empty: an exception needs a reason."
      : !blank(value)
          ? "careguard.allow_policy_gap counts only when set with SET LOCAL in this transaction."
          : "Restore it before COMMIT (ENABLE and FORCE ROW LEVEL SECURITY, CREATE POLICY), or "
            "allow a deliberate exception with SET LOCAL careguard.allow_policy_gap = "
            "'<reason>'; it is recorded in careguard.policy_gap_exceptions.";
  ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                  errmsg("policy gate: protected table %s would be left open: %s", first->table,
                         first->missing),
                  errdetail("The transaction is rolled back. Gaps:\n%s", describe_gaps(gaps)),
                  errhint("%s", hint)));
  pg_unreachable();
}

// Runs under call_pg, as the exceptions table's owner.
void insert_exceptions(List* gaps, const char* reason, Oid caller) {
  const char* session_user = GetUserNameFromId(GetSessionUserId(), false);
  const char* current_user = GetUserNameFromId(caller, false);
  // At PRE_COMMIT the portal and its snapshot are gone: the INSERT needs one.
  PushActiveSnapshot(GetTransactionSnapshot());
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "policy gate: SPI_connect failed");
  Oid types[6] = {NAMEOID, NAMEOID, OIDOID, TEXTOID, TEXTOID, TEXTOID};
  ListCell* cell;
  foreach (cell, gaps) {
    const auto* gap = static_cast<const PolicyGap*>(lfirst(cell));
    Datum values[6] = {DirectFunctionCall1(namein, CStringGetDatum(session_user)),
                       DirectFunctionCall1(namein, CStringGetDatum(current_user)),
                       ObjectIdGetDatum(gap->relid),
                       CStringGetTextDatum(gap->table),
                       CStringGetTextDatum(gap->missing),
                       CStringGetTextDatum(reason)};
    int rc = SPI_execute_with_args(
        "INSERT INTO careguard.policy_gap_exceptions (session_user_name, current_user_name, "
        "table_oid, table_name, missing, reason) VALUES ($1, $2, $3, $4, $5, $6)",
        6, types, values, nullptr, false, 0);
    if (rc != SPI_OK_INSERT) elog(ERROR, "policy gate: recording an exception failed (%d)", rc);
  }
  SPI_finish();
  PopActiveSnapshot();
}

// Records every gap with its reason, in this transaction: the exception
// commits with the change it allowed, or not at all.
void record_exceptions(List* gaps, const char* reason) {
  bool read_only = call_pg([] { return RecoveryInProgress() || XactReadOnly; });
  if (read_only) {
    call_pg([] {
      ereport(ERROR, (errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
                      errmsg("policy gate: the exception careguard.allow_policy_gap allows "
                             "cannot be recorded in a read-only transaction"),
                      errhint("Run the migration in a read-write transaction.")));
    });
  }
  Oid table = call_pg([] {
    Oid schema = get_namespace_oid("careguard", false);
    Oid relid = get_relname_relid("policy_gap_exceptions", schema);
    if (!OidIsValid(relid)) {
      ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE),
                      errmsg("policy gate: careguard.policy_gap_exceptions does not exist"),
                      errhint("ALTER EXTENSION careguard UPDATE to 0.4.0 or later.")));
    }
    return relid;
  });
  Oid caller = InvalidOid;
  int security_context = 0;
  GetUserIdAndSecContext(&caller, &security_context);
  Oid owner = call_pg([table] {
    HeapTuple tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(table));
    Oid relowner = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple))->relowner;
    ReleaseSysCache(tuple);
    return relowner;
  });
  // Whoever may run the migration may allow its gap, but only the record
  // careguard writes goes into the table: nobody else can write there.
  SetUserIdAndSecContext(
      owner, security_context | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
  try {
    call_pg([gaps, reason, caller] { insert_exceptions(gaps, reason, caller); });
  } catch (...) {
    SetUserIdAndSecContext(caller, security_context);
    throw;
  }
  SetUserIdAndSecContext(caller, security_context);
  call_pg([gaps, reason] {
    ereport(WARNING, (errmsg("policy gate: %d gap%s allowed and recorded in "
                             "careguard.policy_gap_exceptions",
                             list_length(gaps), list_length(gaps) == 1 ? "" : "s"),
                      errdetail("Reason: %s\n%s", reason, describe_gaps(gaps))));
  });
}

}  // namespace

void define_policy_gate_settings() {
  DefineCustomStringVariable(
      "careguard.allow_policy_gap",
      "A reason that lets this transaction commit a protected table left open; recorded.",
      "Counts only when set with SET LOCAL. Each gap is recorded with the reason in "
      "careguard.policy_gap_exceptions.",
      &allow_policy_gap, "", PGC_USERSET, 0, nullptr, nullptr, nullptr);
}

const char* transaction_local_value(const char* setting_name) {
  const config_generic* setting = find_config(setting_name);
  const GucStack* top = setting == nullptr ? nullptr : setting->stack;
  if (top == nullptr || (top->state != GUC_LOCAL && top->state != GUC_SET_LOCAL)) return nullptr;
  switch (setting->vartype) {
    case PGC_STRING:
      return *reinterpret_cast<const config_string*>(setting)->variable;
    case PGC_BOOL:
      return *reinterpret_cast<const config_bool*>(setting)->variable ? "on" : "off";
    default:
      return nullptr;
  }
}

bool is_superuser_restore_session() {
  return application_name != nullptr && std::strcmp(application_name, "pg_restore") == 0 &&
         superuser_arg(GetSessionUserId());
}

void note_utility_for_policy_gate(Node* statement) {
  switch (nodeTag(statement)) {
    case T_CreateStmt:
      touch_range_var(reinterpret_cast<CreateStmt*>(statement)->relation);
      break;
    case T_CreateTableAsStmt: {
      auto* create = reinterpret_cast<CreateTableAsStmt*>(statement);
      if (create->into != nullptr) touch_range_var(create->into->rel);
      break;
    }
    case T_AlterTableStmt:
      touch_range_var(reinterpret_cast<AlterTableStmt*>(statement)->relation);
      break;
    case T_AlterPolicyStmt:
      touch_range_var(reinterpret_cast<AlterPolicyStmt*>(statement)->table);
      break;
    case T_GrantStmt: {
      auto* grant = reinterpret_cast<GrantStmt*>(statement);
      if (!grant->is_grant || grant->objtype != OBJECT_TABLE) break;
      if (grant->targtype != ACL_TARGET_OBJECT) {
        check_every_table = gate_pending = true;
        break;
      }
      ListCell* cell;
      foreach (cell, grant->objects) touch_range_var(static_cast<RangeVar*>(lfirst(cell)));
      break;
    }
    case T_AlterObjectSchemaStmt: {
      auto* move = reinterpret_cast<AlterObjectSchemaStmt*>(statement);
      if (move->relation == nullptr || move->newschema == nullptr) break;
      touch_range_var(makeRangeVar(move->newschema, move->relation->relname, -1));
      break;
    }
    case T_ReassignOwnedStmt:
      check_every_table = gate_pending = true;
      break;
    default:
      break;
  }
}

void note_policy_drop(Oid policy_oid) {
  Relation catalog = table_open(PolicyRelationId, AccessShareLock);
  ScanKeyData key;
  ScanKeyInit(&key, Anum_pg_policy_oid, BTEqualStrategyNumber, F_OIDEQ,
              ObjectIdGetDatum(policy_oid));
  SysScanDesc scan = systable_beginscan(catalog, PolicyOidIndexId, true, nullptr, 1, &key);
  HeapTuple tuple = systable_getnext(scan);
  if (HeapTupleIsValid(tuple)) {
    auto* form = reinterpret_cast<Form_pg_policy>(GETSTRUCT(tuple));
    touch(form->polrelid);
    if (!form->polpermissive) {
      MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);
      auto* dropped = static_cast<DroppedPolicy*>(palloc(sizeof(DroppedPolicy)));
      dropped->relid = form->polrelid;
      dropped->name = form->polname;
      dropped_restrictive = lappend(dropped_restrictive, dropped);
      MemoryContextSwitchTo(old);
    }
  }
  systable_endscan(scan);
  table_close(catalog, AccessShareLock);
}

void note_relation_drop(Oid relid) {
  if (!is_checked_kind(relid)) return;
  MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);
  auto* dropped = static_cast<DroppedRelation*>(palloc(sizeof(DroppedRelation)));
  dropped->relid = relid;
  dropped->schema = get_namespace_name(get_rel_namespace(relid));
  dropped->name = get_rel_name(relid);
  dropped_relations = lappend(dropped_relations, dropped);
  MemoryContextSwitchTo(old);
  gate_pending = true;
}

void note_catalog_writes(List* range_table) {
  ListCell* cell;
  foreach (cell, range_table) {
    const auto* entry = static_cast<const RangeTblEntry*>(lfirst(cell));
    if (entry->rtekind != RTE_RELATION ||
        (entry->requiredPerms & (ACL_INSERT | ACL_UPDATE | ACL_DELETE)) == 0) {
      continue;
    }
    if (entry->relid == RelationRelationId || entry->relid == PolicyRelationId ||
        entry->relid == AttributeRelationId) {
      check_every_table = gate_pending = true;
    }
  }
}

void enforce_policy_gate() {
  if (!gate_pending || IsParallelWorker()) return;
  guarded("policy gate", [] {
    if (is_superuser_restore_session()) return;
    List* gaps = call_pg([] { return find_gaps(); });
    if (gaps == NIL) return;
    const char* reason = transaction_local_value("careguard.allow_policy_gap");
    if (blank(reason)) {
      call_pg([gaps] { refuse_gaps(gaps); });
    }
    record_exceptions(gaps, reason);
  });
}

void reset_policy_gate_for_new_transaction() {
  // The lists lived in TopTransactionContext, which is gone or going.
  gate_pending = false;
  check_every_table = false;
  touched_relations = NIL;
  dropped_restrictive = NIL;
  dropped_relations = NIL;
}

}  // namespace careguard::pg
