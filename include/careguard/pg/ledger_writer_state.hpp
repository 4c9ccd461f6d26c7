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
// unreadable. A position saved over another spool, or past the end of this
// one, is moved to the spool's start (see fit_to_spool in the .cpp).
bool read_writer_state(WriterState* state);
void save_writer_state(const WriterState* state);
// After the batch's transaction committed: a spool read for the first time
// loses its new-spool marker (before the commit, a rollback would lose the
// position and the marker would be gone).
void writer_state_committed();

// A bytea of these bytes, in the current memory context.
bytea* make_bytea(const unsigned char* bytes, Size length);

}  // namespace careguard::pg
