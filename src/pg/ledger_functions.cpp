// careguard adapter: the ledger's settings and SQL entry points
// (careguard.ledger_link, ledger_append, ledger_flush).
#include <cstring>
#include <string>

#include "careguard/core/error.hpp"
#include "careguard/core/ledger.hpp"
#include "careguard/pg/claims_source.hpp"
#include "careguard/pg/guard.hpp"
#include "careguard/pg/ledger.hpp"
#include "careguard/pg/ledger_internal.hpp"

extern "C" {
#include "utils/timestamp.h"
PG_FUNCTION_INFO_V1(careguard_ledger_link);
PG_FUNCTION_INFO_V1(careguard_ledger_append);
PG_FUNCTION_INFO_V1(careguard_ledger_flush);
}

namespace careguard::pg {

bool ledger_enabled = true;
int ledger_max_ids = 100;
int ledger_retention_months = 72;
bool ledger_purging = false;
int ledger_databases = 32;

void define_ledger_settings() {
  DefineCustomBoolVariable("careguard.ledger",
                           "Record which patients' rows each statement disclosed or changed.",
                           "See docs/audit-trail.md. Needs shared_preload_libraries.",
                           &ledger_enabled, true, PGC_SUSET, 0, nullptr, nullptr, nullptr);
  DefineCustomIntVariable("careguard.ledger_max_ids",
                          "Patient ids one ledger record lists; the rest are counted.", nullptr,
                          &ledger_max_ids, 100, 0, 100000, PGC_SUSET, 0, nullptr, nullptr, nullptr);
  DefineCustomIntVariable("careguard.ledger_retention_months",
                          "Months of ledger that careguard.ledger_purge() keeps (HIPAA: 6 years).",
                          nullptr, &ledger_retention_months, 72, 1, 1200, PGC_SUSET, 0, nullptr,
                          nullptr, nullptr);
  // It sizes shared memory, which exists only under the preload (and
  // PostgreSQL refuses a server-start setting defined any later).
  if (process_shared_preload_libraries_in_progress) {
    DefineCustomIntVariable(
        "careguard.ledger_databases", "Databases whose ledger spools can be in use at once.",
        "An idle database's slot is reused; set at server start.", &ledger_databases, 32, 1, 10000,
        PGC_POSTMASTER, 0, nullptr, nullptr, nullptr);
  }
  DefineCustomBoolVariable("careguard.ledger_purging",
                           "Internal: set by careguard.ledger_purge() while it drops months.",
                           nullptr, &ledger_purging, false, PGC_SUSET,
                           GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE | GUC_DISALLOW_IN_FILE, nullptr,
                           nullptr, nullptr);
}

namespace {

std::string utc_now() {
  // Shares the record format of ledger_record.cpp: ISO 8601, UTC.
  pg_time_t seconds = timestamptz_to_time_t(GetCurrentTimestamp());
  struct pg_tm* parts = pg_gmtime(&seconds);
  char text[32];
  snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02dZ", parts->tm_year + 1900,
           parts->tm_mon + 1, parts->tm_mday, parts->tm_hour, parts->tm_min, parts->tm_sec);
  return text;
}

}  // namespace

}  // namespace careguard::pg

using namespace careguard::pg;

Datum careguard_ledger_link(PG_FUNCTION_ARGS) {
  bytea* previous = PG_GETARG_BYTEA_PP(0);
  int64 seq = PG_GETARG_INT64(1);
  text* record = PG_GETARG_TEXT_PP(2);
  if (VARSIZE_ANY_EXHDR(previous) != 32) {
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("a ledger hash has 32 bytes, not %d",
                           static_cast<int>(VARSIZE_ANY_EXHDR(previous)))));
  }
  auto* out = static_cast<bytea*>(palloc(VARHDRSZ + 32));
  SET_VARSIZE(out, VARHDRSZ + 32);
  const char* prev_bytes = VARDATA_ANY(previous);
  const char* text_bytes = VARDATA_ANY(record);
  std::size_t text_length = VARSIZE_ANY_EXHDR(record);
  guarded("careguard.ledger_link", [&] {
    careguard::ledger::Hash prev{};
    std::memcpy(prev.data(), prev_bytes, prev.size());
    careguard::ledger::Hash next =
        careguard::ledger::link(prev, seq, std::string_view(text_bytes, text_length));
    std::memcpy(VARDATA(out), next.data(), next.size());
  });
  PG_RETURN_BYTEA_P(out);
}

// An event of careguard's own, spooled like a disclosure (outlives a rollback).
Datum careguard_ledger_append(PG_FUNCTION_ARGS) {
  if (PG_ARGISNULL(0) || PG_ARGISNULL(1)) {
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                    errmsg("a ledger event needs a kind and a detail")));
  }
  char* kind = text_to_cstring(PG_GETARG_TEXT_PP(0));
  char* detail = DatumGetCString(DirectFunctionCall1(jsonb_out, PG_GETARG_DATUM(1)));
  char* patient = PG_ARGISNULL(2)
                      ? nullptr
                      : DatumGetCString(DirectFunctionCall1(uuid_out, PG_GETARG_DATUM(2)));
  char* session_user_name = GetUserNameFromId(GetSessionUserId(), false);
  // The outer user, as an access record names it: events are appended by
  // SECURITY DEFINER functions (break_glass), whose owner did not ask.
  char* current_user_name = GetUserNameFromId(GetOuterUserId(), false);
  guarded("careguard.ledger_append", [&] {
    careguard::ledger::RecordWriter record;
    record.number("v", 1);
    record.field("kind", kind);
    record.field("at", utc_now());
    record.field("session_user", session_user_name);
    record.field("current_user", current_user_name);
    const careguard::Claims* claims = nullptr;
    try {
      claims = current_claims(false);
    } catch (const careguard::Error&) {
      claims = nullptr;
    }
    careguard::ClaimText sub = claims == nullptr ? careguard::ClaimText{} : claims->text("sub");
    if (sub.kind == careguard::ClaimText::Kind::Text) {
      record.field("sub", sub.value);
    } else {
      record.null_field("sub");
    }
    record.open_array("patient_ids");
    if (patient != nullptr) record.element(patient);
    record.close_array();
    record.raw("detail", detail);
    std::string line = record.finish();
    spool_record(line.data(), line.size());
  });
  PG_RETURN_VOID();
}

Datum careguard_ledger_flush(PG_FUNCTION_ARGS) {
  int timeout_ms = PG_GETARG_INT32(0);
  if (timeout_ms < 0) {
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("timeout must be >= 0")));
  }
  PG_RETURN_INT64(wait_for_ledger(timeout_ms));
}
