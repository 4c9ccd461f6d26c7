// careguard_test.so: a diagnostic entry point that raises each kind of
// failure the guard must contain, for the crash-and-memory soak test. It is
// a library of its own, so the production careguard.so carries no test code.
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "careguard/core/error.hpp"
#include "careguard/pg/guard.hpp"

using namespace careguard::pg;

extern "C" {
PG_MODULE_MAGIC;
PG_FUNCTION_INFO_V1(careguard_guard_selftest);
}

// careguard.guard_selftest(kind): raises the named failure with live C++ objects.
Datum careguard_guard_selftest(PG_FUNCTION_ARGS) {
  return guarded("careguard.guard_selftest", [&]() -> Datum {
    std::string kind(text_to_cstring(PG_GETARG_TEXT_PP(0)));
    std::vector<std::string> live_objects(64, std::string(256, 'x'));
    if (kind == "careguard") {
      throw careguard::Error(careguard::sqlstate::kInvalidParameterValue, "careguard error",
                             "raised by the self-test");
    }
    if (kind == "bad_alloc") throw std::bad_alloc();
    if (kind == "std") throw std::runtime_error("standard exception");
    if (kind == "unknown") throw 42;
    if (kind == "postgres") {
      call_pg([] { (void)DirectFunctionCall2(int4div, Int32GetDatum(1), Int32GetDatum(0)); });
    }
    if (kind != "ok") {
      throw careguard::Error(careguard::sqlstate::kInvalidParameterValue,
                             "unknown self-test kind \"" + kind + "\"");
    }
    PG_RETURN_INT32(static_cast<int32>(live_objects.size()));
  });
}
