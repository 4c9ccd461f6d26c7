// careguard adapter: the ledger's spool and its writer.
//
// A backend appends each record, one line, to the spool file of its
// database (careguard_ledger/<database oid>/<segment>.spool in the data
// directory) with a single write(2) under O_APPEND, before the statement's
// ExecutorEnd returns; the file does not take part in the transaction, so a
// rolled-back read stays recorded, and a write(2) that returned survives a
// kill -9 of the backend, of the writer and the postmaster's crash restart
// (it is in the kernel's page cache; fsync is not called, see
// docs/audit-trail.md). One background writer per database copies the lines
// into careguard.ledger, hash-chained, and moves its position in the spool in
// the same transaction, so a line is stored exactly once.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "careguard/core/ledger.hpp"
#include "careguard/pg/guard.hpp"
#include "careguard/pg/ledger.hpp"
#include "careguard/pg/ledger_internal.hpp"

extern "C" {
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "catalog/pg_authid.h"
#include "executor/spi.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/array.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
}

extern "C" {
PGDLLEXPORT void careguard_ledger_writer_main(Datum argument);
}

namespace careguard::pg {

namespace {

constexpr int kMaxDatabases = 32;
constexpr off_t kSegmentBytes = 16 * 1024 * 1024;
constexpr Size kBatchBytes = 1024 * 1024;
// A record longer than this is logged, not spooled: the writer reads whole
// lines within one batch, so a line longer than a batch would stall it.
constexpr std::size_t kMaxRecordBytes = 64 * 1024;
static_assert(kMaxRecordBytes < kBatchBytes, "a spooled line must fit in one batch");
constexpr long kWriterPauseMs = 100;
constexpr const char* kSpoolRoot = "careguard_ledger";

struct Slot {
  Oid database;
  pid_t writer_pid;
  Latch* writer_latch;
  int64 segment;  // the segment backends append to
  int64 ingested_segment;
  int64 ingested_offset;
  int64 last_seq;
  TimestampTz start_requested;
};

struct Shared {
  LWLock* lock;
  Slot slots[kMaxDatabases];
};

Shared* shared = nullptr;
shmem_request_hook_type previous_shmem_request = nullptr;
shmem_startup_hook_type previous_shmem_startup = nullptr;

// This backend's open spool file.
int spool_fd = -1;
int64 spool_fd_segment = -1;
Oid spool_fd_database = InvalidOid;

void segment_path(char* out, Size size, Oid database, int64 segment) {
  snprintf(out, size, "%s/%u/%016llx.spool", kSpoolRoot, database,
           static_cast<unsigned long long>(segment));
}

void log_record(const char* line, std::size_t length) {
  ereport(LOG, (errmsg("careguard_ledger: %.*s", static_cast<int>(length), line), errhidestmt(true),
                errhidecontext(true)));
}

// The highest segment already in the database's spool directory (after a
// crash restart shared memory starts empty), creating the directory.
int64 discover_segment(Oid database) {
  char directory[MAXPGPATH];
  (void)mkdir(kSpoolRoot, S_IRWXU);
  snprintf(directory, sizeof directory, "%s/%u", kSpoolRoot, database);
  (void)mkdir(directory, S_IRWXU);
  int64 highest = 0;
  DIR* dir = opendir(directory);
  if (dir == nullptr) return 0;
  struct dirent* entry;
  while ((entry = readdir(dir)) != nullptr) {
    unsigned long long number = 0;
    char suffix[8];
    if (sscanf(entry->d_name, "%16llx.%6s", &number, suffix) == 2 &&
        std::strcmp(suffix, "spool") == 0 && static_cast<int64>(number) > highest) {
      highest = static_cast<int64>(number);
    }
  }
  closedir(dir);
  return highest;
}

Slot* find_slot(Oid database) {
  for (Slot& slot : shared->slots) {
    if (slot.database == database) return &slot;
  }
  return nullptr;
}

// The database's slot, claimed if it has none; nullptr when all are taken.
Slot* slot_for(Oid database) {
  LWLockAcquire(shared->lock, LW_SHARED);
  Slot* slot = find_slot(database);
  LWLockRelease(shared->lock);
  if (slot != nullptr) return slot;
  LWLockAcquire(shared->lock, LW_EXCLUSIVE);
  slot = find_slot(database);
  if (slot == nullptr) {
    for (Slot& candidate : shared->slots) {
      if (candidate.database != InvalidOid) continue;
      std::memset(&candidate, 0, sizeof candidate);
      candidate.database = database;
      candidate.segment = discover_segment(database);
      candidate.ingested_segment = -1;
      slot = &candidate;
      break;
    }
  }
  LWLockRelease(shared->lock);
  return slot;
}

void start_writer(Slot* slot) {
  TimestampTz now = GetCurrentTimestamp();
  if (slot->start_requested != 0 && !TimestampDifferenceExceeds(slot->start_requested, now, 5000)) {
    return;
  }
  slot->start_requested = now;
  BackgroundWorker worker;
  std::memset(&worker, 0, sizeof worker);
  worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
  worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
  worker.bgw_restart_time = BGW_NEVER_RESTART;
  snprintf(worker.bgw_library_name, BGW_MAXLEN, "careguard");
  snprintf(worker.bgw_function_name, BGW_MAXLEN, "careguard_ledger_writer_main");
  snprintf(worker.bgw_name, BGW_MAXLEN, "careguard ledger writer for database %u", MyDatabaseId);
  snprintf(worker.bgw_type, BGW_MAXLEN, "careguard ledger writer");
  worker.bgw_main_arg = ObjectIdGetDatum(MyDatabaseId);
  (void)RegisterDynamicBackgroundWorker(&worker, nullptr);
}

// Appends under the shared lock; false if the file could not be written.
bool append_line(Slot* slot, const char* line, std::size_t length) {
  LWLockAcquire(shared->lock, LW_SHARED);
  if (spool_fd >= 0 && (spool_fd_segment != slot->segment || spool_fd_database != MyDatabaseId)) {
    close(spool_fd);
    spool_fd = -1;
  }
  if (spool_fd < 0) {
    char path[MAXPGPATH];
    segment_path(path, sizeof path, MyDatabaseId, slot->segment);
    spool_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | PG_BINARY, S_IRUSR | S_IWUSR);
    spool_fd_segment = slot->segment;
    spool_fd_database = MyDatabaseId;
  }
  bool written = false;
  if (spool_fd >= 0) {
    char newline = '\n';
    struct iovec parts[2] = {{const_cast<char*>(line), length}, {&newline, 1}};
    ssize_t wrote = writev(spool_fd, parts, 2);
    written = wrote == static_cast<ssize_t>(length + 1);
  }
  pid_t writer = slot->writer_pid;
  LWLockRelease(shared->lock);
  // The writer is not woken per record: it gathers what arrives for
  // kWriterPauseMs into one transaction (a flush wakes it).
  if (writer == 0 && written) start_writer(slot);
  return written;
}

void request_shared_memory() {
  if (previous_shmem_request != nullptr) previous_shmem_request();
  RequestAddinShmemSpace(MAXALIGN(sizeof(Shared)));
  RequestNamedLWLockTranche("careguard_ledger", 1);
}

void start_shared_memory() {
  if (previous_shmem_startup != nullptr) previous_shmem_startup();
  LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
  bool found = false;
  shared = static_cast<Shared*>(ShmemInitStruct("careguard_ledger", sizeof(Shared), &found));
  if (!found) {
    std::memset(shared, 0, sizeof(Shared));
    shared->lock = &(GetNamedLWLockTranche("careguard_ledger"))->lock;
  }
  LWLockRelease(AddinShmemInitLock);
}

}  // namespace

