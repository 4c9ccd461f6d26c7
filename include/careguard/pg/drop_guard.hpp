// careguard adapter: destructive drops and restores of careguard's own tables.
#pragma once

#include "careguard/pg/postgres.hpp"

namespace careguard::pg {

extern bool allow_destructive_drop;  // careguard.allow_destructive_drop (superuser, SET LOCAL)

// Defines careguard.allow_destructive_drop; from _PG_init.
void define_drop_guard_settings();

// Before a table is deleted (object access hook, every path: DROP EXTENSION,
// its CASCADE, DROP SCHEMA ... CASCADE, DROP OWNED). When the table belongs
// to careguard or careguard_booking, refuses (2BP01) while any table of that
// extension holds rows pg_dump would back up, naming each with its count,
// unless a superuser set careguard.allow_destructive_drop with SET LOCAL.
// Plain C inside: run it under call_pg.
void guard_extension_table_drop(Oid relid);

// True for a COPY ... FROM STDIN by a pg_restore superuser session into a
// table of careguard or careguard_booking. The foreign keys between those
// tables exist from CREATE EXTENSION, and pg_restore -j loads their data in
// any order, so such a COPY runs the way pg_restore loads any other table:
// before its foreign keys and triggers exist (session_replication_role =
// replica for that statement). The data is one consistent snapshot of
// tables that were checked when they were written.
bool copy_restores_careguard_table(Node* statement);

// Forgets which extensions this transaction already checked.
void reset_drop_guard_for_new_transaction();

}  // namespace careguard::pg
