// careguard adapter: what the ledger's files share (not a public API).
#pragma once

#include "careguard/pg/postgres.hpp"

namespace careguard::pg {

// An active break-glass grant: user_id may see patient_id until expires_at.
struct GlassGrant {
  unsigned char user_id[16];
  unsigned char patient_id[16];
  TimestampTz expires_at;
};

// Loads the registry if an invalidation made it stale; false while loading
// (the registry's own queries are not audited). May ereport.
bool ensure_phi_registry();
// The tables registered themselves (not through an ancestor), as loaded:
// how many, and the index-th's relation and patient column.
int registered_phi_count();
void registered_phi_at(int index, Oid* relid, AttrNumber* column);
// The patient column a table is registered under itself, or 0.
AttrNumber phi_registered_column(Oid relid);

// True when an active grant lets user_id reach patient_id at `now`.
bool glass_grant_covers(const unsigned char* user_id, const unsigned char* patient_id,
                        TimestampTz now);

}  // namespace careguard::pg

namespace careguard::pg {

struct LedgerStatement;

// The distinct patient ids seen (open addressing; at most 2^20 tracked,
// rows beyond counted in untracked_rows).
struct LedgerIdSet {
  unsigned char (*slots)[16];
  bool* used;
  uint32 capacity;
  uint32 count;
  int64 untracked_rows;
};

// Adds one id (16 bytes); past 2^20 distinct ids, counts untracked_rows.
void id_set_add(LedgerIdSet* set, const unsigned char* id, MemoryContext cxt);

// One relation reached by a statement, with one command, as one user.
struct LedgerAccess {
  LedgerStatement* statement;
  LedgerAccess* next;
  Oid relid;
  CmdType command;
  Oid user;
  char* relation;             // qualified name
  char* user_name;            // the user the access ran as
  const char* rls;            // applied | bypassed | disabled
  const char* bypass_reason;  // superuser | bypassrls | owner, when bypassed
  bool security_definer;      // ran as another user than the statement's
  bool nested;                // read by a function, trigger or policy the statement called
  bool ids_incomplete;        // an index-only scan without the patient column
  bool has_new_ids;           // an UPDATE's new patient ids
  const char* command_text;   // a utility's own command (TRUNCATE), else command's name
  bool rows_unknown;          // TRUNCATE: every row, none counted
  int64 rows;
  int64 null_ids;
  LedgerIdSet ids;
};

// One top-level statement and everything it (and what it called) reached.
struct LedgerStatement {
  LedgerStatement* next;
  MemoryContext context;  // owns this and its accesses
  QueryDesc* owner;
  LedgerAccess* accesses;
  int64 serial;
  TimestampTz started_at;
  uint64 query_id;
  CmdType command;
  const char* copy_to;                 // a COPY TO's destination, or nullptr
  const char* copy_from;               // a COPY FROM's source, or nullptr
  const char* utility;                 // COPY or TRUNCATE for a utility statement, else nullptr
  LedgerStatement* enclosing_utility;  // the COPY or TRUNCATE this one runs inside
  Oid copy_target;                     // the table a COPY FROM opened
  const AlterTableStmt* membership;    // an ALTER TABLE that adds or removes tree members
  bool copy_target_seen;               // its permission check passed (a non-table: none)
  int parallel_leader_pid;             // in a parallel worker: its leader's pid, else 0
  uint64 processed;
  Oid top_user;
  char* session_user;
  char* current_user;
  char* application_name;
  char* client_addr;
  char* sub;
  char* jti;
  char* session_id;
  char* role_claim;
  unsigned char sub_uuid[16];
  bool has_sub_uuid;
  bool verified;
  bool reader_staff;      // see reader_is_staff() (ledger_capture.cpp)
  char* identity_inputs;  // identity_inputs_size() bytes (claims_source.hpp)
  std::size_t identity_inputs_size;
  bool claims_error;
  bool emitted;
  bool aborted;
};

// What the ledger watches on a relation, for a reader `as_user` (InvalidOid:
// the current user): its patient column (> 0, a registered ancestor's for a
// partition or child), "count rows only" (0: an RLS bypass in a PHI schema),
// or -1 (ledger_watch.cpp, like the four below).
AttrNumber watched_column(Oid relid, Oid as_user);
// watched_column() of a range-table entry (-1 unless a relation).
AttrNumber audited_column(const RangeTblEntry* rte);
// A range table reaches a relation the ledger watches.
bool range_table_audited(List* range_table);
// True when the query or any it contains (subqueries, CTEs, sublinks) reads
// a watched relation (ledger_watch.cpp); `context` is unused.
bool query_reads_audited(Node* node, void* context);
// The shape of PostgreSQL's foreign-key check query (ledger_watch.cpp).
bool is_foreign_key_check_shape(const PlannedStmt* planned);

// A scanned or written relation (range-table index rti) as the ledger
// records it: the relation the statement named when that one is watched,
// else the relation itself.
struct WatchedEntry {
  AttrNumber column;  // in the scanned relation's numbering; -1: not watched
  RangeTblEntry* recorded_as;
  bool column_lost;  // the named relation's column has no counterpart here
};
// parents: a per-plan cache the caller keeps (nullptr at first).
WatchedEntry watched_entry(PlannedStmt* planned, Index** parents, Index rti);

// The patient column's position in an IndexOnlyScan's index tuple, or 0.
AttrNumber index_only_position(IndexOnlyScan* scan, AttrNumber column);

// The claims differ from those the statement captured (ledger_identity.cpp
// keeps them in identity_inputs).
bool claims_changed_since(const LedgerStatement* s);

// The wrapper of audited plan nodes (ledger_taps.cpp): each tuple `node`
// returns counts a row of `access` and adds the patient id in `column` of
// its scan slot, or of its returned slot when read_output (0: count only);
// unwrapped at creator's ExecutorEnd (remove_wraps_of).
void add_wrap(PlanState* node, LedgerAccess* access, AttrNumber column, bool read_output,
              QueryDesc* creator, bool counts_rows = true);
void remove_wraps_of(QueryDesc* creator);
void orphan_wraps_of(const LedgerStatement* s);
void forget_wraps_since(SubTransactionId subxact);
void forget_all_wraps();

// Fills the statement's who and when (ledger_identity.cpp).
void capture_identity(LedgerStatement* s, const PlannedStmt* planned, CmdType command);
// How row-level security stood for the access's relation and user (ledger_identity.cpp).
void classify_rls(LedgerAccess* access, Oid relid, Oid as_user);

// A utility statement's record (ledger_utility.cpp), made through the same
// statement list as a query's (ledger_capture.cpp): opened, one access per
// relation it changed, then written and forgotten at once.
bool ledger_watching() noexcept;
LedgerStatement* open_utility_statement(const PlannedStmt* planned, const char* utility);
LedgerAccess* utility_access(LedgerStatement* s, Oid relid, CmdType command,
                             const char* command_text);
void close_utility_statement(LedgerStatement* s) noexcept;
void forget_utility_statement(LedgerStatement* s) noexcept;  // no record

// Writes one ledger record per access of the statement (ledger_record.cpp).
// Never raises: runs on error paths and at transaction end.
void write_statement_records(LedgerStatement* statement) noexcept;

// Waits until the writer stored everything spooled before the call;
// returns the ledger's last sequence number. Raises 57014 on timeout.
int64 wait_for_ledger(int timeout_ms);

// Text of a command type ("SELECT", ...).
const char* command_name(CmdType command);

}  // namespace careguard::pg
