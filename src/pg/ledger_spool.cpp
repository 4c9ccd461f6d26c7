// careguard adapter: the ledger's spool and its writer.
//
// A backend appends each record, one line, to the spool file of its
// database (careguard_ledger/<database oid>/<segment>.spool in the data
// directory) with a single write(2) under O_APPEND, before the statement's
// ExecutorEnd returns; the file does not take part in the transaction, so a
// rolled-back read stays recorded, and a write(2) that returned survives a
// kill -9 of the backend, of the writer and the postmaster's crash restart
// (it is in the kernel's page cache; fsync is not called, see
// docs/audit-trail.md). One background writer per database
// (ledger_writer.cpp) copies the lines into careguard.ledger.
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
#include "careguard/pg/ledger_spool.hpp"

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

namespace careguard::pg {

SpoolShared* spool_shared = nullptr;

namespace {
// careguard_ledger/<database oid>
void spool_directory_path(char* out, Size size, Oid database) {
  snprintf(out, size, "%s/%u", kSpoolRoot, database);
}
}  // namespace

void segment_path(char* out, Size size, Oid database, int64 segment) {
  snprintf(out, size, "%s/%u/%016llx.spool", kSpoolRoot, database,
           static_cast<unsigned long long>(segment));
}

void new_spool_marker_path(char* out, Size size, Oid database) {
  snprintf(out, size, "%s/%u/%s", kSpoolRoot, database, kNewSpoolMarker);
}

bool spool_segments(Oid database, int64* lowest, int64* highest) {
  char directory[MAXPGPATH];
  spool_directory_path(directory, sizeof directory, database);
  DIR* dir = opendir(directory);
  if (dir == nullptr) return false;
  bool found = false;
  struct dirent* entry;
  while ((entry = readdir(dir)) != nullptr) {
    unsigned long long number = 0;
    char suffix[8];
    if (sscanf(entry->d_name, "%16llx.%6s", &number, suffix) != 2 ||
        std::strcmp(suffix, "spool") != 0) {
      continue;
    }
    auto segment = static_cast<int64>(number);
    if (!found || segment < *lowest) *lowest = segment;
    if (!found || segment > *highest) *highest = segment;
    found = true;
  }
  closedir(dir);
  return found;
}

SpoolSlot* spool_slot(int index) {
  return reinterpret_cast<SpoolSlot*>(reinterpret_cast<char*>(spool_shared) +
                                      MAXALIGN(sizeof(SpoolShared))) +
         index;
}

SpoolSlot* find_spool_slot(Oid database) {
  for (int i = 0; i < spool_shared->slot_count; ++i) {
    if (spool_slot(i)->database == database) return spool_slot(i);
  }
  return nullptr;
}

bool spool_read_to_end(const SpoolSlot* slot) {
  char path[MAXPGPATH];
  segment_path(path, sizeof path, slot->database, slot->segment);
  struct stat info;
  const int64 size = stat(path, &info) == 0 ? static_cast<int64>(info.st_size) : 0;
  return slot->ingested_segment == slot->segment ? slot->ingested_offset >= size
                                                 : slot->ingested_segment < 0 && size == 0;
}

namespace {

shmem_request_hook_type previous_shmem_request = nullptr;
shmem_startup_hook_type previous_shmem_startup = nullptr;

// This backend's open spool file.
int spool_fd = -1;
int64 spool_fd_segment = -1;
Oid spool_fd_database = InvalidOid;

void log_record(const char* line, std::size_t length) {
  // Server log only: with client_min_messages = log the session would see it.
  ereport(LOG_SERVER_ONLY, (errmsg("careguard_ledger: %.*s", static_cast<int>(length), line),
                            errhidestmt(true), errhidecontext(true)));
}

// The highest segment already in the database's spool directory (after a
// crash restart shared memory starts empty), creating the directory.
int64 discover_segment(Oid database) {
  char directory[MAXPGPATH];
  (void)mkdir(kSpoolRoot, S_IRWXU);
  spool_directory_path(directory, sizeof directory, database);
  if (mkdir(directory, S_IRWXU) == 0) {
    // Before any line is in it, so its writer cannot miss one.
    char marker[MAXPGPATH];
    new_spool_marker_path(marker, sizeof marker, database);
    int fd = open(marker, O_WRONLY | O_CREAT | PG_BINARY, S_IRUSR | S_IWUSR);
    if (fd >= 0) close(fd);
  }
  int64 lowest = 0;
  int64 highest = 0;
  return spool_segments(database, &lowest, &highest) ? highest : 0;
}

// A writer start was requested less than 5 s ago (it may still be starting).
bool writer_start_pending(const SpoolSlot* slot, TimestampTz now) {
  return slot->start_requested != 0 &&
         !TimestampDifferenceExceeds(slot->start_requested, now, 5000);
}

// True when a slot can serve another database: no writer runs or is being
// started for it, and its spool is read to the end. Backends still connected
// to its database do not keep it (an idle connection would hold it forever):
// a backend's slot is only as good as the lock it is read under, so each use
// checks under the lock that the slot still serves its database, and claims
// one afresh when it does not. The caller holds the lock exclusively.
bool slot_is_reclaimable(const SpoolSlot* slot, TimestampTz now) {
  return slot->writer_pid == 0 && !writer_start_pending(slot, now) && spool_read_to_end(slot);
}

// The database's slot, claimed if it has none: a free one, else one whose
// database is idle (its spool directory keeps its place, found again by
// discover_segment() when it comes back); nullptr when every slot is busy
// (or was, less than kBusyRetryMs ago).
SpoolSlot* slot_for(Oid database) {
  LWLockAcquire(spool_shared->lock, LW_SHARED);
  SpoolSlot* slot = find_spool_slot(database);
  const TimestampTz busy_at = spool_shared->slots_busy_at;
  LWLockRelease(spool_shared->lock);
  if (slot != nullptr) return slot;
  const TimestampTz now = GetCurrentTimestamp();
  if (busy_at != 0 && !TimestampDifferenceExceeds(busy_at, now, kBusyRetryMs)) return nullptr;
  LWLockAcquire(spool_shared->lock, LW_EXCLUSIVE);
  slot = find_spool_slot(database);
  for (int i = 0; slot == nullptr && i < spool_shared->slot_count; ++i) {
    if (spool_slot(i)->database == InvalidOid) slot = spool_slot(i);
  }
  for (int i = 0; slot == nullptr && i < spool_shared->slot_count; ++i) {
    if (slot_is_reclaimable(spool_slot(i), now)) slot = spool_slot(i);
  }
  if (slot != nullptr && slot->database != database) {
    std::memset(slot, 0, sizeof *slot);
    slot->database = database;
    slot->segment = discover_segment(database);
    slot->ingested_segment = -1;
  }
  spool_shared->slots_busy_at = slot == nullptr ? now : 0;
  LWLockRelease(spool_shared->lock);
  return slot;
}

void warn_slots_busy() {
  ereport(WARNING,
          (errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
           errmsg("careguard ledger: all %d ledger slots serve databases in use; the record is "
                  "in the server log instead",
                  spool_shared->slot_count),
           errhint("Raise careguard.ledger_databases (a restart is needed)."), errhidestmt(true)));
}

// Asks the postmaster for this database's writer, unless a start is pending
// or the slot went to another database since the caller read it (its flag
// would then hold up that database's writer).
void start_writer(SpoolSlot* slot) {
  TimestampTz now = GetCurrentTimestamp();
  LWLockAcquire(spool_shared->lock, LW_EXCLUSIVE);
  const bool start = slot->database == MyDatabaseId && !writer_start_pending(slot, now);
  if (start) slot->start_requested = now;
  LWLockRelease(spool_shared->lock);
  if (!start) return;
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

enum class Append { kWritten, kFailed, kSlotReclaimed };

// Appends under the shared lock, unless the slot was given to another
// database since the caller found it.
Append append_line(SpoolSlot* slot, std::string_view index, const char* line, std::size_t length) {
  LWLockAcquire(spool_shared->lock, LW_SHARED);
  if (slot->database != MyDatabaseId) {
    LWLockRelease(spool_shared->lock);
    return Append::kSlotReclaimed;
  }
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
    struct iovec parts[3] = {{const_cast<char*>(index.data()), index.size()},
                             {const_cast<char*>(line), length},
                             {&newline, 1}};
    ssize_t wrote = writev(spool_fd, parts, 3);
    written = wrote == static_cast<ssize_t>(index.size() + length + 1);
  }
  pid_t writer = slot->writer_pid;
  LWLockRelease(spool_shared->lock);
  // The writer is not woken per record: it gathers what arrives for
  // kWriterPauseMs into one transaction (a flush wakes it).
  if (writer == 0 && written) start_writer(slot);
  return written ? Append::kWritten : Append::kFailed;
}

Size spool_shared_size() {
  return add_size(MAXALIGN(sizeof(SpoolShared)),
                  mul_size(sizeof(SpoolSlot), static_cast<Size>(ledger_databases)));
}

void request_shared_memory() {
  if (previous_shmem_request != nullptr) previous_shmem_request();
  RequestAddinShmemSpace(spool_shared_size());
  RequestNamedLWLockTranche("careguard_ledger", 1);
}

void start_shared_memory() {
  if (previous_shmem_startup != nullptr) previous_shmem_startup();
  LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
  bool found = false;
  spool_shared =
      static_cast<SpoolShared*>(ShmemInitStruct("careguard_ledger", spool_shared_size(), &found));
  if (!found) {
    std::memset(spool_shared, 0, spool_shared_size());
    spool_shared->lock = &(GetNamedLWLockTranche("careguard_ledger"))->lock;
    spool_shared->slot_count = ledger_databases;
  }
  LWLockRelease(AddinShmemInitLock);
}

}  // namespace

bool spool_record(const char* line, std::size_t length, std::string_view index) noexcept {
  if (spool_shared == nullptr || RecoveryInProgress() || !OidIsValid(MyDatabaseId)) {
    log_record(line, length);
    return false;
  }
  // Each path below logs the record before it warns the client: sending the
  // WARNING may block, and a terminate acted on then would lose the record.
  if (index.size() + length > kMaxRecordBytes) {
    log_record(line, length);
    ereport(WARNING, (errmsg("careguard ledger: a record of %zu bytes exceeds %zu; logged instead",
                             index.size() + length, kMaxRecordBytes),
                      errhidestmt(true)));
    return false;
  }
  Append appended = Append::kSlotReclaimed;
  // A slot reclaimed between finding and appending is claimed again: once
  // suffices, as the reclaimed one was read to its end.
  for (int attempt = 0; attempt < 2 && appended == Append::kSlotReclaimed; ++attempt) {
    SpoolSlot* slot = slot_for(MyDatabaseId);
    if (slot == nullptr) break;
    appended = append_line(slot, index, line, length);
  }
  if (appended == Append::kSlotReclaimed) {
    log_record(line, length);
    warn_slots_busy();
    return false;
  }
  if (appended == Append::kFailed) {
    const int spool_errno = errno;
    log_record(line, length);
    errno = spool_errno;
    ereport(WARNING, (errmsg("careguard ledger: could not spool a record (%m); logged instead"),
                      errhidestmt(true)));
    return false;
  }
  return true;
}

namespace {

// This database's slot, with the lock held shared; ERROR when none is free
// (or each one claimed was reclaimed before it could be used).
SpoolSlot* own_slot_locked() {
  for (int attempt = 0; attempt < 3; ++attempt) {
    SpoolSlot* slot = slot_for(MyDatabaseId);
    if (slot == nullptr) break;
    LWLockAcquire(spool_shared->lock, LW_SHARED);
    if (slot->database == MyDatabaseId) return slot;
    LWLockRelease(spool_shared->lock);
  }
  ereport(ERROR, (errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
                  errmsg("all %d ledger slots serve databases in use", spool_shared->slot_count),
                  errhint("Raise careguard.ledger_databases (a restart is needed).")));
  pg_unreachable();
}

}  // namespace

int64 wait_for_ledger(int timeout_ms) {
  if (spool_shared == nullptr) {
    ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                    errmsg("the ledger writer needs careguard in shared_preload_libraries")));
  }
  if (RecoveryInProgress()) {
    ereport(ERROR,
            (errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
             errmsg("a hot standby has no ledger writer; its records are in the server log")));
  }
  // The target: the end of the segment backends append to, now.
  SpoolSlot* slot = own_slot_locked();
  int64 segment = slot->segment;
  char path[MAXPGPATH];
  segment_path(path, sizeof path, MyDatabaseId, segment);
  struct stat info;
  int64 end = stat(path, &info) == 0 ? static_cast<int64>(info.st_size) : 0;
  LWLockRelease(spool_shared->lock);
  TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout_ms);
  for (;;) {
    LWLockAcquire(spool_shared->lock, LW_SHARED);
    if (slot->database != MyDatabaseId) {
      LWLockRelease(spool_shared->lock);
      slot = own_slot_locked();
    }
    bool done = slot->ingested_segment > segment ||
                (slot->ingested_segment == segment && slot->ingested_offset >= end) ||
                (end == 0 && slot->ingested_segment < 0 && segment == 0);
    int64 last_seq = slot->last_seq;
    pid_t writer = slot->writer_pid;
    Latch* latch = slot->writer_latch;
    LWLockRelease(spool_shared->lock);
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

void forget_dropped_database_spool(Oid database) {
  if (spool_shared == nullptr || !OidIsValid(database)) return;
  // Under the lock: a database created meanwhile with the same oid cannot
  // claim the slot (discover_segment()) while the files go.
  LWLockAcquire(spool_shared->lock, LW_EXCLUSIVE);
  SpoolSlot* slot = find_spool_slot(database);
  // DROP DATABASE returned, so no writer is connected to it; a pid still
  // set belongs to a writer that never finished starting.
  if (slot != nullptr) {
    std::memset(slot, 0, sizeof *slot);
    spool_shared->slots_busy_at = 0;  // the freed slot may be claimed at once
  }
  char directory[MAXPGPATH];
  spool_directory_path(directory, sizeof directory, database);
  struct stat info;
  const bool removed = stat(directory, &info) == 0 && rmtree(directory, true);
  LWLockRelease(spool_shared->lock);
  if (removed) {
    ereport(LOG, (errmsg("careguard ledger: removed the spool of dropped database %u", database),
                  errhidestmt(true)));
  }
}

void install_ledger_shared_memory() {
  previous_shmem_request = shmem_request_hook;
  shmem_request_hook = request_shared_memory;
  previous_shmem_startup = shmem_startup_hook;
  shmem_startup_hook = start_shared_memory;
}

}  // namespace careguard::pg
