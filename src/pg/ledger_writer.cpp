// careguard adapter: the ledger's writer, one background worker per
// database. It reads its database's spool (ledger_spool.cpp) from the
// position stored in careguard.ledger_writer_state, chains each line's
// record onto the ledger (SHA-256, ledger::link) and stores the batch and
// the new position in one transaction, so a line is stored exactly once.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>

#include "careguard/core/ledger.hpp"
#include "careguard/pg/guard.hpp"
#include "careguard/pg/ledger.hpp"
#include "careguard/pg/ledger_internal.hpp"
#include "careguard/pg/ledger_spool.hpp"
#include "careguard/pg/ledger_writer_state.hpp"

extern "C" {
#include "access/heapam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "catalog/pg_class.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"
}

extern "C" {
PGDLLEXPORT void careguard_ledger_writer_main(Datum argument);
}

namespace careguard::pg {

namespace {

SpoolSlot* writer_slot = nullptr;

void release_writer_slot(int, Datum) {
  if (writer_slot == nullptr || spool_shared == nullptr) return;
  LWLockAcquire(spool_shared->lock, LW_EXCLUSIVE);
  if (writer_slot->writer_pid == MyProcPid) {
    writer_slot->writer_pid = 0;
    writer_slot->writer_latch = nullptr;
    writer_slot->start_requested = 0;
  }
  LWLockRelease(spool_shared->lock);
}

bool chain_link(const unsigned char* previous, int64 seq, const char* text, std::size_t length,
                unsigned char* out) noexcept {
  try {
    ledger::Hash prev{};
    std::memcpy(prev.data(), previous, prev.size());
    ledger::Hash next = ledger::link(prev, seq, std::string_view(text, length));
    std::memcpy(out, next.data(), next.size());
    return true;
  } catch (...) {
    return false;
  }
}

// The index of the line being stored, in static storage: the caller passes
// its parts straight to PostgreSQL (no C++ object lives in a frame
// PostgreSQL may longjmp from).
ledger::RecordIndex line_index;
std::string_view line_record;
bool read_line(const char* line, std::size_t length) noexcept {
  try {
    ledger::read_spool_line(std::string_view(line, length), line_index, line_record);
    return true;
  } catch (...) {
    return false;
  }
}

int64 month_of(TimestampTz at) {
  pg_time_t seconds = timestamptz_to_time_t(at);
  struct pg_tm* parts = pg_gmtime(&seconds);
  return static_cast<int64>(parts->tm_year + 1900) * 12 + parts->tm_mon;
}

// A batch's rows take about its bytes again (texts, hashes, ids, arrays).
constexpr Size kBatchContextBytes = 2 * kBatchBytes;

int64 partition_month = -1;
bool batch_was_full = false;
SPIPlanPtr insert_plan = nullptr;

// One batch's rows, stored with a single INSERT over unnest() of arrays
// (one executor start per batch, not per record). The patient ids of all
// rows are one uuid[]; row i takes the slice [id_from[i]:id_to[i]] of it,
// so no id is formatted or parsed on the way.
struct Batch {
  int count;
  Datum* seqs;
  Datum* kinds;
  Datum* id_from;
  Datum* id_to;
  Datum* records;
  Datum* prevs;
  Datum* hashes;
  int id_count;
  int id_capacity;
  Datum* ids;
};

void batch_init(Batch* batch, int capacity) {
  batch->count = 0;
  batch->seqs = static_cast<Datum*>(palloc(sizeof(Datum) * capacity));
  batch->kinds = static_cast<Datum*>(palloc(sizeof(Datum) * capacity));
  batch->id_from = static_cast<Datum*>(palloc(sizeof(Datum) * capacity));
  batch->id_to = static_cast<Datum*>(palloc(sizeof(Datum) * capacity));
  batch->records = static_cast<Datum*>(palloc(sizeof(Datum) * capacity));
  batch->prevs = static_cast<Datum*>(palloc(sizeof(Datum) * capacity));
  batch->hashes = static_cast<Datum*>(palloc(sizeof(Datum) * capacity));
  batch->id_count = 0;
  batch->id_capacity = capacity;
  batch->ids = static_cast<Datum*>(palloc(sizeof(Datum) * capacity));
}

// Adds the line last read (line_index, line_record).
void batch_add(Batch* batch, int64 seq, const unsigned char* previous, const unsigned char* hash) {
  int i = batch->count++;
  batch->seqs[i] = Int64GetDatum(seq);
  batch->kinds[i] = PointerGetDatum(
      cstring_to_text_with_len(line_index.kind.data(), static_cast<int>(line_index.kind.size())));
  auto added = static_cast<int>(line_index.patient_ids.size());
  if (batch->id_count + added > batch->id_capacity) {
    batch->id_capacity = std::max(batch->id_capacity * 2, batch->id_count + added);
    batch->ids = static_cast<Datum*>(repalloc(batch->ids, sizeof(Datum) * batch->id_capacity));
  }
  batch->id_from[i] = Int32GetDatum(batch->id_count + 1);
  for (const Uuid& id : line_index.patient_ids) {
    auto* uuid = static_cast<pg_uuid_t*>(palloc(sizeof(pg_uuid_t)));
    std::memcpy(uuid->data, id.data(), UUID_LEN);
    batch->ids[batch->id_count++] = UUIDPGetDatum(uuid);
  }
  batch->id_to[i] = Int32GetDatum(batch->id_count);
  batch->records[i] = PointerGetDatum(
      cstring_to_text_with_len(line_record.data(), static_cast<int>(line_record.size())));
  batch->prevs[i] = PointerGetDatum(make_bytea(previous, 32));
  batch->hashes[i] = PointerGetDatum(make_bytea(hash, 32));
}

// The ledger's columns, in the order store_directly() fills them.
constexpr const char* kLedgerColumns[] = {"seq",    "ingested_at", "kind", "patient_ids",
                                          "record", "prev_hash",   "hash"};
constexpr int kLedgerColumnCount = 7;

// The month's partition of the ledger (ledger_ensure_month's name), or
// InvalidOid.
Oid month_partition(TimestampTz at) {
  pg_time_t seconds = timestamptz_to_time_t(at);
  struct pg_tm* parts = pg_gmtime(&seconds);
  char name[NAMEDATALEN];
  snprintf(name, sizeof name, "ledger_y%04dm%02d", parts->tm_year + 1900, parts->tm_mon + 1);
  Oid schema = get_namespace_oid("careguard", true);
  return OidIsValid(schema) ? get_relname_relid(name, schema) : InvalidOid;
}

// The types of the ledger's columns, in kLedgerColumns' order.
constexpr Oid kLedgerColumnTypes[] = {INT8OID, TIMESTAMPTZOID, TEXTOID, UUIDARRAYOID,
                                      TEXTOID, BYTEAOID,       BYTEAOID};

bool has_insert_triggers(Relation rel) {
  const TriggerDesc* t = rel->trigdesc;
  return t != nullptr && (t->trig_insert_before_row || t->trig_insert_after_row ||
                          t->trig_insert_instead_row || t->trig_insert_before_statement ||
                          t->trig_insert_after_statement || t->trig_insert_new_table);
}

// Where each ledger column is in the partition's tuple, or false when an
// INSERT into the ledger would do more than store those values: another
// live column (its default), a column of another type, a CHECK constraint,
// a generated column, an INSERT trigger on the ledger or the partition
// (statement triggers stay on the ledger itself).
bool plain_partition(Relation ledger, Relation rel, int* positions) {
  TupleDesc desc = RelationGetDescr(rel);
  if (has_insert_triggers(ledger) || has_insert_triggers(rel)) return false;
  if (desc->constr != nullptr &&
      (desc->constr->num_check > 0 || desc->constr->has_generated_stored)) {
    return false;
  }
  int live = 0;
  for (int c = 0; c < kLedgerColumnCount; ++c) positions[c] = -1;
  for (int i = 0; i < desc->natts; ++i) {
    Form_pg_attribute attribute = TupleDescAttr(desc, i);
    if (attribute->attisdropped) continue;
    ++live;
    for (int c = 0; c < kLedgerColumnCount; ++c) {
      if (std::strcmp(NameStr(attribute->attname), kLedgerColumns[c]) != 0) continue;
      if (attribute->atttypid != kLedgerColumnTypes[c] || attribute->atttypmod != -1) return false;
      positions[c] = i;
    }
  }
  for (int c = 0; c < kLedgerColumnCount; ++c) {
    if (positions[c] < 0) return false;
  }
  return live == kLedgerColumnCount;
}

// Every index of the partition checks at once (no deferred uniqueness,
// whose recheck only the executor's INSERT runs).
bool immediate_indexes(const ResultRelInfo* target) {
  for (int i = 0; i < target->ri_NumIndices; ++i) {
    if (!target->ri_IndexRelationDescs[i]->rd_index->indimmediate) return false;
  }
  return true;
}

// Stores the batch straight into its month's partition the way COPY does
// (heap multi-insert, then each row's index entries), without planning,
// unnesting and projecting an INSERT: the writer's largest cost after
// PostgreSQL's own heap, index and WAL work. False, with nothing stored,
// when the partition is missing or not plain (above), or `at` falls outside
// it: the caller then stores the batch with SQL.
bool store_directly(const Batch* batch, TimestampTz at) {
  Oid ledger_id = get_relname_relid("ledger", get_namespace_oid("careguard", false));
  Oid partition = month_partition(at);
  if (!OidIsValid(ledger_id) || !OidIsValid(partition)) return false;
  // The ledger first, as an INSERT into it would lock it: its partitions
  // cannot be attached or detached under us.
  Relation ledger = table_open(ledger_id, RowExclusiveLock);
  Relation rel = table_open(partition, RowExclusiveLock);
  int positions[kLedgerColumnCount];
  if (!rel->rd_rel->relispartition || get_partition_parent(partition, false) != ledger_id ||
      !plain_partition(ledger, rel, positions)) {
    table_close(rel, NoLock);
    table_close(ledger, NoLock);
    return false;
  }
  EState* estate = CreateExecutorState();
  RangeTblEntry* entry = makeNode(RangeTblEntry);
  entry->rtekind = RTE_RELATION;
  entry->relid = partition;
  entry->relkind = RELKIND_RELATION;
  entry->rellockmode = RowExclusiveLock;
  ExecInitRangeTable(estate, list_make1(entry));
  ResultRelInfo* target = makeNode(ResultRelInfo);
  InitResultRelInfo(target, rel, 1, nullptr, 0);
  ExecOpenIndices(target, false);
  if (!immediate_indexes(target)) {
    ExecCloseIndices(target);
    FreeExecutorState(estate);
    table_close(rel, NoLock);
    table_close(ledger, NoLock);
    return false;
  }
  CommandId command = GetCurrentCommandId(true);
  estate->es_output_cid = command;
  constexpr int kChunk = 64;  // rows per multi-insert: a few pages of them
  TupleTableSlot* slots[kChunk] = {};
  BulkInsertState bulk = GetBulkInsertState();
  bool stored = true;
  int natts = RelationGetDescr(rel)->natts;
  for (int start = 0; start < batch->count && stored; start += kChunk) {
    int count = std::min(kChunk, batch->count - start);
    for (int k = 0; k < count; ++k) {
      int i = start + k;
      if (slots[k] == nullptr) slots[k] = table_slot_create(rel, nullptr);
      TupleTableSlot* slot = slots[k];
      ExecClearTuple(slot);
      for (int a = 0; a < natts; ++a) slot->tts_isnull[a] = true;
      int first = DatumGetInt32(batch->id_from[i]) - 1;
      int ids = DatumGetInt32(batch->id_to[i]) - first;
      Datum values[kLedgerColumnCount] = {
          batch->seqs[i],
          TimestampTzGetDatum(at),
          batch->kinds[i],
          PointerGetDatum(
              construct_array(batch->ids + first, ids, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR)),
          batch->records[i],
          batch->prevs[i],
          batch->hashes[i]};
      for (int c = 0; c < kLedgerColumnCount; ++c) {
        slot->tts_values[positions[c]] = values[c];
        slot->tts_isnull[positions[c]] = false;
      }
      ExecStoreVirtualTuple(slot);
    }
    // One month's rows share `at`: the first row proves the partition.
    if (start == 0 && !ExecPartitionCheck(target, slots[0], estate, false)) {
      stored = false;
      break;
    }
    table_multi_insert(rel, slots, count, command, 0, bulk);
    for (int k = 0; k < count; ++k) {
      (void)ExecInsertIndexTuples(target, slots[k], estate, false, false, nullptr, NIL);
      ResetPerTupleExprContext(estate);
    }
  }
  FreeBulkInsertState(bulk);
  for (TupleTableSlot* slot : slots) {
    if (slot != nullptr) ExecDropSingleTupleTableSlot(slot);
  }
  ExecCloseIndices(target);
  table_close(rel, NoLock);
  table_close(ledger, NoLock);
  FreeExecutorState(estate);
  return stored;
}

void batch_insert(const Batch* batch, TimestampTz at) {
  if (batch->count == 0) return;
  if (month_of(at) != partition_month) {
    Oid types[1] = {TIMESTAMPTZOID};
    Datum values[1] = {TimestampTzGetDatum(at)};
    SPI_execute_with_args("SELECT careguard.ledger_ensure_month($1)", 1, types, values, nullptr,
                          false, 0);
    partition_month = month_of(at);
  }
  if (store_directly(batch, at)) return;
  if (insert_plan == nullptr) {
    Oid types[9] = {INT8ARRAYOID, TIMESTAMPTZOID, TEXTARRAYOID,  INT4ARRAYOID, INT4ARRAYOID,
                    TEXTARRAYOID, BYTEAARRAYOID,  BYTEAARRAYOID, UUIDARRAYOID};
    insert_plan = SPI_prepare(
        "INSERT INTO careguard.ledger (seq, ingested_at, kind, patient_ids, record, prev_hash, "
        "hash) SELECT u.s, $2, u.k, $9[u.lo:u.hi], u.r, u.p, u.h "
        "FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($3), pg_catalog.unnest($4), "
        "pg_catalog.unnest($5), pg_catalog.unnest($6), pg_catalog.unnest($7), "
        "pg_catalog.unnest($8)) AS u(s, k, lo, hi, r, p, h)",
        9, types);
    if (insert_plan == nullptr) elog(ERROR, "careguard ledger: cannot prepare the insert");
    SPI_keepplan(insert_plan);
  }
  int n = batch->count;
  Datum values[9] = {
      PointerGetDatum(
          construct_array(batch->seqs, n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE)),
      TimestampTzGetDatum(at),
      PointerGetDatum(construct_array(batch->kinds, n, TEXTOID, -1, false, TYPALIGN_INT)),
      PointerGetDatum(construct_array(batch->id_from, n, INT4OID, 4, true, TYPALIGN_INT)),
      PointerGetDatum(construct_array(batch->id_to, n, INT4OID, 4, true, TYPALIGN_INT)),
      PointerGetDatum(construct_array(batch->records, n, TEXTOID, -1, false, TYPALIGN_INT)),
      PointerGetDatum(construct_array(batch->prevs, n, BYTEAOID, -1, false, TYPALIGN_INT)),
      PointerGetDatum(construct_array(batch->hashes, n, BYTEAOID, -1, false, TYPALIGN_INT)),
      PointerGetDatum(
          construct_array(batch->ids, batch->id_count, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR))};
  int rc = SPI_execute_plan(insert_plan, values, nullptr, false, 0);
  // Anything short of every row stored aborts the batch: the position moves
  // only with the rows.
  if (rc != SPI_OK_INSERT || SPI_processed != static_cast<uint64>(n)) {
    elog(ERROR, "careguard ledger: stored %llu of %d records (SPI %d)",
         static_cast<unsigned long long>(SPI_processed), n, rc);
  }
}

int count_lines(const char* from, const char* to) {
  int lines = 0;
  for (; from < to; ++from, ++lines) {
    from = static_cast<const char*>(std::memchr(from, '\n', static_cast<size_t>(to - from)));
    if (from == nullptr) break;
  }
  return lines;
}

// One batch: reads the spool from the stored position, stores every
// complete line, advances. Returns the lines stored, or -1 when careguard is
// not installed (the writer then exits).
int ingest_once(SpoolSlot* slot) {
  SetCurrentStatementStartTimestamp();
  StartTransactionCommand();
  SPI_connect();
  PushActiveSnapshot(GetTransactionSnapshot());
  Oid schema = get_namespace_oid("careguard", true);
  if (!OidIsValid(schema) || !OidIsValid(get_relname_relid("ledger_writer_state", schema))) {
    PopActiveSnapshot();
    SPI_finish();
    CommitTransactionCommand();
    return -1;
  }
  WriterState state;
  if (!read_writer_state(&state)) elog(ERROR, "careguard ledger: writer state unreadable");
  int64 old_segment = -1;
  int stored = 0;
  char path[MAXPGPATH];
  segment_path(path, sizeof path, MyDatabaseId, state.segment);
  int fd = open(path, O_RDONLY | PG_BINARY, 0);
  static char* buffer = nullptr;  // outlives each batch's transaction
  if (buffer == nullptr)
    buffer = static_cast<char*>(MemoryContextAlloc(TopMemoryContext, kBatchBytes));
  ssize_t got = fd < 0 ? 0 : pread(fd, buffer, kBatchBytes, state.offset);
  if (fd >= 0) close(fd);
  if (got < 0) got = 0;
  ssize_t end = got;
  while (end > 0 && buffer[end - 1] != '\n') --end;
  batch_was_full = got == static_cast<ssize_t>(kBatchBytes);
  TimestampTz now = GetCurrentTimestamp();
  int lines = count_lines(buffer, buffer + end);
  // A batch's rows live in one context kept across batches: its first block
  // holds a full batch's small pieces, so a batch reuses the pages of the
  // last instead of faulting in fresh ones (a tenth of the writer's time).
  static MemoryContext batch_context = nullptr;
  if (batch_context == nullptr) {
    batch_context =
        AllocSetContextCreate(TopMemoryContext, "careguard ledger batch", kBatchContextBytes,
                              kBatchContextBytes, kBatchContextBytes);
  }
  MemoryContextReset(batch_context);
  MemoryContext outer = MemoryContextSwitchTo(batch_context);
  Batch batch;
  batch_init(&batch, lines + 1);
  for (const char* line = buffer; line < buffer + end;) {
    const auto* newline =
        static_cast<const char*>(std::memchr(line, '\n', static_cast<size_t>(buffer + end - line)));
    auto length = static_cast<std::size_t>(newline - line);
    if (length > 0) {
      if (!read_line(line, length)) {
        elog(ERROR, "careguard ledger: out of memory reading a record");
      }
      unsigned char hash[32];
      int64 seq = state.last_seq + 1;
      if (!chain_link(state.last_hash, seq, line_record.data(), line_record.size(), hash)) {
        elog(ERROR, "careguard ledger: SHA-256 failed");
      }
      batch_add(&batch, seq, state.last_hash, hash);
      state.last_seq = seq;
      std::memcpy(state.last_hash, hash, 32);
      ++stored;
    }
    line = newline + 1;
  }
  batch_insert(&batch, now);
  MemoryContextSwitchTo(outer);
  state.offset += end;
  LWLockAcquire(spool_shared->lock, LW_SHARED);
  int64 appending_to = slot->segment;
  LWLockRelease(spool_shared->lock);
  if (got == end && appending_to > state.segment) {
    // Backends moved on and this segment is read to its end: next segment.
    old_segment = state.segment;
    state.segment++;
    state.offset = 0;
  }
  save_writer_state(&state);
  PopActiveSnapshot();
  SPI_finish();
  CommitTransactionCommand();
  writer_state_committed();
  pgstat_report_stat(false);
  if (old_segment >= 0) {
    segment_path(path, sizeof path, MyDatabaseId, old_segment);
    (void)unlink(path);
  }
  LWLockAcquire(spool_shared->lock, LW_EXCLUSIVE);
  slot->ingested_segment = state.segment;
  slot->ingested_offset = state.offset;
  slot->last_seq = state.last_seq;
  // A full segment: backends move to the next one (created first, so that
  // discover_segment() after a crash restart finds it).
  if (state.segment == slot->segment && state.offset >= kSegmentBytes) {
    segment_path(path, sizeof path, MyDatabaseId, slot->segment + 1);
    int created = open(path, O_WRONLY | O_CREAT | PG_BINARY, S_IRUSR | S_IWUSR);
    if (created >= 0) {
      close(created);
      slot->segment++;
    }
  }
  LWLockRelease(spool_shared->lock);
  return stored;
}

// True when nothing is left to read: then the writer gives its slot up
// (under the lock, so the next append starts a new writer).
bool retire_if_idle(SpoolSlot* slot) {
  LWLockAcquire(spool_shared->lock, LW_EXCLUSIVE);
  const bool idle = spool_read_to_end(slot);
  if (idle) {
    slot->writer_pid = 0;
    slot->writer_latch = nullptr;
    slot->start_requested = 0;
  }
  LWLockRelease(spool_shared->lock);
  return idle;
}

}  // namespace

}  // namespace careguard::pg

