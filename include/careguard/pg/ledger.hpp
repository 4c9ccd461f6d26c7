// careguard adapter: the disclosure ledger (docs/audit-trail.md).
//   ledger_registry.cpp  which tables are PHI (cached, invalidated at commit)
//   ledger_capture.cpp   executor hooks: the patients each statement disclosed
//   ledger_spool.cpp     the spool file, its shared state and the writer
#pragma once

#include <cstdint>
#include <string_view>

#include "careguard/pg/postgres.hpp"

namespace careguard::pg {

// Settings (defined by define_ledger_settings()).
extern bool ledger_enabled;          // careguard.ledger
extern int ledger_max_ids;           // careguard.ledger_max_ids
extern int ledger_retention_months;  // careguard.ledger_retention_months
extern bool ledger_purging;          // careguard.ledger_purging (internal)
extern int ledger_databases;         // careguard.ledger_databases (sizes shared memory)
void define_ledger_settings();

// ---- registry ----
// The registered patient column of a PHI table (attribute number), or 0.
AttrNumber phi_patient_column(Oid relid);
// True when the relation sits in a schema registered as PHI.
bool in_phi_schema(Oid relid);
// True when this database registers anything at all (else the hooks do nothing).
bool phi_registry_nonempty();
// Called from _PG_init.
void register_phi_registry_invalidation();

// Registered patient columns through DDL (ledger_ddl.cpp), all may
// ereport (2BP01): begun before a RenameStmt or AlterTableStmt runs
// (nullptr: nothing to watch; a type change of a named or recursed-to
// table's patient column is refused at once), ended once it succeeded
// (renames are followed, a drop, retype or rewrite of one is refused).
struct PatientColumnsBefore;
PatientColumnsBefore* ledger_ddl_begin(const Node* statement);
void ledger_ddl_end(const PatientColumnsBefore* before, const Node* statement);
void ledger_refuse_patient_column_drop(Oid relid, AttrNumber column);

// ---- capture ----
void install_ledger_hooks();
// True in the ledger's own writer: careguard does not audit itself.
extern bool in_ledger_writer;
// True while a statement (or an open cursor) that reads a PHI table is
// running in this backend: its records carry the identity in force when it
// started, so a sign-in may not change it underneath (auth.login refuses).
bool ledger_statement_open() noexcept;
// False while such a statement runs and the claims differ from those it
// started with (claims_source.cpp refuses them then). Throws what reading
// the claims throws.
bool ledger_identity_unchanged();
// careguard's own statements from ledger_internal_begin() to _end() (the
// drop guard's row counts) are not ledgered; an error in between ends it
// with the (sub)transaction.
SubTransactionId ledger_internal_begin();
void ledger_internal_end(SubTransactionId previous);
// An access-matrix probe runs in this subtransaction: its statements are
// careguard's own and not ledgered, until the subtransaction ends.
void note_access_matrix_probe(SubTransactionId subxact);

// COPY table TO of a table the ledger watches, as COPY (SELECT ...) TO so
// that the executor (and the ledger) sees its rows; any other statement is
// returned as it is (ledger_copy.cpp). May ereport.
PlannedStmt* ledger_copy_as_query(PlannedStmt* planned);
// A COPY FROM, TRUNCATE or DROP under the ledger (ledger_utility.cpp): begun
// before it runs (nullptr: not watched), told each table PostgreSQL reaches
// (its COPY permission check, its TRUNCATE and DROP object-access calls), then ended
// when it succeeded (the record; 55000 if the role or the claims changed
// meanwhile) or failed (no record). All but _failed may ereport.
struct LedgerStatement;
LedgerStatement* ledger_utility_begin(const PlannedStmt* planned);
bool ledger_copy_awaits_target() noexcept;  // cheap: every query's check passes here
void ledger_note_copy_target(List* range_table);
void ledger_note_truncate(Oid relid);
void ledger_note_drop(Oid relid);
void ledger_utility_end(LedgerStatement* utility, const QueryCompletion* completion);
void ledger_utility_failed(LedgerStatement* utility) noexcept;
// While such a COPY runs: where it writes ("stdout", "file", "program"); the
// ProcessUtility hook clears it when the COPY ends, however it ends.
extern const char* ledger_copy_destination;

// ---- spool ----
// Appends one finished record (a JSON line without its '\n'). On a hot
// standby, or without the preload's shared memory, the record goes to the
// server log instead ("careguard_ledger: {json}"). Never raises: called from
// error paths too; returns false when the record could only be logged.
// `index` is ledger::spool_index() of the record, or empty: the writer then
// parses the record for its kind and patient ids.
bool spool_record(const char* line, std::size_t length, std::string_view index = {}) noexcept;
// From _PG_init, under shared_preload_libraries.
void install_ledger_shared_memory();
// After DROP DATABASE succeeded: frees the dropped database's slot and
// removes its spool directory. Its unread records belonged to a ledger that
// is gone with the database; left behind, the slot stayed taken until
// restart and a database later given the same oid stored them as its own.
void forget_dropped_database_spool(Oid database);

}  // namespace careguard::pg