bool spool_record(const char* line, std::size_t length) noexcept {
  if (shared == nullptr || RecoveryInProgress() || !OidIsValid(MyDatabaseId)) {
    log_record(line, length);
    return false;
  }
  if (length > kMaxRecordBytes) {
    ereport(WARNING, (errmsg("careguard ledger: a record of %zu bytes exceeds %zu; logged instead",
                             length, kMaxRecordBytes),
                      errhidestmt(true)));
    log_record(line, length);
    return false;
  }
  Slot* slot = slot_for(MyDatabaseId);
  if (slot == nullptr || !append_line(slot, line, length)) {
    ereport(WARNING, (errmsg("careguard ledger: could not spool a record (%m); logged instead"),
                      errhidestmt(true)));
    log_record(line, length);
    return false;
  }
  return true;
}

int64 wait_for_ledger(int timeout_ms) {
  if (shared == nullptr) {
    ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                    errmsg("the ledger writer needs careguard in shared_preload_libraries")));
  }
  if (RecoveryInProgress()) {
    ereport(ERROR,
            (errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
             errmsg("a hot standby has no ledger writer; its records are in the server log")));
  }
  Slot* slot = slot_for(MyDatabaseId);
  if (slot == nullptr) {
    ereport(ERROR, (errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
                    errmsg("the ledger serves at most %d databases", kMaxDatabases)));
  }
  // The target: the end of the segment backends append to, now.
  LWLockAcquire(shared->lock, LW_SHARED);
  int64 segment = slot->segment;
  char path[MAXPGPATH];
  segment_path(path, sizeof path, MyDatabaseId, segment);
  struct stat info;
  int64 end = stat(path, &info) == 0 ? static_cast<int64>(info.st_size) : 0;
  LWLockRelease(shared->lock);
  TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout_ms);
  for (;;) {
    LWLockAcquire(shared->lock, LW_SHARED);
    bool done = slot->ingested_segment > segment ||
                (slot->ingested_segment == segment && slot->ingested_offset >= end) ||
                (end == 0 && slot->ingested_segment < 0 && segment == 0);
    int64 last_seq = slot->last_seq;
    pid_t writer = slot->writer_pid;
    Latch* latch = slot->writer_latch;
    LWLockRelease(shared->lock);
    if (done) return last_seq;
    if (writer == 0) {
      start_writer(slot);
    } else if (latch != nullptr) {
      SetLatch(latch);
    }
    if (GetCurrentTimestamp() >= deadline) {
      ereport(ERROR, (errcode(ERRCODE_QUERY_CANCELED),
                      errmsg("the ledger writer did not catch up within %d ms", timeout_ms)));
    }
    (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 10,
                    PG_WAIT_EXTENSION);
    ResetLatch(MyLatch);
    CHECK_FOR_INTERRUPTS();
  }
}

