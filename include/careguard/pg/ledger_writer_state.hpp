// careguard adapter: the ledger writer's position, the one row of
// careguard.ledger_writer_state (ledger_writer_state.cpp). It is read FOR
// UPDATE and saved in the transaction that stores a batch, so a position
// and the rows it covers commit together.
#pragma once

#include "careguard/pg/postgres.hpp"

namespace careguard::pg {

struct WriterState {
  int64 segment;  // the spool segment being read
  int64 offset;   // the first byte not yet stored
  int64 last_seq;
  unsigned char last_hash[32];
};

// Reads the row, creating it on a database's first run; false if it is
// unreadable. A position that does not fit this database's spool is moved
// to the spool's start (see fit_to_spool in the .cpp).
bool read_writer_state(WriterState* state);
void save_writer_state(const WriterState* state);

// A bytea of these bytes, in the current memory context.
bytea* make_bytea(const unsigned char* bytes, Size length);

}  // namespace careguard::pg
