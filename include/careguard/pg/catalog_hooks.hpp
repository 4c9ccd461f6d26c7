// careguard adapter: the hooks through which the policy gate and the drop
// guard see catalogue changes (catalog_hooks.cpp).
#pragma once

namespace careguard::pg {

// Installs the utility, object-access and permission-check hooks; from _PG_init.
void install_catalog_hooks();

}  // namespace careguard::pg
