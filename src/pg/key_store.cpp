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
PG_FUNCTION_INFO_V1(careguard_auth_jwks);
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

// Runs read(caller_context) with SPI connected, as the owner of
// auth.signing_keys in a security-restricted context (the way a SECURITY
// DEFINER function would read it, but nothing else can run in between), with
// the table locked and the latest snapshot active for the query: a REPEATABLE
// READ snapshot taken before a revocation committed must not bring the key
// back. read must own no C++ objects (it runs inside call_pg).
template <typename Read>
void read_as_key_owner(Read&& read) {
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
      SetUserIdAndSecContext(
          owner, saved_context | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
      MemoryContext caller = CurrentMemoryContext;
      // Lock first, which absorbs pending invalidations.
      LockRelationOid(relid, AccessShareLock);
      SPI_connect();
      read(caller);
      SPI_finish();
    });
  } catch (...) {
    SetUserIdAndSecContext(saved_user, saved_context);
    throw;
  }
  SetUserIdAndSecContext(saved_user, saved_context);
}

// Runs a query of no parameters under the latest snapshot.
void execute_latest(const char* query) {
  SPIPlanPtr plan = SPI_prepare(query, 0, nullptr);
  SPI_execute_snapshot(plan, nullptr, nullptr, GetLatestSnapshot(), InvalidSnapshot, true, false,
                       0);
}

// JWK members that carry key material: every one (an HMAC secret's k too),
// and those of an RSA, EC or OKP private key.
#define CG_JWK_SECRET_MEMBERS "'{k,d,p,q,dp,dq,qi,oth}'::pg_catalog.text[]"
#define CG_JWK_PRIVATE_MEMBERS "'{d,p,q,dp,dq,qi,oth}'::pg_catalog.text[]"

// Verification needs no private part. The key material is the private JWK
// when there is one (the key auth.sign() uses, whatever public_jwk says), with
// its private members removed unless it is an HMAC secret, so that importing
// it skips OpenSSL's costly private-key check. The JWK's own kty decides, not
// the kty column. A public_jwk never supplies secret members (a row written
// by hand might hold them; auth.jwks() publishes that column).
KeyRows read_key_rows() {
  KeyRows rows;
  read_as_key_owner([&rows](MemoryContext caller) {
    execute_latest(
        "SELECT CASE WHEN state OPERATOR(pg_catalog.=) 'revoked' THEN NULL "
        "WHEN private_jwk IS NULL THEN (public_jwk OPERATOR(pg_catalog.-) " CG_JWK_SECRET_MEMBERS
        ")::pg_catalog.text "
        "WHEN (private_jwk OPERATOR(pg_catalog.->>) 'kty') OPERATOR(pg_catalog.=) 'oct' "
        "THEN private_jwk::pg_catalog.text "
        "ELSE (private_jwk OPERATOR(pg_catalog.-) " CG_JWK_PRIVATE_MEMBERS
        ")::pg_catalog.text END, kid "
        "FROM auth.signing_keys ORDER BY kid");
    rows.count = static_cast<int>(SPI_processed);
    rows.jwks = static_cast<char**>(MemoryContextAlloc(caller, sizeof(char*) * (rows.count + 1)));
    rows.kids = static_cast<char**>(MemoryContextAlloc(caller, sizeof(char*) * (rows.count + 1)));
    for (int i = 0; i < rows.count; ++i) {
      char* value = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
      rows.jwks[i] = value == nullptr ? nullptr : MemoryContextStrdup(caller, value);
      rows.kids[i] = MemoryContextStrdup(
          caller, SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2));
    }
  });
  return rows;
}

}  // namespace

const KeySet& verification_keys() {
  // A revocation committed by another session since this transaction began
  // (or since its last sign-in) arrives as an invalidation, which is read
  // otherwise only at transaction start and when a new lock is taken. With
  // none queued this is one unlocked check.
  call_pg([] { AcceptInvalidationMessages(); });
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
        fresh.add_deferred(rows.kids[i], rows.jwks[i]);
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

// auth.jwks(): the public JWKS (standby and in-use asymmetric keys), read as
// the key table's owner like auth.login(). Only public_jwk is selected, less
// any secret member a hand-written row might carry, so no private or HMAC
// material can reach the caller; being C and reading nothing
// else, it needs no SECURITY DEFINER that anyone could call into.
Datum careguard_auth_jwks(PG_FUNCTION_ARGS) {
  return careguard::pg::guarded("auth.jwks", [&]() -> Datum {
    char* document = nullptr;
    careguard::pg::read_as_key_owner([&document](MemoryContext caller) {
      careguard::pg::execute_latest(
          "SELECT pg_catalog.jsonb_build_object('keys', COALESCE(pg_catalog.jsonb_agg("
          "k.public_jwk OPERATOR(pg_catalog.-) " CG_JWK_SECRET_MEMBERS
          " "
          "ORDER BY k.kid), '[]'::pg_catalog.jsonb))::pg_catalog.text "
          "FROM auth.signing_keys k WHERE k.state OPERATOR(pg_catalog.<>) 'revoked' "
          "AND k.kty OPERATOR(pg_catalog.<>) 'oct' "
          "AND (k.public_jwk OPERATOR(pg_catalog.->>) 'kty') OPERATOR(pg_catalog.<>) 'oct'");
      document = MemoryContextStrdup(caller,
                                     SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
    });
    Datum result = static_cast<Datum>(0);
    careguard::pg::call_pg(
        [&result, document] { result = DirectFunctionCall1(jsonb_in, CStringGetDatum(document)); });
    return result;
  });
}
