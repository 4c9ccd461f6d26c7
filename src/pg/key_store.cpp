// careguard adapter: loading and caching the verification key set.
#include "careguard/pg/key_store.hpp"

#include <string>
#include <vector>

#include "careguard/core/error.hpp"
#include "careguard/pg/guard.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "storage/lmgr.h"
#include "utils/snapmgr.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
}

using careguard::jwt::Key;
using careguard::jwt::KeySet;

extern "C" {
PG_FUNCTION_INFO_V1(careguard_signing_keys_changed);
}

namespace careguard::pg {

namespace {

KeySet cached_keys;
bool cache_valid = false;
Oid cached_relid = InvalidOid;

// Relcache callback: any invalidation of auth.signing_keys (sent by its
// statement trigger at commit) or a full reset makes the next login reload.
void on_relcache_invalidation(Datum, Oid relid) {
  contained([relid] {
    if (relid == InvalidOid || relid == cached_relid) cache_valid = false;
  });
}

// Rows of auth.signing_keys usable for verification, as JWK texts in
// palloc'd memory (the SPI work owns no C++ objects).
struct KeyRows {
  int count = 0;
  char** jwks = nullptr;  // NULL for a revoked key
  char** kids = nullptr;
};

KeyRows read_key_rows() {
  KeyRows rows;
  Oid saved_user = InvalidOid;
  int saved_context = 0;
  GetUserIdAndSecContext(&saved_user, &saved_context);
  try {
    call_pg([&] {
      Oid schema = get_namespace_oid("auth", true);
      Oid relid = OidIsValid(schema) ? get_relname_relid("signing_keys", schema) : InvalidOid;
      if (!OidIsValid(relid)) {
        ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                        errmsg("careguard is not installed in this database"),
                        errhint("Run CREATE EXTENSION careguard.")));
      }
      cached_relid = relid;  // so an invalidation during the read is recognised
      HeapTuple tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
      Oid owner = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple))->relowner;
      ReleaseSysCache(tuple);
      // Read as the table's owner, the way a SECURITY DEFINER function would,
      // in a security-restricted context: the query can do nothing else.
      SetUserIdAndSecContext(
          owner, saved_context | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
      MemoryContext caller = CurrentMemoryContext;
      // Lock first (which absorbs pending invalidations), then read with the
      // latest snapshot, not the transaction's: a REPEATABLE READ snapshot
      // taken before a revocation committed must not bring the key back.
      LockRelationOid(relid, AccessShareLock);
      SPI_connect();
      SPIPlanPtr plan = SPI_prepare(
          "SELECT CASE WHEN state OPERATOR(pg_catalog.=) 'revoked' THEN NULL "
          "ELSE COALESCE(private_jwk, public_jwk)::pg_catalog.text END, kid "
          "FROM auth.signing_keys ORDER BY kid",
          0, nullptr);
      SPI_execute_snapshot(plan, nullptr, nullptr, GetLatestSnapshot(), InvalidSnapshot, true,
                           false, 0);
      rows.count = static_cast<int>(SPI_processed);
      rows.jwks = static_cast<char**>(MemoryContextAlloc(caller, sizeof(char*) * (rows.count + 1)));
      rows.kids = static_cast<char**>(MemoryContextAlloc(caller, sizeof(char*) * (rows.count + 1)));
      for (int i = 0; i < rows.count; ++i) {
        char* value = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
        rows.jwks[i] = value == nullptr ? nullptr : MemoryContextStrdup(caller, value);
        rows.kids[i] = MemoryContextStrdup(
            caller, SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2));
      }
      SPI_finish();
    });
  } catch (...) {
    SetUserIdAndSecContext(saved_user, saved_context);
    throw;
  }
  SetUserIdAndSecContext(saved_user, saved_context);
  return rows;
}

}  // namespace

const KeySet& verification_keys() {
  if (cache_valid) return cached_keys;
  // Marked valid before reading: an invalidation that arrives while the keys
  // are read (a change committed after our snapshot) turns it off again, so
  // the next sign-in reloads.
  cache_valid = true;
  try {
    KeyRows rows = read_key_rows();
    KeySet fresh;
    for (int i = 0; i < rows.count; ++i) {
      if (rows.jwks[i] == nullptr) {
        fresh.add_revoked(rows.kids[i]);
      } else {
        fresh.add(Key::from_jwk_json(rows.jwks[i]));
      }
    }
    cached_keys = std::move(fresh);
  } catch (...) {
    cache_valid = false;
    throw;
  }
  return cached_keys;
}

void register_key_store_invalidation() {
  CacheRegisterRelcacheCallback(on_relcache_invalidation, PointerGetDatum(nullptr));
}

}  // namespace careguard::pg

// Statement trigger on auth.signing_keys: tells every backend, at commit,
// that its cached key set is stale.
Datum careguard_signing_keys_changed(PG_FUNCTION_ARGS) {
  return careguard::pg::guarded("careguard.signing_keys_changed", [&]() -> Datum {
    if (!CALLED_AS_TRIGGER(fcinfo)) {
      throw careguard::Error("39P01",
                             "careguard.signing_keys_changed() must be called as a trigger");
    }
    auto* trigger = reinterpret_cast<TriggerData*>(fcinfo->context);
    careguard::pg::call_pg([trigger] { CacheInvalidateRelcache(trigger->tg_relation); });
    return PointerGetDatum(nullptr);
  });
}