using namespace careguard::pg;

// One writer per database, started on demand by the first append; it exits
// after two idle seconds (so it never holds DROP DATABASE up for long).
void careguard_ledger_writer_main(Datum argument) {
  Oid database = DatumGetObjectId(argument);
  pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
  BackgroundWorkerUnblockSignals();
  in_ledger_writer = true;
  BackgroundWorkerInitializeConnectionByOid(database, BOOTSTRAP_SUPERUSERID, 0);
  if (spool_shared == nullptr) proc_exit(0);
  LWLockAcquire(spool_shared->lock, LW_EXCLUSIVE);
  SpoolSlot* slot = find_spool_slot(database);
  bool mine = slot != nullptr && (slot->writer_pid == 0 || kill(slot->writer_pid, 0) != 0);
  if (mine) {
    slot->writer_pid = MyProcPid;
    slot->writer_latch = MyLatch;
  }
  LWLockRelease(spool_shared->lock);
  if (!mine) proc_exit(0);
  writer_slot = slot;
  before_shmem_exit(release_writer_slot, 0);

  TimestampTz last_work = GetCurrentTimestamp();
  while (!ShutdownRequestPending) {
    int stored = 0;
    PG_TRY();
    { stored = ingest_once(slot); }
    PG_CATCH();
    {
      EmitErrorReport();
      FlushErrorState();
      AbortCurrentTransaction();
      partition_month = -1;
      stored = 0;
      (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 1000,
                      PG_WAIT_EXTENSION);
      ResetLatch(MyLatch);
    }
    PG_END_TRY();
    if (stored < 0) break;
    TimestampTz now = GetCurrentTimestamp();
    if (stored > 0) last_work = now;
    if (stored == 0 && TimestampDifferenceExceeds(last_work, now, 2000) && retire_if_idle(slot)) {
      break;
    }
    if (stored > 0 && batch_was_full) continue;
    (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, kWriterPauseMs,
                    PG_WAIT_EXTENSION);
    ResetLatch(MyLatch);
    CHECK_FOR_INTERRUPTS();
  }
  proc_exit(0);
}
