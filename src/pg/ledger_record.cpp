// careguard adapter: a statement's ledger records as JSON lines. Pure C++ on
// data captured earlier (ledger_capture.cpp): no PostgreSQL call that could
// raise, so it may run on error paths and at transaction end.
#include <algorithm>
#include <array>
#include <charconv>
#include <string>
#include <string_view>
#include <vector>

#include "careguard/core/ledger.hpp"
#include "careguard/core/uuid.hpp"
#include "careguard/pg/guard.hpp"
#include "careguard/pg/ledger.hpp"
#include "careguard/pg/ledger_internal.hpp"

namespace careguard::pg {

namespace {

// The record's "at": ISO 8601 in UTC, whatever the session's TimeZone.
std::string_view utc_text(TimestampTz at, char (&buffer)[ledger::kUtcTimestampBytes]) {
  constexpr int64 kUnixEpochOffset = INT64CONST(946684800) * USECS_PER_SEC;
  return std::string_view(buffer, ledger::format_utc_micros(at + kUnixEpochOffset, buffer));
}

// "pid.backend-start.serial": unique across the cluster's lifetime.
std::string_view statement_id(const LedgerStatement& s, char (&buffer)[72]) {
  const long long parts[3] = {MyProcPid, static_cast<long long>(MyStartTimestamp),
                              static_cast<long long>(s.serial)};
  std::size_t length = 0;
  for (int i = 0; i < 3; ++i) {
    if (i > 0) buffer[length++] = '.';
    // Three 64-bit numbers and two dots fit 72 bytes with room to spare.
    const auto written = std::to_chars(buffer + length, buffer + sizeof buffer - 1, parts[i]);
    length = static_cast<std::size_t>(written.ptr - buffer);
  }
  return std::string_view(buffer, length);
}

void optional_text(ledger::RecordWriter& record, const char* key, const char* value) {
  if (value == nullptr) {
    record.null_field(key);
  } else {
    record.field(key, value);
  }
}

void write_access(const LedgerStatement& s, const LedgerAccess& a) {
  ledger::RecordWriter record;
  record.number("v", 1);
  record.field("kind", "access");
  char at_text[ledger::kUtcTimestampBytes];
  record.field("at", utc_text(s.started_at, at_text));
  char id_text[72];
  record.field("statement_id", statement_id(s, id_text));
  record.number("query_id", static_cast<std::int64_t>(s.query_id));
  record.field("session_user", s.session_user);
  record.field("current_user", s.current_user);
  record.boolean("reader_staff", s.reader_staff);
  record.field("as_user", a.user_name);
  record.boolean("security_definer", a.security_definer);
  record.boolean("nested", a.nested);
  optional_text(record, "sub", s.sub);
  optional_text(record, "jti", s.jti);
  optional_text(record, "session_id", s.session_id);
  optional_text(record, "role_claim", s.role_claim);
  record.boolean("verified", s.verified);
  if (s.claims_error) record.boolean("claims_error", true);
  record.field("application_name", s.application_name);
  optional_text(record, "client_addr", s.client_addr);
  record.field("relation", a.relation);
  record.field("command", a.command_text != nullptr ? a.command_text : command_name(a.command));
  const char* statement_command = s.utility;
  if (statement_command == nullptr) {
    statement_command = s.copy_to != nullptr ? "COPY" : command_name(s.command);
  }
  record.field("statement_command", statement_command);
  if (s.copy_to != nullptr) record.field("copy_to", s.copy_to);
  if (s.copy_from != nullptr) record.field("copy_from", s.copy_from);
  if (s.parallel_leader_pid != 0) record.number("parallel_worker_of", s.parallel_leader_pid);
  if (a.rows_unknown) {
    record.null_field("rows");
  } else {
    record.number("rows", a.rows);
  }

  std::vector<std::array<unsigned char, 16>> ids;
  ids.reserve(a.ids.count);
  for (uint32 i = 0; i < a.ids.capacity; ++i) {
    if (!a.ids.used[i]) continue;
    std::array<unsigned char, 16> id{};
    std::copy(a.ids.slots[i], a.ids.slots[i] + 16, id.begin());
    ids.push_back(id);
  }
  std::sort(ids.begin(), ids.end());
  bool break_glass = false;
  if (s.has_sub_uuid) {
    for (const auto& id : ids) {
      if (glass_grant_covers(s.sub_uuid, id.data(), s.started_at)) {
        break_glass = true;
        break;
      }
    }
  }
  auto recorded = std::min<std::size_t>(ids.size(), static_cast<std::size_t>(ledger_max_ids));
  std::vector<Uuid> recorded_ids(recorded);
  record.open_array("patient_ids");
  for (std::size_t i = 0; i < recorded; ++i) {
    std::copy(ids[i].begin(), ids[i].end(), recorded_ids[i].begin());
    char id[kUuidTextLength];
    format_uuid_to(recorded_ids[i], id);
    record.element(std::string_view(id, sizeof id));
  }
  record.close_array();
  record.number("ids_overflow", static_cast<std::int64_t>(ids.size() - recorded));
  record.boolean("ids_exact", !a.ids_incomplete && a.ids.untracked_rows == 0);
  if (a.null_ids > 0) record.number("null_ids", a.null_ids);
  record.field("rls", a.rls);
  optional_text(record, "bypass_reason", a.bypass_reason);
  record.boolean("break_glass", break_glass);
  record.boolean("aborted", s.aborted);
  std::string line = record.finish();
  spool_record(line.data(), line.size(), ledger::spool_index("access", recorded_ids));
}

}  // namespace

const char* command_name(CmdType command) {
  switch (command) {
    case CMD_SELECT:
      return "SELECT";
    case CMD_INSERT:
      return "INSERT";
    case CMD_UPDATE:
      return "UPDATE";
    case CMD_DELETE:
      return "DELETE";
    case CMD_MERGE:
      return "MERGE";
    case CMD_UTILITY:
      return "UTILITY";
    default:
      return "OTHER";
  }
}

void write_statement_records(LedgerStatement* statement) noexcept {
  contained([statement] {
    for (const LedgerAccess* a = statement->accesses; a != nullptr; a = a->next) {
      write_access(*statement, *a);
    }
  });
}

}  // namespace careguard::pg
