// careguard adapter: the wrapper every audited plan node runs through. At
// ExecutorStart ledger_capture.cpp wraps ExecProcNodeReal of each scan of a
// watched table (and of an INSERT's or UPDATE's source); each tuple the node
// returns is counted and its patient id added to the access it feeds.
#include "careguard/pg/ledger.hpp"
#include "careguard/pg/ledger_internal.hpp"

extern "C" {
#include "access/xact.h"
#include "executor/executor.h"
#include "utils/uuid.h"
}

namespace careguard::pg {

namespace {

// What one wrapped node feeds: an access, and where its patient id is.
struct Tap {
  LedgerAccess* access;
  AttrNumber column;  // in the slot read, 0: count rows only
  bool read_output;   // the node's returned slot (ModifyTable child), else its scan slot
  bool counts_rows;   // false for an UPDATE's new values: its scan tap counts them
};

// A wrapped plan node. An UPDATE's child may be both the scan of the target
// (old patient ids) and the source of its new values: two taps, one call.
struct Wrap {
  PlanState* node;
  ExecProcNodeMtd original;
  Tap taps[2];
  int tap_count;
  QueryDesc* creator;  // unwrapped at this query's ExecutorEnd
  SubTransactionId subxact;
  bool orphaned;  // its statement's record was written before it ended
};

Wrap* wraps = nullptr;  // TopMemoryContext
int wrap_count = 0;
int wrap_capacity = 0;

Wrap* find_wrap(PlanState* node) {
  for (int i = wrap_count - 1; i >= 0; --i) {
    if (wraps[i].node == node) return &wraps[i];
  }
  return nullptr;
}

void tap_tuple(const Tap& tap, PlanState* node, TupleTableSlot* out) {
  LedgerAccess* access = tap.access;
  if (tap.counts_rows) access->rows++;
  if (tap.column <= 0) return;
  TupleTableSlot* slot =
      tap.read_output ? out : reinterpret_cast<ScanState*>(node)->ss_ScanTupleSlot;
  bool isnull = false;
  Datum value = slot_getattr(slot, tap.column, &isnull);
  if (isnull) {
    access->null_ids++;
  } else {
    id_set_add(&access->ids, DatumGetUUIDP(value)->data, access->statement->context);
  }
}

TupleTableSlot* audited_exec_proc_node(PlanState* node) {
  Wrap* wrap = find_wrap(node);
  if (wrap == nullptr) elog(ERROR, "careguard ledger: a wrapped plan node was lost");
  // A cursor a function opened, fetched after the statement that called the
  // function ended: that record is written and its memory gone, so the read
  // could be recorded nowhere. Refused (fails closed).
  if (wrap->orphaned) {
    ereport(
        ERROR,
        (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
         errmsg("a cursor opened inside a statement that has ended cannot read patient records"),
         errhint("Open the cursor at top level (DECLARE), or fetch it inside the statement.")));
  }
  Tap taps[2] = {wrap->taps[0], wrap->taps[1]};
  int tap_count = wrap->tap_count;
  TupleTableSlot* out = wrap->original(node);
  if (TupIsNull(out)) return out;
  for (int i = 0; i < tap_count; ++i) tap_tuple(taps[i], node, out);
  return out;
}

}  // namespace

void add_wrap(PlanState* node, LedgerAccess* access, AttrNumber column, bool read_output,
              QueryDesc* creator, bool counts_rows) {
  Tap tap{access, column, read_output, counts_rows};
  Wrap* existing = find_wrap(node);
  if (existing != nullptr) {
    if (existing->tap_count < 2) existing->taps[existing->tap_count++] = tap;
    return;
  }
  if (wrap_count == wrap_capacity) {
    int capacity = wrap_capacity == 0 ? 16 : wrap_capacity * 2;
    wraps = wraps == nullptr
                ? static_cast<Wrap*>(MemoryContextAlloc(TopMemoryContext, sizeof(Wrap) * capacity))
                : static_cast<Wrap*>(repalloc(wraps, sizeof(Wrap) * capacity));
    wrap_capacity = capacity;
  }
  Wrap& wrap = wraps[wrap_count++];
  wrap.node = node;
  wrap.original = node->ExecProcNodeReal;
  wrap.taps[0] = tap;
  wrap.tap_count = 1;
  wrap.creator = creator;
  wrap.subxact = GetCurrentSubTransactionId();
  wrap.orphaned = false;
  node->ExecProcNodeReal = audited_exec_proc_node;
}

void remove_wraps_of(QueryDesc* creator) {
  int kept = 0;
  for (int i = 0; i < wrap_count; ++i) {
    if (wraps[i].creator != creator) wraps[kept++] = wraps[i];
  }
  wrap_count = kept;
}

// Wraps still feeding a statement whose record is written belong to queries
// that outlive it (a cursor a function opened): they must not touch its
// freed accesses.
void orphan_wraps_of(const LedgerStatement* s) {
  for (int i = 0; i < wrap_count; ++i) {
    Wrap& wrap = wraps[i];
    for (int t = 0; t < wrap.tap_count && !wrap.orphaned; ++t) {
      wrap.orphaned = wrap.taps[t].access->statement == s;
    }
    if (wrap.orphaned) wrap.tap_count = 0;
  }
}

// Plan nodes of an aborted subtransaction are freed: their wraps go.
void forget_wraps_since(SubTransactionId subxact) {
  int kept = 0;
  for (int i = 0; i < wrap_count; ++i) {
    if (wraps[i].subxact < subxact) wraps[kept++] = wraps[i];
  }
  wrap_count = kept;
}

void forget_all_wraps() {
  wrap_count = 0;
}

}  // namespace careguard::pg