void install_ledger_shared_memory() {
  previous_shmem_request = shmem_request_hook;
  shmem_request_hook = request_shared_memory;
  previous_shmem_startup = shmem_startup_hook;
  shmem_startup_hook = start_shared_memory;
}

// ---- the writer ----

namespace {

Slot* writer_slot = nullptr;

void release_writer_slot(int, Datum) {
  if (writer_slot == nullptr || shared == nullptr) return;
  LWLockAcquire(shared->lock, LW_EXCLUSIVE);
  if (writer_slot->writer_pid == MyProcPid) {
    writer_slot->writer_pid = 0;
    writer_slot->writer_latch = nullptr;
    writer_slot->start_requested = 0;
  }
  LWLockRelease(shared->lock);
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

// The indexed columns of a line, in static storage: the caller passes them
// straight to SPI (no C++ object lives in a frame PostgreSQL may longjmp from).
std::string indexed_kind;
std::string indexed_ids;
bool index_line(const char* line, std::size_t length) noexcept {
  try {
    ledger::RecordIndex index = ledger::index_record(std::string_view(line, length));
    indexed_kind = std::move(index.kind);
    indexed_ids = std::move(index.patient_ids);
    return true;
  } catch (...) {
    return false;
  }
}

bytea* make_bytea(const unsigned char* bytes, Size length) {
  auto* out = static_cast<bytea*>(palloc(VARHDRSZ + length));
  SET_VARSIZE(out, VARHDRSZ + length);
  std::memcpy(VARDATA(out), bytes, length);
  return out;
}

struct WriterState {
  int64 segment;
  int64 offset;
  int64 last_seq;
  unsigned char last_hash[32];
};

// The lowest segment in the database's spool directory (a new state row
// starts reading there), or 0.
int64 lowest_segment(Oid database) {
  char directory[MAXPGPATH];
  snprintf(directory, sizeof directory, "%s/%u", kSpoolRoot, database);
  int64 lowest = -1;
  DIR* dir = opendir(directory);
  if (dir == nullptr) return 0;
  struct dirent* entry;
  while ((entry = readdir(dir)) != nullptr) {
    unsigned long long number = 0;
    char suffix[8];
    if (sscanf(entry->d_name, "%16llx.%6s", &number, suffix) == 2 &&
        std::strcmp(suffix, "spool") == 0 && (lowest < 0 || static_cast<int64>(number) < lowest)) {
      lowest = static_cast<int64>(number);
    }
  }
  closedir(dir);
  return lowest < 0 ? 0 : lowest;
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
  return true;
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

int64 month_of(TimestampTz at) {
  pg_time_t seconds = timestamptz_to_time_t(at);
  struct pg_tm* parts = pg_gmtime(&seconds);
  return static_cast<int64>(parts->tm_year + 1900) * 12 + parts->tm_mon;
}

int64 partition_month = -1;
bool batch_was_full = false;
SPIPlanPtr insert_plan = nullptr;

// One batch's rows, stored with a single INSERT over unnest() of arrays
// (one executor start per batch, not per record).
struct Batch {
  int count;
  Datum* seqs;
  Datum* kinds;
  Datum* ids;
  Datum* records;
  Datum* prevs;
  Datum* hashes;
};

void batch_init(Batch* batch, int capacity) {
  batch->count = 0;
  batch->seqs = static_cast<Datum*>(palloc(sizeof(Datum) * capacity));
  batch->kinds = static_cast<Datum*>(palloc(sizeof(Datum) * capacity));
  batch->ids = static_cast<Datum*>(palloc(sizeof(Datum) * capacity));
  batch->records = static_cast<Datum*>(palloc(sizeof(Datum) * capacity));
  batch->prevs = static_cast<Datum*>(palloc(sizeof(Datum) * capacity));
  batch->hashes = static_cast<Datum*>(palloc(sizeof(Datum) * capacity));
}

void batch_add(Batch* batch, int64 seq, const char* line, std::size_t length,
               const unsigned char* previous, const unsigned char* hash) {
  if (!index_line(line, length)) elog(ERROR, "careguard ledger: out of memory indexing a record");
  int i = batch->count++;
  batch->seqs[i] = Int64GetDatum(seq);
  batch->kinds[i] = PointerGetDatum(cstring_to_text(indexed_kind.c_str()));
  batch->ids[i] = PointerGetDatum(cstring_to_text(indexed_ids.c_str()));
  batch->records[i] = PointerGetDatum(cstring_to_text_with_len(line, static_cast<int>(length)));
  batch->prevs[i] = PointerGetDatum(make_bytea(previous, 32));
  batch->hashes[i] = PointerGetDatum(make_bytea(hash, 32));
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
  if (insert_plan == nullptr) {
    Oid types[7] = {INT8ARRAYOID, TIMESTAMPTZOID, TEXTARRAYOID, TEXTARRAYOID,
                    TEXTARRAYOID, BYTEAARRAYOID,  BYTEAARRAYOID};
    insert_plan = SPI_prepare(
        "INSERT INTO careguard.ledger (seq, ingested_at, kind, patient_ids, record, prev_hash, "
        "hash) SELECT u.s, $2, u.k, u.i::pg_catalog.uuid[], u.r, u.p, u.h "
        "FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($3), pg_catalog.unnest($4), "
        "pg_catalog.unnest($5), pg_catalog.unnest($6), pg_catalog.unnest($7)) AS u(s, k, i, r, p, "
        "h)",
        7, types);
    if (insert_plan == nullptr) elog(ERROR, "careguard ledger: cannot prepare the insert");
    SPI_keepplan(insert_plan);
  }
  int n = batch->count;
  Datum values[7] = {
      PointerGetDatum(
          construct_array(batch->seqs, n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE)),
      TimestampTzGetDatum(at),
      PointerGetDatum(construct_array(batch->kinds, n, TEXTOID, -1, false, TYPALIGN_INT)),
      PointerGetDatum(construct_array(batch->ids, n, TEXTOID, -1, false, TYPALIGN_INT)),
      PointerGetDatum(construct_array(batch->records, n, TEXTOID, -1, false, TYPALIGN_INT)),
      PointerGetDatum(construct_array(batch->prevs, n, BYTEAOID, -1, false, TYPALIGN_INT)),
      PointerGetDatum(construct_array(batch->hashes, n, BYTEAOID, -1, false, TYPALIGN_INT))};
  SPI_execute_plan(insert_plan, values, nullptr, false, 0);
}

// One batch: reads the spool from the stored position, stores every
// complete line, advances. Returns the lines stored, or -1 when careguard is
// not installed (the writer then exits).
int ingest_once(Slot* slot) {
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
  int lines = 0;
  for (ssize_t i = 0; i < end; ++i) lines += buffer[i] == '\n';
  Batch batch;
  batch_init(&batch, lines + 1);
  ssize_t start = 0;
  for (ssize_t i = 0; i < end; ++i) {
    if (buffer[i] != '\n') continue;
    std::size_t length = static_cast<std::size_t>(i - start);
    if (length > 0) {
      unsigned char hash[32];
      int64 seq = state.last_seq + 1;
      if (!chain_link(state.last_hash, seq, buffer + start, length, hash)) {
        elog(ERROR, "careguard ledger: SHA-256 failed");
      }
      batch_add(&batch, seq, buffer + start, length, state.last_hash, hash);
      state.last_seq = seq;
      std::memcpy(state.last_hash, hash, 32);
      ++stored;
    }
    start = i + 1;
  }
  batch_insert(&batch, now);
  state.offset += end;
  LWLockAcquire(shared->lock, LW_SHARED);
  int64 appending_to = slot->segment;
  LWLockRelease(shared->lock);
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
  pgstat_report_stat(false);
  if (old_segment >= 0) {
    segment_path(path, sizeof path, MyDatabaseId, old_segment);
    (void)unlink(path);
  }
  LWLockAcquire(shared->lock, LW_EXCLUSIVE);
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
  LWLockRelease(shared->lock);
  return stored;
}

// True when nothing is left to read: then the writer gives its slot up
// (under the lock, so the next append starts a new writer).
bool retire_if_idle(Slot* slot) {
  LWLockAcquire(shared->lock, LW_EXCLUSIVE);
  bool idle = false;
  if (slot->ingested_segment == slot->segment) {
    char path[MAXPGPATH];
    struct stat info;
    segment_path(path, sizeof path, MyDatabaseId, slot->segment);
    idle = stat(path, &info) != 0 || info.st_size <= slot->ingested_offset;
  }
  if (idle) {
    slot->writer_pid = 0;
    slot->writer_latch = nullptr;
    slot->start_requested = 0;
  }
  LWLockRelease(shared->lock);
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
  if (shared == nullptr) proc_exit(0);
  LWLockAcquire(shared->lock, LW_EXCLUSIVE);
  Slot* slot = find_slot(database);
  bool mine = slot != nullptr && (slot->writer_pid == 0 || kill(slot->writer_pid, 0) != 0);
  if (mine) {
    slot->writer_pid = MyProcPid;
    slot->writer_latch = MyLatch;
  }
  LWLockRelease(shared->lock);
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
