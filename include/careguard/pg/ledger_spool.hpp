// careguard adapter: what the spool's appenders (ledger_spool.cpp) and its
// writer (ledger_writer.cpp) share: the spool's layout and the shared-memory
// slot of each database.
#pragma once

#include <sys/types.h>

#include <cstddef>

#include "careguard/pg/postgres.hpp"

extern "C" {
#include "storage/latch.h"
#include "storage/lwlock.h"
}

namespace careguard::pg {

constexpr off_t kSegmentBytes = 16 * 1024 * 1024;
constexpr Size kBatchBytes = 1024 * 1024;
// A record longer than this is logged, not spooled: the writer reads whole
// lines within one batch, so a line longer than a batch would stall it.
constexpr std::size_t kMaxRecordBytes = 64 * 1024;
static_assert(kMaxRecordBytes < kBatchBytes, "a spooled line must fit in one batch");
constexpr long kWriterPauseMs = 100;
constexpr const char* kSpoolRoot = "careguard_ledger";
// A file in a spool directory that no writer of its database has read yet
// (see discover_segment() and ledger_writer_state.cpp): the writer position
// it finds was then saved over another spool, if any.
constexpr const char* kNewSpoolMarker = "new";

struct SpoolSlot {
  Oid database;
  pid_t writer_pid;
  Latch* writer_latch;
  int64 segment;  // the segment backends append to
  int64 ingested_segment;
  int64 ingested_offset;
  int64 last_seq;
  TimestampTz start_requested;
};

// careguard.ledger_databases slots follow this header in shared memory.
struct SpoolShared {
  LWLock* lock;
  int slot_count;
  // When a claim last found every slot busy: claims within the next
  // kBusyRetryMs skip the scan (it stats every slot's spool and counts every
  // slot's backends under the exclusive lock, stalling every append).
  TimestampTz slots_busy_at;
};
constexpr int kBusyRetryMs = 100;

// In shared memory; nullptr unless careguard is preloaded.
extern SpoolShared* spool_shared;

// The index-th slot, 0 <= index < spool_shared->slot_count.
SpoolSlot* spool_slot(int index);

// The database's slot, or nullptr; the caller holds spool_shared->lock.
SpoolSlot* find_spool_slot(Oid database);

// Nothing in the slot's spool waits for its writer: the segment backends
// append to is read to its end (or, before the writer's first batch, is
// empty). The caller holds spool_shared->lock.
bool spool_read_to_end(const SpoolSlot* slot);

// careguard_ledger/<database oid>/<segment, 16 hex digits>.spool
void segment_path(char* out, Size size, Oid database, int64 segment);
// careguard_ledger/<database oid>/new
void new_spool_marker_path(char* out, Size size, Oid database);
// The lowest and highest segment in the database's spool directory; false
// when it has none.
bool spool_segments(Oid database, int64* lowest, int64* highest);

}  // namespace careguard::pg
