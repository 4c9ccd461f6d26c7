// careguard adapter: exception capture and re-raise for the entry guard.
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>

#include "careguard/core/error.hpp"

#include "careguard/pg/guard.hpp"

namespace careguard::pg {

namespace {

// Fixed storage: copying an exception's text must not allocate, because an
// allocation failure here would longjmp out of a catch block.
struct CapturedException {
  ErrorData* pg_error = nullptr;
  char sqlstate[6] = "XX000";
  char message[1024] = "";
  char detail[1024] = "";
};
CapturedException captured;

void copy_text(char* out, std::size_t size, const char* text) {
  snprintf(out, size, "%s", text == nullptr ? "" : text);
}

}  // namespace

void capture_current_exception(const char* entry_point) noexcept {
  captured.pg_error = nullptr;
  captured.detail[0] = '\0';
  try {
    throw;
  } catch (const PgError& e) {
    captured.pg_error = e.data();
  } catch (const careguard::Error& e) {
    copy_text(captured.sqlstate, sizeof captured.sqlstate, e.sqlstate());
    copy_text(captured.message, sizeof captured.message, e.what());
    copy_text(captured.detail, sizeof captured.detail, e.detail().c_str());
  } catch (const std::bad_alloc&) {
    copy_text(captured.sqlstate, sizeof captured.sqlstate, "53200");
    snprintf(captured.message, sizeof captured.message, "out of memory in %s", entry_point);
  } catch (const std::exception& e) {
    copy_text(captured.sqlstate, sizeof captured.sqlstate, "XX000");
    snprintf(captured.message, sizeof captured.message, "internal error in %s: %s", entry_point,
             e.what());
  } catch (...) {
    copy_text(captured.sqlstate, sizeof captured.sqlstate, "XX000");
    snprintf(captured.message, sizeof captured.message, "internal error in %s: unknown exception",
             entry_point);
  }
}

ErrorData* run_catching_pg_error(void (*fn)(void*), void* context) {
  MemoryContext caller_context = CurrentMemoryContext;
  ErrorData* volatile error = nullptr;
  PG_TRY();
  { fn(context); }
  PG_CATCH();
  {
    MemoryContextSwitchTo(caller_context);
    error = CopyErrorData();
    FlushErrorState();
  }
  PG_END_TRY();
  return error;
}

void raise_captured_exception() {
  if (captured.pg_error != nullptr) {
    ErrorData* error = captured.pg_error;
    captured.pg_error = nullptr;
    ReThrowError(error);
  }
  const char* s = captured.sqlstate;
  int code = MAKE_SQLSTATE(s[0], s[1], s[2], s[3], s[4]);
  if (captured.detail[0] != '\0') {
    ereport(ERROR,
            (errcode(code), errmsg("%s", captured.message), errdetail("%s", captured.detail)));
  }
  ereport(ERROR, (errcode(code), errmsg("%s", captured.message)));
  pg_unreachable();
}

}  // namespace careguard::pg
