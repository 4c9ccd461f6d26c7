// careguard adapter: who a ledger record names, captured once per statement
// while the catalogue is usable (ledger_capture.cpp, ledger_utility.cpp),
// and how row-level security stood for each access.
#include <cstring>

#include "careguard/pg/catalog_names.hpp"
#include "careguard/pg/claims_source.hpp"
#include "careguard/pg/ledger.hpp"
#include "careguard/pg/ledger_internal.hpp"
#include "careguard/pg/login_settings.hpp"

extern "C" {
#include "libpq/libpq-be.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "utils/rls.h"
#include "utils/timestamp.h"
}

namespace careguard::pg {

namespace {

char* copy_claim(const Claims* claims, const char* name, MemoryContext cxt) {
  if (claims == nullptr) return nullptr;
  ClaimText text = claims->text(name);
  if (text.kind == ClaimText::Kind::Absent) return nullptr;
  auto* copy = static_cast<char*>(MemoryContextAlloc(cxt, text.value.size() + 1));
  std::memcpy(copy, text.value.data(), text.value.size());
  copy[text.value.size()] = '\0';
  return copy;
}

// Staff, for a patient's accounting (careguard.disclosures() names their
// reads of a patient on the way): a superuser, a BYPASSRLS role, or one with
// careguard_auditor's or careguard_break_glass's rights. Decided when the
// record is written, so that renaming or dropping a role later changes no
// history.
bool reader_is_staff(Oid user) {
  if (superuser_arg(user) || has_bypassrls_privilege(user)) return true;
  Oid auditor = remembered_role_oid("careguard_auditor");
  Oid break_glass = remembered_role_oid("careguard_break_glass");
  return (OidIsValid(auditor) && has_privs_of_role(user, auditor)) ||
         (OidIsValid(break_glass) && has_privs_of_role(user, break_glass));
}

}  // namespace

// Who is asking, captured once per statement while the catalogue is usable.
// The user is the outer one (SET ROLE's, the role auth.login switched to):
// SECURITY DEFINER does not change it, whether the definer function runs
// under a query, a DO block or a CALL, and a parallel worker has its
// leader's.
void capture_identity(LedgerStatement* s, const PlannedStmt* planned, CmdType command) {
  // A statement still open under other claims (a cursor) refuses this one,
  // as it refuses a claims read: the catch below would otherwise record it
  // as unreadable claims and let it run.
  bool changed = false;
  try {
    changed = !ledger_identity_unchanged();
  } catch (...) {
    changed = false;  // unreadable claims: the helpers will say why
  }
  if (changed) {
    ereport(ERROR,
            (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
             errmsg("the claims changed while a statement that reads patient records runs")));
  }
  MemoryContext cxt = s->context;
  s->started_at = GetCurrentStatementStartTimestamp();
  s->query_id = planned->queryId;
  s->command = command;
  s->session_user = MemoryContextStrdup(cxt, remembered_role_name(GetSessionUserId()));
  s->top_user = GetOuterUserId();
  s->current_user = MemoryContextStrdup(cxt, remembered_role_name(s->top_user));
  s->reader_staff = reader_is_staff(s->top_user);
  s->application_name =
      MemoryContextStrdup(cxt, application_name != nullptr ? application_name : "");
  s->client_addr = nullptr;
  if (MyProcPort != nullptr && MyProcPort->remote_host != nullptr) {
    s->client_addr = MemoryContextStrdup(cxt, MyProcPort->remote_host);
  }
  s->parallel_leader_pid = 0;
  if (IsParallelWorker() && MyProc->lockGroupLeader != nullptr) {
    s->parallel_leader_pid = MyProc->lockGroupLeader->pid;
  }
  s->verified = verified_claims_value() != nullptr;
  // What the claims come from now, kept to refuse a change under the
  // statement; none when they cannot be read (the helpers will say why).
  s->identity_inputs = nullptr;
  s->identity_inputs_size = 0;
  std::size_t inputs_size = 0;
  try {
    inputs_size = identity_inputs_size();
  } catch (...) {
    inputs_size = 0;
  }
  if (inputs_size > 0) {
    auto* inputs = static_cast<char*>(MemoryContextAlloc(cxt, inputs_size));
    try {
      copy_identity_inputs(inputs);
      s->identity_inputs = inputs;
      s->identity_inputs_size = inputs_size;
    } catch (...) {
      s->identity_inputs = nullptr;
    }
  }
  const Claims* claims = nullptr;
  s->claims_error = false;
  try {
    claims = current_claims(false);
  } catch (...) {
    s->claims_error = true;
  }
  s->sub = copy_claim(claims, "sub", cxt);
  s->jti = copy_claim(claims, "jti", cxt);
  s->session_id = copy_claim(claims, "session_id", cxt);
  s->role_claim = copy_claim(claims, "role", cxt);
  s->has_sub_uuid = false;
  if (claims != nullptr && claims->sub().state == UuidClaim::State::Valid) {
    std::memcpy(s->sub_uuid, claims->sub().value.data(), 16);
    s->has_sub_uuid = true;
  }
}

// How row-level security stood for this relation and user.
void classify_rls(LedgerAccess* access, Oid relid, Oid as_user) {
  Oid user = OidIsValid(as_user) ? as_user : GetUserId();
  int rls = check_enable_rls(relid, as_user, true);
  access->bypass_reason = nullptr;
  if (rls == RLS_ENABLED) {
    access->rls = "applied";
  } else if (rls == RLS_NONE) {
    access->rls = "disabled";
  } else {
    access->rls = "bypassed";
    if (superuser_arg(user)) {
      access->bypass_reason = "superuser";
    } else if (has_bypassrls_privilege(user)) {
      access->bypass_reason = "bypassrls";
    } else {
      access->bypass_reason = "owner";
    }
  }
}

}  // namespace careguard::pg
