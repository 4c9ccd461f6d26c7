// careguard adapter: the single guard between C++ and PostgreSQL.
//
// Every SQL entry point, hook and callback runs its body through
// `guarded(...)`. A C++ exception never crosses into PostgreSQL: it is caught,
// copied into fixed storage (no allocation while an exception is in flight),
// the exception and every C++ object are destroyed, and only then is an
// ERROR raised. The other direction uses `call_pg(...)`: a PostgreSQL call
// that may ereport runs under PG_TRY, and its error comes back as a C++
// exception, so a longjmp never skips a C++ destructor.
#pragma once

#include <type_traits>

#include "careguard/pg/postgres.hpp"

namespace careguard::pg {

// A PostgreSQL ERROR caught by call_pg, carried through C++ frames.
class PgError {
 public:
  explicit PgError(ErrorData* data) : data_(data) {}
  ErrorData* data() const { return data_; }

 private:
  ErrorData* data_;
};

// Records the exception being handled; only call inside a catch block.
void capture_current_exception(const char* entry_point) noexcept;

// Raises the captured exception as a PostgreSQL ERROR; never returns.
[[noreturn]] void raise_captured_exception();

// Runs an entry point's body; turns any C++ exception into an ERROR.
template <typename Body>
auto guarded(const char* entry_point, Body&& body) -> decltype(body()) {
  try {
    return body();
  } catch (...) {
    capture_current_exception(entry_point);
  }
  raise_captured_exception();
}

// The guard for callbacks that must never raise (transaction end, cache
// invalidation): an exception is swallowed there, never turned into an
// ERROR, because PostgreSQL forbids errors at COMMIT and ABORT.
template <typename Body>
void contained(Body&& body) noexcept {
  try {
    body();
  } catch (...) {
    // Nothing to report safely here; the callbacks only reset state.
  }
}

// Runs fn(context) under PG_TRY; returns the copied error, or nullptr.
ErrorData* run_catching_pg_error(void (*fn)(void*), void* context);

// Runs a PostgreSQL call that may ereport; an ERROR becomes a PgError.
// The callable must own no C++ objects with destructors.
template <typename Call>
auto call_pg(Call&& call) -> decltype(call()) {
  using Result = decltype(call());
  if constexpr (std::is_void_v<Result>) {
    ErrorData* error = run_catching_pg_error(
        [](void* context) { (*static_cast<std::remove_reference_t<Call>*>(context))(); }, &call);
    if (error != nullptr) throw PgError(error);
  } else {
    struct Frame {
      std::remove_reference_t<Call>* call;
      Result result;
    } frame{&call, Result{}};
    ErrorData* error = run_catching_pg_error(
        [](void* context) {
          auto* f = static_cast<Frame*>(context);
          f->result = (*f->call)();
        },
        &frame);
    if (error != nullptr) throw PgError(error);
    return frame.result;
  }
}

}  // namespace careguard::pg
