// careguard adapter: claim settings, found without a per-call catalogue
// search, and trusted only when their value cannot outlive the transaction.
#include "careguard/pg/claim_settings.hpp"

#include "careguard/pg/guard.hpp"
#include "careguard/pg/login_settings.hpp"
#include "careguard/pg/node_identity.hpp"
#include "careguard/pg/security_settings.hpp"

namespace careguard::pg {

bool trust_session_claims = false;
bool hoist_claim_helpers = true;
int leader_trusted_settings = -1;

namespace {

const char* const kSettingNames[] = {
    "request.jwt.claims",     "request.jwt.claim",       "request.jwt.claim.sub",
    "request.jwt.claim.role", "request.jwt.claim.email", "request.jwt.claim.provider_id",
};
static_assert(sizeof(kSettingNames) / sizeof(kSettingNames[0]) ==
              static_cast<int>(ClaimSetting::kCount));

// Where a setting sat in guc.c's sorted array when last looked up. Placeholders
// are added with a re-sort, so the cached slot is checked on every use: a found
// setting must still be in its slot, an absent one must still fall between the
// same two neighbours. Either check failing means a new binary search.
struct SettingLocation {
  config_generic** array = nullptr;
  int count = -1;
  int slot = -1;
  config_generic* found = nullptr;
  config_generic* left = nullptr;
  config_generic* right = nullptr;
};
SettingLocation locations[static_cast<int>(ClaimSetting::kCount)];

bool warned_this_transaction = false;

// guc.c's ordering: ASCII case-insensitive.
int guc_name_order(const char* a, const char* b) {
  while (*a && *b) {
    char ca = *a++;
    char cb = *b++;
    if (ca >= 'A' && ca <= 'Z') ca += 'a' - 'A';
    if (cb >= 'A' && cb <= 'Z') cb += 'a' - 'A';
    if (ca != cb) return ca - cb;
  }
  if (*a) return 1;
  if (*b) return -1;
  return 0;
}

bool identity_read = false;

// The first slot of guc.c's sorted array whose name is not before `name`.
int guc_slot(config_generic** array, int count, const char* name) {
  int low = 0;
  int high = count;
  while (low < high) {
    int middle = low + (high - low) / 2;
    if (guc_name_order(array[middle]->name, name) < 0) {
      low = middle + 1;
    } else {
      high = middle;
    }
  }
  return low;
}

config_generic* slot_or_null(config_generic** array, int count, int slot) {
  return (slot >= 0 && slot < count) ? array[slot] : nullptr;
}

config_generic* find_setting(ClaimSetting which) {
  SettingLocation& loc = locations[static_cast<int>(which)];
  config_generic** array = get_guc_variables();
  int count = GetNumConfigOptions();
  if (array == loc.array && count == loc.count) {
    if (loc.found != nullptr) {
      if (array[loc.slot] == loc.found) return loc.found;
    } else if (slot_or_null(array, count, loc.slot - 1) == loc.left &&
               slot_or_null(array, count, loc.slot) == loc.right) {
      return nullptr;
    }
  }
  loc = SettingLocation{};
  loc.array = array;
  loc.count = count;
  loc.slot = guc_slot(array, count, kSettingNames[static_cast<int>(which)]);
  config_generic* at = slot_or_null(array, count, loc.slot);
  if (at != nullptr && guc_name_order(at->name, kSettingNames[static_cast<int>(which)]) == 0) {
    loc.found = at;
    return at;
  }
  loc.left = slot_or_null(array, count, loc.slot - 1);
  loc.right = at;
  return nullptr;
}

// A value set in this transaction with SET LOCAL / set_config(..., true).
bool set_locally(const config_generic* setting) {
  const GucStack* top = setting == nullptr ? nullptr : setting->stack;
  return top != nullptr && (top->state == GUC_LOCAL || top->state == GUC_SET_LOCAL);
}

const char* raw_value(const config_generic* setting) {
  if (setting->vartype != PGC_STRING) return nullptr;
  const char* value = *reinterpret_cast<const config_string*>(setting)->variable;
  return (value == nullptr || value[0] == '\0') ? nullptr : value;
}

bool is_trusted(ClaimSetting which, const config_generic* setting) {
  if (trust_session_claims) return true;
  if (IsParallelWorker()) {
    // Workers restore settings as plain SETs, so the stack says nothing here;
    // the leader's published decision does. No decision means no trust.
    return leader_trusted_settings >= 0 &&
           (leader_trusted_settings & (1 << static_cast<int>(which))) != 0;
  }
  return setting_is_transaction_bound(setting);
}

// Loaded after the session started, careguard cannot know that its settings
// are the DBA's: a client's startup option may have replaced them.
void warn_not_preloaded() {
  if (warned_this_transaction || IsParallelWorker()) return;
  warned_this_transaction = true;
  call_pg([] {
    ereport(WARNING,
            (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
             errmsg("careguard ignores claims because it is not in shared_preload_libraries"),
             errhint("Add careguard to shared_preload_libraries in postgresql.conf and restart "
                     "the server.")));
  });
}

void warn_untrusted(ClaimSetting which) {
  if (warned_this_transaction || IsParallelWorker()) return;
  warned_this_transaction = true;
  const char* name = kSettingNames[static_cast<int>(which)];
  call_pg([name] {
    ereport(WARNING,
            (errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
             errmsg("careguard ignores session-level claims in \"%s\"", name),
             errdetail("The value was set with SET or set_config(..., false) and would outlive "
                       "this transaction, for example on a pooled connection."),
             errhint("Set claims with SET LOCAL or set_config(..., true), or have a superuser "
                     "enable careguard.trust_session_claims.")));
  });
}

}  // namespace

// A value set by SET LOCAL / set_config(..., true), or by a function's SET
// clause, ends with its transaction or function. Anything else is session
// state that a pooler hands to the next client.
bool setting_is_transaction_bound(const config_generic* setting) {
  const GucStack* top = setting->stack;
  if (top == nullptr) return false;
  return top->state == GUC_LOCAL || top->state == GUC_SET_LOCAL || top->state == GUC_SAVE;
}

bool leader_trusts_node_identity() {
  return leader_trusted_settings >= 0 && (leader_trusted_settings & kNodeIdentityTrustBit) != 0;
}

const char* setting_name(ClaimSetting which) {
  return kSettingNames[static_cast<int>(which)];
}

const char* trusted_setting_value(ClaimSetting which) {
  // A verified sign-in outranks whatever the session put into request.jwt.*,
  // and with trust_request_claims off those settings are not read at all.
  // So does an identity a coordinator forwarded to this node.
  if (!trust_request_claims || verified_claims_value() != nullptr ||
      forwarded_claims() != nullptr) {
    return nullptr;
  }
  const config_generic* setting = find_setting(which);
  if (setting == nullptr) return nullptr;
  const char* value = raw_value(setting);
  if (value == nullptr) return nullptr;
  if (!loaded_by_preload) {
    warn_not_preloaded();
    return nullptr;
  }
  if (is_trusted(which, setting)) {
    check_claims_size(value, kSettingNames[static_cast<int>(which)]);
    identity_read = true;
    return value;
  }
  warn_untrusted(which);
  return nullptr;
}

void note_identity_read() {
  identity_read = true;
}

bool per_request_identity_in_force() {
  if (identity_read || verified_claims_value() != nullptr) return true;
  for (int i = 0; i < static_cast<int>(ClaimSetting::kCount); ++i) {
    if (set_locally(find_setting(static_cast<ClaimSetting>(i)))) return true;
  }
  return node_identity_set_locally() || set_locally(find_config("role"));
}

config_generic* find_config(const char* name) {
  config_generic** array = get_guc_variables();
  int count = GetNumConfigOptions();
  config_generic* at = slot_or_null(array, count, guc_slot(array, count, name));
  return (at != nullptr && guc_name_order(at->name, name) == 0) ? at : nullptr;
}

int trusted_settings_mask() {
  int mask = 0;
  for (int i = 0; i < static_cast<int>(ClaimSetting::kCount); ++i) {
    const config_generic* setting = find_setting(static_cast<ClaimSetting>(i));
    if (setting != nullptr && raw_value(setting) != nullptr &&
        is_trusted(static_cast<ClaimSetting>(i), setting)) {
      mask |= 1 << i;
    }
  }
  if (node_identity_set_locally()) mask |= kNodeIdentityTrustBit;
  return mask;
}

void publish_trust_for_parallel_workers() {
  int mask = trusted_settings_mask();
  if (mask == leader_trusted_settings) return;
  char text[16];
  snprintf(text, sizeof text, "%d", mask);
  call_pg([&text] {
    (void)set_config_option("careguard.leader_trusted_settings", text, PGC_SUSET, PGC_S_SESSION,
                            GUC_ACTION_LOCAL, true, ERROR, false);
  });
}

void reset_claim_settings_for_new_transaction() {
  warned_this_transaction = false;
  identity_read = false;
}

}  // namespace careguard::pg
