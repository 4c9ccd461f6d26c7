// careguard adapter: a catalog's rows by an oid key, through its index or
// its syscache. May ereport; `visit` must own no C++ objects (PostgreSQL
// may longjmp through it).
#pragma once

#include "careguard/pg/postgres.hpp"

extern "C" {
#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "utils/fmgroids.h"
#include "utils/rel.h"
#include "utils/syscache.h"
}

namespace careguard::pg {

// Calls visit(tuple, catalog) for each row whose key_column equals key,
// under AccessShareLock on the catalog.
template <typename Visit>
void for_each_catalog_row(Oid catalog_id, Oid index_id, AttrNumber key_column, Oid key,
                          Visit visit) {
  Relation catalog = table_open(catalog_id, AccessShareLock);
  ScanKeyData scan_key;
  ScanKeyInit(&scan_key, key_column, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(key));
  SysScanDesc scan = systable_beginscan(catalog, index_id, true, nullptr, 1, &scan_key);
  HeapTuple tuple;
  while (HeapTupleIsValid(tuple = systable_getnext(scan))) visit(tuple, catalog);
  systable_endscan(scan);
  table_close(catalog, AccessShareLock);
}

// One field of the syscache row keyed by `key` (`Form` is the catalog's
// FormData struct), or `missing` when there is no such row.
template <typename Form, typename Field>
Field syscache_field(SysCacheIdentifier cache, Oid key, Field Form::*field, Field missing) {
  HeapTuple tuple = SearchSysCache1(cache, ObjectIdGetDatum(key));
  if (!HeapTupleIsValid(tuple)) return missing;
  Field value = reinterpret_cast<Form*>(GETSTRUCT(tuple))->*field;
  ReleaseSysCache(tuple);
  return value;
}

}  // namespace careguard::pg
