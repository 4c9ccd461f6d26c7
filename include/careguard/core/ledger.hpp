// careguard core: the disclosure ledger's record text and its hash chain.
//
// A record is one line of JSON (no raw newline, so a spool reader splits on
// '\n'). Each stored record's hash is SHA-256 over the previous hash, the
// record's sequence number (8 bytes, big-endian) and the record's exact text:
//   hash(n) = SHA-256(hash(n-1) || be64(seq(n)) || text(n)),  hash(0) = 32 zero bytes.
// Editing, deleting or reordering a record changes every later hash.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "careguard/core/uuid.hpp"

namespace careguard::ledger {

using Hash = std::array<std::uint8_t, 32>;

// The hash before the first record: 32 zero bytes.
Hash genesis();

// One link of the chain (OpenSSL SHA-256, one digest context kept for the
// thread); throws careguard::Error on failure.
Hash link(const Hash& previous, std::int64_t seq, std::string_view text);

std::string to_hex(const Hash& hash);

// What the ledger table indexes of a record: its "kind" ("malformed" when
// the text is not a JSON object, "unknown" without one) and the uuids in its
// "patient_ids" (elements that are not uuids are skipped; the record itself
// keeps them).
struct RecordIndex {
  std::string kind;
  std::vector<Uuid> patient_ids;
};
RecordIndex index_record(std::string_view text);

// A spool line carries its record's index ahead of the record, so that the
// writer stores a record without parsing it:
//   '=' kind '\t' (32 lowercase hex digits per patient id) '\t' record
// The writer trusts the index only as far as verify_ledger() checks it
// against the record; a line without a well-formed one (spooled by an
// earlier release) is indexed by parsing its record.
std::string spool_index(std::string_view kind, const std::vector<Uuid>& patient_ids);
// Splits one spool line into its index (reusing index's buffers) and record.
void read_spool_line(std::string_view line, RecordIndex& index, std::string_view& record);

// ISO 8601 in UTC with microseconds ("2026-12-01T23:30:53.123456Z") of a
// time in microseconds since 1970, written to out (at least
// kUtcTimestampBytes); returns its length.
constexpr std::size_t kUtcTimestampBytes = 48;
std::size_t format_utc_micros(std::int64_t unix_micros, char* out);

// Builds one record's JSON object, field by field, in a fixed order.
class RecordWriter {
 public:
  RecordWriter();
  void field(std::string_view key, std::string_view value);  // a JSON string
  void null_field(std::string_view key);
  void number(std::string_view key, std::int64_t value);
  void boolean(std::string_view key, bool value);
  // A value that already is JSON text (a jsonb's output), copied verbatim.
  void raw(std::string_view key, std::string_view json);
  // A JSON array of strings, opened and closed around the calls.
  void open_array(std::string_view key);
  void element(std::string_view value);
  void close_array();
  // The finished line: the object closed; appends nothing else.
  std::string finish();

 private:
  // Room for n more bytes at the end, written through the pointer returned;
  // commit() then keeps what was written. No per-piece capacity checks or
  // calls: a record is built with pointer stores into one buffer.
  char* room(std::size_t n);
  void commit(const char* end) { size_ = static_cast<std::size_t>(end - buffer_.get()); }
  char* put_key(char* out, std::string_view name);
  static char* put_string(char* out, std::string_view value);
  static std::size_t worst_case(std::string_view text) { return text.size() * 6 + 2; }
  std::unique_ptr<char[]> buffer_;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
  bool first_ = true;
  bool first_element_ = true;
};

}  // namespace careguard::ledger
