// careguard adapter: the ledger writer's position (ledger_writer_state.hpp).
#include "careguard/pg/ledger_writer_state.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "careguard/pg/ledger_spool.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
}

namespace careguard::pg {

bytea* make_bytea(const unsigned char* bytes, Size length) {
  auto* out = static_cast<bytea*>(palloc(VARHDRSZ + length));
  SET_VARSIZE(out, VARHDRSZ + length);
  std::memcpy(VARDATA(out), bytes, length);
  return out;
}

namespace {

// The lowest segment in the database's spool directory (a new state row
// starts reading there), or 0.
int64 lowest_segment(Oid database) {
  int64 lowest = 0;
  int64 highest = 0;
  return spool_segments(database, &lowest, &highest) ? lowest : 0;
}

// First run in this database (or after a restore): the chain continues from
// the ledger's last row, the spool is read from its oldest segment.
void create_writer_state() {
  Oid types[1] = {INT8OID};
  Datum values[1] = {Int64GetDatum(lowest_segment(MyDatabaseId))};
  SPI_execute_with_args(
      "INSERT INTO careguard.ledger_writer_state (segment, spool_offset, last_seq, last_hash) "
      "SELECT $1, 0, COALESCE(max(l.seq), 0), COALESCE((SELECT h.hash FROM careguard.ledger h "
      "ORDER BY h.seq DESC LIMIT 1), pg_catalog.decode(pg_catalog.repeat('00', 32), 'hex')) "
      "FROM careguard.ledger l",
      1, types, values, nullptr, false, 0);
}

// Set when this batch read a spool no writer of this database had read.
bool adopting_new_spool = false;

// Moves the position to the start of the spool, keeping the chain's head.
void read_spool_from_start(WriterState* state, const char* why) {
  const int64 first = lowest_segment(MyDatabaseId);
  if (state->segment == first && state->offset == 0) return;
  ereport(LOG, (errmsg("careguard ledger: the writer position (segment %lld, offset %lld) is not "
                       "this database's; reading its spool from segment %lld",
                       static_cast<long long>(state->segment),
                       static_cast<long long>(state->offset), static_cast<long long>(first)),
                errdetail("%s", why)));
  state->segment = first;
  state->offset = 0;
}

// Where the spool must be read from. A spool directory careguard created
// carries a marker until its writer's first batch commits: a position found
// then was saved over another spool (the row came with CREATE DATABASE ...
// TEMPLATE, pg_upgrade or a restore). Without the marker, a position whose
// segment is not in the spool or is shorter than the offset means the spool
// was lost or cut short (a promoted standby's copy, an OS crash). Either way
// the chain continues from the row's head and the spool is read from its
// start: a line may be stored twice, none is skipped.
void fit_to_spool(WriterState* state) {
  char path[MAXPGPATH];
  struct stat info;
  new_spool_marker_path(path, sizeof path, MyDatabaseId);
  adopting_new_spool = stat(path, &info) == 0;
  if (adopting_new_spool) {
    read_spool_from_start(state, "No writer of this database has read its spool yet.");
    return;
  }
  int64 lowest = 0;
  int64 highest = 0;
  const bool any = spool_segments(MyDatabaseId, &lowest, &highest);
  segment_path(path, sizeof path, MyDatabaseId, state->segment);
  const bool present = stat(path, &info) == 0;
  const bool fits =
      present ? state->offset <= static_cast<int64>(info.st_size) : !any && state->offset == 0;
  if (!fits) read_spool_from_start(state, "The spool was lost or cut short.");
}

}  // namespace

bool read_writer_state(WriterState* state) {
  const char* query =
      "SELECT segment, spool_offset, last_seq, last_hash "
      "FROM careguard.ledger_writer_state FOR UPDATE";
  if (SPI_execute(query, false, 1) != SPI_OK_SELECT) return false;
  if (SPI_processed == 0) {
    create_writer_state();
    if (SPI_execute(query, false, 1) != SPI_OK_SELECT) return false;
  }
  if (SPI_processed != 1) return false;
  bool isnull = false;
  HeapTuple row = SPI_tuptable->vals[0];
  TupleDesc desc = SPI_tuptable->tupdesc;
  state->segment = DatumGetInt64(SPI_getbinval(row, desc, 1, &isnull));
  state->offset = DatumGetInt64(SPI_getbinval(row, desc, 2, &isnull));
  state->last_seq = DatumGetInt64(SPI_getbinval(row, desc, 3, &isnull));
  bytea* hash = DatumGetByteaPP(SPI_getbinval(row, desc, 4, &isnull));
  if (VARSIZE_ANY_EXHDR(hash) != 32) return false;
  std::memcpy(state->last_hash, VARDATA_ANY(hash), 32);
  fit_to_spool(state);
  return true;
}

void writer_state_committed() {
  if (!adopting_new_spool) return;
  char marker[MAXPGPATH];
  new_spool_marker_path(marker, sizeof marker, MyDatabaseId);
  (void)unlink(marker);
  adopting_new_spool = false;
}

void save_writer_state(const WriterState* state) {
  Oid types[4] = {INT8OID, INT8OID, INT8OID, BYTEAOID};
  Datum values[4] = {Int64GetDatum(state->segment), Int64GetDatum(state->offset),
                     Int64GetDatum(state->last_seq),
                     PointerGetDatum(make_bytea(state->last_hash, 32))};
  SPI_execute_with_args(
      "UPDATE careguard.ledger_writer_state SET segment = $1, spool_offset = $2, "
      "last_seq = $3, last_hash = $4",
      4, types, values, nullptr, false, 0);
}

}  // namespace careguard::pg
