// careguard adapter: the security context the access matrix probes run in.
#include "careguard/core/error.hpp"
#include "careguard/pg/guard.hpp"
#include "careguard/pg/ledger.hpp"

extern "C" {
PG_FUNCTION_INFO_V1(careguard_probe_as);
}

// careguard.probe_as(role): SET LOCAL ROLE role, then, for the rest of the
// current subtransaction, no role change at all: SET ROLE, RESET ROLE and SET
// SESSION AUTHORIZATION are refused, as in a security-definer function, and
// so are the commands of a security-restricted operation (temporary objects,
// prepared statements, ...). The access matrix probes as a client role inside
// a superuser's session; without this, code a probe evaluates could RESET
// ROLE back to that superuser. Aborting the subtransaction, which every probe
// does, restores the context, so it is refused outside one.
Datum careguard_probe_as(PG_FUNCTION_ARGS) {
  text* role = PG_GETARG_TEXT_PP(0);
  return careguard::pg::guarded("careguard.probe_as", [&]() -> Datum {
    if (GetCurrentTransactionNestLevel() < 2) {
      throw careguard::Error(
          "0A000", "careguard.probe_as() works only inside a subtransaction",
          "The access matrix calls it in each probe's BEGIN ... EXCEPTION block.");
    }
    careguard::pg::call_pg([role] {
      char* name = text_to_cstring(role);
      (void)set_config_option("role", name, PGC_USERSET, PGC_S_SESSION, GUC_ACTION_LOCAL, true,
                              ERROR, false);
      Oid user = InvalidOid;
      int context = 0;
      GetUserIdAndSecContext(&user, &context);
      SetUserIdAndSecContext(
          user, context | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
      // The probe's statements are careguard's own: not ledgered.
      careguard::pg::note_access_matrix_probe(GetCurrentSubTransactionId());
    });
    PG_RETURN_VOID();
  });
}
